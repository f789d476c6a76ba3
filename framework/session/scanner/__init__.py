"""Scanners: plugins that pick symbols to add to or remove from a running session.

A scanner is a class registered with `register_scanners(register)` →
`register(name, ScannerClass, description=...)`. It declares its parameters in `params`
(name → `Param`: default and accepted values), is built once per `[[scanners]]` entry with
the validated values as keyword arguments, and its `scan(ctx)` returns a `ScanResult`.
`ScannerManager` resolves the entries, computes each day's schedule, runs every scanner
that is due when the coordinator asks, isolates a scanner that raises, and hands back
`(op, symbol)` pairs that the coordinator applies through `add_symbol` / `remove_symbol`.

No look-ahead: `ctx.source` only returns bars that have closed by `ctx.now_ns`.
See docs/scanners.md.

The protocol (`Param`, `parse_params`, `ScanResult`, `Scanner`, `ScannerProtocol`) is in
`mismartera.session.scanner.protocol` and what a scan sees (`ScanContext`,
`ClosedBarsSource`, `DayCache`) in `mismartera.session.scanner.context`; both are
re-exported here, the path plugins import from.
"""

from __future__ import annotations

import bisect
import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mismartera.errors import ConfigError, PluginError, UserError
from mismartera.intervals import Interval
from mismartera.session.scanner.context import ClosedBarsSource, DayCache, ScanContext
from mismartera.session.scanner.protocol import (
    Param,
    Scanner,
    ScannerProtocol,
    ScanResult,
    parse_params,
)

if TYPE_CHECKING:
    from mismartera.calendar import TimeManager
    from mismartera.config import ScannerSpec
    from mismartera.session.data import SessionData
    from mismartera.sources import DataSource

__all__ = [
    "ClosedBarsSource",
    "DayCache",
    "Param",
    "ScanContext",
    "ScanResult",
    "Scanner",
    "ScannerManager",
    "ScannerProtocol",
    "parse_params",
    "scan_times",
]


# --- the schedule -----------------------------------------------------------------------------


def scan_times(spec: ScannerSpec, calendar: TimeManager, day: datetime.date) -> list[int]:
    """When a `[[scanners]]` entry runs on `day` (ns, ascending, unique), all in
    `[open, close)`:

    - no `every` and no `at`: once, at the open (before any bar streams);
    - `every = "5m"`: open + 5m, open + 10m, ... before the close;
    - `at = ["09:35"]`: those local times; one at or before the open runs at the open, one at
      or after the close (e.g. on an early-close day) does not run that day."""
    session = calendar.session(day)
    if session is None:
        return []
    open_ns, close_ns = session
    times: set[int] = set()
    if spec.every is None and not spec.at:
        times.add(open_ns)
    if spec.every is not None:
        times.update(range(open_ns + spec.every.ns, close_ns, spec.every.ns))
    for t in spec.at:
        ns = calendar.local_ns(day, t.hour, t.minute, t.second)
        if ns < close_ns:
            times.add(max(ns, open_ns))
    return sorted(times)


# --- the manager --------------------------------------------------------------------------


@dataclass
class _Entry:
    """One `[[scanners]]` entry: its scanner instance and operational state."""

    index: int
    spec: ScannerSpec
    label: str
    scanner: Any
    times: list[int] = field(default_factory=list)
    pos: int = 0  # times[:pos] have run today
    disabled: bool = False
    runs: int = 0
    universe: tuple[str, ...] | None = None
    added: set[str] = field(default_factory=set)


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


