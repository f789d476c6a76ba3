"""One snapshot of SessionData in the contract's export schema, and atomic file writes.

`snapshot()` is the only place that turns SessionData into the export shape
(`"schema": "mismartera.session/1"`); every exporter plugin writes from it, so JSON, CSV and
Parquet never disagree. It copies under SessionData's lock, so any thread may call it.
Every document carries an opaque `cursor`; `snapshot(since=cursor)` is a delta export: per
series only the bars closed since that export, or, where the series' past was rewritten
(a live repair, a new session day), a `replace_from` stamp and the bars from there on;
everything else as of now (see "Delta exports" in docs/live.md and the CHANGELOG).
`PeriodicExport` writes snapshots every N session minutes (`backtest --export-every`).
`atomic_write` writes one file and `atomic_paths` a set of files as a set; both give the
files the permissions the umask allows, as `open()` would.
"""

from __future__ import annotations

import base64
import datetime
import errno
import json
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
from mismartera.session.data import GapInfo, SessionData, SymbolSessionData
from mismartera.session.indicators.state import RunningIndicator, indicator_arrays
from mismartera.ticks import COLUMNS as TICK_COLUMNS
from mismartera.ticks import KINDS, TickSeries

SCHEMA = "mismartera.session/1"

CURSOR_VERSION = 1

Held = dict[str, dict[str, tuple[str, int, int, int | None]]]
"""What a cursor says the consumer holds: symbol -> interval -> (session date, bar count,
series version, start of its last bar or None)."""


