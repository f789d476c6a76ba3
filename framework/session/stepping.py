"""What the compiled `step_until` needs to step a session bar by bar: the loaded symbols'
pipelines, the observers of each of their intervals, the intervals whose closes the per-step
callback hears of (those with indicators), the bucket ends that must be steps, and the
callback itself (clock, indicators, quality)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from mismartera.calendar.clocks import BacktestClock
from mismartera.ext.pipeline import step_until
from mismartera.intervals import Interval
from mismartera.session.data import SessionData, SymbolSessionData
from mismartera.session.indicators import IndicatorManager
from mismartera.session.metrics import PerformanceMetrics
from mismartera.session.processor import changes
from mismartera.session.quality import DataQualityManager


class Stepper:
    """The arguments of `step_until` for one session's loaded symbols: pipelines, per-bar
    targets, the intervals whose closes the per-step callback hears of (those with
    indicators), the callback itself, and the positions stepping started from (metrics)."""

    def __init__(self, symbols: tuple[SymbolSessionData, ...], session_data: SessionData,
                 clock: BacktestClock, quality: DataQualityManager,
                 indicators: IndicatorManager, timings: dict[str, float],
                 targets: Callable[[str, str], list[Any]], observed: Iterable[Interval]
                 ) -> None:
        """`targets(symbol, interval)`: the observers of a symbol's interval; `observed`: the
        intervals any per-bar observer named; `timings`: where indicator time is added."""
        sd = session_data
        self.clock, self.symbols = clock, symbols
        self.pipelines = [s.pipeline for s in symbols]
        self.targets = [[targets(s.symbol, iv.interval.name)
                         for iv in s.bars_in_pipeline_order] for s in symbols]
        self.before = [(s.pipeline.pos, [len(iv.data) for iv in s.derived()]) for s in symbols]
        running = indicators if indicators.wants_bars else None
        # on_step hears only of symbols that closed a bar of an interval with indicators
        watched = indicators.intervals_watched() if running is not None else frozenset()
        self.watch = None
        if watched is not None and symbols:
            width = max(len(row) for row in self.targets)
            self.watch = np.zeros((len(symbols), width), np.uint8)
            for i, s in enumerate(symbols):
                for k, iv in enumerate(s.bars_in_pipeline_order):
                    self.watch[i, k] = iv.interval.name in watched
        open_ns, close = sd.today.open_ns, sd.today.close_ns
        perf_counter = time.perf_counter
        # the bucket ends of the derived intervals observers named: steps even when the base
        # bar ending a bucket is missing, so its bar is handed out at its end
        self.bounds = np.empty(0, np.int64)
        ends = [np.arange(open_ns + iv.ns, close, iv.ns, dtype=np.int64)
                for iv in observed if iv.is_intraday and any(
                    iv.name in s.bars and s.bars[iv.name].derived for s in symbols)]
        if ends:
            self.bounds = np.unique(np.concatenate([*ends, np.array([close], np.int64)]))

        def on_step(t: int, changed: list[int]) -> None:
            # the per-step pipeline before observers: clock, indicators, quality (throttled)
            clock.advance_to(t)
            sd.now_ns = t
            if running is not None and changed:
                start = perf_counter()  # (a context manager per step costs more than this)
                for i in changed:
                    running.on_bars(symbols[i], changes(symbols[i]))
                timings["indicators"] = timings.get("indicators", 0.0) + perf_counter() - start
            if t < close:
                quality.update(sd, t)

        self.on_step = on_step
        self.session_data = sd

    def step(self, until: int, now: int, interrupt: Any) -> tuple[bool, int | None]:
        """Step from `now` up to `until` in compiled code (observers for each closed bar,
        `on_step` at each step); (False when `interrupt` stopped it before `until`, the time
        of the last step or None)."""
        bounds = self.bounds[np.searchsorted(self.bounds, now, side="right"):]
        last = step_until(self.pipelines, until, self.targets, interrupt, self.on_step,
                          self.session_data.lock, self.watch, bounds)
        return last is None or last >= until or not interrupt[0], last

    def flush(self, metrics: PerformanceMetrics) -> None:
        """Count what the stepped symbols delivered and derived since the last count."""
        with self.session_data.lock:
            for i, s in enumerate(self.symbols):
                pos, lengths = self.before[i]
                metrics.bars_processed += s.pipeline.pos - pos
                if s.pipeline.pos > pos:
                    s.base.updated = True
                derived = s.derived()
                for n, iv in zip(lengths, derived, strict=True):
                    metrics.bars_derived += len(iv.data) - n
                    iv.updated = iv.updated or len(iv.data) > n
                self.before[i] = (s.pipeline.pos, [len(iv.data) for iv in derived])


__all__ = ["Stepper"]
