"""Whole-backtest throughput beside its own kernels (and backtrader), and memory across days.

    python bench/bench_backtest.py                     # 10 symbols x 250 sessions, best of 5
    python bench/bench_backtest.py --days 20 --repeat 2 --no-peer --no-memory   # quick

Each run goes through `mismartera.run_backtest` (building the coordinator included: the
session's start-up; `collect=False`, no export) over a synthetic source: streams 1m base +
5m/15m/30m derived, with no observer, with a no-op per-bar Python callback, and with 5
built-in indicators (sma, ema, rsi, atr, bbands) on 1m and on 5m. The runs are interleaved
in rounds (a slow spell of the shared machine hits one round of all of them), best kept.

Beside each, in the same rounds, the kernel-only figure: the very same in-session 1m bars
aggregated into 5m/15m/30m by `mismartera.ext.aggregate.aggregate_bars`, one call per
symbol and interval over all the sessions (the kernel walks them day by day) — what the
engine would reach if nothing but aggregation cost anything. The engine/kernel ratio is the
figure that survives the machine's load. A second kernel figure makes one call per
symbol-day and interval (the price of a Python call per day). backtrader runs the same 1m
bars of one symbol through `resampledata` to 5m/15m/30m (at least `--bt-bars` base bars).
Peak RSS is measured in fresh subprocesses for 20 and 200 trading days.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time
from typing import Any

STREAMS = ["1m", "5m", "15m", "30m"]
DERIVED_NS = [m * 60_000_000_000 for m in (5, 15, 30)]
BUILTINS = [("sma", {"period": 20}), ("ema", {"period": 20}), ("rsi", {"period": 14}),
            ("atr", {"period": 14}), ("bbands", {"period": 20})]


def config(symbols: int, days: int, indicators: bool = False):
    from mismartera.calendar import TimeManager
    from mismartera.config import SessionConfig

    cal = TimeManager("XNYS")
    start = datetime.date(2023, 1, 3)
    end = cal.trading_days(start, start + datetime.timedelta(days=days * 2 + 7))[days - 1]
    doc: dict[str, Any] = {
        "session": {"start": start.isoformat(), "end": end.isoformat(), "prefetch_days": 20},
        "data": {"source": "synthetic", "count": symbols, "seed": 1},
        "symbols": {"list": [f"SYN{i}" for i in range(symbols)]},
        "streams": {"intervals": STREAMS},
    }
    if indicators:
        doc["indicators"] = [{"name": n, "interval": iv, "params": p}
                             for n, p in BUILTINS for iv in ("1m", "5m")]
    return SessionConfig.from_dict(doc)


class NoOp:
    def on_bar(self, ctx, symbol, interval, bar):
        pass


def plugins():
    from mismartera.plugin_manager import PluginManager

    return PluginManager(load_entry_points=False)


def run_mismartera(symbols: int, days: int, observers=(), *, indicators: bool = False,
                   manager=None) -> tuple[int, float, dict[str, float]]:
    """(base bars, seconds, phase timings) of one `run_backtest`, coordinator build included."""
    from mismartera import run_backtest

    manager = manager if manager is not None else plugins()
    cfg = config(symbols, days, indicators)
    start = time.perf_counter()
    result = run_backtest(cfg, plugins=manager, observers=observers, collect=False)
    elapsed = time.perf_counter() - start
    return result.metrics.bars_processed, elapsed, dict(result.metrics.timings_s)


def session_bars(symbols: int, days: int):
    """Each symbol's in-session 1m bars of the run (the source's, as the engine keeps them),
    with the sessions' opens and closes."""
    import numpy as np

    from mismartera.calendar import TimeManager
    from mismartera.ext.gaps import classify
    from mismartera.intervals import Interval

    cfg = config(symbols, days)
    source = plugins().make_source(cfg.source, cfg.source_options, exchange="XNYS",
                                   key="[data] source")
    table = TimeManager("XNYS").sessions(cfg.start, cfg.end)
    opens = np.ascontiguousarray(table.opens, np.int64)
    closes = np.ascontiguousarray(table.closes, np.int64)
    out = []
    for symbol in cfg.symbols:
        bars = source.bars(symbol, Interval.parse("1m"), int(opens[0]), int(closes[-1]))
        keep = classify(bars.ts, opens, closes, 60_000_000_000, *bars[1:])[0]
        out.append(bars.take(keep))
    return out, opens, closes


def kernel_whole(bars, opens, closes) -> float:
    """Seconds to aggregate every symbol's bars into 5m/15m/30m, one call per symbol and
    interval over all sessions."""
    from mismartera.ext.aggregate import aggregate_bars

    start = time.perf_counter()
    for b in bars:
        for ns in DERIVED_NS:
            aggregate_bars(*b, opens, closes, ns)
    return time.perf_counter() - start


def day_blocks(bars, opens, closes):
    """Each symbol-day's bars (pre-cut, as the engine's queue holds them) with its session."""
    import numpy as np

    blocks = []
    for b in bars:
        lo = np.searchsorted(b.ts, opens)
        hi = np.searchsorted(b.ts, closes)
        for d in range(len(opens)):
            blocks.append((tuple(c[lo[d]:hi[d]] for c in b), opens[d:d + 1], closes[d:d + 1]))
    return blocks


def kernel_days(blocks) -> float:
    """Seconds to aggregate the same bars one call per symbol-day and interval."""
    from mismartera.ext.aggregate import aggregate_bars

    start = time.perf_counter()
    for cols, o, c in blocks:
        for ns in DERIVED_NS:
            aggregate_bars(*cols, o, c, ns)
    return time.perf_counter() - start


