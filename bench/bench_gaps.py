"""Benchmark `find_gaps` against a numpy set-difference version, in the same run, on
synthetic sessions of 390 one-minute bars with random vendor drop-outs.

    .venv/bin/python bench/bench_gaps.py            # 1,000,000 bars (~2,564 sessions)
    .venv/bin/python bench/bench_gaps.py --n 20000  # quick

The peer's output is checked equal to ours before timing. Target: >= 300M bars/s.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from mismartera.ext.gaps import find_gaps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_time, timing_table

MINUTE = 60_000_000_000
DAY = 86_400_000_000_000
FIRST_OPEN = 1_577_975_400_000_000_000  # 2020-01-02 14:30 UTC (09:30 New York)
SESSION_BARS = 390


def synthetic_stamps(n: int, drop: float, seed: int = 7):
    """Bar starts of n one-minute grid slots in consecutive 390-bar sessions, a fraction
    `drop` of them missing (single bars and short runs); returns (ts, opens, closes)."""
    rng = np.random.default_rng(seed)
    n_sessions = -(-n // SESSION_BARS)
    opens = FIRST_OPEN + np.arange(n_sessions, dtype=np.int64) * DAY
    closes = opens + SESSION_BARS * MINUTE
    slot = np.arange(n, dtype=np.int64)
    keep = np.ones(n, bool)
    starts = rng.integers(0, n, int(n * drop / 2))
    keep[starts] = False
    keep[np.minimum(starts + rng.integers(0, 3, len(starts)), n - 1)] = False
    ts = opens[slot // SESSION_BARS] + (slot % SESSION_BARS) * MINUTE
    return ts[keep], opens, closes


def numpy_setdiff(ts, opens, ends, step):
    """The expected grid of every session, np.setdiff1d against the stamps, then runs split
    where consecutive missing starts are not one step apart or change session."""
    counts = np.maximum(0, (ends - opens + step - 1) // step)
    session = np.repeat(np.arange(len(opens)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    grid = opens[session] + offsets * step
    missing = np.setdiff1d(grid, ts, assume_unique=True)
    if not len(missing):
        empty = np.empty(0, np.int64)
        return empty, empty, empty
    in_session = np.searchsorted(opens, missing, side="right") - 1
    breaks = np.flatnonzero((np.diff(missing) != step) | (np.diff(in_session) != 0)) + 1
    firsts = np.r_[0, breaks]
    lasts = np.r_[breaks - 1, len(missing) - 1]
    return missing[firsts], missing[lasts], lasts - firsts + 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="one-minute grid slots")
    parser.add_argument("--drop", type=float, default=0.001, help="fraction of bars missing")
    parser.add_argument("--repeat", type=int, default=15, help="runs per kernel (best is kept)")
    args = parser.parse_args(argv)

    ts, opens, closes = synthetic_stamps(args.n, args.drop)
    result = find_gaps(ts, opens, closes, MINUTE)
    peer = numpy_setdiff(ts, opens, closes, MINUTE)
    if not all(np.array_equal(a, b) for a, b in zip(result, peer, strict=True)):
        raise SystemExit("the numpy set-difference version disagrees with find_gaps")
    rows = [
        ("find_gaps", best_time(lambda: find_gaps(ts, opens, closes, MINUTE), args.repeat)),
        ("numpy setdiff1d", best_time(lambda: numpy_setdiff(ts, opens, closes, MINUTE),
                                      args.repeat)),
    ]
    title = (f"find_gaps 1m: {len(ts):,} bars in {len(opens):,} sessions -> "
             f"{len(result[0]):,} gaps, {int(result[2].sum()):,} missing bars "
             f"(best of {args.repeat})")
    print("\n".join(timing_table(title, len(ts), rows)))
    print("target: find_gaps >= 300 M bars/s")


if __name__ == "__main__":
    main()
