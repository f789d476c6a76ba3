"""The built-in session indicators, on the compiled streaming kernels of `mismartera.ext.kernels`.

Values equal TA-Lib's definitions (SMA, EMA, RSI, ATR, BBANDS with an SMA middle, MACD,
STDDEV, MAX, MIN); `vwap` restarts at every session open. Each wraps one streaming kernel
and implements `update_many` with the kernel's own: a whole chunk of closed bars advances
the kernel in one nogil loop, with exactly the values bar-by-bar updates give.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mismartera import Indicator, hookimpl
from mismartera.ext import kernels
from mismartera.session.indicators import Window

FIELDS = ("open", "high", "low", "close", "volume")


class _Kernel(Indicator):
    """One streaming kernel over a window of `period` bars of one bar field; subclasses say
    which kernel (`make`) and which field (`column`)."""

    period: int = 20

    @property
    def warmup(self) -> int:  # type: ignore[override]
        return self.period

    def validate(self) -> None:
        if self.period < 1:
            raise ValueError(f"period must be >= 1, got {self.period}")

    def make(self) -> Any:
        raise NotImplementedError

    def column(self, bars: Window) -> np.ndarray:
        return bars.close

    def reset(self) -> None:
        kernel = getattr(self, "_kernel", None)
        if kernel is None:
            self._kernel = self.make()
        else:
            kernel.reset()

    def update_many(self, bars: Window) -> Any:
        return self._kernel.update_many(self.column(bars))


class _OnField(_Kernel):
    """A kernel over the bar field named by parameter `field`."""

    field: str = "close"

    def validate(self) -> None:
        super().validate()
        if self.field not in FIELDS:
            raise ValueError(f"field must be one of {', '.join(FIELDS)}, got {self.field!r}")

    def column(self, bars: Window) -> np.ndarray:
        return getattr(bars, self.field)


class SMA(_OnField):
    """Simple moving average of a field (TA-Lib SMA)."""

    name = "sma"

    def make(self) -> Any:
        return kernels.SMA(self.period)


class EMA(_OnField):
    """Exponential moving average, seeded with the SMA of the first `period` (TA-Lib EMA)."""

    name = "ema"

    def make(self) -> Any:
        return kernels.EMA(self.period)


class RSI(_OnField):
    """Relative strength index with Wilder smoothing (TA-Lib RSI)."""

    name = "rsi"
    period: int = 14

    @property
    def warmup(self) -> int:  # type: ignore[override]
        return self.period + 1

    def make(self) -> Any:
        return kernels.RSI(self.period)


class StdDev(_OnField):
    """Rolling population standard deviation times `nbdev` (TA-Lib STDDEV)."""

    name = "stddev"
    nbdev: float = 1.0

    def make(self) -> Any:
        return kernels.RollingStd(self.period)

    def update_many(self, bars: Window) -> Any:
        values = self._kernel.update_many(self.column(bars))
        return values if self.nbdev == 1.0 else values * self.nbdev


class Highest(_OnField):
    """Highest value of a field over the last `period` bars (TA-Lib MAX)."""

    name = "highest"
    field: str = "high"

    def make(self) -> Any:
        return kernels.RollingMax(self.period)


class Lowest(_OnField):
    """Lowest value of a field over the last `period` bars (TA-Lib MIN)."""

    name = "lowest"
    field: str = "low"

    def make(self) -> Any:
        return kernels.RollingMin(self.period)


class VolumeSMA(_Kernel):
    """Simple moving average of the volume."""

    name = "volume_sma"

    def make(self) -> Any:
        return kernels.SMA(self.period)

    def column(self, bars: Window) -> np.ndarray:
        return bars.volume


class BBands(_OnField):
    """Bollinger bands around an SMA (TA-Lib BBANDS, matype 0): upper, middle, lower."""

    name = "bbands"
    outputs = ("upper", "middle", "lower")
    nbdev_up: float = 2.0
    nbdev_dn: float = 2.0

    def make(self) -> Any:
        return kernels.BBands(self.period, self.nbdev_up, self.nbdev_dn)


class MACD(Indicator):
    """Moving average convergence/divergence (TA-Lib MACD): macd, signal, hist."""

    name = "macd"
    outputs = ("macd", "signal", "hist")
    fast: int = 12
    slow: int = 26
    signal: int = 9
    field: str = "close"

    @property
    def warmup(self) -> int:  # type: ignore[override]
        return self.slow + self.signal - 1

    def validate(self) -> None:
        for name in ("fast", "slow", "signal"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.fast > self.slow:
            raise ValueError(f"fast must be <= slow, got fast={self.fast} and slow={self.slow}")
        if self.field not in FIELDS:
            raise ValueError(f"field must be one of {', '.join(FIELDS)}, got {self.field!r}")

    def reset(self) -> None:
        kernel = getattr(self, "_kernel", None)
        if kernel is None:
            self._kernel = kernels.MACD(self.fast, self.slow, self.signal)
        else:
            kernel.reset()

    def update_many(self, bars: Window) -> Any:
        return self._kernel.update_many(getattr(bars, self.field))


class ATR(_Kernel):
    """Average true range with Wilder smoothing (TA-Lib ATR)."""

    name = "atr"
    period: int = 14

    @property
    def warmup(self) -> int:  # type: ignore[override]
        return self.period + 1

    def make(self) -> Any:
        return kernels.ATR(self.period)

    def update_many(self, bars: Window) -> Any:
        return self._kernel.update_many(bars.high, bars.low, bars.close)


class VWAP(Indicator):
    """Volume-weighted average price of the session so far, typical price (h + l + c) / 3."""

    name = "vwap"
    per_session = True

    def reset(self) -> None:
        kernel = getattr(self, "_kernel", None)
        if kernel is None:
            self._kernel = kernels.VWAP()
        else:
            kernel.reset()

    def update_many(self, bars: Window) -> Any:
        return self._kernel.update_many(bars.high, bars.low, bars.close, bars.volume)


BUILTINS: tuple[type[Indicator], ...] = (SMA, EMA, RSI, ATR, VWAP, BBands, MACD, StdDev,
                                         Highest, Lowest, VolumeSMA)


@hookimpl
def register_indicators(register):
    for cls in BUILTINS:
        register(cls.name, cls, description=(cls.__doc__ or "").strip().splitlines()[0])
