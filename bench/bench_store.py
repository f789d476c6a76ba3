"""Benchmark: CSV import into the store, and loading one symbol-day from it.

    .venv/bin/python bench/bench_store.py [--n 2000000] [--days 200] [--dir DIR]

Generates a minute-bar CSV of `--n` rows (390 regular-session bars per weekday, stamps in
ISO-8601 with their New York offset, like ../shared/data/minute), then measures in one run:

- import: `read_bars_file` (parse + validate every row) and `BarStore.write` (one
  transaction) in rows/s, against pandas `read_csv` of the same file into a DataFrame
  (without and with converting the stamps to datetimes);
- one symbol-day load from the store opened read-only, median over `--days` sessions: a
  plain query per day (no read-ahead) and a day-by-day walk with the default read-ahead,
  against the same query fetched as a pandas DataFrame (`.df()`).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np

from mismartera.importer import read_bars_file
from mismartera.intervals import Interval
from mismartera.store import BarStore

NS = 1_000_000_000
MIN = 60 * NS
DAY = 86_400 * NS
TZ = ZoneInfo("America/New_York")


def session_opens(n_days: int) -> np.ndarray:
    """09:30 New York on the first `n_days` weekdays from 2010-01-04, as ns UTC."""
    from datetime import date, datetime, timedelta

    out, d = [], date(2010, 1, 4)
    while len(out) < n_days:
        if d.weekday() < 5:
            out.append(int(datetime(d.year, d.month, d.day, 9, 30, tzinfo=TZ).timestamp()) * NS)
        d += timedelta(days=1)
    return np.array(out, dtype=np.int64)


def make_csv(path: Path, n: int) -> np.ndarray:
    """Write an n-row minute CSV; return the session opens it covers."""
    opens = session_opens(-(-n // 390))
    ts = (opens[:, None] + MIN * np.arange(390)[None, :]).ravel()[:n]
    offsets = np.where(_is_dst(ts), -4 * 3600 * NS, -5 * 3600 * NS)
    wall = np.datetime_as_string((ts + offsets).astype("datetime64[ns]").astype("datetime64[s]"))
    stamp = np.char.add(wall.astype(str), np.where(offsets == -4 * 3600 * NS, "-04:00", "-05:00"))
    rng = np.random.default_rng(7)
    close = np.round(100 + np.cumsum(rng.normal(0, 0.02, n)), 4)
    open_ = np.round(close + rng.normal(0, 0.01, n), 4)
    high = np.round(np.maximum(open_, close) + np.abs(rng.normal(0, 0.01, n)), 4)
    low = np.round(np.minimum(open_, close) - np.abs(rng.normal(0, 0.01, n)), 4)
    volume = rng.integers(100, 100_000, n).astype(np.int64)
    con = duckdb.connect()
    con.register("t", {"timestamp": stamp.astype(object), "open": open_, "high": high,
                       "low": low, "close": close, "volume": volume})
    con.execute(f"COPY (SELECT * FROM t) TO '{path}' (HEADER, DELIMITER ',')")
    con.close()
    return opens


def _is_dst(ts: np.ndarray) -> np.ndarray:
    years = sorted({y for y in range(2009, 2040)})
    from datetime import datetime

    edges = []
    for y in years:  # second Sunday of March 07:00 UTC .. first Sunday of November 06:00 UTC
        mar = datetime(y, 3, 8 + (6 - datetime(y, 3, 8).weekday()) % 7, 7)
        nov = datetime(y, 11, 1 + (6 - datetime(y, 11, 1).weekday()) % 7, 6)
        edges += [int(mar.timestamp()) * NS, int(nov.timestamp()) * NS]
    return (np.searchsorted(np.array(edges), ts, side="right") % 2) == 1


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2_000_000, help="CSV rows (default 2,000,000)")
    ap.add_argument("--days", type=int, default=200, help="symbol-days to load (default 200)")
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp one)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(dir=args.dir))
    try:
        run(work, args.n, args.days)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, n: int, days: int) -> None:
    import pandas as pd

    csv_path = work / "SPY_minute.csv"
    opens = make_csv(csv_path, n)
    mb = csv_path.stat().st_size / 1e6
    iv = Interval.parse("1m")
    store_path = work / "bars.duckdb"

    t_parse, bars = timed(lambda: read_bars_file(csv_path, iv, TZ))
    assert len(bars) == n

    def write() -> None:
        with BarStore(store_path) as s:
            s.write("SPY", iv, bars)

    t_write, _ = timed(write)
    t_pandas, df = timed(lambda: pd.read_csv(csv_path))
    assert len(df) == n
    t_pandas_dt, _ = timed(lambda: pd.to_datetime(pd.read_csv(csv_path)["timestamp"], utc=True))

    rows = [
        ("import CSV -> store (parse+validate+write)", n / (t_parse + t_write), t_parse + t_write),
        ("  of which parse + validate", n / t_parse, t_parse),
        ("  of which store write (1 transaction)", n / t_write, t_write),
        ("pandas read_csv -> DataFrame", n / t_pandas, t_pandas),
        ("pandas read_csv + to_datetime(utc)", n / t_pandas_dt, t_pandas_dt),
    ]
    print(f"import: {n:,} minute rows, {mb:.0f} MB CSV")
    print(f"{'':46}{'rows/s':>14}{'seconds':>10}")
    for label, rate, secs in rows:
        print(f"{label:46}{rate:>14,.0f}{secs:>10.3f}")
    print(f"ratio parse+validate (typed arrays, UTC ns) / pandas read_csv + to_datetime: "
          f"{t_pandas_dt / t_parse:.2f}x faster")
    print(f"ratio whole import (parse+validate+store) / pandas read_csv alone: "
          f"{t_pandas / (t_parse + t_write):.2f}x")

    day_list = opens[: min(days, len(opens))]
    q = ('SELECT ts, open, high, low, close, volume FROM bars WHERE symbol = ? AND '
         '"interval" = ? AND ts >= ? AND ts < ?')

    def latencies(fn) -> list[float]:
        out = []
        for o in day_list.tolist():
            t = time.perf_counter()
            got = fn(o)
            out.append(time.perf_counter() - t)
            assert len(got) == 390 or o == day_list[-1]
        return out

    with BarStore(store_path, read_only=True, readahead_ns=0) as cold:
        cold.read("SPY", iv, int(day_list[0]), int(day_list[0]) + DAY)  # open + warm up
        plain = latencies(lambda o: cold.read("SPY", iv, o, o + DAY))
    with BarStore(store_path, read_only=True) as warm:
        walk = latencies(lambda o: warm.read("SPY", iv, o, o + DAY))
    con = duckdb.connect(str(store_path), read_only=True)
    con.execute("SET threads = 1")
    con.execute(q, ["SPY", "1m", int(day_list[0]), int(day_list[0]) + DAY]).df()
    frame = latencies(lambda o: con.execute(q, ["SPY", "1m", o, o + DAY]).df())
    con.close()

    print(f"\nload one symbol-day (390 bars), {len(day_list)} sessions, store open, milliseconds")
    print(f"{'':46}{'median':>10}{'mean':>10}{'p95':>10}")
    for label, xs in (
        ("BarStore.read, one query per day", plain),
        ("BarStore.read, day-by-day with read-ahead", walk),
        ("peer: same query -> pandas DataFrame (.df())", frame),
    ):
        ms = sorted(x * 1e3 for x in xs)
        p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
        print(f"{label:46}{statistics.median(ms):>10.3f}{statistics.fmean(ms):>10.3f}{p95:>10.3f}")
    print(f"ratio pandas / ours (median, one query per day): "
          f"{statistics.median(frame) / statistics.median(plain):.2f}x")


if __name__ == "__main__":
    main()
