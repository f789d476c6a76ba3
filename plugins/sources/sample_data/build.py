"""Regenerate `bars.npz`, the bundled sample bars, from the canonical CSV files.

    .venv/bin/python plugins/sources/sample_data/build.py [DATA_DIR]

DATA_DIR defaults to /work/shared/data (see README.md for what is taken from it). Prices are
stored as integers scaled by 10**decimals (the CSV's own digits), so `int / 10**decimals`
gives back exactly the float the CSV text parses to; timestamps as their first value and
successive differences. Daily bars are stamped with their session's open (XNYS calendar).
The script checks that the file it wrote reads back equal to the CSV rows.
"""

from __future__ import annotations

import csv
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from mismartera.calendar import TimeManager

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "bars.npz"
SOURCES = {  # symbol: (file under DATA_DIR, interval)
    "SPY": ("minute/SPY_2011-01.csv", "1m"),
    "AAPL": ("daily/AAPL_2012-2014.csv", "1d"),
    "MSFT": ("daily/MSFT_2012-2014.csv", "1d"),
}
PRICES = ("open", "high", "low", "close")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ns(stamp: str) -> int:
    td = datetime.fromisoformat(stamp) - EPOCH
    return (td.days * 86_400 + td.seconds) * 1_000_000_000 + td.microseconds * 1000


def _decimals(texts: list[str]) -> int:
    return max((len(t.split(".", 1)[1]) if "." in t else 0) for t in texts)


def _scaled(text: str, decimals: int) -> int:
    whole, _, frac = text.strip().partition(".")
    sign = -1 if whole.startswith("-") else 1
    return int(whole) * 10**decimals + sign * int(frac.ljust(decimals, "0") or 0)


def read_csv(path: Path, calendar: TimeManager) -> tuple[list[int], dict[str, list[str]]]:
    """Bar starts (ns UTC) and the raw text of each price/volume column."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if "timestamp" in rows[0]:
        ts = [_ns(r["timestamp"]) for r in rows]
    else:
        ts = []
        for r in rows:
            session = calendar.session(date.fromisoformat(r["date"]))
            if session is None:
                raise SystemExit(f"{path}: {r['date']} is not an XNYS session")
            ts.append(session[0])
    return ts, {c: [r[c] for r in rows] for c in (*PRICES, "volume")}


def encode(ts: list[int], text: dict[str, list[str]], interval: str) -> dict[str, np.ndarray]:
    decimals = _decimals([t for c in PRICES for t in text[c]])
    volume_decimals = _decimals(text["volume"])
    stamps = np.array(ts, dtype=np.int64)
    if np.any(np.diff(stamps) <= 0):
        raise SystemExit("timestamps are not strictly increasing")
    return {
        "interval": np.array(interval),
        "ts": np.concatenate([stamps[:1], np.diff(stamps)]),
        "prices": np.array([[_scaled(t, decimals) for t in text[c]] for c in PRICES], np.int64),
        "scale": np.array(10**decimals, dtype=np.int64),
        "volume": np.array([_scaled(t, volume_decimals) for t in text["volume"]], np.int64),
        "volume_scale": np.array(10**volume_decimals, dtype=np.int64),
    }


def main(data_dir: Path) -> None:
    calendar = TimeManager("XNYS")
    arrays: dict[str, np.ndarray] = {"symbols": np.array(sorted(SOURCES))}
    expected = {}
    for symbol, (name, interval) in SOURCES.items():
        ts, text = read_csv(data_dir / name, calendar)
        for key, value in encode(ts, text, interval).items():
            arrays[f"{symbol}.{key}"] = value
        expected[symbol] = (ts, text)
    # no object arrays: load_bundled reads with allow_pickle=False too
    np.savez_compressed(OUTPUT, allow_pickle=False, **arrays)

    from mismartera.plugins.sources.sample import load_bundled

    loaded = load_bundled(OUTPUT)
    for symbol, (ts, text) in expected.items():
        bars, interval = loaded[symbol]
        assert interval == SOURCES[symbol][1]
        assert bars.ts.tolist() == ts, symbol
        for column in (*PRICES, "volume"):
            assert getattr(bars, column).tolist() == [float(t) for t in text[column]], symbol
        print(f"{symbol}: {len(ts)} bars at {interval}")
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size:,} bytes); read back equal to the CSV rows")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/data"))
