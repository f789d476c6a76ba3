"""`sma_cross` written for the peer backtesters, run on given bars with fill settings that
match mismartera's: market orders filled at the next bar's open, no commission, no
spread, no margin, cash large enough that no order is refused, one position at most.

    backtesting.py  trade_on_close=False (next bar's open), exclusive_orders=False (the
                    strategy never has two orders), hedging=False, margin=1, commission=0,
                    finalize_trades=False (an open trade stays open)
    backtrader      cheat_on_open=False, cheat_on_close=False (next bar's open),
                    commission 0, checksubmit off (cash is never checked)
    NautilusTrader  (bench/_nautilus_peer.py, in its own environment) bar execution,
                    market orders fill at the next bar's open

The strategy classes are in bench/_peer_strategies.py (module level, so the peers'
optimisers can vary their parameters; bench/bench_sweep.py);
`backtesting_test` and `backtrader_cerebro` set a peer up on the bars. Each `run_*`
returns (trades, seconds): trades as (entry_ts, entry_price, exit_ts,
exit_price, qty) with times the bar starts in ns UTC (exit None while open), in entry order;
seconds the wall time of the run itself, data preparation excluded. Bars are a dict of
numpy columns (ts, open, high, low, close, volume) of one symbol.
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

Trade = tuple[int, float, int | None, float | None, float]
HERE = Path(__file__).resolve().parent


def frame(bars, tz: str | None = None):
    """The bars as a pandas frame with a naive datetime index (UTC wall time)."""
    import pandas as pd

    index = pd.to_datetime(np.asarray(bars["ts"], dtype=np.int64), unit="ns")
    return pd.DataFrame({"Open": bars["open"], "High": bars["high"], "Low": bars["low"],
                         "Close": bars["close"], "Volume": bars["volume"]}, index=index)


def _sma(values, period: int) -> np.ndarray:
    """Exact window means (math.fsum), NaN before `period` values: the same SMA as the
    reference simulation and backtrader's."""
    x = [float(v) for v in values]
    return np.array([math.fsum(x[i + 1 - period:i + 1]) / period if i + 1 >= period
                     else math.nan for i in range(len(x))])


def pair(fills: list[tuple[int, float, float]]) -> list[Trade]:
    """Round trips from (ts, signed qty, price) fills of a long-only strategy."""
    trades: list[Trade] = []
    entry: tuple[int, float, float] | None = None
    for ts, qty, price in fills:
        if qty > 0:
            entry = (ts, price, qty)
        elif entry is not None:
            trades.append((entry[0], entry[1], ts, price, entry[2]))
            entry = None
    if entry is not None:
        trades.append((entry[0], entry[1], None, None, entry[2]))
    return trades


def strategies():
    """bench/_peer_strategies.py, imported by its name (bench/ put on sys.path if needed), so
    a peer's worker processes find its classes when they unpickle them."""
    import importlib
    import sys

    if str(HERE) not in sys.path:
        sys.path.append(str(HERE))
    return importlib.import_module("_peer_strategies")


def backtesting_test(bars, qty: float):
    """A backtesting.py `Backtest` of sma_cross (bench/_peer_strategies.py) on the bars with
    the fill settings above; `run(fast=, slow=, qty=)` or `optimize(...)` sets its
    parameters."""
    from backtesting import Backtest

    top = float(np.max(bars["high"])) * qty * 10
    return Backtest(frame(bars), strategies().BacktestingSmaCross, cash=top, commission=0.0,
                    margin=1.0, trade_on_close=False, hedging=False, exclusive_orders=False,
                    finalize_trades=False)


def run_backtesting(bars, fast: int, slow: int, qty: float) -> tuple[list[Trade], float]:
    import warnings

    test = backtesting_test(bars, qty)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = test.run(fast=fast, slow=slow, qty=qty)
    seconds = time.perf_counter() - start
    ns = np.asarray(bars["ts"], dtype=np.int64)
    out: list[Trade] = []
    for row in stats["_trades"].itertuples():
        out.append((int(ns[row.EntryBar]), float(row.EntryPrice), int(ns[row.ExitBar]),
                    float(row.ExitPrice), float(row.Size)))
    strategy = stats["_strategy"]
    for trade in strategy.trades:  # still open at the end (finalize_trades=False)
        out.append((int(ns[trade.entry_bar]), float(trade.entry_price), None, None,
                    float(trade.size)))
    return sorted(out, key=lambda t: t[0]), seconds


def backtrader_cerebro(bars, qty: float, **options):
    """A backtrader `Cerebro` with the bars as its data and the fill settings above
    (`options` go to Cerebro, e.g. maxcpus); the caller adds sma_cross
    (bench/_peer_strategies.py)."""
    import backtrader as bt

    data = frame(bars)
    data.columns = [c.lower() for c in data.columns]
    data["openinterest"] = 0.0
    cerebro = bt.Cerebro(stdstats=False, cheat_on_open=False, **options)
    cerebro.broker.set_cash(float(np.max(bars["high"])) * qty * 10)
    cerebro.broker.setcommission(commission=0.0)
    cerebro.broker.set_checksubmit(False)
    cerebro.broker.set_coc(False)
    feed = bt.feeds.PandasData(dataname=data, timeframe=bt.TimeFrame.Minutes, compression=5)
    cerebro.adddata(feed)
    return cerebro


def run_backtrader(bars, fast: int, slow: int, qty: float) -> tuple[list[Trade], float]:
    fills: list[tuple[int, float, float]] = []
    cerebro = backtrader_cerebro(bars, qty)
    cerebro.addstrategy(strategies().BacktraderSmaCross, fast=fast, slow=slow, qty=qty,
                        fills=fills, ns=np.asarray(bars["ts"], dtype=np.int64))
    start = time.perf_counter()
    cerebro.run(runonce=True, preload=True)
    seconds = time.perf_counter() - start
    return pair(fills), seconds


def nautilus_python() -> str | None:
    """A Python that imports nautilus_trader: MISMARTERA_NAUTILUS_PYTHON, else this one if
    it can, else None."""
    import os
    import sys

    for python in (os.environ.get("MISMARTERA_NAUTILUS_PYTHON"), sys.executable):
        if python and subprocess.run([python, "-c", "import nautilus_trader"],
                                     capture_output=True).returncode == 0:
            return python
    return None


def run_nautilus(bars, fast: int, slow: int, qty: float, python: str
                 ) -> tuple[list[Trade], float]:
    """NautilusTrader in `python` (its own environment: it pins pandas < 3) on the same
    bars, through bench/_nautilus_peer.py; bars pass through an .npz file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bars.npz"
        np.savez(path, **{k: np.asarray(v) for k, v in bars.items()})
        out = subprocess.run([python, str(HERE / "_nautilus_peer.py"), str(path), str(fast),
                              str(slow), str(qty)], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    trades = [(t[0], t[1], t[2], t[3], t[4]) for t in result["trades"]]
    return trades, float(result["seconds"])
