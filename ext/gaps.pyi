"""Gap detection and data quality, batch and streaming (compiled)."""

from typing import TypeAlias

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

_I64: TypeAlias = npt.NDArray[np.int64]
_Runs: TypeAlias = tuple[_I64, _I64, _I64]

def quality(present: int, expected: int) -> float:
    """`100 * present / expected`; 100.0 when nothing is expected."""

def expected_count(session_opens: npt.ArrayLike, session_ends: npt.ArrayLike, step_ns: int) -> int:
    """How many bucket starts the sessions `[open, end)` expect in all."""

def find_gaps(
    ts: npt.ArrayLike, session_opens: npt.ArrayLike, session_ends: npt.ArrayLike, step_ns: int
) -> _Runs:
    """Maximal runs of missing bucket starts per session `[open, end)`:
    `(starts, ends, counts)` with `ends` the LAST missing bucket start (inclusive)."""

def classify(
    ts: npt.ArrayLike,
    session_opens: npt.ArrayLike,
    session_closes: npt.ArrayLike,
    step_ns: int,
    open: npt.ArrayLike | None = None,
    high: npt.ArrayLike | None = None,
    low: npt.ArrayLike | None = None,
    close: npt.ArrayLike | None = None,
    volume: npt.ArrayLike | None = None,
) -> tuple[npt.NDArray[np.bool_], int, int, int, int]:
    """`(mask, invalid, duplicate, misaligned, outside)`; each bar counted in the first
    category that applies, in the order outside, misaligned, duplicate, invalid."""

@disjoint_base
class GapTracker:
    """Gaps and quality of one symbol and interval, updated as bars arrive."""

    @property
    def step_ns(self) -> int: ...
    @property
    def session_open(self) -> int | None: ...
    @property
    def session_close(self) -> int | None: ...
    @property
    def present(self) -> int: ...
    @property
    def duplicates(self) -> int: ...
    @property
    def misaligned(self) -> int: ...
    @property
    def outside(self) -> int: ...
    def __init__(self, step_ns: int) -> None: ...
    def start_session(self, open_ns: int, close_ns: int) -> None: ...
    def add(self, ts: int) -> bool:
        """Add one bar start; True when it counts as a present bucket."""
    def add_many(self, ts: npt.ArrayLike) -> int:
        """Add many bar starts; returns how many counted as present."""
    def expected(self, end_ns: int) -> int:
        """Bucket starts expected in `[open, min(end_ns, close))`."""
    def missing(self, end_ns: int) -> int:
        """Bucket starts missing in `[open, min(end_ns, close))`."""
    def gaps(self, end_ns: int) -> _Runs:
        """As `find_gaps` over the bars added so far, ending at `min(end_ns, close)`."""
    def quality(self, end_ns: int) -> float:
        """`100 * present / expected` over `[open, min(end_ns, close))`."""
