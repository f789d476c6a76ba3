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
from mismartera.session.result import DEFAULT_SPILL_BYTES, RunCollector, RunResult
from mismartera.sources import DataSource

DayEnd = Callable[[SessionCoordinator, Any], None]


def as_config(config: SessionConfig | str | Path | Mapping[str, Any]) -> SessionConfig:
    if isinstance(config, SessionConfig):
        return config
    if isinstance(config, Mapping):
        return SessionConfig.from_dict(config)
    return SessionConfig.from_toml(config)


def _document(coordinator: SessionCoordinator) -> dict[str, Any]:
    """The export document of the coordinator's SessionData now."""
    return snapshot(coordinator.session_data, coordinator.calendar,
                    timings=coordinator.config.export_timings)[0]


def run_coordinator(coordinator: SessionCoordinator, *, on_day_end: DayEnd | None = None,
                    on_export: Callable[[Path], None] | None = None) -> SessionData:
    """Run a built coordinator to the end, writing the configured exports (one per day with
    `export_dir`, the last day's with `export_path`); `on_export` hears of each file.

    A backtest's daily snapshots are held back until its first bar: one that never has a
    bar fails (DataError) and writes nothing."""
    cfg = coordinator.config
    held: list[tuple[Path, dict[str, Any]]] = []

    def write(path: str | Path, doc: dict[str, Any]) -> None:
        for written in write_export(path, doc, coordinator.plugins):
            if on_export is not None:
                on_export(written)

    def day_end(coord: SessionCoordinator, day) -> None:
        if cfg.export_dir is not None:
            held.append((Path(cfg.export_dir) / f"{day.isoformat()}.json", _document(coord)))
            if coord.has_bars or cfg.mode != "backtest":
                while held:
                    write(*held.pop(0))
        if on_day_end is not None:
            on_day_end(coord, day)

    session_data = coordinator.run(on_day_end=day_end)
    for path, doc in held:  # a backtest stopped before its first bar
        write(path, doc)
    if cfg.export_path is not None:
        write(cfg.export_path, _document(coordinator))
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
    collect: bool = True,
    spill_bytes: int | None = DEFAULT_SPILL_BYTES,
) -> RunResult:
    """Run a session (a backtest, or live when the config says `mode = "live"`) and write
    the configured exports (`on_export` hears of each file written).

    Returns the run (`RunResult`): `bars(symbol, interval)`, `indicators(...)`, `quality()`
    and `gaps()` span every day as numpy columns (`.to_pandas()`); past `spill_bytes` of
    columns they are spilled to Parquet under a temporary directory. Anything else is the
    last day's SessionData (`result["SPY"]`, `.strategy`, `.metrics` — the run's
    PerformanceMetrics). `collect=False` keeps no columns (the command line's choice).

    `config` is a SessionConfig, a session-file path or a dict shaped like the file."""
    coordinator = build_coordinator(as_config(config), plugins=plugins, source=source,
                                    observers=observers, stop_times=stop_times)
    collector = RunCollector(spill_bytes)

    def day_end(coord: SessionCoordinator, day: Any) -> None:
        if collect:
            collector.day_end(coord, day)
        if on_day_end is not None:
            on_day_end(coord, day)

    try:
        session_data = run_coordinator(coordinator, on_day_end=day_end, on_export=on_export)
    except BaseException:
        collector.close()
        raise
    return RunResult(session_data, collector)


def run_label(config: SessionConfig, calendar: Any = None) -> str:
    """What a run covers, for start messages: "backtest XNYS 2011-01-03..2011-01-31", or for
    a live run its real trading days ("live XNYS 2011-01-04..2011-01-06"; today's session when
    the config names no date; `calendar` a TimeManager of the exchange, built when None)."""
    first, last = config.start, config.end
    if config.mode == "live":
        from mismartera.calendar import TimeManager
        from mismartera.session.live import live_days

        first, last = live_days(config, calendar or TimeManager(config.exchange))
    span = "" if first is None else f" {first}" if first == last else f" {first}..{last}"
    return f"{config.mode} {config.exchange}{span}"


def build_coordinator(config: SessionConfig, **kwargs: Any) -> SessionCoordinator:
    """The coordinator for the config's mode: backtest, or live (`mode = "live"`)."""
    if config.mode == "live":
        from mismartera.session.live import LiveSessionCoordinator

        return LiveSessionCoordinator(config, **kwargs)
    return SessionCoordinator(config, **kwargs)
