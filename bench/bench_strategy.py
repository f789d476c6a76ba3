"""A Python strategy in a whole backtest, beside the engine without it, and beside
backtesting.py, backtrader and NautilusTrader running the same strategy on the same bars.

    .venv/bin/python bench/bench_strategy.py                 # 10 symbols x 1 year
    .venv/bin/python bench/bench_strategy.py --days 5 --peer-bars 5000   # quick

mismartera runs `sma_cross@5m` (fast 10, slow 30, qty 100; Python `on_bar` callbacks on
every 5m bar of every symbol, the SMAs read through `ctx.indicator`) on a synthetic-source
backtest over a 1m base: 10 symbols x 250 sessions, 971,400 base bars, each run through
`mismartera.run_backtest` (building the session included; `collect=False`). Target: >= 2 M
base bars/s on one core (issue 17).

Beside it, in the same interleaved rounds (best kept; a slow spell of the shared machine hits
one round of all of them), the engine on the same config: without the strategy (streams 1m
and 5m only), and with the strategy's two SMAs and a no-op per-bar callback on 5m instead of
the strategy (what the strategy's own Python costs is the difference). The ratios to the
no-strategy figure are what survive the machine's load.

The peers run the same strategy (bench/_peers.py) with matching fill settings on the same
5m bars, derived from the synthetic 1m bars exactly as the session derives them
(`aggregate_bars`, anchored at each session's open), one symbol after another until each
has seen at least `--peer-bars` bars (200,000 by default, so its figure is its steady rate).
The comparison is per 5m bar (the bars the strategy trades on): mismartera's 5m bars/s
count its 1m base bars, the derivation and the broker too. NautilusTrader runs when a
Python with `nautilus_trader` is found (MISMARTERA_NAUTILUS_PYTHON, else this one; it pins
pandas < 3, so usually its own virtual environment), else it is skipped with the reason.
The trades of every peer on the first symbol are checked against mismartera's.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Row, rate, target_line

FAST, SLOW, QTY = 10, 30, 100
TARGET = 2_000_000  # base bars/s with Python strategy callbacks (issue 17)
STRATEGIES = "mismartera.plugins.strategies.builtin"


def plugins():
    import importlib

    from mismartera.plugin_manager import PluginManager

    manager = PluginManager(load_entry_points=False)
    if "sma_cross" not in manager.registered("strategy"):
        manager.register_plugin(importlib.import_module(STRATEGIES))
    return manager


def window(days: int) -> tuple[datetime.date, datetime.date]:
    from mismartera.calendar import TimeManager

    start = datetime.date(2023, 1, 3)
    days_list = TimeManager("XNYS").trading_days(start, start + datetime.timedelta(days=days * 2))
    return start, days_list[days - 1]


def config(symbols: int, days: int, first: int = 0):
    from mismartera.config import SessionConfig

    start, end = window(days)
    return SessionConfig.from_dict({
        "session": {"start": start.isoformat(), "end": end.isoformat(), "prefetch_days": 20},
        "data": {"source": "synthetic", "count": first + symbols, "seed": 1},
        "symbols": {"list": [f"SYN{i}" for i in range(first, first + symbols)]},
        "streams": {"intervals": ["1m", "5m"]},
        "strategy": {"name": "sma_cross", "interval": "5m",
                     "params": {"fast": FAST, "slow": SLOW, "qty": QTY}},
        "broker": {"cash": 1e9},
    })


class NoOp:
    """A per-bar callback on the strategy's interval that does nothing."""

    intervals = ("5m",)

    def on_bar(self, ctx, symbol, interval, bar):
        pass


KINDS = ("engine", "no-op callback", "sma_cross")


def kind_config(kind: str, symbols: int, days: int):
    """The run of one kind: the strategy, the engine alone, or its SMAs and a no-op."""
    from dataclasses import replace

    from mismartera.config import IndicatorSpec

    cfg = config(symbols, days)
    if kind == "sma_cross":
        return cfg
    specs = () if kind == "engine" else tuple(
        IndicatorSpec.parse(f"sma:period={p}@5m") for p in (FAST, SLOW))
    return replace(cfg, strategy=None, indicators=specs)


def run_kind(kind: str, symbols: int, days: int, manager) -> tuple[int, float, list]:
    """(base bars, seconds, the trades of SYN0 as the peers report them) of one run."""
    from mismartera import run_backtest

    cfg = kind_config(kind, symbols, days)
    observers = (NoOp(),) if kind == "no-op callback" else ()
    start = time.perf_counter()
    result = run_backtest(cfg, plugins=manager, observers=observers, collect=False)
    seconds = time.perf_counter() - start
    trades = [] if result.strategy is None else [
        (t["entry_ts"], t["entry_price"], t["exit_ts"], t["exit_price"], float(t["qty"]))
        for t in result.strategy.trade_dicts() if t["symbol"] == "SYN0"]
    return result.metrics.bars_processed, seconds, trades


def run_mismartera(symbols: int, days: int, repeat: int) -> tuple[int, dict[str, float], list]:
    """(base bars, best seconds of each kind, the strategy's trades of SYN0): the kinds
    interleaved in `repeat` rounds."""
    manager = plugins()
    for kind in KINDS:
        run_kind(kind, 1, 2, manager)  # warm: calendar, imports
    best, bars, trades = dict.fromkeys(KINDS, float("inf")), 0, []
    for _ in range(repeat):
        for kind in KINDS:
            n, seconds, got = run_kind(kind, symbols, days, manager)
            best[kind] = min(best[kind], seconds)
            if kind == "sma_cross":
                bars, trades = n, got
    return bars, best, trades


