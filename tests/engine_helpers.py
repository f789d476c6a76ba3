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
