"""Small helpers shared by the session-engine tests."""

from __future__ import annotations

import json
from typing import Any

from mismartera.calendar import TimeManager
from mismartera.config import SessionConfig
from mismartera.export import snapshot
from mismartera.plugin_manager import PluginManager
from mismartera.session.coordinator import SessionCoordinator

_PLUGINS: PluginManager | None = None


def plugins() -> PluginManager:
    """One built-ins-only plugin manager for the engine tests (read-only use)."""
    global _PLUGINS
    if _PLUGINS is None:
        _PLUGINS = PluginManager(load_entry_points=False)
    return _PLUGINS


def synthetic_config(**overrides: Any) -> SessionConfig:
    data = {
        "session": {"start": "2014-11-26", "end": "2014-12-01"},
        "data": {"source": "synthetic", "seed": 7, "count": 2, "gap_rate": 0.02,
                 "extended_hours": True},
        "symbols": {"list": ["SYN0", "SYN1"]},
        "streams": {"intervals": ["1m", "5m", "15m", "30m", "1h", "1d"]},
    }
    for key, value in overrides.items():
        section, name = key.split("__")
        data.setdefault(section, {})[name] = value
    return SessionConfig.from_dict(data, origin="test")


def run(config: SessionConfig, **kwargs: Any) -> tuple[SessionCoordinator, dict]:
    coordinator = SessionCoordinator(config, plugins=plugins(), **kwargs)
    coordinator.run()
    doc, _ = snapshot(coordinator.session_data, coordinator.calendar)
    return coordinator, doc


def run_days(config: SessionConfig, manager: PluginManager | None = None,
             **kwargs: Any) -> tuple[SessionCoordinator, dict]:
    """Run and return (coordinator, {day: export document})."""
    docs = {}
    coordinator = SessionCoordinator(config, plugins=manager or plugins(), **kwargs)

    def on_day_end(coord, day):
        docs[day] = snapshot(coord.session_data, coord.calendar)[0]

    coordinator.run(on_day_end=on_day_end)
    return coordinator, docs


class AddAt:
    """An observer that adds `symbol` at the first bar that closes at or after `when` (ns)."""

    def __init__(self, symbol: str, when: int) -> None:
        self.symbol, self.when, self.done, self.at = symbol, when, False, None

    def on_bar(self, ctx, symbol, interval, bar):
        if not self.done and ctx.now_ns >= self.when:
            ctx.add_symbol(self.symbol)
            self.done, self.at = True, ctx.now_ns


def dumps(doc: dict) -> str:
    return json.dumps(doc, sort_keys=True)


CALENDAR = TimeManager("XNYS")


# --- indicators ------------------------------------------------------------------------------

BUILTIN_INDICATORS = "mismartera.plugins.indicators.builtin"
_INDICATOR_PLUGINS: PluginManager | None = None


def with_builtin_indicators(manager: PluginManager) -> PluginManager:
    """`manager` with the built-in indicator plugin registered (whether or not
    DEFAULT_PLUGINS lists it already)."""
    import importlib

    if "sma" not in manager.registered("indicator"):
        manager.register_plugin(importlib.import_module(BUILTIN_INDICATORS),
                                name="indicators-builtin", distribution="mismartera")
    return manager


def indicator_plugins() -> PluginManager:
    """One plugin manager with the built-ins, the built-in indicators and the test
    indicators of tests/support/indicator_plugin.py (read-only use)."""
    global _INDICATOR_PLUGINS
    if _INDICATOR_PLUGINS is None:
        from tests.support import indicator_plugin

        manager = with_builtin_indicators(PluginManager(load_entry_points=False))
        manager.register_plugin(indicator_plugin, name="test-indicators", distribution="tests")
        _INDICATOR_PLUGINS = manager
    return _INDICATOR_PLUGINS


def run_with(manager: PluginManager, config: SessionConfig,
             **kwargs: Any) -> tuple[SessionCoordinator, dict]:
    """`run` with another plugin manager."""
    coordinator = SessionCoordinator(config, plugins=manager, **kwargs)
    coordinator.run()
    doc, _ = snapshot(coordinator.session_data, coordinator.calendar)
    return coordinator, doc


def with_indicators(config: SessionConfig, indicators: list[dict[str, Any]] = (),
                    historical: list[dict[str, Any]] = ()) -> SessionConfig:
    """`config` with session indicators (and historical ones) given as session-file tables."""
    from dataclasses import replace

    from mismartera.config import HistoricalIndicatorSpec, IndicatorSpec

    return replace(config,
                   indicators=tuple(IndicatorSpec(s["name"], s["interval"], s.get("params", {}))
                                    for s in indicators),
                   historical_indicators=tuple(HistoricalIndicatorSpec(**s) for s in historical))

