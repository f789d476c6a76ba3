"""Indicator kernels with TA-Lib's definitions, batch and streaming (compiled; see kernels.pyx).

Batch functions take 1-D float64-convertible arrays and return fresh float64 arrays of the
same length, NaN during the warm-up. Every streaming class's `update` returns what its batch
function gives at the same position, bit for bit. Periods must be >= 1 (ValueError).
"""

from collections.abc import Callable
from typing import Any, Self, TypeAlias, final

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

_F64: TypeAlias = npt.NDArray[np.float64]
_Floats: TypeAlias = npt.ArrayLike

def rolling_sum(x: _Floats, period: int) -> _F64:
    """Sum of the last `period` values (TA-Lib SUM); NaN for the first period - 1."""

def sma(x: _Floats, period: int) -> _F64:
    """Simple moving average (TA-Lib SMA); NaN for the first period - 1 values."""

def rolling_std(x: _Floats, period: int) -> _F64:
    """Rolling population standard deviation (TA-Lib STDDEV, nbdev=1)."""

def rolling_max(x: _Floats, period: int) -> _F64:
    """Maximum of the last `period` values (TA-Lib MAX); NaN while a NaN is in the window."""

def rolling_min(x: _Floats, period: int) -> _F64:
    """Minimum of the last `period` values (TA-Lib MIN); NaN while a NaN is in the window."""

def _vector_isa() -> str:
    """Which vector loops this CPU runs: 'avx2' or 'baseline'; the results are the same."""

def ema(x: _Floats, period: int) -> _F64:
    """TA-Lib EMA: alpha = 2 / (period + 1), seeded with the SMA of the first `period`."""

def rsi(close: _Floats, period: int = 14) -> _F64:
    """TA-Lib RSI (Wilder smoothing); NaN for the first `period` values."""

def atr(high: _Floats, low: _Floats, close: _Floats, period: int = 14) -> _F64:
    """TA-Lib ATR (true range, Wilder smoothing); NaN for the first `period` values."""

def vwap(
    high: _Floats, low: _Floats, close: _Floats, volume: _Floats, session_ids: npt.ArrayLike
) -> _F64:
    """Session VWAP of typical price (h + l + c) / 3; restarts where `session_ids` changes
    (integers or datetime64); NaN while the session's volume is 0."""

def macd(x: _Floats, fast: int = 12, slow: int = 26, signal: int = 9) -> tuple[_F64, _F64, _F64]:
    """TA-Lib MACD: (line, signal, hist), all NaN for the first slow + signal - 2 values;
    ValueError unless fast <= slow."""

def bbands(
    x: _Floats, period: int = 20, nbdev_up: float = 2.0, nbdev_dn: float = 2.0
) -> tuple[_F64, _F64, _F64]:
    """TA-Lib BBANDS with an SMA middle: (upper, middle, lower); middle equals `sma`."""

@disjoint_base
class Stream:
    """Base of the streaming classes: the session's compiled indicator bank
    (`mismartera.ext.indicator_bank`) advances any of them without a Python call. A subclass
    must be a cdef class that sets its inputs and outputs and overrides the C-level feed and
    clear: `update_many`, `reset` and `KernelBank.add` refuse one that does not (TypeError)."""

    @property
    def inputs(self) -> tuple[str, ...]:
        """Names of the input columns, in the order `update` and `update_many` take them."""
    @property
    def outputs(self) -> tuple[str, ...]:
        """Names of the outputs, in the order `update` and `update_many` return them."""
    @property
    def period(self) -> int:
        """The window length (EMA, RSI, ATR: the smoothing period); VWAP and MACD have none
        (AttributeError)."""
    @property
    def ready(self) -> bool:
        """True once the warm-up is over since the last reset: `period` values fed (RSI and
        ATR: period + 1; MACD: slow + signal - 1)."""
    update_many: Callable[..., Any]
    """Feed many rows in order, one array per input; what repeated `update` calls return:
    an array, or a tuple of arrays for a multi-output kernel. Each kernel takes its own
    inputs (`inputs`) and declares its own signature: the base takes any."""
    def reset(self) -> None:
        """Forget every value fed so far."""

@final
class RollingSum(Stream):
    """Streaming `rolling_sum`."""

    def __new__(cls, period: int) -> Self: ...
    def update(self, x: float) -> float:
        """Feed one value; the window sum, NaN until ready."""
    def update_many(self, x: _Floats) -> _F64:
        """Feed many values in order; the window sums, as repeated `update` returns them."""

