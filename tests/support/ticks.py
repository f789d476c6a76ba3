"""Deterministic small trade and quote files for the tick tests (no real tick data exists)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

NY = ZoneInfo("America/New_York")
NS = 1_000_000_000


def ns(text: str) -> int:
    """A New York wall time as ns UTC."""
    return int(datetime.fromisoformat(text).replace(tzinfo=NY).timestamp() * NS)


def trades(day: str = "2024-01-03", n: int = 200, seed: int = 7,
           start: str = "09:30:00", span_s: float = 600.0) -> pd.DataFrame:
    """`n` trades of one day from `start` over `span_s` seconds, some sharing a stamp, at ms
    resolution: columns ts (ns UTC), price, size."""
    rng = np.random.default_rng(seed)
    t0 = ns(f"{day}T{start}")
    offs = np.sort(rng.integers(0, int(span_s * 1000), n)) * 1_000_000
    offs[5::17] = offs[4::17][: len(offs[5::17])]  # some trades share a stamp
    price = np.round(100 + np.cumsum(rng.normal(0, 0.05, n)), 2)
    size = rng.integers(0, 500, n).astype(float)
    return pd.DataFrame({"ts": t0 + offs, "price": price, "size": size})


def quotes(day: str = "2024-01-03", n: int = 100, seed: int = 11,
           start: str = "09:30:00", span_s: float = 600.0) -> pd.DataFrame:
    """`n` quotes (bid <= ask): columns ts, bid, bid_size, ask, ask_size."""
    rng = np.random.default_rng(seed)
    t0 = ns(f"{day}T{start}")
    offs = np.sort(rng.integers(0, int(span_s * 1000), n)) * 1_000_000
    mid = 100 + np.cumsum(rng.normal(0, 0.05, n))
    half = rng.integers(1, 5, n) / 100
    return pd.DataFrame({"ts": t0 + offs, "bid": np.round(mid - half, 2),
                         "bid_size": rng.integers(1, 50, n) * 100.0,
                         "ask": np.round(mid + half, 2),
                         "ask_size": rng.integers(1, 50, n) * 100.0})


def iso(ts: int) -> str:
    return pd.Timestamp(int(ts), tz="UTC").tz_convert(NY).isoformat()


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """`frame` as a CSV with ISO stamps (offset included) in column `timestamp`."""
    out = frame.copy()
    out.insert(0, "timestamp", [iso(t) for t in out.pop("ts")])
    out.to_csv(path, index=False)
    return path


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """`frame` as Parquet (written by DuckDB) with a TIMESTAMPTZ `timestamp` column."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("frame_", frame)
        cols = ", ".join(c for c in frame.columns if c != "ts")
        stamp = "TIMESTAMPTZ '1970-01-01 00:00:00+00' + to_microseconds(ts // 1000)"
        con.execute(f"COPY (SELECT {stamp} AS timestamp, {cols} FROM frame_) "
                    f"TO '{path}' (FORMAT PARQUET)")
    finally:
        con.close()
    return path


def minute_bars(day: str = "2024-01-03") -> Any:
    """Flat 1m bars over the whole regular session of `day` (09:30-16:00 New York)."""
    from mismartera.bars import Bars

    ts = ns(f"{day}T09:30:00") + np.arange(390, dtype=np.int64) * 60 * NS
    one = np.full(390, 100.0)
    return Bars.from_arrays(ts, one, one, one, one, one * 10)


def tick_store(path: Path, day: str = "2024-01-03", symbol: str = "AAPL") -> Path:
    """A store with flat 1m bars, `trades()` and `quotes()` of `symbol` on `day`."""
    from mismartera.store import BarStore
    from mismartera.ticks import TickSeries

    t, q = trades(day), quotes(day)
    with BarStore(path) as store:
        store.write(symbol, "1m", minute_bars(day))
        store.write_ticks(symbol, TickSeries("ticks", t["ts"], t))
        store.write_ticks(symbol, TickSeries("quotes", q["ts"], q))
    return path
