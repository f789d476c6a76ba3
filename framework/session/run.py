"""`run_backtest` and `run_coordinator`: a whole run, exports included."""

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

DayEnd = Callable[[SessionCoordinator, Any], None]


def as_config(config: SessionConfig | str | Path | Mapping[str, Any]) -> SessionConfig:
    if isinstance(config, SessionConfig):
        return config
    if isinstance(config, Mapping):
        return SessionConfig.from_dict(config)
    return SessionConfig.from_toml(config)


def export_now(coordinator: SessionCoordinator, path: str | Path) -> list[Path]:
    """Write a snapshot of the coordinator's SessionData to `path` (format from the
    suffix); the files written (a CSV export writes one per symbol and interval)."""
    doc, _ = snapshot(coordinator.session_data, coordinator.calendar,
                      timings=coordinator.config.export_timings)
    return write_export(path, doc, coordinator.plugins)


def run_coordinator(coordinator: SessionCoordinator, *, on_day_end: DayEnd | None = None,
                    on_export: Callable[[Path], None] | None = None) -> SessionData:
    """Run a built coordinator to the end, writing the configured exports (one per day with
    `export_dir`, the last day's with `export_path`); `on_export` hears of each file."""
    cfg = coordinator.config

    def export(path: str | Path) -> None:
        for written in export_now(coordinator, path):
            if on_export is not None:
                on_export(written)

    def day_end(coord: SessionCoordinator, day) -> None:
        if cfg.export_dir is not None:
            export(Path(cfg.export_dir) / f"{day.isoformat()}.json")
        if on_day_end is not None:
            on_day_end(coord, day)

    session_data = coordinator.run(on_day_end=day_end)
    if cfg.export_path is not None:
        export(cfg.export_path)
    return session_data


def run_backtest(
    config: SessionConfig | str | Path | Mapping[str, Any],
    *,
    plugins: PluginManager | None = None,
    source: DataSource | None = None,
    observers: Iterable[Any] = (),
    on_day_end: DayEnd | None = None,
    on_export: Callable[[Path], None] | None = None,
    stop_times: Iterable[int] = (),
) -> SessionData:
    """Run a session (a backtest, or live when the config says `mode = "live"`) and write
    the configured exports (`on_export` hears of each file written); returns the last
    day's SessionData (its `metrics` attribute holds the run's PerformanceMetrics).

    `config` is a SessionConfig, a session-file path or a dict shaped like the file."""
    coordinator = build_coordinator(as_config(config), plugins=plugins, source=source,
                                    observers=observers, stop_times=stop_times)
    return run_coordinator(coordinator, on_day_end=on_day_end, on_export=on_export)


def build_coordinator(config: SessionConfig, **kwargs: Any) -> SessionCoordinator:
    """The coordinator for the config's mode: backtest, or live (`mode = "live"`)."""
    if config.mode == "live":
        from mismartera.session.live import LiveSessionCoordinator

        return LiveSessionCoordinator(config, **kwargs)
    return SessionCoordinator(config, **kwargs)