def bt_days(bars: int) -> int:
    """Sessions that hold at least `bars` one-minute bars (390 a session, less the
    synthetic source's few missing bars: 5 % to spare)."""
    return max(1, -(-bars * 21 // (390 * 20)))


def run_backtrader(days: int) -> tuple[int, float, int]:
    import backtrader as bt

    from mismartera.calendar import TimeManager
    from mismartera.intervals import Interval

    cfg = config(1, days)
    source = plugins().get("source", "synthetic").obj(**cfg.source_options, exchange="XNYS")
    table = TimeManager("XNYS").sessions(cfg.start, cfg.end)
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
    return len(bars.ts), elapsed, derived["n"]


def peak_rss(days: int, symbols: int) -> float:
    code = (f"import resource, sys; sys.path.insert(0, {sys.path[0]!r}); "
            "import bench_backtest as b; "
            f"b.run_mismartera({symbols}, {days}); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def build_seconds(symbols: int, days: int, manager) -> float:
    """Building a session: the coordinator of the run (plugin manager given, calendar
    loaded once in the process)."""
    from mismartera.session.run import build_coordinator

    cfg = config(symbols, days)
    start = time.perf_counter()
    build_coordinator(cfg, plugins=manager)
    return time.perf_counter() - start


RUNS = {"none": "no observer", "callback": "no-op per-bar callback",
        "indicators": "5 built-ins on 1m and 5m"}


def measure(symbols: int, days: int, repeat: int) -> dict[str, Any]:
    """Best seconds of each run and of the kernel over `repeat` interleaved rounds."""
    manager = plugins()
    run_mismartera(1, 1, manager=manager)  # warm: imports, the calendar, caches
    run_mismartera(1, 1, manager=manager, indicators=True)
    bars, opens, closes = session_bars(symbols, days)
    blocks = day_blocks(bars, opens, closes)
    n_kernel = sum(len(b.ts) for b in bars)
    best: dict[str, float] = {}
    phases: dict[str, dict[str, float]] = {}
    counts: dict[str, int] = {}
    for _ in range(repeat):
        for name in RUNS:
            obs = [NoOp()] if name == "callback" else []
            n, t, timings = run_mismartera(symbols, days, obs, indicators=name == "indicators",
                                           manager=manager)
            counts[name] = n
            if t < best.get(name, float("inf")):
                best[name], phases[name] = t, timings
        best["kernel"] = min(best.get("kernel", float("inf")), kernel_whole(bars, opens, closes))
        best["kernel_days"] = min(best.get("kernel_days", float("inf")), kernel_days(blocks))
    build = min(build_seconds(symbols, days, manager) for _ in range(3))
    if any(n != n_kernel for n in counts.values()):
        raise AssertionError(f"the runs delivered {counts}, the kernel took {n_kernel} bars")
    return {"bars": n_kernel, "seconds": best, "phases": phases, "build_s": build}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--days", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=5, help="rounds, best kept")
    parser.add_argument("--bt-bars", type=int, default=200_000,
                        help="base bars backtrader runs (whole sessions of 390)")
    parser.add_argument("--no-peer", action="store_true", help="skip backtrader")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    m = measure(args.symbols, args.days, max(1, args.repeat))
    n, secs = m["bars"], m["seconds"]
    kernel = n / secs["kernel"]
    print(f"backtest: {args.symbols} symbols x {args.days} sessions, streams "
          f"{','.join(STREAMS)}, {n:,} base bars; best of {args.repeat} interleaved rounds")
    print(f"{'run':46} {'seconds':>8} {'M bars/s':>9} {'/ kernel':>9} {'/ none':>7}")
    rates = {k: n / v for k, v in secs.items()}
    for name, label in [*RUNS.items(), ("kernel", "kernel only: aggregate_bars per symbol"),
                        ("kernel_days", "kernel only: one call per symbol-day")]:
        print(f"{label:46} {secs[name]:>8.3f} {rates[name] / 1e6:>9.2f} "
              f"{rates[name] / kernel:>8.2%} {rates[name] / rates['none']:>7.0%}")
    print(f"building the session (coordinator, plugins given): {m['build_s'] * 1e3:.2f} ms")
    for name in RUNS:
        ph = ", ".join(f"{k} {v * 1e3:.1f}" for k, v in m["phases"][name].items())
        print(f"  phases of '{name}' (ms): {ph}")
    result: dict[str, Any] = {
        "bars_per_s": rates["none"],
        "bars_per_s_callback": rates["callback"],
        "bars_per_s_indicators": rates["indicators"],
        "kernel_bars_per_s": kernel,
        "kernel_days_bars_per_s": rates["kernel_days"],
        "ratio_to_kernel": {k: rates[k] / kernel for k in RUNS},
        "build_s": m["build_s"],
    }
    targets = [("no observer", rates["none"], 10e6), ("no-op callback", rates["callback"], 3e6)]
    for what, got, want in targets:
        print(f"target: {what} >= {want / 1e6:.0f} M bars/s: got {got / 1e6:.2f} M "
              f"({'met' if got >= want else 'NOT met'} in this run)")
    kept = rates["indicators"] / rates["none"]
    print(f"target: 5 built-ins keep >= 70 % of the no-indicator rate: got {kept:.0%} "
          f"({'met' if kept >= 0.7 else 'NOT met'} in this run)")
    if not args.no_peer:
        bt_n, bt_t, _ = run_backtrader(bt_days(args.bt_bars))
        bt_rate = bt_n / bt_t
        print(f"backtrader resampledata 1m->5m/15m/30m (1 symbol, {bt_n:,} bars): "
              f"{bt_rate / 1e6:.3f} M bars/s; mismartera (no observer) is "
              f"{rates['none'] / bt_rate:.0f}x")
        result["backtrader_bars_per_s"] = bt_rate
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
