"""`run_backtest`: the Python entry point to a whole backtest, exports included."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from mismartera.config import SessionConfig
from mismartera.export import snapshot, write_export
from mismartera.plugin_manager import PluginManager
from mismartera.session.coordinator import SessionCoordinator
from mismartera.session.data import SessionData
from mismartera.sources import DataSource


def as_config(config: SessionConfig | str | Path | Mapping[str, Any]) -> SessionConfig:
    if isinstance(config, SessionConfig):
        return config
    if isinstance(config, Mapping):
        return SessionConfig.from_dict(config)
    return SessionConfig.from_toml(config)


def run_backtest(
    config: SessionConfig | str | Path | Mapping[str, Any],
    *,
    plugins: PluginManager | None = None,
    source: DataSource | None = None,
    observers: Iterable[Any] = (),
    on_day_end: Callable[[SessionCoordinator, Any], None] | None = None,
    stop_times: Iterable[int] = (),
) -> SessionData:
    """Run a backtest and write the configured exports; returns the last day's SessionData
    (its `metrics` attribute holds the run's PerformanceMetrics).

    `config` is a SessionConfig, a session-file path or a dict shaped like the file."""
    coordinator = SessionCoordinator(as_config(config), plugins=plugins, source=source,
                                     observers=observers, stop_times=stop_times)
    cfg = coordinator.config

    def day_end(coord: SessionCoordinator, day) -> None:
        if cfg.export_dir is not None:
            doc, _ = snapshot(coord.session_data, coord.calendar, timings=cfg.export_timings)
            write_export(Path(cfg.export_dir) / f"{day.isoformat()}.json", doc, coord.plugins)
        if on_day_end is not None:
            on_day_end(coord, day)

    session_data = coordinator.run(on_day_end=day_end)
    if cfg.export_path is not None:
        doc, _ = snapshot(session_data, coordinator.calendar, timings=cfg.export_timings)
        write_export(cfg.export_path, doc, coordinator.plugins)
    return session_data
