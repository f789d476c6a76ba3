"""Custom indicators for the tests: one computation written in each of the three Python
styles, a compiled one (`kernel()`), stateful recursive ones (an EMA kept in Python), a
per-session one, one that raises, and trivial ones for overhead measurements."""

from __future__ import annotations

from collections import deque

import numpy as np

from mismartera import hookimpl
from mismartera.ext import kernels
from mismartera.session.indicators import Indicator, kernel_unstable


class RangeMean(Indicator):
    """Mean bar range (high - low) over the last `period` bars: streaming."""

    period: int = 5

    @property
    def warmup(self) -> int:
        return self.period

    def validate(self) -> None:
        if self.period < 1:
            raise ValueError(f"period must be >= 1, got {self.period}")

    def update(self, window) -> float:
        return float(np.sum(window.high - window.low) / self.period)


class RangeMeanBatch(RangeMean):
    """The same as a batch computation over every bar."""

    update = Indicator.update

    def compute(self, bars):
        ranges = bars.high - bars.low
        out = np.full(len(ranges), np.nan)
        for i in range(self.period - 1, len(ranges)):
            out[i] = np.sum(ranges[i - self.period + 1:i + 1]) / self.period
        return out


class RangeMeanMany(RangeMean):
    """The same, keeping its own window of ranges and taking new bars in chunks."""

    update = Indicator.update

    def reset(self) -> None:
        self.ranges: deque[float] = deque(maxlen=self.period)

    def update_many(self, bars):
        out = np.empty(len(bars.ts))
        for i, r in enumerate(bars.high - bars.low):
            self.ranges.append(r)
            out[i] = np.sum(np.array(self.ranges)) / self.period
        return out


class Channel(Indicator):
    """Two outputs: the highest high and lowest low of the window."""

    outputs = ("upper", "lower")
    period: int = 3

    @property
    def warmup(self) -> int:
        return self.period

    def update(self, window):
        return float(window.high.max()), float(window.low.min())


class SessionCount(Indicator):
    """Bars closed so far in the session (per-session state)."""

    per_session = True

    def reset(self) -> None:
        self.n = 0

    def update(self, window) -> float:
        self.n += 1
        return float(self.n)


class Boom(Indicator):
    """Raises once a close exceeds `above`; until then the close."""

    above: float = 1e300

    def update(self, window) -> float:
        close = float(window.close[-1])
        if close > self.above:
            raise RuntimeError(f"close {close} is above {self.above}")
        return close


class CloseEcho(Indicator):
    """The last close: a trivial streaming indicator."""

    def update(self, window) -> float:
        return window.close[-1]


class Noop(Indicator):
    """Always 0: the manager's per-update overhead alone."""

    def update(self, window) -> float:
        return 0.0


class OpenEMA(Indicator):
    """EMA of the open, compiled: the session runs its kernel with the built-ins."""

    period: int = 10

    @property
    def warmup(self) -> int:
        return self.period

    def kernel(self):
        return kernels.EMA(self.period), ("open",)


class PyEMA(Indicator):
    """EMA of the close kept in Python, one bar at a time: a stateful `update` indicator
    that declares its unstable period (the kernel's) to be seeded like the built-in."""

    period: int = 10

    @property
    def warmup(self) -> int:
        return self.period

    @property
    def unstable(self) -> int:
        return kernel_unstable(kernels.EMA(self.period))

    def reset(self) -> None:
        self.kernel_ = kernels.EMA(self.period)

    def update(self, window) -> float:
        return self.kernel_.update(float(window.close[-1]))


class PyEMAMany(PyEMA):
    """The same as a stateful batch (`update_many`)."""

    def update_many(self, bars):
        return self.kernel_.update_many(bars.close)


@hookimpl
def register_indicators(register):
    register("range_mean", RangeMean)
    register("range_mean_batch", RangeMeanBatch)
    register("range_mean_many", RangeMeanMany)
    register("channel", Channel)
    register("session_count", SessionCount)
    register("boom", Boom)
    register("close_echo", CloseEcho)
    register("noop", Noop)
    register("open_ema", OpenEMA)
    register("py_ema", PyEMA)
    register("py_ema_many", PyEMAMany)