class ScannerManager:
    """Builds the configured scanners and runs them at their times.

    The coordinator calls `validate()` once, `setup(day)` / `teardown()` per trading day,
    `next_time(now)` to end a clock chunk at the next scheduled run, and
    `run_due(now, session_data)` at the open and after each chunk; the returned
    `(op, symbol)` pairs are applied through `add_symbol` / `remove_symbol`."""

    def __init__(self, config: Any, plugins: Any, calendar: TimeManager,
                 source: DataSource) -> None:
        self.config = config
        self.plugins = plugins
        self.calendar = calendar
        self.source = source
        self.entries: list[_Entry] = []
        self.day: datetime.date | None = None
        self.open_ns: int | None = None
        self.close_ns: int | None = None
        self._intervals: dict[str, Interval | None] = {}
        self._cache: DayCache | None = None
        self._errors: list[str] = []  # raised outside run_due, recorded at the next run
        self._session_data: SessionData | None = None  # where errors go, once known

    # --- phase 0 ----------------------------------------------------------------------------

    def validate(self) -> None:
        """Resolve every `[[scanners]]` entry to a scanner instance with checked params."""
        self.entries = [self._build(i, spec) for i, spec in enumerate(self.config.scanners)]

    def _build(self, i: int, spec: ScannerSpec) -> _Entry:
        where = f"{getattr(self.config, 'origin', '<config>')}: [[scanners]][{i}]"
        reg = self.plugins.get("scanner", spec.name, key=f"{where} name")
        if spec.every is not None and not spec.every.is_intraday:
            raise ConfigError(f"{where} every: expected an intraday interval like \"5m\", "
                              f"got {spec.every.name!r}")
        cls = reg.obj
        specs = getattr(cls, "params", None) or {}
        if not isinstance(specs, Mapping) or not all(isinstance(p, Param) for p in specs.values()):
            raise PluginError(f"{where}: scanner {spec.name!r} (plugin {reg.provenance}) must "
                              f"declare params as a dict of name -> Param")
        values = parse_params(spec.name, specs, spec.params, where)
        try:
            scanner = cls(**values)
        except UserError as exc:
            raise ConfigError(f"{where}: scanner {spec.name!r}: {exc}") from None
        except Exception as exc:
            raise PluginError(f"{where}: scanner {spec.name!r} (plugin {reg.provenance}) "
                              f"failed to start: {_one_line(exc)}") from exc
        if not callable(getattr(scanner, "scan", None)):
            raise PluginError(f"{where}: scanner {spec.name!r} (plugin {reg.provenance}) has "
                              f"no scan(ctx) method")
        return _Entry(i, spec, f"{spec.name!r} ([[scanners]][{i}])", scanner)

    # --- per day ----------------------------------------------------------------------------

    def setup(self, session_date: datetime.date) -> None:
        """Today's schedule; every entry is enabled again."""
        self.day = session_date
        session = self.calendar.session(session_date)
        self.open_ns, self.close_ns = session if session is not None else (None, None)
        self._intervals = {}
        self._cache = None
        if (self.entries and session is not None
                and getattr(self.config, "mode", "backtest") == "backtest"):
            midnight = self.calendar.local_ns(session_date, 0, 0)
            next_midnight = self.calendar.local_ns(session_date + datetime.timedelta(days=1), 0, 0)
            self._cache = DayCache(self.source, midnight, next_midnight, *session)
        for entry in self.entries:
            entry.times = scan_times(entry.spec, self.calendar, session_date)
            entry.pos, entry.disabled, entry.universe = 0, False, None
            self._call(entry, "setup", session_date)

    def teardown(self) -> None:
        self._cache = None
        for entry in self.entries:
            self._call(entry, "teardown")
            entry.times, entry.pos = [], 0
        if self._session_data is not None:
            self.flush_errors(self._session_data)

    def _call(self, entry: _Entry, method: str, *args: Any) -> None:
        fn = getattr(entry.scanner, method, None)
        if not callable(fn):
            return
        try:
            fn(*args)
        except Exception as exc:  # a scanner never stops the session
            if method == "teardown":  # the day is over: nothing left to disable
                self._errors.append(f"scanner {entry.label} raised in teardown: "
                                    f"{_one_line(exc)}")
            else:
                self._disable(entry, f"raised in {method}", exc)

    def _disable(self, entry: _Entry, what: str, exc: BaseException) -> None:
        entry.disabled = True
        self._errors.append(f"scanner {entry.label} {what}: {_one_line(exc)}; disabled for "
                            f"the rest of {self.day}")

    # --- during the session -----------------------------------------------------------------

    def next_time(self, now_ns: int) -> int | None:
        """The next scheduled run strictly after `now_ns` of any enabled scanner, or None."""
        best: int | None = None
        for entry in self.entries:
            if entry.disabled:
                continue
            k = bisect.bisect_right(entry.times, now_ns, lo=entry.pos)
            if k < len(entry.times) and (best is None or entry.times[k] < best):
                best = entry.times[k]
        return best

    def due(self, now_ns: int) -> list[_Entry]:
        """Enabled entries with a scheduled time <= now that has not run, earliest first
        (then in config order)."""
        due = [e for e in self.entries
               if not e.disabled and e.pos < len(e.times) and e.times[e.pos] <= now_ns]
        return sorted(due, key=lambda e: (e.times[e.pos], e.index))

    def run_due(self, now_ns: int, session_data: SessionData) -> list[tuple[str, str]]:
        """Run every due scanner once, in order; return the `(op, symbol)` pairs to apply.

        Additions of symbols already in the session and removals of symbols not in it are
        dropped. A scanner that raises (or returns something invalid) is disabled for the
        rest of the day and one line naming it goes to `session_data.errors`."""
        self._session_data = session_data
        ops: list[tuple[str, str]] = []
        present: dict[str, bool] = {}  # symbols an earlier op of this call adds or removes

        def has(symbol: str) -> bool:
            return present.get(symbol, symbol in session_data)

        for entry in self.due(now_ns):
            entry.pos = bisect.bisect_right(entry.times, now_ns, lo=entry.pos)
            try:
                ctx = self._context(entry, now_ns, session_data)
                result = ScanResult.of(entry.scanner.scan(ctx))
            except Exception as exc:  # a scanner never stops the session
                self._disable(entry, f"raised at {self._when(now_ns)}", exc)
                continue
            entry.runs += 1
            for symbol in result.remove:
                if has(symbol):
                    ops.append(("remove", symbol))
                    present[symbol] = False
                    entry.added.discard(symbol)
            for symbol in result.add:
                if not has(symbol):
                    ops.append(("add", symbol))
                    present[symbol] = True
                    entry.added.add(symbol)
        self.flush_errors(session_data)
        return ops

    def flush_errors(self, session_data: SessionData) -> None:
        """Record scanner errors raised outside a run (setup, teardown) in `session_data`."""
        if self._errors:
            with session_data.lock:
                session_data.errors.extend(self._errors)
            self._errors.clear()

    def _context(self, entry: _Entry, now_ns: int, session_data: SessionData) -> ScanContext:
        assert self.day is not None and self.open_ns is not None and self.close_ns is not None
        if entry.universe is None:
            if entry.spec.universe is not None:
                entry.universe = tuple(entry.spec.universe)
            else:
                entry.universe = tuple(sorted({str(s).strip().upper()
                                               for s in self.source.symbols()}))
        entry.added = {s for s in entry.added if s in session_data}
        return ScanContext(
            scanner=entry.spec.name, date=self.day, now_ns=int(now_ns), open_ns=self.open_ns,
            close_ns=self.close_ns, calendar=self.calendar,
            source=ClosedBarsSource(self.source, now_ns, self.calendar, self.close_ns,
                                    self._cache),
            session_data=session_data, universe=entry.universe,
            added=frozenset(entry.added), _intervals=self._intervals)

    def _when(self, now_ns: int) -> str:
        return self.calendar.to_local(now_ns).strftime("%Y-%m-%d %H:%M:%S")

    # --- for status displays ----------------------------------------------------------------

    def status(self) -> list[dict[str, Any]]:
        """Per `[[scanners]]` entry: name, runs so far, next run (ns or None), enabled,
        symbols it added that are still tracked."""
        rows = []
        for entry in self.entries:
            nxt = entry.times[entry.pos] if entry.pos < len(entry.times) else None
            rows.append({"name": entry.spec.name, "index": entry.index, "runs": entry.runs,
                         "next": None if entry.disabled else nxt,
                         "enabled": not entry.disabled, "added": sorted(entry.added)})
        return rows
