"""Indicator kernels against TA-Lib, numpy, collections.deque and talipp, in one run.

    .venv/bin/python bench/bench_kernels.py [--n 10000 1000000] [--repeat 5] [--rounds 5]

Every row times one of our kernels and its peer on the same data (a random-walk close with
consistent high/low, n values: 10,000 stay in cache, 1,000,000 do not) in the same process,
in --rounds alternating rounds of --repeat calls each, and prints the best values/s of each
and their ratio (ours / peer: above 1 we are faster), then the median and range of the
per-round ratios (each round sees one load: the fair figure on a shared machine). Each
peer's output is checked against ours before it is timed. Streaming rows feed both sides
from the same Python loop over Python floats, as the session engine would; "loop alone" is
that loop with no call in it, the ceiling of any per-value Python call. Target of issue 17:
every batch kernel TA-Lib shares with us at least as fast as TA-Lib.

Targets (issue 3): batch SMA(20) >= 400M values/s; SMA.update from Python >= 10M updates/s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import deque
from collections.abc import Callable, Sequence
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


def batch_cases(x, high, low) -> list[tuple[str, Callable[[], object], str, Callable[[], object]]]:
    """(our kernel, call, peer, call): every kernel TA-Lib shares with us, and numpy's idiom."""
    p = PERIOD
    return [
        ("sma(20)", lambda: k.sma(x, p), "TA-Lib SMA", lambda: talib.SMA(x, p)),
        ("sma(20)", lambda: k.sma(x, p), "numpy cumsum", lambda: numpy_cumsum_sma(x, p)),
        ("rolling_sum(20)", lambda: k.rolling_sum(x, p), "TA-Lib SUM", lambda: talib.SUM(x, p)),
        ("rolling_std(20)", lambda: k.rolling_std(x, p), "TA-Lib STDDEV",
         lambda: talib.STDDEV(x, p, 1.0)),
        ("rolling_max(20)", lambda: k.rolling_max(x, p), "TA-Lib MAX", lambda: talib.MAX(x, p)),
        ("rolling_min(20)", lambda: k.rolling_min(x, p), "TA-Lib MIN", lambda: talib.MIN(x, p)),
        ("ema(20)", lambda: k.ema(x, p), "TA-Lib EMA", lambda: talib.EMA(x, p)),
        ("rsi(14)", lambda: k.rsi(x, 14), "TA-Lib RSI", lambda: talib.RSI(x, 14)),
        ("atr(14)", lambda: k.atr(high, low, x, 14), "TA-Lib ATR",
         lambda: talib.ATR(high, low, x, 14)),
        ("macd(12, 26, 9)", lambda: k.macd(x), "TA-Lib MACD", lambda: talib.MACD(x, 12, 26, 9)),
        ("bbands(20, 2, 2)", lambda: k.bbands(x), "TA-Lib BBANDS",
         lambda: talib.BBANDS(x, p, 2.0, 2.0, 0)),
    ]


def interleaved(ours: Callable[[], object], peer: Callable[[], object], rounds: int,
                repeat: int) -> tuple[float, float, list[float]]:
    """Best time of each over `rounds` alternating rounds of `repeat` calls, and the ratio
    (peer time / our time: above 1 we are faster) of each round: on a loaded machine the
    two see the same load within a round."""
    ours_best, peer_best, ratios = float("inf"), float("inf"), []
    for _ in range(rounds):
        t_ours = best_time(ours, repeat)
        t_peer = best_time(peer, repeat)
        ours_best, peer_best = min(ours_best, t_ours), min(peer_best, t_peer)
        ratios.append(t_peer / t_ours)
    return ours_best, peer_best, ratios


def bench_batch(x, high, low, repeat: int, rounds: int) -> tuple[list[Row], list[str]]:
    """The rows, and per pair the median and range of the per-round ratios."""
    n = len(x)
    scale = float(np.max(np.abs(high)))
    rows, spread = [], []
    for name, ours, peer_name, peer in batch_cases(x, high, low):
        # numpy's cumsum drifts: it is checked loosely, as the idiom it is
        rel = 1e-6 if peer_name == "numpy cumsum" else 1e-9
        for got, want in zip(np.atleast_2d(ours()), np.atleast_2d(peer()), strict=True):
            check(peer_name, got, want, rel, scale)
        t_ours, t_peer, ratios = interleaved(ours, peer, rounds, repeat)
        rows.append(Row(f"{name} batch", n / t_ours, peer_name, n / t_peer))
        spread.append(f"{name + ' / ' + peer_name:<34} {statistics.median(ratios):5.2f}x "
                      f"(rounds {min(ratios):.2f}x .. {max(ratios):.2f}x)")
    return rows, spread


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


def format_table(rows: Sequence[Row], n: int, spread: Sequence[str], rounds: int) -> str:
    lines = ratio_table(f"indicator kernels: n={n:,} values, one run, vector loops: "
                        f"{k._vector_isa()}", "kernel", "values/s", rows)
    lines += ["", f"ratio per pair, median of {rounds} interleaved rounds (range):", *spread]
    sma = next(r for r in rows if r.name == "sma(20) batch")
    lines += ["", target_line("batch sma(20)", sma.ours, BATCH_SMA_TARGET, "values/s")]
    update = next((r for r in rows if r.name.startswith("SMA.update")), None)
    if update is not None:
        lines.append(target_line("SMA.update from Python", update.ours, UPDATE_TARGET,
                                 "updates/s"))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 1_000_000],
                        help="values per series, one table each (default 10,000 and "
                             "1,000,000); the streaming rows go with the last")
    parser.add_argument("--repeat", type=int, default=5, help="calls per round; best is kept")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating rounds of ours and the peer (default 5)")
    args = parser.parse_args(argv)
    if min(args.n) < 100 or args.repeat <= 0 or args.rounds <= 0:
        parser.error("--n must be >= 100, --repeat and --rounds positive")
    tables = []
    for size in args.n:
        high, low, close = make_prices(size)
        rows, spread = bench_batch(close, high, low, args.repeat, args.rounds)
        if size == args.n[-1]:
            rows += bench_streaming(close, args.repeat)
        tables.append(format_table(rows, size, spread, args.rounds))
        print(tables[-1], end="\n\n", flush=True)
    return "\n\n".join(tables)


if __name__ == "__main__":
    main()
