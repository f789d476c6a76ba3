"""Whole-backtest throughput beside backtrader, and memory across days.

    python bench/bench_backtest.py [--symbols 10] [--days 120] [--bt-bars 200000]

mismartera runs a synthetic-source backtest (1m base + 5m/15m/30m derived, no indicators,
no export) with and without a no-op Python per-bar callback. backtrader runs the very same
1m bars of one symbol through `resampledata` to 5m/15m/30m in the same process, over as
many sessions as `--bt-bars` base bars need (at least 200,000 by default, so its figure is
its steady rate, not its start-up). Peak RSS is measured in fresh subprocesses for 20 and
200 trading days.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time

STREAMS = ["1m", "5m", "15m", "30m"]


def config(symbols: int, days: int):
    from mismartera.calendar import TimeManager
    from mismartera.config import SessionConfig

    cal = TimeManager("XNYS")
    start = datetime.date(2023, 1, 3)
    end = cal.trading_days(start, start + datetime.timedelta(days=days * 2))[days - 1]
    return SessionConfig.from_dict({
        "session": {"start": start.isoformat(), "end": end.isoformat(), "prefetch_days": 20},
        "data": {"source": "synthetic", "count": symbols, "seed": 1},
        "symbols": {"list": [f"SYN{i}" for i in range(symbols)]},
        "streams": {"intervals": STREAMS},
    })


class NoOp:
    def on_bar(self, ctx, symbol, interval, bar):
        pass


def run_mismartera(symbols: int, days: int, observers=()) -> tuple[int, float]:
    from mismartera.plugin_manager import PluginManager
    from mismartera.session.coordinator import SessionCoordinator

    plugins = PluginManager(load_entry_points=False)
    cfg = config(symbols, days)
    SessionCoordinator(config(1, 1), plugins=plugins).run()  # warm: calendar, imports
    coordinator = SessionCoordinator(cfg, plugins=plugins, observers=observers)
    start = time.perf_counter()
    coordinator.run()
    return coordinator.metrics.bars_processed, time.perf_counter() - start


def bt_days(bars: int) -> int:
    """Sessions that hold at least `bars` one-minute bars (390 a session, less the
    synthetic source's few missing bars: 5 % to spare)."""
    return max(1, -(-bars * 21 // (390 * 20)))


def run_backtrader(days: int) -> tuple[int, float, int]:
    import backtrader as bt
    import numpy as np
    import pandas as pd

    from mismartera.calendar import TimeManager
    from mismartera.intervals import Interval
    from mismartera.plugin_manager import PluginManager

    cfg = config(1, days)
    source = PluginManager(load_entry_points=False).get("source", "synthetic").obj(
        **cfg.source_options, exchange="XNYS")
    cal = TimeManager("XNYS")
    table = cal.sessions(cfg.start, cfg.end)
    bars = source.bars("SYN0", Interval.parse("1m"), int(table.opens[0]), int(table.closes[-1]))
    frame = bars.to_pandas(tz="America/New_York")
    frame.index = frame.index.tz_localize(None)
    frame["openinterest"] = 0.0

    derived = {"n": 0}

    class Count(bt.Strategy):
        def next(self):
            derived["n"] += 1

    cerebro = bt.Cerebro(stdstats=False)
    data = bt.feeds.PandasData(dataname=frame, timeframe=bt.TimeFrame.Minutes, compression=1,
                               sessionstart=datetime.time(9, 30), sessionend=datetime.time(16, 0))
    cerebro.adddata(data)
    for minutes in (5, 15, 30):
        cerebro.resampledata(data, timeframe=bt.TimeFrame.Minutes, compression=minutes)
    cerebro.addstrategy(Count)
    start = time.perf_counter()
    cerebro.run(runonce=False, preload=True)
    elapsed = time.perf_counter() - start
    del np, pd
    return len(bars.ts), elapsed, derived["n"]


def peak_rss(days: int, symbols: int) -> float:
    code = (f"import resource, sys; sys.path.insert(0, {sys.path[0]!r}); "
            "import bench_backtest as b; "
            f"b.run_mismartera({symbols}, {days}); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--bt-bars", type=int, default=200_000,
                        help="base bars backtrader runs (whole sessions of 390)")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    n, t = run_mismartera(args.symbols, args.days)
    n_cb, t_cb = run_mismartera(args.symbols, args.days, observers=[NoOp()])
    bt_n, bt_t, _ = run_backtrader(bt_days(args.bt_bars))
    rows = [
        ("mismartera, no callback", n, t),
        ("mismartera, no-op per-bar callback", n_cb, t_cb),
        ("backtrader resampledata 1m->5m/15m/30m", bt_n, bt_t),
    ]
    bt_rate = bt_n / bt_t
    print(f"{'run':42} {'base bars':>11} {'seconds':>8} {'bars/s':>12} {'vs backtrader':>14}")
    for name, bars, secs in rows:
        rate = bars / secs
        print(f"{name:42} {bars:>11,} {secs:>8.3f} {rate:>12,.0f} {rate / bt_rate:>13.1f}x")
    print("targets: >= 5,000,000 bars/s without callback, >= 1,000,000 with a no-op callback")
    result = {
        "bars_per_s": n / t,
        "bars_per_s_callback": n_cb / t_cb,
        "backtrader_bars_per_s": bt_rate,
    }
    if not args.no_memory:
        rss = {d: peak_rss(d, args.symbols) for d in (20, 200)}
        print(f"peak RSS: 20 days {rss[20]:.0f} MiB, 200 days {rss[200]:.0f} MiB "
              f"({args.symbols} symbols)")
        result["peak_rss_mib"] = rss
    if args.json:
        print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