def five_minute_bars(symbol: int, days: int) -> dict[str, np.ndarray]:
    """The 5m bars the session derives for synthetic symbol SYN<symbol>."""
    from mismartera.calendar import TimeManager
    from mismartera.ext.aggregate import aggregate_bars
    from mismartera.intervals import Interval

    cfg = config(1, days, first=symbol)
    source = plugins().get("source", "synthetic").obj(**cfg.source_options, exchange="XNYS")
    table = TimeManager("XNYS").sessions(cfg.start, cfg.end)
    base = source.bars(f"SYN{symbol}", Interval.parse("1m"), int(table.opens[0]),
                       int(table.closes[-1]))
    columns = aggregate_bars(*base, table.opens, table.closes, 300 * 10**9)
    return dict(zip(("ts", "open", "high", "low", "close", "volume"), columns, strict=True))


def run_peer(run, days: int, peer_bars: int) -> tuple[int, float, list]:
    """(5m bars, seconds, trades on SYN0): symbols one after another until `peer_bars`."""
    n, seconds, first, symbol = 0, 0.0, None, 0
    while n < peer_bars:
        bars = five_minute_bars(symbol, days)
        trades, took = run(bars)
        first = trades if first is None else first
        n, seconds, symbol = n + len(bars["ts"]), seconds + took, symbol + 1
    return n, seconds, first or []


def _rounded(trades: list) -> list:
    return [(a, round(b, 9), c, None if d is None else round(d, 9), e)
            for a, b, c, d, e in trades]


def table(rows: list[Row]) -> list[str]:
    head = f"{'peer (same strategy, same 5m bars)':<36} {'5m bars/s':>12} {'ours 5m bars/s':>15} "
    lines = [head + f"{'ours is x faster':>17}"]
    lines += [f"{r.peer_name:<36} {r.peer:>12,.0f} {r.ours:>15,.0f} {r.ours / r.peer:>17.1f}"
              for r in rows]
    return lines


def main(argv=None) -> dict:
    import _peers

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--days", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peer-bars", type=int, default=200_000)
    parser.add_argument("--no-nautilus", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    n, times, ours = run_mismartera(args.symbols, args.days, args.repeat)
    t = times["sma_cross"]
    ours_5m = n / 5 / t
    print(f"mismartera sma_cross@5m, {args.symbols} symbols x {args.days} sessions: "
          f"{n:,} base bars in {t:.3f} s = {n / t:,.0f} base bars/s "
          f"({ours_5m:,.0f} 5m bars/s), {len(ours)} trades on SYN0")
    print(target_line("base bars/s with Python strategy callbacks", n / t, TARGET, "bars/s"))
    print(f"\n{'the same run (best of ' + str(args.repeat) + ' rounds)':<36} {'s':>7} "
          f"{'base bars/s':>12} {'x engine':>9}")
    for kind in KINDS:
        print(f"{kind:<36} {times[kind]:>7.3f} {n / times[kind]:>12,.0f} "
              f"{times['engine'] / times[kind]:>9.2f}")
    own = (t - times["no-op callback"]) / (n / 5) * 1e6
    print(f"the strategy's own Python: {own:.2f} us per 5m bar (sma_cross - no-op callback)")

    peers = {
        "backtesting.py": lambda b: _peers.run_backtesting(b, FAST, SLOW, QTY),
        "backtrader": lambda b: _peers.run_backtrader(b, FAST, SLOW, QTY),
    }
    skipped: dict[str, str] = {}
    python = None if args.no_nautilus else _peers.nautilus_python()
    if python is not None:
        peers["NautilusTrader"] = lambda b: _peers.run_nautilus(b, FAST, SLOW, QTY, python)
    else:
        skipped["NautilusTrader"] = ("--no-nautilus" if args.no_nautilus else
                                     "no Python with nautilus_trader (pip install "
                                     "nautilus_trader; MISMARTERA_NAUTILUS_PYTHON)")

    rows, result = [], {"bars_per_s": n / t, "bars5m_per_s": ours_5m, "peers": {},
                        "engine": {k: {"seconds": v, "bars_per_s": n / v,
                                       "ratio": times["engine"] / v}
                                   for k, v in times.items()}}
    for name, run in peers.items():
        bars, seconds, trades = run_peer(run, args.days, args.peer_bars)
        # NautilusTrader fills at the signal bar's close (bench/_nautilus_peer.py): same
        # signals, a bar earlier; backtrader's prices are value / size (an ulp off)
        same = (len(trades) == len(ours) if name == "NautilusTrader"
                else _rounded(trades) == _rounded(ours))
        rows.append(Row(f"sma_cross@5m vs {name}", ours_5m, name, bars / seconds))
        result["peers"][name] = {"bars": bars, "bars_per_s": bars / seconds,
                                 "ratio": ours_5m / (bars / seconds), "same_trades": same}
        print(f"{name}: {bars:,} 5m bars in {seconds:.2f} s; trades on SYN0 "
              f"{'equal ours' if same else 'DIFFER from ours'} ({len(trades)})")
    for name, reason in skipped.items():
        print(f"{name}: skipped ({reason})")
    result["skipped"] = skipped
    print()
    print("\n".join(table(rows)))
    print(f"(ours: {rate(n / t)} base bars/s)")
    if args.json:
        print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
