"""PerformanceMetrics: timings per phase and counters of a whole run."""

from __future__ import annotations

import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

PHASES = ("historical_load", "indicators", "queue_load", "session")


@dataclass
class PerformanceMetrics:
    """Wall-clock timings per phase (seconds, summed over days) and run counters.

    `session` is the streaming phase; it includes the indicator updates made while
    streaming, which `indicators` also counts (with the seeding done before the open)."""

    timings_s: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    bars_processed: int = 0   # base bars delivered into SessionData
    bars_read: int = 0        # base bars the source returned for the session days
    bars_derived: int = 0     # derived bars closed
    bars_dropped: int = 0     # queued bars of symbols removed before they were delivered
    iterations: int = 0       # clock steps a bar-by-bar run takes (distinct bar close times)
    trading_days: int = 0
    run_s: float = 0.0        # wall time of the whole run (all phases, all days)
    rejected: Counter = field(default_factory=Counter)  # over the whole run

    @contextmanager
    def timed(self, phase: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings_s[phase] = self.timings_s.get(phase, 0.0) + time.perf_counter() - start

    def to_dict(self, timings: bool = True) -> dict:
        return {
            "bars_processed": self.bars_processed,
            "iterations": self.iterations,
            "trading_days": self.trading_days,
            "timings_s": {k: (round(v, 6) if timings else 0.0) for k, v in self.timings_s.items()},
        }
