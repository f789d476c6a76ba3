"""Synthetic source throughput against a pandas generator written the usual way.

    .venv/bin/python bench/bench_synthetic.py [--n SESSIONS] [--repeat R]

Ours: `SyntheticSource.bars` (calendar look-up included). Peer: per session, a numpy
Generator seeded by (seed, symbol, day), `pandas.date_range` for the bar starts and a
DataFrame per session, concatenated: the usual way to make deterministic synthetic bars.
Both produce the same number of bars (regular session, 1m unless stated).
"""

from __future__ import annotations

import argparse
import time
import zlib
from datetime import date

import numpy as np
import pandas as pd

from mismartera.calendar import TimeManager
from mismartera.intervals import Interval
from mismartera.plugins.sources.synthetic import SyntheticSource


def peer_bars(symbol: str, opens, closes, interval_ns: int, seed: int) -> pd.DataFrame:
    frames = []
    key = zlib.crc32(symbol.encode())
    freq = pd.Timedelta(interval_ns, unit="ns")
    for o, c in zip(opens.tolist(), closes.tolist(), strict=True):
        rng = np.random.default_rng([seed, key, o // 86_400_000_000_000])
        index = pd.date_range(
            pd.Timestamp(o, tz="UTC"), pd.Timestamp(c, tz="UTC"), freq=freq, inclusive="left"
        )
        n = len(index)
        close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, n)))
        open_ = np.concatenate([[100.0], close[:-1]])
        wick = rng.random((2, n)) * 0.0005
        frames.append(
            pd.DataFrame(
                {
                    "open": open_,
                    "high": np.maximum(open_, close) * (1 + wick[0]),
                    "low": np.minimum(open_, close) * (1 - wick[1]),
                    "close": close,
                    "volume": np.floor(rng.lognormal(10, 1, n)) + 1,
                },
                index=index,
            )
        )
    return pd.concat(frames)


def best(fn, repeat: int) -> tuple[float, int]:
    """Best time of `repeat` runs of `fn` (which returns bars or a list of them), and the
    number of bars it made."""
    out = fn()  # warm-up (and the calendar load)
    count = sum(len(b) for b in out) if isinstance(out, list) else len(out)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=252, help="sessions (default 252, one year)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    tm = TimeManager("XNYS")
    table = tm.sessions(date(2014, 1, 1), date(2030, 12, 31))
    opens, closes = table.opens[: args.n], table.closes[: args.n]
    start, end = int(opens[0]), int(closes[-1])
    m1, s1 = Interval.parse("1m"), Interval.parse("1s")
    plain = SyntheticSource(seed=1, interval="1m")
    gappy = SyntheticSource(seed=1, interval="1m", gap_rate=0.01)
    extended = SyntheticSource(seed=1, interval="1m", extended_hours=True)
    seconds = SyntheticSource(seed=1, interval="1s")
    few = max(1, args.n // 12)

    def per_day():
        return [
            plain.bars("SYN0", m1, o, c)
            for o, c in zip(opens.tolist(), closes.tolist(), strict=True)
        ]

    cases = [
        (
            f"1m, {args.n} sessions in one call",
            lambda: plain.bars("SYN0", m1, start, end),
            lambda: peer_bars("SYN0", opens, closes, m1.ns, 1),
        ),
        (
            f"1m, {args.n} calls of one session",
            per_day,
            lambda: peer_bars("SYN0", opens, closes, m1.ns, 1),
        ),
        (f"1m gap_rate=0.01, {args.n} sessions", lambda: gappy.bars("SYN0", m1, start, end), None),
        (
            f"1m extended_hours, {args.n} sessions",
            lambda: extended.bars("SYN0", m1, start, end),
            None,
        ),
        (
            f"1s, {few} sessions in one call",
            lambda: seconds.bars("SYN0", s1, start, int(closes[few - 1])),
            lambda: peer_bars("SYN0", opens[:few], closes[:few], s1.ns, 1),
        ),
    ]
    print(f"{'case':40s} {'bars':>10s} {'ours Mbar/s':>12s} {'pandas Mbar/s':>14s} {'ratio':>7s}")
    for name, ours, peer in cases:
        t_ours, n = best(ours, args.repeat)
        row = f"{name:40s} {n:10,d} {n / t_ours / 1e6:12.1f}"
        if peer is not None:
            t_peer, _ = best(peer, max(1, args.repeat // 2))
            row += f" {n / t_peer / 1e6:14.2f} {t_peer / t_ours:6.0f}x"
        else:
            row += f" {'-':>14s} {'-':>7s}"
        print(row)


if __name__ == "__main__":
    main()
