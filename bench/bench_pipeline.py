"""Benchmark the compiled per-symbol pipeline against the same work done through the
Python-level kernel calls, in the same run: one symbol-day of 390 one-minute bars with
5m/15m/30m derived.

1. `SymbolPipeline.set_queue` + `advance(close)` vs `BarRing.extend`, `GapTracker.add_many`
   and, per derived interval, `StreamingAggregator.feed` + `close_until` + `pop_closed` +
   `BarRing.extend` + `GapTracker.add_many`: µs per symbol-day and bars/s.
2. `step_until` bar by bar with a no-op target per base bar vs a Python loop calling
   `advance(t)` per bar and handing each closed bar to the target the way the coordinator's
   dispatch does (`BarRing.arrays(n)` rows -> `ClosedBar` -> target): bars/s.

    .venv/bin/python bench/bench_pipeline.py           # 1,000 symbol-days, best of 3
    .venv/bin/python bench/bench_pipeline.py --n 50    # quick

Both ways are checked to leave identical rings and gaps (and hand identical bars) before
anything is timed. The kernel state is reset between symbol-days outside the timed region.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from mismartera.ext.aggregate import StreamingAggregator
from mismartera.ext.gaps import GapTracker
from mismartera.ext.pipeline import ClosedBar, SymbolPipeline, step_until
from mismartera.ext.ring import BarRing

MINUTE = 60_000_000_000
OPEN = 1_577_975_400_000_000_000  # 2020-01-02 14:30 UTC (09:30 New York)
CLOSE = OPEN + 390 * MINUTE
DERIVED = (5 * MINUTE, 15 * MINUTE, 30 * MINUTE)


def minute_day(seed: int = 7) -> tuple[np.ndarray, ...]:
    """390 valid one-minute bars of one session."""
    rng = np.random.default_rng(seed)
    ts = OPEN + np.arange(390, dtype=np.int64) * MINUTE
    open_ = 100 + np.cumsum(rng.normal(0, 0.05, 390))
    close = open_ + rng.normal(0, 0.05, 390)
    high = np.maximum(open_, close) + rng.exponential(0.02, 390)
    low = np.minimum(open_, close) - rng.exponential(0.02, 390)
    volume = rng.integers(0, 10_000, 390).astype(np.float64)
    return ts, open_, high, low, close, volume


class Symbol:
    """One symbol's kernel state (base + 5m/15m/30m) and its pipeline."""

    def __init__(self) -> None:
        ivs = (MINUTE, *DERIVED)
        self.rings = [BarRing(512) for _ in ivs]
        self.trackers = [GapTracker(iv) for iv in ivs]
        self.aggs = [StreamingAggregator(MINUTE, iv) for iv in DERIVED]
        self.pipeline = SymbolPipeline(self.rings[0], self.trackers[0], MINUTE,
                                       list(zip(self.aggs, self.rings[1:], self.trackers[1:],
                                                strict=True)))
        self.reset()

    def reset(self) -> None:
        """A new session: what SymbolSessionData.start_session does."""
        for ring in self.rings:
            ring.clear()
        for part in (*self.trackers, *self.aggs):
            part.start_session(OPEN, CLOSE)
        self.pipeline.reset_metrics()

    def state(self) -> list:
        return ([[a.tolist() for a in r.arrays()] for r in self.rings]
                + [[a.tolist() for a in t.gaps(CLOSE)] for t in self.trackers])


# ---------------------------------------------------------------------------------------
# 1. one symbol-day in one call vs the separate kernel calls


def day_pipeline(sym: Symbol, bars) -> None:
    sym.pipeline.set_queue(*bars)
    sym.pipeline.advance(CLOSE)


def day_kernels(sym: Symbol, bars) -> None:
    sym.rings[0].extend(*bars)
    sym.trackers[0].add_many(bars[0])
    for agg, ring, tracker in zip(sym.aggs, sym.rings[1:], sym.trackers[1:], strict=True):
        agg.feed(*bars)
        agg.close_until(CLOSE)
        out = agg.pop_closed()
        ring.extend(*out)
        tracker.add_many(out[0])


