"""BarRing: a fixed-capacity columnar ring buffer of OHLCV bars (compiled; see ring.pyx)."""

from typing import Final, Literal, Self, SupportsIndex, TypeAlias

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

_I64: TypeAlias = npt.NDArray[np.int64]
_F64: TypeAlias = npt.NDArray[np.float64]
_Column: TypeAlias = Literal["ts", "open", "high", "low", "close", "volume"]

COLUMNS: Final[tuple[str, str, str, str, str, str]]

@disjoint_base
class BarRing:
    """Fixed-capacity ring of OHLCV bars in six columns (ts int64; OHLCV float64).

    Appending to a full ring evicts the oldest bar and counts it in `evicted`. The ring
    stores what it is given; validating bars and their order is the caller's business.
    """

    @property
    def capacity(self) -> int:
        """Most bars the ring holds."""
    @property
    def evicted(self) -> int:
        """Bars pushed out since creation or the last clear()."""
    @property
    def ts_last(self) -> int:
        """Start timestamp (ns) of the newest bar; IndexError when empty."""
    def __new__(cls, capacity: int) -> Self:
        """A ring of `capacity` bars; ValueError unless capacity > 0."""
    def append(
        self, ts: int, open: float, high: float, low: float, close: float, volume: float, /
    ) -> None:
        """Append one bar; when full, the oldest is evicted."""
    def extend(
        self,
        ts: npt.ArrayLike,
        open: npt.ArrayLike,
        high: npt.ArrayLike,
        low: npt.ArrayLike,
        close: npt.ArrayLike,
        volume: npt.ArrayLike,
    ) -> None:
        """Append equal-length 1-D arrays of bars in time order (ts must be integers).

        Only the last `capacity` are kept; every bar pushed out counts in `evicted`.
        ValueError on mismatched lengths, non-1-D input or non-integer ts.
        """
    def clear(self) -> None:
        """Drop every bar and reset `evicted` to 0."""
    def last(self) -> tuple[int, float, float, float, float, float]:
        """The newest bar as (ts, open, high, low, close, volume); IndexError when empty."""
    def arrays(
        self, n: SupportsIndex | None = None, copy: bool = True
    ) -> tuple[_I64, _F64, _F64, _F64, _F64, _F64]:
        """The last n bars (all when None or n > len), oldest first, as six 1-D arrays.

        copy=False returns read-only views valid only until the next mutation.
        ValueError when n < 0.
        """
    def column(
        self, name: _Column, n: SupportsIndex | None = None, copy: bool = True
    ) -> _I64 | _F64:
        """One column of the last n bars; same rules as `arrays()`."""
    def __len__(self) -> int: ...
    def __bool__(self) -> bool: ...
    def __reduce__(self) -> tuple[object, ...]: ...
