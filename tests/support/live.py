"""Live-mode helpers shared by the live-session tests: a plugin manager with the `replay`
source, session configs that replay a source (or back-test it), the cached backtest of a
config, a live run, and the comparison of a live export with the backtest of the same day."""

from __future__ import annotations

import copy
import functools
import importlib
import json
import threading
from typing import Any

from mismartera.config import SessionConfig
from mismartera.export import snapshot
from mismartera.plugin_manager import PluginManager
from mismartera.session.coordinator import SessionCoordinator
from mismartera.session.live import LiveSessionCoordinator
from tests.support.engine import dumps, with_builtin_indicators

REPLAY_SOURCE = "mismartera.plugins.sources.replay"
_LIVE_PLUGINS: PluginManager | None = None

STREAMS = ["1m", "5m", "15m", "30m", "1h", "1d"]
INDICATORS = [
    {"name": "sma", "interval": "5m", "params": {"period": 20}},
    {"name": "ema", "interval": "1m", "params": {"period": 9}},
    {"name": "vwap", "interval": "1m"},
    {"name": "rsi", "interval": "15m"},
]
SAMPLE = {"source": "sample"}
DAY = "2011-01-05"


def live_plugins() -> PluginManager:
    """One plugin manager with the built-ins, the `replay` source and the built-in
    indicators, whether or not DEFAULT_PLUGINS lists them already (read-only use)."""
    global _LIVE_PLUGINS
    if _LIVE_PLUGINS is None:
        manager = with_builtin_indicators(PluginManager(load_entry_points=False))
        if "replay" not in manager.registered("source"):
            manager.register_plugin(importlib.import_module(REPLAY_SOURCE),
                                    name="sources-replay", distribution="mismartera")
        _LIVE_PLUGINS = manager
    return _LIVE_PLUGINS


def without_live_fields(doc: dict) -> dict:
    """A copy of an export document less what a live session legitimately reports
    differently from the backtest of the same day: `session.mode`, the run's `metrics`,
    `rejected.outside_session` (at the close a live feed has not sent the after-hours bars
    a backtest reads and counts) and the `cursor` (it counts the repairs of each series)."""
    out = copy.deepcopy(doc)
    out["session"].pop("mode")
    out.pop("cursor", None)
    out.pop("metrics")
    out["rejected"].pop("outside_session")
    return out


def session(day: str, data: dict[str, Any], symbols: list[str], *, live: dict | None = None,
            speed: float = 0, trailing: int = 2, indicators: list = INDICATORS) -> SessionConfig:
    """A session-file dict as a config: a backtest, or (`live` = replay options) a live
    session replaying the same source."""
    doc: dict[str, Any] = {
        "session": {"start": day, "end": day, "speed": speed},
        "data": dict(data),
        "symbols": {"list": symbols},
        "streams": {"intervals": STREAMS},
        "historical": {"trailing_days": trailing},
        "indicators": indicators,
    }
    if live is not None:
        doc["session"]["mode"] = "live"
        upstream = {k: v for k, v in data.items() if k != "source"}
        doc["data"] = {"source": "replay", "from": data["source"], **upstream, **live}
    return SessionConfig.from_dict(doc, origin="test")


@functools.cache
def _backtest(key: str) -> str:
    cfg = SessionConfig.from_dict(json.loads(key), origin="test")
    coordinator = SessionCoordinator(cfg, plugins=live_plugins())
    coordinator.run()
    return json.dumps(snapshot(coordinator.session_data, coordinator.calendar)[0])


def backtest_doc(cfg: SessionConfig) -> dict:
    """The export document of the backtest of `cfg` (cached per config)."""
    return json.loads(_backtest(json.dumps(cfg.to_dict(), sort_keys=True)))


def live_run(cfg: SessionConfig, **kwargs: Any) -> tuple[LiveSessionCoordinator, dict]:
    """Run `cfg` live: (the coordinator, its export document)."""
    coordinator = LiveSessionCoordinator(cfg, plugins=live_plugins(), **kwargs)
    coordinator.run()
    return coordinator, snapshot(coordinator.session_data, coordinator.calendar)[0]


def assert_same_day(live_doc: dict, backtest: dict) -> None:
    """A live export equals the backtest's, less what live legitimately reports differently."""
    assert live_doc["session"]["mode"] == "live"
    assert backtest["session"]["mode"] == "backtest"
    assert dumps(without_live_fields(live_doc)) == dumps(without_live_fields(backtest))


def feed_threads() -> list[threading.Thread]:
    """The replay feed threads still running."""
    return [t for t in threading.enumerate() if t.name == "replay-feed" and t.is_alive()]