def encode_cursor(held: Held) -> str:
    """The opaque cursor string of `held` (URL-safe base64 of compact JSON)."""
    raw = json.dumps({"v": CURSOR_VERSION, "s": held}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Held:
    """What the consumer of the export that gave `cursor` holds; ValueError if it is not a
    cursor of this schema."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        doc = json.loads(raw)
        if doc.get("v") != CURSOR_VERSION:
            raise ValueError("version")
        held: Held = {}
        for sym, series in doc["s"].items():
            held[str(sym)] = {}
            for name, (date, count, version, last) in series.items():
                datetime.date.fromisoformat(date)
                held[str(sym)][str(name)] = (str(date), int(count), int(version),
                                             None if last is None else int(last))
        return held
    except Exception as exc:  # any malformed input is the same error
        raise ValueError(f"not an export cursor of {SCHEMA}: {cursor[:40]!r}") from exc


def _num(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def gaps_doc(gaps: Sequence[GapInfo], fmt: Callable[[int], str]) -> dict[str, Any]:
    """The export's shape of a list of gap runs: counts and one range per run (its first and
    last missing bucket starts)."""
    return {
        "gap_count": len(gaps),
        "missing_bars": sum(g.bar_count for g in gaps),
        "ranges": [{"start": fmt(g.start), "end": fmt(g.end), "bar_count": g.bar_count}
                   for g in gaps],
    }


def indicator_columns(symbol_data: SymbolSessionData, interval: str,
                      ts: np.ndarray) -> dict[str, list[float | None]]:
    """The session indicators of `interval` as columns beside its bars stamped `ts`: one
    value per bar (None until ready); a multi-output indicator gives one column per output,
    named `KEY.OUTPUT`."""
    return {name: [_num(v) for v in values.tolist()]
            for name, values in indicator_arrays(symbol_data.indicators, interval, ts).items()}


def snapshot(session_data: SessionData, calendar: TimeManager, *, timings: bool = False,
             since: str | None = None) -> tuple[dict[str, Any], str]:
    """The export document and its cursor (also `doc["cursor"]`).

    With `since` (the cursor of an earlier export of this session) it is a delta export,
    `"delta": true`: per (symbol, interval) only what the consumer of that export lacks —
    the bars closed since, or, when the series' past was rewritten since (a live repair, a
    new session day), `replace_from` and every bar from that stamp on (the consumer drops
    its bars from `replace_from` and appends) — and everything else as of now."""
    fmt = calendar.format_ts
    held = decode_cursor(since) if since is not None else None
    now: Held = {}
    with session_data.lock:
        doc: dict[str, Any] = {"schema": SCHEMA}
        if held is not None:
            doc["delta"] = True
        day = session_data.day
        date = day.date.isoformat() if day is not None else None
        doc["session"] = {
            "date": date,
            "exchange": session_data.exchange,
            "mode": session_data.mode,
            "open": fmt(day.open_ns) if day is not None else None,
            "close": fmt(day.close_ns) if day is not None else None,
            "active": session_data.active,
        }
        symbols: dict[str, Any] = {}
        for s in session_data:
            bars_doc = {}
            mine = now[s.symbol] = {}
            for name, iv in s.stream_bars().items():
                total = len(iv.data)
                ts_all = iv.data.column("ts", copy=False) if total else np.empty(0, np.int64)
                mine[name] = (date or "", total, iv.version,
                              int(ts_all[-1]) if total else None)
                start, replace_from = 0, None
                if held is not None:
                    prev = held.get(s.symbol, {}).get(name)
                    if prev is not None:
                        start, replace_from = _resume(prev, iv, ts_all, date, calendar,
                                                      bool(_running(s, name)))
                arrays = iv.data.arrays(total - start)
                stamps = calendar.format_many(arrays[0]) if total - start else []
                rows = [[t, *map(float, r)] for t, *r in zip(stamps, *arrays[1:], strict=True)]
                block: dict[str, Any] = {
                    "derived": iv.derived,
                    "base": iv.base.name if iv.base is not None else None,
                    "columns": list(COLUMNS),
                }
                if replace_from is not None:
                    block["replace_from"] = fmt(replace_from)
                block.update({
                    "data": rows,
                    "indicators": indicator_columns(s, name, arrays[0]),
                    "quality": round(iv.quality, 2),
                    "gaps": gaps_doc(iv.gaps, fmt),
                })
                bars_doc[name] = block
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
                    "gaps": {k: gaps_doc(v, fmt) for k, v in s.historical.gaps.items()
                             if k in s.streams},
                    "indicators": dict(s.historical.indicators),
                },
                "errors": list(s.errors),
            }
            symbols[s.symbol].update(tick_blocks(s, calendar))
        doc["symbols"] = symbols
        metrics = session_data.metrics
        doc["metrics"] = metrics.to_dict(timings=timings) if metrics is not None else {}
        doc["rejected"] = session_data.rejected()
        if session_data.strategy is not None:
            doc["strategy"] = session_data.strategy.to_doc(fmt, calendar.format_many)
        if session_data.errors:
            doc["errors"] = list(session_data.errors)
    cursor = doc["cursor"] = encode_cursor(now)
    return doc, cursor


def tick_blocks(symbol_data: SymbolSessionData, calendar: TimeManager) -> dict[str, Any]:
    """A symbol's `ticks` and `quotes` blocks, for each the session streams or holds:
    `count`, `last` (the latest record as an object, or null), `columns` and `data` (the
    series, `ts` ISO; the JSON exporter leaves `columns` and `data` out, the Parquet one
    writes them to their own files)."""
    out: dict[str, Any] = {}
    for kind in KINDS:
        held = symbol_data.ticks if kind == "ticks" else symbol_data.quotes
        if not held and kind not in symbol_data.tick_queue:
            continue
        series = TickSeries.from_records(kind, held)
        names = TICK_COLUMNS[kind]
        stamps = calendar.format_many(series.ts) if len(series) else []
        rows = [[t, *r] for t, *r in zip(stamps, *(series.values[c].tolist() for c in names),
                                          strict=True)]
        out[kind] = {
            "count": len(series),
            "last": dict(zip(("ts", *names), rows[-1], strict=True)) if rows else None,
            "columns": ["ts", *names],
            "data": rows,
        }
    return out


def _running(symbol_data: SymbolSessionData, interval: str) -> list[RunningIndicator]:
    return [st for st in symbol_data.indicators.values()
            if isinstance(st, RunningIndicator) and st.interval == interval]


def _resume(prev: tuple[str, int, int, int | None], iv: Any, ts: np.ndarray, date: str | None,
            calendar: TimeManager, indicators: bool) -> tuple[int, int | None]:
    """Where a delta resumes a series the consumer holds as `prev`: (index of the first bar
    to send, `replace_from` in ns or None when the bars are only appended)."""
    held_date, count, version, last = prev
    known = [v for v, _ in iv.rewrites]
    if held_date == date and version == iv.version:
        if count <= len(ts) and (count == 0 or int(ts[count - 1]) == last):
            return count, None
    elif (held_date == date and version < iv.version and version in [0, *known]
          and not indicators):
        # repairs rebuilt the series from their first rewritten bar on; the bars before it
        # are as they were, and bars are otherwise only appended
        start_ns = min(f for v, f in iv.rewrites if v > version)
        if last is None or last < start_ns:
            return count, None
        return int(np.searchsorted(ts, start_ns)), start_ns
    # another day, another series of the same name, or a repair of an interval with
    # indicators (a rebuild may move their earlier values within 1e-10): all of it anew,
    # from the open of the day the consumer holds
    session = calendar.session(datetime.date.fromisoformat(held_date)) if held_date else None
    if session is not None:
        return 0, int(session[0])
    return 0, int(ts[0]) if len(ts) else None


def export_times(calendar: TimeManager, days: Sequence[datetime.date],
                 every_ns: int) -> list[int]:
    """Every `every_ns` of session time after each day's open, before its close: the moments
    `PeriodicExport` writes at (besides the close), to pass as the run's `stop_times`."""
    times: list[int] = []
    for day in days:
        session = calendar.session(day)
        if session is not None:
            open_ns, close_ns = int(session[0]), int(session[1])
            times.extend(range(open_ns + every_ns, close_ns, every_ns))
    return times


