"""The compiled indicators of one symbol at one interval, advanced together (compiled; see
indicator_bank.pyx)."""

from typing import Self, final

import numpy as np
import numpy.typing as npt

from mismartera.ext.kernels import Stream
from mismartera.ext.ring import BarRing

FIELDS: tuple[str, ...]

@final
class KernelBank:
    """Streaming kernels over the bars of one interval, advanced together; each kernel's
    session values are kept in its own growing buffer."""

    def __new__(cls, capacity: int = 0) -> Self:
        """`capacity`: the session values each kernel's buffer holds before it grows."""
    def __len__(self) -> int: ...
    def add(self, kernel: Stream, fields: tuple[str, ...], lookback: int = 1,
            seed_days: int = 0, per_session: bool = False) -> int:
        """Add `kernel` reading the bar `fields` (one per kernel input); it is seeded with
        its last `lookback` bars before the anchor within its last `seed_days` historical
        days before it; a `per_session` kernel is never seeded and starts afresh every
        session. Its index."""
    def restart(self) -> None:
        """A first appearance: every kernel cleared, nothing seen, nothing recorded."""
    def new_session(self) -> None:
        """A new session: nothing recorded yet; per-session kernels cleared, the others
        keep their state."""
    def seed(self, open: npt.ArrayLike, high: npt.ArrayLike, low: npt.ArrayLike,
             close: npt.ArrayLike, volume: npt.ArrayLike, day_index: npt.ArrayLike,
             anchor: int = -1) -> None:
        """Feed each kernel its seed from the historical bars (not recorded): its last
        `lookback` bars before the anchor day, then every bar from it on; `day_index` holds
        each day's first row and one past the last row; `anchor` a day's position (-1: one
        past the last day)."""
    def feed(self, open: npt.ArrayLike, high: npt.ArrayLike, low: npt.ArrayLike,
             close: npt.ArrayLike, volume: npt.ArrayLike) -> None:
        """Advance every kernel over the given bars (recorded)."""
    def advance(self, ring: BarRing, n: int) -> None:
        """Advance every kernel over the last `n` bars of `ring` (recorded)."""
    def kernel(self, i: int) -> Stream: ...
    def count(self, i: int) -> int:
        """Bars kernel i saw since the restart (its first appearance), seed included."""
    def recorded(self, i: int) -> int:
        """Session bars kernel i saw."""
    def last(self, i: int) -> tuple[float, ...]:
        """Kernel i's values at the last bar it saw (NaN before any)."""
    def value(self, i: int, output: int = 0, ago: int = 0, warmup: int = 1) -> float:
        """Kernel i's value of one output `ago` bars before its last (NaN before `warmup`
        bars, or before this session's first recorded value when ago >= 1)."""
    def history(self, i: int, output: int = 0) -> npt.NDArray[np.float64]:
        """Kernel i's recorded values of one output (a new array)."""
