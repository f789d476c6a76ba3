"""The built-in session indicators, on the compiled streaming kernels of `mismartera.ext.kernels`.

Values equal TA-Lib's definitions (SMA, EMA, RSI, ATR, BBANDS with an SMA middle, MACD,
STDDEV, MAX, MIN); `vwap` restarts at every session open. Each wraps one streaming kernel
through `kernel()`: the session advances all of a symbol's built-ins of one interval in one
compiled call per chunk (`mismartera.ext.indicator_bank`), with exactly the values
bar-by-bar updates give.
"""

from __future__ import annotations

from typing import Any

from mismartera import Indicator, hookimpl
from mismartera.ext import kernels

FIELDS = ("open", "high", "low", "close", "volume")


class _Periodic(Indicator):
    """An indicator over `period` bars, ready once it saw `period` bars."""

    period: int = 20

    @property
    def warmup(self) -> int:
        return self.period

    def validate(self) -> None:
        if self.period < 1:
            raise ValueError(f"period must be >= 1, got {self.period}")


class _Kernel(_Periodic):
    """One streaming kernel over the bar field named by parameter `field`; subclasses say
    which kernel (`make`)."""

    field: str = "close"

    def validate(self) -> None:
        super().validate()
        if self.field not in FIELDS:
            raise ValueError(f"field must be one of {', '.join(FIELDS)}, got {self.field!r}")

    def make(self) -> Any:
        raise NotImplementedError

    def kernel(self) -> tuple[Any, tuple[str, ...]]:
        return self.make(), (self.field,)


class SMA(_Kernel):
    """Simple moving average of a field (TA-Lib SMA)."""

    name = "sma"

    def make(self) -> Any:
        return kernels.SMA(self.period)


class EMA(_Kernel):
    """Exponential moving average, seeded with the SMA of the first `period` (TA-Lib EMA)."""

    name = "ema"

    def make(self) -> Any:
        return kernels.EMA(self.period)


class RSI(_Kernel):
    """Relative strength index with Wilder smoothing (TA-Lib RSI)."""

    name = "rsi"
    period: int = 14

    @property
    def warmup(self) -> int:
        return self.period + 1

    def make(self) -> Any:
        return kernels.RSI(self.period)


class StdDev(_Kernel):
    """Rolling population standard deviation times `nbdev` (TA-Lib STDDEV)."""

    name = "stddev"
    nbdev: float = 1.0

    def make(self) -> Any:
        return kernels.RollingStd(self.period, self.nbdev)


class Highest(_Kernel):
    """Highest value of a field over the last `period` bars (TA-Lib MAX)."""

    name = "highest"
    field: str = "high"

    def make(self) -> Any:
        return kernels.RollingMax(self.period)


class Lowest(_Kernel):
    """Lowest value of a field over the last `period` bars (TA-Lib MIN)."""

    name = "lowest"
    field: str = "low"

    def make(self) -> Any:
        return kernels.RollingMin(self.period)


class VolumeSMA(_Periodic):
    """Simple moving average of the volume."""

    name = "volume_sma"

    def kernel(self) -> tuple[Any, tuple[str, ...]]:
        return kernels.SMA(self.period), ("volume",)


class BBands(_Kernel):
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
    def warmup(self) -> int:
        return self.slow + self.signal - 1

    def validate(self) -> None:
        for name in ("fast", "slow", "signal"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.fast > self.slow:
            raise ValueError(f"fast must be <= slow, got fast={self.fast} and slow={self.slow}")
        if self.field not in FIELDS:
            raise ValueError(f"field must be one of {', '.join(FIELDS)}, got {self.field!r}")

    def kernel(self) -> tuple[Any, tuple[str, ...]]:
        return kernels.MACD(self.fast, self.slow, self.signal), (self.field,)


class ATR(_Periodic):
    """Average true range with Wilder smoothing (TA-Lib ATR)."""

    name = "atr"
    period: int = 14

    @property
    def warmup(self) -> int:
        return self.period + 1

    def kernel(self) -> tuple[Any, tuple[str, ...]]:
        return kernels.ATR(self.period), ("high", "low", "close")


class VWAP(Indicator):
    """Volume-weighted average price of the session so far, typical price (h + l + c) / 3."""

    name = "vwap"
    per_session = True

    def kernel(self) -> tuple[Any, tuple[str, ...]]:
        return kernels.VWAP(), ("high", "low", "close", "volume")


BUILTINS: tuple[type[Indicator], ...] = (SMA, EMA, RSI, ATR, VWAP, BBands, MACD, StdDev,
                                         Highest, Lowest, VolumeSMA)


@hookimpl
def register_indicators(register):
    for cls in BUILTINS:
        register(cls.name, cls, description=(cls.__doc__ or "").strip().splitlines()[0])