class PeriodicExport:
    """An observer that writes a JSON snapshot into `directory` at each of `times` and at
    each session's end: `DIR/<YYYY-MM-DD>T<HHMM>.json` (local time of the exchange). With
    `delta`, each after the first of a day is a delta export from the one before.

    The clock must stop at `times` (pass them as the run's `stop_times`). A backtest's files
    wait for its first bar, as daily exports do: one without any bar writes none."""

    def __init__(self, directory: str | Path, times: Sequence[int], calendar: TimeManager,
                 plugins: Any, *, delta: bool = False, timings: bool = False,
                 on_export: Callable[[Path], Any] | None = None) -> None:
        self.directory = Path(directory)
        self.times = frozenset(int(t) for t in times)
        self.calendar = calendar
        self.plugins = plugins
        self.delta = delta
        self.timings = timings
        self.on_export = on_export
        self._cursor: str | None = None
        self._last: int | None = None
        self._held: list[tuple[Path, dict[str, Any]]] = []

    def on_session_start(self, ctx: Any) -> None:
        self._cursor = self._last = None

    def on_clock(self, ctx: Any, now: int) -> None:
        if now in self.times:
            self._export(ctx.session_data, now)

    def on_session_end(self, ctx: Any) -> None:
        self._export(ctx.session_data, ctx.session_data.now_ns)

    def _export(self, session_data: SessionData, now: int) -> None:
        if now == self._last or session_data.day is None:
            return
        self._last = now
        doc, cursor = snapshot(session_data, self.calendar, timings=self.timings,
                               since=self._cursor if self.delta else None)
        self._cursor = cursor
        local = self.calendar.to_local(now)
        name = f"{session_data.day.date.isoformat()}T{local:%H%M}.json"
        self._held.append((self.directory / name, doc))
        metrics = session_data.metrics
        if session_data.mode != "backtest" or (metrics is not None
                                                and metrics.bars_processed > 0):
            while self._held:
                path, held = self._held.pop(0)
                for written in write_export(path, held, self.plugins):
                    if self.on_export is not None:
                        self.on_export(written)


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
