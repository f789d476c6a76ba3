"""Session-anchored derived-bar aggregation, batch and streaming (compiled)."""

from typing import TypeAlias

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

_I64: TypeAlias = npt.NDArray[np.int64]
_F64: TypeAlias = npt.NDArray[np.float64]
_BarColumns: TypeAlias = tuple[_I64, _F64, _F64, _F64, _F64, _F64]
_FormingBar: TypeAlias = tuple[int, float, float, float, float, float]

def aggregate_bars(
    ts: npt.ArrayLike,
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    session_opens: npt.ArrayLike,
    session_closes: npt.ArrayLike,
    interval_ns: int,
) -> _BarColumns:
    """Derive bars of `interval_ns` from base bars over many sessions at once.

    Buckets are anchored at each session's open and truncated at its close; base bars
    outside every session `[open, close)` are ignored; an empty bucket yields no bar.
    `ts` strictly increasing, sessions sorted and non-overlapping, else ValueError.
    """

@disjoint_base
class StreamingAggregator:
    """Derives one interval from one symbol's base bars as they arrive."""

    @property
    def base_ns(self) -> int: ...
    @property
    def interval_ns(self) -> int: ...
    @property
    def session_open(self) -> int | None: ...
    @property
    def session_close(self) -> int | None: ...
    @property
    def pending(self) -> int:
        """How many closed bars wait for `pop_closed()`."""
    @property
    def late(self) -> int:
        """In-session base bars that arrived after their bucket closed (ignored)."""
    def __init__(self, base_ns: int, interval_ns: int) -> None: ...
    def start_session(self, open_ns: int, close_ns: int) -> None:
        """Begin a session; discards the forming bar, keeps closed bars not yet popped."""
    def update(self, ts: int, o: float, h: float, l: float, c: float, v: float) -> int:
        """Feed one base bar; returns how many derived bars it closed (0, 1 or 2)."""
    def feed(
        self,
        ts: npt.ArrayLike,
        o: npt.ArrayLike,
        h: npt.ArrayLike,
        l: npt.ArrayLike,
        c: npt.ArrayLike,
        v: npt.ArrayLike,
    ) -> int:
        """Feed many base bars; returns how many derived bars closed."""
    def close_until(self, now_ns: int) -> int:
        """Close the forming bar if its bucket ended at or before `now_ns` (0 or 1)."""
    def pop_closed(self) -> _BarColumns:
        """The bars closed since the last call, in time order; empties the queue."""
    def forming(self) -> _FormingBar | None:
        """The still-forming bar `(ts, open, high, low, close, volume)`, or None."""
