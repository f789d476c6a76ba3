"""One snapshot of SessionData in the contract's export schema, and atomic file writes.

`snapshot()` is the only place that turns SessionData into the export shape
(`"schema": "mismartera.session/1"`); every exporter plugin writes from it, so JSON, CSV and
Parquet never disagree. It copies under SessionData's lock, so any thread may call it.
`atomic_write` writes one file and `atomic_paths` a set of files as a set; both give the
files the permissions the umask allows, as `open()` would.
"""

from __future__ import annotations

import errno
import math
import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from mismartera.bars import COLUMNS
from mismartera.calendar import TimeManager
from mismartera.session.data import SessionData, SymbolSessionData
from mismartera.session.indicators.state import RunningIndicator

SCHEMA = "mismartera.session/1"

Marks = dict[tuple[str, str], int]
"""(symbol, interval) -> how many bars of the current session an earlier export held."""


def _num(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def indicator_columns(symbol_data: SymbolSessionData, interval: str,
                      ts: np.ndarray) -> dict[str, list[float | None]]:
    """The session indicators of `interval` as columns beside its bars stamped `ts`: one
    value per bar (None until ready); a multi-output indicator gives one column per output,
    named `KEY.OUTPUT`."""
    columns: dict[str, list[float | None]] = {}
    for key, state in symbol_data.indicators.items():
        if not isinstance(state, RunningIndicator) or state.interval != interval:
            continue
        stamps = state.history_ts()
        at = np.searchsorted(ts, stamps)
        hit = at < len(ts)
        hit[hit] = ts[at[hit]] == stamps[hit]
        for output in state.outputs:
            values = np.full(len(ts), np.nan)
            history = state.history(output)
            values[at[hit]] = history[len(history) - len(stamps):][hit]
            name = key if len(state.outputs) == 1 else f"{key}.{output}"
            columns[name] = [_num(v) for v in values.tolist()]
    return columns


def snapshot(session_data: SessionData, calendar: TimeManager, *, timings: bool = False,
             since: Marks | None = None) -> tuple[dict[str, Any], Marks]:
    """The export document and the marks to pass as `since` for the next delta export.

    With `since`, only bars closed after those marks are included and `"delta": true`."""
    fmt = calendar.format_ts
    marks: Marks = {}
    with session_data.lock:
        doc: dict[str, Any] = {"schema": SCHEMA}
        if since is not None:
            doc["delta"] = True
        day = session_data.day
        doc["session"] = {
            "date": day.date.isoformat() if day is not None else None,
            "exchange": session_data.exchange,
            "mode": session_data.mode,
            "open": fmt(day.open_ns) if day is not None else None,
            "close": fmt(day.close_ns) if day is not None else None,
            "active": session_data.active,
        }
        symbols: dict[str, Any] = {}
        for s in session_data:
            bars_doc = {}
            for name, iv in s.stream_bars().items():
                total = len(iv.data)
                start = 0 if since is None else min(total, since.get((s.symbol, name), 0))
                marks[(s.symbol, name)] = total
                arrays = iv.data.arrays(total - start)
                stamps = calendar.format_many(arrays[0]) if total - start else []
                rows = [[t, *map(float, r)] for t, *r in zip(stamps, *arrays[1:], strict=True)]
                bars_doc[name] = {
                    "derived": iv.derived,
                    "base": iv.base.name if iv.base is not None else None,
                    "columns": list(COLUMNS),
                    "data": rows,
                    "indicators": indicator_columns(s, name, arrays[0]),
                    "quality": round(iv.quality, 2),
                    "gaps": {
                        "gap_count": len(iv.gaps),
                        "missing_bars": sum(g.bar_count for g in iv.gaps),
                        "ranges": [
                            {"start": fmt(g.start), "end": fmt(g.end), "bar_count": g.bar_count}
                            for g in iv.gaps
                        ],
                    },
                }
            m = s.metrics
            symbols[s.symbol] = {
                "base_interval": s.base_interval.name,
                "is_loaded": s.is_loaded,
                "metrics": {
                    "volume": m.volume,
                    "high": _num(m.high),
                    "low": _num(m.low),
                    "last_update": fmt(m.last_update) if m.last_update is not None else None,
                },
                "bars": bars_doc,
                "indicators": {k: v.to_dict() if hasattr(v, "to_dict") else v
                               for k, v in s.indicators.items()},
                "historical": {
                    "days": [d.isoformat() for d in s.historical.days],
                    "quality": {k: round(v, 2) for k, v in s.historical.quality.items()
                                if k in s.streams},
                    "indicators": dict(s.historical.indicators),
                },
                "errors": list(s.errors),
            }
        doc["symbols"] = symbols
        metrics = session_data.metrics
        doc["metrics"] = metrics.to_dict(timings=timings) if metrics is not None else {}
        doc["rejected"] = session_data.rejected()
        if session_data.strategy is not None:
            doc["strategy"] = session_data.strategy.to_doc(fmt, calendar.format_many)
        if session_data.errors:
            doc["errors"] = list(session_data.errors)
    return doc, marks


def _new_temp(target: Path) -> Path:
    """A new empty file beside `target`, with the permissions the umask allows (unlike
    `tempfile.mkstemp`, which makes it private)."""
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return tmp
        except FileExistsError:
            continue


@contextmanager
def atomic_paths(paths: Sequence[str | Path]) -> Iterator[list[Path]]:
    """Temporary paths beside `paths`, to write a set of files as a set: once the block has
    written them all, each is synced and renamed into place (with the umask's permissions);
    if anything fails, the temporary files are removed and none of `paths` is replaced."""
    targets = [Path(p) for p in paths]
    temps: list[Path] = []
    try:
        for target in targets:
            if target.is_dir():  # found now, not when half of the set is renamed
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
            target.parent.mkdir(parents=True, exist_ok=True)
            temps.append(_new_temp(target))
        yield temps
        for tmp in temps:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        for tmp, target in zip(temps, targets, strict=True):
            os.replace(tmp, target)
    except BaseException as exc:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:  # a write failed (disk full)
            from mismartera.errors import RunError

            names = ", ".join(map(str, targets))
            raise RunError(f"cannot write {names}: {exc.strerror or exc}") from exc
        raise


@contextmanager
def atomic_write(path: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Write `path` through a temporary file in the same folder and rename it into place,
    so readers see the old file or the new one, never half of one."""
    with atomic_paths([path]) as (tmp,), (
            open(tmp, mode) if "b" in mode else open(tmp, mode, encoding="utf-8", newline="")
    ) as fh:
        yield fh


def exporter_for(path: str | Path, plugins) -> Any:
    """The registered exporter whose suffixes match `path` (ConfigError listing them if none)."""
    from mismartera.errors import ConfigError

    suffix = "".join(Path(path).suffixes[-1:]).lower()
    regs = plugins.registered("exporter")
    for reg in regs.values():
        if suffix in reg.obj.suffixes:
            return reg.obj
    known = sorted(s for r in regs.values() for s in r.obj.suffixes)
    raise ConfigError(f"export {path}: unknown file type {suffix or '(none)'!r}; expected one of "
                      f"{', '.join(known)}")


def write_export(path: str | Path, doc: dict[str, Any], plugins,
                 write: Callable[[dict[str, Any], Path], Any] | None = None) -> list[Path]:
    """Write `doc` to `path` with the exporter chosen by the file's suffix; the files
    written (an exporter's `write` may return them; by default it wrote `path`)."""
    written = (write or exporter_for(path, plugins).write)(doc, Path(path))
    return [Path(p) for p in written] if written is not None else [Path(path)]
