"""Benchmark `aggregate_bars` 1m -> 5m against pandas `resample().agg()` and a numpy
`reduceat` version, in the same run, on synthetic sessions of 390 one-minute bars.

    .venv/bin/python bench/bench_aggregate.py            # 1,000,000 bars (~2,564 sessions)
    .venv/bin/python bench/bench_aggregate.py --n 20000  # quick

Every peer's output is checked equal to ours before timing. Target: >= 250M bars/s and
>= 3x the reduceat version.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from mismartera.ext.aggregate import aggregate_bars

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_time, timing_table

MINUTE = 60_000_000_000
DAY = 86_400_000_000_000
FIRST_OPEN = 1_577_975_400_000_000_000  # 2020-01-02 14:30 UTC (09:30 New York)
SESSION_BARS = 390


def synthetic_minutes(n: int, seed: int = 7):
    """n one-minute bars in consecutive 390-bar sessions (the last one partial), valid OHLCV;
    returns (bars, session_opens, session_closes)."""
    rng = np.random.default_rng(seed)
    n_sessions = -(-n // SESSION_BARS)
    opens = FIRST_OPEN + np.arange(n_sessions, dtype=np.int64) * DAY
    closes = opens + SESSION_BARS * MINUTE
    minute = np.arange(n, dtype=np.int64)
    ts = opens[minute // SESSION_BARS] + (minute % SESSION_BARS) * MINUTE
    open_ = 100 + np.cumsum(rng.normal(0, 0.05, n))
    close = open_ + rng.normal(0, 0.05, n)
    high = np.maximum(open_, close) + rng.exponential(0.02, n)
    low = np.minimum(open_, close) - rng.exponential(0.02, n)
    volume = rng.integers(0, 10_000, n).astype(np.float64)
    return (ts, open_, high, low, close, volume), opens, closes


def ours(bars, opens, closes, interval):
    return aggregate_bars(*bars, opens, closes, interval)


def numpy_reduceat(bars, opens, closes, interval):
    """Session lookup, in-session filter, bucket keys, then ufunc.reduceat per column."""
    ts, o, h, lo, c, v = bars
    s = np.searchsorted(opens, ts, side="right") - 1
    inside = (s >= 0) & (ts < closes[np.maximum(s, 0)])
    if not inside.all():
        ts, o, h, lo, c, v, s = (a[inside] for a in (ts, o, h, lo, c, v, s))
    session_open = opens[s]
    bucket = session_open + (ts - session_open) // interval * interval
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    lasts = np.r_[starts[1:] - 1, len(ts) - 1]
    return (
        bucket[starts], o[starts], np.maximum.reduceat(h, starts),
        np.minimum.reduceat(lo, starts), c[lasts], np.add.reduceat(v, starts),
    )


def pandas_resample(bars, opens, closes, interval):
    """pandas resample anchored at the first open (days are whole multiples of the
    interval here, so every session is anchored at its own open); empty buckets dropped."""
    import pandas as pd

    ts, o, h, lo, c, v = bars
    index = pd.DatetimeIndex(ts.view("datetime64[ns]"))
    df = pd.DataFrame({"open": o, "high": h, "low": lo, "close": c, "volume": v}, index=index)
    out = df.resample(
        pd.Timedelta(interval, "ns"), origin=pd.Timestamp(int(opens[0])), closed="left",
        label="left",
    ).agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
    out = out.dropna(subset=["open"])
    return (out.index.as_unit("ns").asi8, *(out[col].to_numpy() for col in out.columns))


def check_same(name: str, got, expected) -> None:
    for k, (g, e) in enumerate(zip(got, expected, strict=True)):
        if k == 0 or k == 5:
            same = np.array_equal(np.asarray(g), e)
        else:
            same = np.allclose(np.asarray(g, np.float64), e, rtol=0, atol=0)
        if not same:
            raise SystemExit(f"{name} disagrees with aggregate_bars in column {k}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="one-minute bars")
    parser.add_argument("--repeat", type=int, default=15, help="runs per kernel (best is kept)")
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas peer")
    args = parser.parse_args(argv)

    bars, opens, closes = synthetic_minutes(args.n)
    interval = 5 * MINUTE
    result = ours(bars, opens, closes, interval)
    peers = [("numpy reduceat", numpy_reduceat)]
    if not args.no_pandas:
        peers.append(("pandas resample().agg()", pandas_resample))
    rows = [("aggregate_bars", best_time(lambda: ours(bars, opens, closes, interval),
                                          args.repeat))]
    for name, fn in peers:
        check_same(name, fn(bars, opens, closes, interval), result)
        repeat = max(1, args.repeat // 2) if "pandas" in name else args.repeat
        rows.append((name, best_time(lambda fn=fn: fn(bars, opens, closes, interval), repeat)))

    title = (f"aggregate 1m -> 5m: {args.n:,} bars in {len(opens):,} sessions -> "
             f"{len(result[0]):,} bars (best of {args.repeat})")
    print("\n".join(timing_table(title, args.n, rows)))
    print("target: aggregate_bars >= 250 M bars/s and >= 3x numpy reduceat")


if __name__ == "__main__":
    main()
