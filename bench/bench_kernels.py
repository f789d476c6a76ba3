"""Indicator kernels against TA-Lib, numpy, collections.deque and talipp, in one run.

    .venv/bin/python bench/bench_kernels.py [--n 1000000] [--repeat 5]

Every row times one of our kernels and its peer on the same data (a random-walk close with
consistent high/low, n values) in the same process, keeping the best of --repeat runs, and
prints values/s and the ratio (ours / peer: above 1 we are faster). Each peer's output is
checked against ours before it is timed. Streaming rows feed both sides from the same
Python loop over Python floats, as the session engine would; "loop alone" is that loop with
no call in it, the ceiling of any per-value Python call.

Targets (issue 3): batch SMA(20) >= 400M values/s; SMA.update from Python >= 10M updates/s.
"""

from __future__ import annotations

import argparse
import sys
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import talib

from mismartera.ext import kernels as k

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Row, best_time, ratio_table, target_line

BATCH_SMA_TARGET = 400e6
UPDATE_TARGET = 10e6
PERIOD = 20


def make_prices(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100.0 + np.cumsum(rng.normal(0.0, 0.05, n))
    spread = np.abs(rng.normal(0.0, 0.03, n))
    return close + spread, close - spread, close


def check(name: str, got, want, rel: float = 1e-9, scale: float = 0.0) -> None:
    """Same NaNs, and within rel of each other plus 1e-12 of `scale` (the inputs' largest
    magnitude: a value that cancels to ~0, as the MACD line, is right to a few ulps of it)."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    same_nan = np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    if not same_nan or not np.allclose(got[ok], want[ok], rtol=rel, atol=1e-12 * scale):
        raise SystemExit(f"{name} disagrees with ours")


# -------------------------------------------------------------------------- peers


def numpy_cumsum_sma(x: np.ndarray, period: int) -> np.ndarray:
    """The usual numpy idiom: differences of one cumulative sum (drifts on long series)."""
    out = np.full(len(x), np.nan)
    c = np.cumsum(x)
    out[period - 1] = c[period - 1]
    out[period:] = c[period:] - c[:-period]
    out[period - 1 :] /= period
    return out


class DequeSMA:
    """A plain-Python streaming SMA: a deque window and a running sum."""

    def __init__(self, period: int) -> None:
        self.period = period
        self.window: deque[float] = deque()
        self.total = 0.0

    def update(self, x: float) -> float:
        window = self.window
        window.append(x)
        self.total += x
        if len(window) > self.period:
            self.total -= window.popleft()
        return self.total / self.period if len(window) == self.period else float("nan")


# ------------------------------------------------------------------------- groups


def bench_batch(x, high, low, repeat: int) -> list[Row]:
    n = len(x)
    cases = [
        ("sma(20)", lambda: k.sma(x, PERIOD), "TA-Lib SMA", lambda: talib.SMA(x, PERIOD)),
        ("sma(20)", lambda: k.sma(x, PERIOD), "numpy cumsum", lambda: numpy_cumsum_sma(x, PERIOD)),
        (
            "rolling_std(20)",
            lambda: k.rolling_std(x, PERIOD),
            "TA-Lib STDDEV",
            lambda: talib.STDDEV(x, PERIOD, 1.0),
        ),
        (
            "rolling_max(20)",
            lambda: k.rolling_max(x, PERIOD),
            "TA-Lib MAX",
            lambda: talib.MAX(x, PERIOD),
        ),
        ("ema(20)", lambda: k.ema(x, PERIOD), "TA-Lib EMA", lambda: talib.EMA(x, PERIOD)),
        ("rsi(14)", lambda: k.rsi(x, 14), "TA-Lib RSI", lambda: talib.RSI(x, 14)),
        (
            "atr(14)",
            lambda: k.atr(high, low, x, 14),
            "TA-Lib ATR",
            lambda: talib.ATR(high, low, x, 14),
        ),
        ("macd(12, 26, 9)", lambda: k.macd(x), "TA-Lib MACD", lambda: talib.MACD(x, 12, 26, 9)),
        (
            "bbands(20, 2, 2)",
            lambda: k.bbands(x),
            "TA-Lib BBANDS",
            lambda: talib.BBANDS(x, PERIOD, 2.0, 2.0, 0),
        ),
    ]
    scale = float(np.max(np.abs(high)))
    rows = []
    ours_rate: dict[str, float] = {}  # each of our kernels is timed once
    for name, ours, peer_name, peer in cases:
        # numpy's cumsum drifts: it is checked loosely, as the idiom it is
        rel = 1e-6 if peer_name == "numpy cumsum" else 1e-9
        for got, want in zip(np.atleast_2d(ours()), np.atleast_2d(peer()), strict=True):
            check(peer_name, got, want, rel, scale)
        if name not in ours_rate:
            ours_rate[name] = n / best_time(ours, repeat)
        rows.append(Row(f"{name} batch", ours_rate[name], peer_name, n / best_time(peer, repeat)))
    return rows


def bench_streaming(x: np.ndarray, repeat: int) -> list[Row]:
    from talipp.indicators import SMA as TalippSMA

    values = x.tolist()
    n = len(values)
    expected = k.sma(x, PERIOD)

    def loop_alone() -> None:
        for _v in values:
            pass

    def ours() -> list[float]:
        update = k.SMA(PERIOD).update
        return [update(v) for v in values]

    def with_deque() -> list[float]:
        update = DequeSMA(PERIOD).update
        return [update(v) for v in values]

    def with_talipp() -> list[float]:
        sma = TalippSMA(PERIOD)
        add = sma.add
        for v in values:
            add(v)
        return [np.nan if v is None else v for v in sma]

    check("SMA.update", ours(), expected, 0.0)
    check("deque SMA", with_deque(), expected, 1e-9)
    check("talipp SMA", with_talipp(), expected, 1e-9)

    def ours_loop() -> None:
        update = k.SMA(PERIOD).update
        for v in values:
            update(v)

    def deque_loop() -> None:
        update = DequeSMA(PERIOD).update
        for v in values:
            update(v)

    def talipp_loop() -> None:
        add = TalippSMA(PERIOD).add
        for v in values:
            add(v)

    ours_rate = n / best_time(ours_loop, repeat)
    talipp_repeat = max(1, repeat // 3)  # ~100x slower
    return [
        Row("loop alone (no call)", n / best_time(loop_alone, repeat), "", float("nan")),
        Row(
            "SMA.update(20) from Python", ours_rate, "deque SMA", n / best_time(deque_loop, repeat)
        ),
        Row(
            "SMA.update(20) from Python",
            ours_rate,
            "talipp SMA",
            n / best_time(talipp_loop, talipp_repeat),
        ),
    ]


# -------------------------------------------------------------------------- table


def format_table(rows: Sequence[Row], n: int) -> str:
    lines = ratio_table(f"indicator kernels: n={n:,} values, one run", "kernel", "values/s",
                        rows)
    sma = next(r for r in rows if r.name == "sma(20) batch")
    update = next(r for r in rows if r.name.startswith("SMA.update"))
    lines += ["", target_line("batch sma(20)", sma.ours, BATCH_SMA_TARGET, "values/s"),
              target_line("SMA.update from Python", update.ours, UPDATE_TARGET, "updates/s")]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="values (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing; best is kept")
    args = parser.parse_args(argv)
    if args.n < 100 or args.repeat <= 0:
        parser.error("--n must be >= 100 and --repeat positive")
    high, low, close = make_prices(args.n)
    rows = bench_batch(close, high, low, args.repeat) + bench_streaming(close, args.repeat)
    table = format_table(rows, args.n)
    print(table)
    return table


if __name__ == "__main__":
    main()
