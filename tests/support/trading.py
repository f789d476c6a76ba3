"""Shared by the strategy tests: a plugin manager with the built-in strategies, a session
config for one strategy, the 5m bars a session derives, and trades as comparable tuples."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from mismartera.calendar import TimeManager
from mismartera.ext.aggregate import aggregate_bars
from mismartera.intervals import Interval
from mismartera.plugin_manager import PluginManager

STRATEGIES = "mismartera.plugins.strategies.builtin"
_PLUGINS: PluginManager | None = None


def strategy_plugins() -> PluginManager:
    """The built-ins, the built-in strategies among them (read-only use)."""
    global _PLUGINS
    if _PLUGINS is None:
        _PLUGINS = PluginManager(load_entry_points=False)
        if "sma_cross" not in _PLUGINS.registered("strategy"):
            _PLUGINS.register_plugin(importlib.import_module(STRATEGIES))
    return _PLUGINS


def strategy_config(source: dict[str, Any], symbols: list[str], start: str, end: str,
                    name: str, interval: str | None, params: dict[str, Any],
                    streams: tuple[str, ...] = ("1m",), **sections: Any) -> dict[str, Any]:
    strategy = {"name": name, "params": params}
    if interval is not None:
        strategy["interval"] = interval
    return {"session": {"start": start, "end": end}, "data": source,
            "symbols": {"list": symbols}, "streams": {"intervals": list(streams)},
            "strategy": strategy, "broker": {"cash": 1_000_000.0}, **sections}


def derived_bars(source, symbol: str, start: str, end: str, interval: str = "5m"
                 ) -> dict[str, np.ndarray]:
    """The bars of `interval` a session derives from the source's 1m bars (buckets anchored
    at each session's open, truncated at its close; bars outside the sessions ignored)."""
    table = TimeManager("XNYS").sessions(start, end)
    base = source.bars(symbol, Interval.parse("1m"), int(table.opens[0]) - 86_400 * 10**9,
                       int(table.closes[-1]) + 86_400 * 10**9)
    columns = aggregate_bars(*base, table.opens, table.closes,
                             Interval.parse(interval).ns)
    return dict(zip(("ts", "open", "high", "low", "close", "volume"), columns, strict=True))


def engine_trades(result, symbol: str) -> list[tuple]:
    """A StrategyResult's trades of `symbol` as (entry_ts, entry_price, exit_ts, exit_price,
    qty), times in ns (exit None while open)."""
    return [(int(r["entry_ts"]), r["entry_price"],
             None if r["exit_ts"] is None else int(r["exit_ts"]), r["exit_price"],
             float(r["qty"]))
            for r in result.trade_dicts() if r["symbol"] == symbol]


def as_tuples(trades) -> list[tuple]:
    return [(t[0], t[1], t[2], t[3], float(t[4])) for t in trades]
