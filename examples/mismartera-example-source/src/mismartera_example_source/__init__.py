"""A data source that serves sine-wave bars for any symbol: a template for source plugins."""

from __future__ import annotations

import zlib

import numpy as np

from mismartera import Bars, ConfigError, Interval, TimeManager, hookimpl


class SineSource:
    """Deterministic bars: price = base + amplitude * sin(phase + t / period)."""

    name = "sine"
    OPTIONS = ("exchange", "amplitude", "interval")

    def __init__(self, exchange: str = "XNYS", amplitude: float = 1.0, interval: str = "1m",
                 **unknown: object) -> None:
        if unknown:
            raise ConfigError(f"[data] option {next(iter(unknown))!r} is not understood by the "
                              f"sine source; valid options: {', '.join(self.OPTIONS)}")
        self.calendar = TimeManager(exchange)
        self.amplitude = float(amplitude)
        self.interval = Interval.parse(interval)

    def symbols(self) -> list[str]:
        return ["SINE"]

    def intervals(self, symbol: str) -> list[Interval]:
        return [self.interval]

    def bars(self, symbol: str, interval: Interval, start_ns: int, end_ns: int) -> Bars:
        if interval != self.interval:
            return Bars.empty()
        base = 50.0 + zlib.crc32(symbol.encode()) % 100
        table = self.calendar.sessions(self.calendar.date_of(start_ns),
                                       self.calendar.date_of(max(start_ns, end_ns - 1)))
        parts = []
        for open_ns, close_ns in zip(table.opens, table.closes, strict=True):
            ts = np.arange(open_ns, close_ns, interval.ns, dtype=np.int64)
            ts = ts[(ts >= start_ns) & (ts < end_ns)]
            t = ts.astype(np.float64) / interval.ns
            close = base + self.amplitude * np.sin(t / 30.0)
            open_ = base + self.amplitude * np.sin((t - 1) / 30.0)
            high = np.maximum(open_, close) + 0.01
            low = np.minimum(open_, close) - 0.01
            parts.append(Bars.from_arrays(ts, open_, high, low, close, np.full(len(ts), 100.0)))
        return Bars.concat(parts)


@hookimpl
def register_data_sources(register):
    register("sine", SineSource, description="deterministic sine-wave bars (example plugin)")
