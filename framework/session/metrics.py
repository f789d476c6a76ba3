"""PerformanceMetrics: timings per phase and counters of a whole run, and of each day."""

from __future__ import annotations

import datetime
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from mismartera.errors import DataError
from mismartera.ext.pipeline import count_distinct

PHASES = ("historical_load", "indicators", "queue_load", "session")
COUNTERS = ("bars_read", "bars_processed", "bars_derived", "iterations")


@dataclass
class DayMetrics:
    """One trading day of a run: its counters and phase timings (what the run totals gained
    during the day), and `session_gap_s`, the wall time from the previous session's end (its
    phase 4 done) to this session's start (streaming begins): teardown, the previous day's
    exports and this day's loading. None for the run's first session."""

    date: datetime.date
    counters: dict[str, int] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    session_gap_s: float | None = None

    def to_dict(self) -> dict:
        return {
            "date": self.date.isoformat(),
            **self.counters,
            "session_gap_s": None if self.session_gap_s is None else round(self.session_gap_s, 6),
            "timings_s": {k: round(v, 6) for k, v in self.timings_s.items()},
        }


@dataclass
class PerformanceMetrics:
    """Wall-clock timings per phase (seconds, summed over days) and run counters.

    `session` is the streaming phase; it includes the indicator updates made while
    streaming, which `indicators` also counts (with the seeding done before the open).
    `days` holds the same per finished trading day; `session_gap_s` sums the wall time
    between sessions. `gap_fill`, set by a live coordinator, returns its gap-filling
    counters."""

    timings_s: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    bars_processed: int = 0   # base bars delivered into SessionData
    bars_read: int = 0        # base bars the source returned for the session days
    bars_derived: int = 0     # derived bars closed
    bars_dropped: int = 0     # queued bars of symbols removed before they were delivered
    iterations: int = 0       # clock steps a bar-by-bar run takes (distinct bar close times)
    trading_days: int = 0
    run_s: float = 0.0        # wall time of the whole run (all phases, all days)
    session_gap_s: float = 0.0  # wall time between sessions, summed over the run
    rejected: Counter = field(default_factory=Counter)  # over the whole run
    days: list[DayMetrics] = field(default_factory=list)  # finished trading days
    gap_fill: Callable[[], dict[str, int]] | None = None
    _day: tuple[DayMetrics, dict[str, int], dict[str, float]] | None = field(
        default=None, repr=False)
    _ended: float | None = field(default=None, repr=False)  # perf_counter at the last end

    @contextmanager
    def timed(self, phase: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings_s[phase] = self.timings_s.get(phase, 0.0) + time.perf_counter() - start

    # --- per day -----------------------------------------------------------------------------

    def day_begin(self, date: datetime.date) -> None:
        """A trading day starts (before its phase 2): take the totals it will add to."""
        self._day = (DayMetrics(date), {k: getattr(self, k) for k in COUNTERS},
                     dict(self.timings_s))

    def session_start(self) -> None:
        """The day's session starts streaming: the session gap since the last one ended."""
        if self._ended is not None and self._day is not None:
            gap = time.perf_counter() - self._ended
            self._day[0].session_gap_s = gap
            self.session_gap_s += gap

    def day_end(self) -> None:
        """The day's phase 4 is done: record what it added to the totals."""
        self._ended = time.perf_counter()
        if self._day is None:
            return
        day, counters, timings = self._day
        day.counters = {k: getattr(self, k) - counters[k] for k in COUNTERS}
        day.timings_s = {k: v - timings.get(k, 0.0) for k, v in self.timings_s.items()}
        self.days.append(day)
        self._day = None

    def count_iterations(self, delivered: list[np.ndarray]) -> None:
        """Add a session's clock steps: the distinct close times of the base bars each
        loaded symbol had delivered (`delivered`, one array of times per symbol)."""
        if len(delivered) == 1:
            self.iterations += len(delivered[0])
        elif delivered:  # distinct close times over all symbols (one, when none had a bar)
            self.iterations += max(count_distinct(delivered), 1)

    # --- the run's outcome -------------------------------------------------------------------

    def no_bars_error(self, days: list[datetime.date], symbols: tuple[str, ...] | list[str],
                      source_name: str, exchange: str) -> DataError:
        """The error of a backtest over `days` that ran to its end without a single bar of
        any of `symbols`: the period, the source, and why (every bar read was rejected)."""
        first, last = days[0], days[-1]
        period = f"on {first}" if first == last else f"from {first} to {last}"
        rejected = ", ".join(f"{k} {v:,}" for k, v in sorted(self.rejected.items()) if v)
        why = (f"; all {self.bars_read:,} bars read were rejected ({rejected})"
               if self.bars_read else "")
        return DataError(f"no bars for {', '.join(symbols) or 'any symbol'} "
                         f"from source {source_name!r} {period} ({len(days)} "
                         f"{exchange} trading days){why}")

    # --- export ------------------------------------------------------------------------------

    def to_dict(self, timings: bool = True) -> dict:
        """The export's `metrics`: run totals; wall times are zeros unless `timings`, which
        adds the `days` list. A live session adds `gap_fill`."""
        doc: dict = {
            "bars_processed": self.bars_processed,
            "iterations": self.iterations,
            "trading_days": self.trading_days,
            "session_gap_s": round(self.session_gap_s, 6) if timings else 0.0,
            "timings_s": {k: (round(v, 6) if timings else 0.0) for k, v in self.timings_s.items()},
        }
        if timings:
            doc["days"] = [d.to_dict() for d in self.days]
        if self.gap_fill is not None:
            doc["gap_fill"] = self.gap_fill()
        return doc
