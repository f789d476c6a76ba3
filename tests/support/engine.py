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


# --- live mode -------------------------------------------------------------------------------

REPLAY_SOURCE = "mismartera.plugins.sources.replay"
_LIVE_PLUGINS: PluginManager | None = None


def live_plugins() -> PluginManager:
    """One plugin manager with the built-ins, the `replay` source and the built-in
    indicators, whether or not DEFAULT_PLUGINS lists them already (read-only use)."""
    global _LIVE_PLUGINS
    if _LIVE_PLUGINS is None:
        import importlib

        manager = with_builtin_indicators(PluginManager(load_entry_points=False))
        if "replay" not in manager.registered("source"):
            manager.register_plugin(importlib.import_module(REPLAY_SOURCE),
                                    name="sources-replay", distribution="mismartera")
        _LIVE_PLUGINS = manager
    return _LIVE_PLUGINS


def without_live_fields(doc: dict) -> dict:
    """A copy of an export document less what a live session legitimately reports
    differently from the backtest of the same day: `session.mode`, the run's `metrics` and
    `rejected.outside_session` (at the close a live feed has not sent the after-hours bars
    a backtest reads and counts)."""
    import copy

    out = copy.deepcopy(doc)
    out["session"].pop("mode")
    out.pop("metrics")
    out["rejected"].pop("outside_session")
    return out