@final
class SMA(Stream):
    """Streaming `sma`."""

    def __new__(cls, period: int) -> Self: ...
    def update(self, x: float) -> float:
        """Feed one value; the window mean, NaN until ready."""
    def update_many(self, x: _Floats) -> _F64:
        """Feed many values in order; the window means, as repeated `update` returns them."""

@final
class RollingStd(Stream):
    """Streaming `rolling_std` times `nbdev` (TA-Lib STDDEV)."""

    def __init__(self, period: int, nbdev: float = 1.0) -> None: ...
    @property
    def nbdev(self) -> float: ...
    def update(self, x: float) -> float:
        """Feed one value; the window's population standard deviation times `nbdev`, NaN
        until ready."""
    def update_many(self, x: _Floats) -> _F64:
        """Feed many values in order; the standard deviations, as repeated `update` returns them."""

@final
class BBands(Stream):
    """Streaming `bbands`."""

    def __init__(self, period: int = 20, nbdev_up: float = 2.0, nbdev_dn: float = 2.0) -> None: ...
    @property
    def nbdev_up(self) -> float: ...
    @property
    def nbdev_dn(self) -> float: ...
    def update(self, x: float) -> tuple[float, float, float]:
        """Feed one value; (upper, middle, lower), NaN until ready."""
    def update_many(self, x: _Floats) -> tuple[_F64, _F64, _F64]:
        """Feed many values in order; (upper, middle, lower) arrays, as repeated `update`."""

@final
class RollingMax(Stream):
    """Streaming `rolling_max`, O(1) amortised per update."""

    def __new__(cls, period: int) -> Self: ...
    def update(self, x: float) -> float:
        """Feed one value; the window maximum, NaN until ready or while a NaN is inside."""
    def update_many(self, x: _Floats) -> _F64:
        """Feed many values in order; the window maxima, as repeated `update` returns them."""

@final
class RollingMin(Stream):
    """Streaming `rolling_min`, O(1) amortised per update."""

    def __new__(cls, period: int) -> Self: ...
    def update(self, x: float) -> float:
        """Feed one value; the window minimum, NaN until ready or while a NaN is inside."""
    def update_many(self, x: _Floats) -> _F64:
        """Feed many values in order; the window minima, as repeated `update` returns them."""

@final
class EMA(Stream):
    """Streaming `ema`."""

    def __new__(cls, period: int) -> Self: ...
    @property
    def alpha(self) -> float:
        """The smoothing factor 2 / (period + 1)."""
    def update(self, x: float) -> float:
        """Feed one value; the EMA, NaN until ready."""
    def update_many(self, x: _Floats) -> _F64:
        """Feed many values in order; the EMAs, as repeated `update` returns them."""

@final
class RSI(Stream):
    """Streaming `rsi`."""

    def __new__(cls, period: int = 14) -> Self: ...
    def update(self, x: float) -> float:
        """Feed one close; the RSI in [0, 100], NaN until ready."""
    def update_many(self, x: _Floats) -> _F64:
        """Feed many values in order; the RSIs, as repeated `update` returns them."""

@final
class ATR(Stream):
    """Streaming `atr`."""

    def __new__(cls, period: int = 14) -> Self: ...
    def update(self, high: float, low: float, close: float) -> float:
        """Feed one bar; the ATR, NaN until ready."""
    def update_many(self, high: _Floats, low: _Floats, close: _Floats) -> _F64:
        """Feed many bars in order; the ATRs, as repeated `update` returns them."""

@final
class VWAP(Stream):
    """Streaming `vwap` for one session: call `reset()` at each session start."""

    def __new__(cls) -> Self: ...
    @property
    def ready(self) -> bool:
        """True once the session's cumulative volume is non-zero."""
    def update(self, high: float, low: float, close: float, volume: float) -> float:
        """Feed one bar; the session VWAP, NaN while the cumulative volume is 0."""
    def update_many(
        self, high: _Floats, low: _Floats, close: _Floats, volume: _Floats
    ) -> _F64:
        """Feed many bars of the session in order; the VWAPs, as repeated `update`."""

@final
class MACD(Stream):
    """Streaming `macd`."""

    def __new__(cls, fast: int = 12, slow: int = 26, signal: int = 9) -> Self: ...
    @property
    def fast(self) -> int: ...
    @property
    def slow(self) -> int: ...
    @property
    def signal(self) -> int: ...
    def update(self, x: float) -> tuple[float, float, float]:
        """Feed one value; (line, signal, hist), NaN until ready."""
    def update_many(self, x: _Floats) -> tuple[_F64, _F64, _F64]:
        """Feed many values in order; (line, signal, hist) arrays, as repeated `update`."""
