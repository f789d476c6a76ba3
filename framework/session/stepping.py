"""What the compiled `step_until` needs to step a session bar by bar: the loaded symbols'
pipelines, the observers of each of their intervals, the intervals whose closes the per-step
callback hears of (those with indicators), the bucket ends that must be steps, and the
callback itself (clock, indicators, quality)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from mismartera.calendar.clocks import BacktestClock
from mismartera.ext.pipeline import step_until
from mismartera.intervals import Interval
from mismartera.session.data import SessionData, SymbolSessionData
from mismartera.session.indicators import IndicatorManager
from mismartera.session.indicators.symbol_set import SymbolIndicators
from mismartera.session.metrics import PerformanceMetrics
from mismartera.session.processor import changes
from mismartera.session.quality import DataQualityManager

NO_TIME = np.iinfo(np.int64).min  # no quality time taken yet (step_until's `coarse`)


def next_stop(now: int, close: int, scan: int | None, stop_times: np.ndarray,
              session_data: SessionData, fine: bool) -> int:
    """The next moment anything can observe after `now`: the close, a scanner run (`scan`),
    a stop time (sorted `stop_times`), the next base-bar close of a loaded symbol (`fine`)."""
    target = close
    if scan is not None and now < scan < target:
        target = scan
    k = int(np.searchsorted(stop_times, now, side="right"))
    if k < len(stop_times):
        target = min(target, int(stop_times[k]))
    if fine:
        for symbol_data in session_data:
            nxt = symbol_data.pipeline.next_close
            if symbol_data.is_loaded and nxt is not None:
                target = min(target, nxt)
    return max(target, now + 1) if target <= now else target


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
        self.counted()
        running = indicators if indicators.wants_bars else None
        # on_step hears only of symbols that closed a bar of an interval with indicators
        watched = indicators.intervals_watched() if running is not None else frozenset()
        # compiled indicators only: step_until advances their banks, on_step hears of nothing
        self.feeds = self._feeds(symbols) if running is not None and watched is not None \
            else None
        if self.feeds is not None:
            running, watched = None, frozenset()
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
        # only the bounds are steps when nothing looks at other moments: the observers'
        # intervals and those with indicators close only at bounds (derived, intraday,
        # observed); the quality time a bar-by-bar run would take is kept in C
        self.quality_time: np.ndarray | None = None
        if self.only_bounds_observed(observed, running is not None):
            self.quality_time = np.array([NO_TIME, quality.interval_ns, close], np.int64)
        coarse = self.quality_time
        self.quality = quality

        def on_step(t: int, changed: list[int]) -> None:
            # the per-step pipeline before observers: clock, indicators, quality (throttled)
            clock.advance_to(t)
            sd.now_ns = t
            if running is not None and changed:
                start = perf_counter()  # (a context manager per step costs more than this)
                for i in changed:
                    running.on_bars(symbols[i], changes(symbols[i]))
                timings["indicators"] = timings.get("indicators", 0.0) + perf_counter() - start
            if coarse is not None:  # the time step_until kept (the steps it skipped, this one)
                quality.catch_up(sd, None if coarse[0] == NO_TIME else int(coarse[0]))
            elif t < close:
                quality.update(sd, t)

        self.on_step = on_step
        self.session_data = sd

    @staticmethod
    def _feeds(symbols: tuple[SymbolSessionData, ...]) -> list[list[list[Any]]] | None:
        """Per symbol and interval (pipeline order), the `advance(n)` of the indicator banks
        on its bars, when no indicator of any symbol runs in Python (else None)."""
        rows = []
        for s in symbols:
            run = s.indicator_set
            banks = run.compiled_feeds() if isinstance(run, SymbolIndicators) else (
                {} if run is None else None)
            if banks is None:
                return None
            rows.append([[functools.partial(bank.advance, iv.data)
                          for bank in banks.get(iv.name, ())]
                         for iv in s.bars_in_pipeline_order])
        return rows

    def only_bounds_observed(self, observed: Iterable[Interval], indicators: bool) -> bool:
        """Whether nothing looks at a moment other than the bounds: every interval with
        observers or (when `indicators` run) indicators is derived, intraday and observed,
        so its bars close only at bounds."""
        bounded = {iv.name for iv in observed if iv.is_intraday}
        watch = self.watch
        if not len(self.bounds) or (indicators and watch is None):
            return False
        return all(iv.derived and iv.name in bounded
                   for i, s in enumerate(self.symbols)
                   for k, iv in enumerate(s.bars_in_pipeline_order)
                   if self.targets[i][k] or (watch is not None and watch[i, k]))

    def step(self, until: int, now: int, interrupt: Any) -> tuple[bool, int | None]:
        """Step from `now` up to `until` in compiled code (observers for each closed bar,
        `on_step` at each step); (False when `interrupt` stopped it before `until`, the time
        of the last step or None)."""
        bounds = self.bounds[np.searchsorted(self.bounds, now, side="right"):]
        coarse = self.quality_time
        if coarse is not None:
            last_taken = self.quality.last
            coarse[0] = NO_TIME if last_taken is None else last_taken
        last = step_until(self.pipelines, until, self.targets, interrupt, self.on_step,
                          self.session_data.lock, self.watch, bounds, coarse, self.feeds)
        if coarse is not None:  # the steps skipped after the last bound
            with self.session_data.lock:
                self.quality.catch_up(self.session_data,
                                      None if coarse[0] == NO_TIME else int(coarse[0]))
        return last is None or last >= until or not interrupt[0], last

    def counted(self) -> None:
        """What the symbols hold now is counted already (delivered outside `step`)."""
        self.before = [(s.pipeline.pos, [len(iv.data) for iv in s.derived()])
                       for s in self.symbols]

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