# ---------------------------------------------------------------------------------------
# 2. bar by bar: step_until vs a Python loop of advance(t)


def steps_compiled(sym: Symbol, bars, target: Callable) -> None:
    sym.pipeline.set_queue(*bars)
    step_until([sym.pipeline], CLOSE, [[[target], [], [], []]], np.zeros(1, np.uint8))


def steps_python(sym: Symbol, bars, target: Callable) -> None:
    p = sym.pipeline
    p.set_queue(*bars)
    targets = [[target], [], [], []]
    for t in (bars[0] + MINUTE).tolist():
        p.advance(t)
        closed = p.closed
        for k, wanted in enumerate(targets):
            n = int(closed[k])
            if n and wanted:
                for row in zip(*sym.rings[k].arrays(n), strict=True):
                    bar = ClosedBar(int(row[0]), *map(float, row[1:]))
                    for f in wanted:
                        f(bar)


def noop(bar: object) -> None:
    pass


# ---------------------------------------------------------------------------------------


def time_days(fn: Callable[[], None], reset: Callable[[], None], n: int, repeat: int) -> float:
    """Best over `repeat` runs of the total time of n symbol-days (reset untimed), per day."""
    best = float("inf")
    for _ in range(repeat):
        total = 0
        for _ in range(n):
            reset()
            start = time.perf_counter_ns()
            fn()
            total += time.perf_counter_ns() - start
        best = min(best, total)
    return best / n / 1e9


def check(bars) -> None:
    """Both ways of each benchmark leave the same record (and hand the same bars)."""
    a, b = Symbol(), Symbol()
    day_pipeline(a, bars)
    day_kernels(b, bars)
    if a.state() != b.state():
        raise SystemExit("SymbolPipeline.advance and the separate kernel calls disagree")
    seen_a: list = []
    seen_b: list = []
    a.reset()
    b.reset()
    steps_compiled(a, bars, seen_a.append)
    steps_python(b, bars, seen_b.append)
    if seen_a != seen_b or a.state() != b.state() or len(seen_a) != len(bars[0]):
        raise SystemExit("step_until and the Python advance loop disagree")


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000, help="symbol-days per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per way (best is kept)")
    args = parser.parse_args(argv)

    bars = minute_day()
    check(bars)
    n_bars = len(bars[0])
    sym = Symbol()
    rows = [
        ("SymbolPipeline.advance(close)", lambda: day_pipeline(sym, bars)),
        ("separate kernel calls", lambda: day_kernels(sym, bars)),
        ("step_until, no-op target/bar", lambda: steps_compiled(sym, bars, noop)),
        ("Python loop of advance(t)", lambda: steps_python(sym, bars, noop)),
    ]
    seconds = [time_days(fn, sym.reset, args.n, args.repeat) for _, fn in rows]

    print(f"pipeline: 1m base -> 5m/15m/30m, {n_bars} bars per symbol-day, "
          f"{args.n:,} symbol-days (best of {args.repeat})")
    print(f"{'way':<32} {'µs/symbol-day':>14} {'M bars/s':>9} {'ours is x faster':>17}")
    for k, ((name, _), s) in enumerate(zip(rows, seconds, strict=True)):
        ratio = "" if k % 2 == 0 else f"{s / seconds[k - 1]:.2f}"
        print(f"{name:<32} {s * 1e6:>14.2f} {n_bars / s / 1e6:>9.2f} {ratio:>17}")
    return {"advance_us": seconds[0] * 1e6, "kernels_us": seconds[1] * 1e6,
            "step_bars_per_s": n_bars / seconds[2], "loop_bars_per_s": n_bars / seconds[3]}


if __name__ == "__main__":
    main()
