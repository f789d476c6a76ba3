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
"""

from __future__ import annotations

import bisect
import datetime
import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from mismartera.bars import Bars
from mismartera.errors import ConfigError, PluginError, UserError
from mismartera.ext.gaps import classify
from mismartera.intervals import Interval

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

_SYMBOL = re.compile(r"^[A-Za-z0-9._-]+$")
_WEEK_NS = 7 * 86_400 * 1_000_000_000


# --- parameters -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One scanner parameter: its default and the values it accepts.

    `kind` is `float`, `int`, `bool` or `str`; `minimum` bounds numbers (excluded when
    `strict`); `choices` lists the accepted strings. A default of None makes the parameter
    optional (None means "not set")."""

    default: Any
    kind: type = float
    minimum: float | None = None
    strict: bool = False
    choices: tuple[str, ...] | None = None
    help: str = ""

    def expected(self) -> str:
        """What the parameter accepts, as a message says it."""
        if self.choices:
            quoted = [repr(c) for c in self.choices]
            return "expected " + (", ".join(quoted[:-1]) + f" or {quoted[-1]}"
                                  if len(quoted) > 1 else quoted[0])
        what = {float: "a number", int: "a whole number", bool: "true or false",
                str: "a non-empty string"}.get(self.kind, self.kind.__name__)
        if self.minimum is not None and self.kind in (float, int):
            what += f" {'>' if self.strict else '>='} {self.minimum:g}"
        return f"expected {what}"

    def check(self, value: Any) -> Any:
        """The value converted to `kind`; ValueError(what was expected) when it is not valid."""
        if value is None and self.default is None:
            return None
        out: Any = None
        if self.kind is bool:
            out = value if isinstance(value, bool) else None
        elif self.kind is int:
            if isinstance(value, int) and not isinstance(value, bool):
                out = value
            elif isinstance(value, float) and value.is_integer():
                out = int(value)
        elif self.kind is float:
            if isinstance(value, int | float) and not isinstance(value, bool):
                out = float(value)
                if not math.isfinite(out):
                    out = None
        elif self.kind is str:
            out = value.strip() if isinstance(value, str) and value.strip() else None
        else:
            out = value if isinstance(value, self.kind) else None
        if out is not None and self.minimum is not None and self.kind in (float, int) and (
            out < self.minimum or (self.strict and out == self.minimum)
        ):
            out = None
        if out is not None and self.choices is not None and out not in self.choices:
            out = None
        if out is None:
            raise ValueError(self.expected())
        return out


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def parse_params(scanner: str, specs: Mapping[str, Param], given: Mapping[str, Any],
                 where: str = "") -> dict[str, Any]:
    """Every declared parameter's value (given, else its default), checked.

    Raises a one-line ConfigError naming `where` (e.g. the `[[scanners]]` entry), the scanner
    and the parameter, and listing the valid parameters."""
    prefix = f"{where}: " if where else ""
    valid = ", ".join(sorted(specs)) or "none"
    for key in given:
        if key not in specs:
            near = difflib.get_close_matches(str(key), list(specs), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ConfigError(f"{prefix}scanner {scanner!r} has no param {key!r}{hint}; "
                              f"valid params: {valid}")
    values: dict[str, Any] = {}
    for key, spec in specs.items():
        value = given.get(key, spec.default)
        try:
            values[key] = spec.check(value)
        except ValueError as exc:
            raise ConfigError(f"{prefix}scanner {scanner!r} param {key!r}: {exc}, got "
                              f"{_show(value)}; valid params: {valid}") from None
    return values


# --- what a scanner returns and sees ------------------------------------------------------


def _symbols(items: Iterable[Any] | None, what: str) -> tuple[str, ...]:
    if items is None:
        return ()
    if isinstance(items, str):
        raise TypeError(f"{what} must be a list of symbols, not a string")
    out = []
    for item in items:
        if not isinstance(item, str) or not _SYMBOL.match(item.strip()):
            raise TypeError(f"{what} holds an invalid symbol {item!r}")
        out.append(item.strip().upper())
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class ScanResult:
    """Symbols a scan wants added to and removed from the session (upper-cased, de-duplicated,
    in the order given; removals are applied before additions)."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "add", _symbols(self.add, "ScanResult.add"))
        object.__setattr__(self, "remove", _symbols(self.remove, "ScanResult.remove"))

    @classmethod
    def of(cls, value: Any) -> ScanResult:
        """A scan's return value as a ScanResult: a ScanResult, an `(add, remove)` pair, or
        None (nothing); TypeError otherwise."""
        if isinstance(value, ScanResult):
            return value
        if value is None:
            return cls()
        if isinstance(value, tuple | list) and len(value) == 2:
            return cls(tuple(value[0] or ()), tuple(value[1] or ()))
        raise TypeError(f"scan() must return a ScanResult or an (add, remove) pair, "
                        f"got {type(value).__name__}")


class DayCache:
    """Backtest only: each symbol's bars of the whole local day (midnight to midnight), read
    from the source once and served in slices, so scanners that run every minute over a large
    universe do not ask the source again each time. `ClosedBarsSource` still cuts every
    answer at `now`; in a live session there is no cache (the source's day is still growing).
    """

    def __init__(self, source: DataSource, day_start: int, day_end: int, open_ns: int,
                 close_ns: int) -> None:
        self.source = source
        self.day_start, self.day_end = day_start, day_end
        self.open_ns, self.close_ns = open_ns, close_ns
        self._raw: dict[tuple[str, int], Bars] = {}
        self._session: dict[tuple[str, int], Bars] = {}

    def covers(self, start_ns: int, end_ns: int) -> bool:
        return self.day_start <= start_ns and end_ns <= self.day_end

    def raw(self, symbol: str, interval: Interval) -> Bars:
        key = (symbol, interval.ns)
        bars = self._raw.get(key)
        if bars is None:
            bars = self.source.bars(symbol, interval, self.day_start, self.day_end)
            if len(bars.ts) and (bars.ts[0] < self.day_start or bars.ts[-1] >= self.day_end):
                bars = bars.between(self.day_start, self.day_end)
            self._raw[key] = bars = _frozen(bars)
        return bars

    def session(self, symbol: str, interval: Interval) -> Bars:
        """The day's bars the session would accept (see `ScanContext.session_bars`)."""
        key = (symbol, interval.ns)
        bars = self._session.get(key)
        if bars is None:
            bars = _accepted(self.raw(symbol, interval), [self.open_ns], [self.close_ns],
                             interval)
            self._session[key] = bars = _frozen(bars)
        return bars


def _frozen(bars: Bars) -> Bars:
    """Read-only views of the columns: what the cache hands out cannot be changed."""
    views = []
    for column in bars:
        view = column.view()
        view.flags.writeable = False
        views.append(view)
    return Bars(*views)


def _accepted(raw: Bars, opens: Sequence[int], closes: Sequence[int],
              interval: Interval) -> Bars:
    """The bars inside the sessions that are valid, aligned and not repeated."""
    if not len(raw.ts):
        return raw
    mask = classify(raw.ts, np.asarray(opens, dtype=np.int64),
                    np.asarray(closes, dtype=np.int64), interval.ns, *raw[1:])[0]
    return raw if mask.all() else raw.take(mask)


class ClosedBarsSource:
    """A read-only view of a data source that answers only with bars closed by `now_ns`:
    an intraday bar `ts` is seen once `ts + interval <= now_ns`; a `1d` bar once its session
    has closed (bars of earlier days always); a `1w` bar once its week has ended."""

    def __init__(self, source: DataSource, now_ns: int, calendar: TimeManager,
                 close_ns: int, day_cache: DayCache | None = None) -> None:
        self._source = source
        self.name: str = getattr(source, "name", type(source).__name__)
        self.now_ns = int(now_ns)
        self._calendar = calendar
        self._close_ns = int(close_ns)
        self._cache = day_cache

    def symbols(self) -> list[str]:
        return list(self._source.symbols())

    def intervals(self, symbol: str) -> list[Interval]:
        return list(self._source.intervals(symbol))

    def limit(self, interval: Interval) -> int:
        """Bars of `interval` with `ts < limit` have closed by now."""
        if interval.is_intraday:
            return self.now_ns - interval.ns + 1
        today = self._calendar.date_of(self.now_ns)
        midnight = self._calendar.local_ns(today, 0, 0)
        if interval.name == "1d":
            if self.now_ns >= self._close_ns:
                return self._calendar.local_ns(today + datetime.timedelta(days=1), 0, 0)
            return midnight
        return midnight - _WEEK_NS + 1

    def bars(self, symbol: str, interval: Interval | str, start_ns: int, end_ns: int) -> Bars:
        """Bars of `symbol` with `start_ns <= ts < end_ns` that have closed by now."""
        iv = interval if isinstance(interval, Interval) else Interval.parse(interval)
        start, end = int(start_ns), min(int(end_ns), self.limit(iv))
        if end <= start:
            return Bars.empty()
        cache = self._cache
        if cache is not None and iv.is_intraday and cache.covers(start, end):
            return cache.raw(symbol, iv).between(start, end)
        bars = self._source.bars(symbol, iv, start, end)
        if len(bars.ts) and (bars.ts[-1] >= end or bars.ts[0] < start_ns):
            bars = bars.between(int(start_ns), end)  # a source that answers too much
        return bars


@dataclass(frozen=True)
class ScanContext:
    """What a scan sees. Read `session_data`, never change it: ask through the ScanResult.

    `source` returns only bars closed by `now_ns` (no look-ahead); `universe` is the entry's
    `universe` or every symbol the source has; `added` the symbols this `[[scanners]]` entry
    added that are still in the session."""

    scanner: str
    date: datetime.date
    now_ns: int
    open_ns: int
    close_ns: int
    calendar: TimeManager
    source: ClosedBarsSource
    session_data: SessionData
    universe: tuple[str, ...]
    added: frozenset[str] = frozenset()
    _intervals: dict[str, Interval | None] = field(default_factory=dict, repr=False)

    def in_session(self, symbol: str) -> bool:
        """True when `symbol` is registered in the session."""
        return symbol in self.session_data

    def interval(self, symbol: str) -> Interval | None:
        """The smallest intraday interval the source has for `symbol` (None if none)."""
        if symbol not in self._intervals:
            have = [i for i in self.source.intervals(symbol) if i.is_intraday]
            self._intervals[symbol] = min(have) if have else None
        return self._intervals[symbol]

    def bars(self, symbol: str, start_ns: int, end_ns: int,
             interval: Interval | None = None) -> Bars:
        """Raw source bars of `symbol` (at `interval`, default `self.interval(symbol)`) with
        `start_ns <= ts < end_ns`, closed by now."""
        iv = interval or self.interval(symbol)
        if iv is None:
            return Bars.empty()
        return self.source.bars(symbol, iv, start_ns, end_ns)

    def session_bars(self, symbol: str, days: Sequence[datetime.date],
                     interval: Interval | None = None) -> list[Bars]:
        """Per trading day of `days` (ascending), the bars of `symbol` inside that session
        `[open, close)` that are valid, aligned to the open's grid and not repeated — what the
        session itself would accept — and closed by now. One source call for all the days."""
        iv = interval or self.interval(symbol)
        if iv is None or not iv.is_intraday or not days:
            return [Bars.empty() for _ in days]
        sessions = [self.calendar.session(d) for d in days]
        if any(s is None for s in sessions):
            bad = next(d for d, s in zip(days, sessions, strict=True) if s is None)
            raise ValueError(f"{bad} is not a {self.calendar.exchange} trading day")
        opens = np.array([s[0] for s in sessions], dtype=np.int64)  # type: ignore[index]
        closes = np.array([s[1] for s in sessions], dtype=np.int64)  # type: ignore[index]
        raw = _accepted(self.source.bars(symbol, iv, int(opens[0]), int(closes[-1])), opens,
                        closes, iv)
        cuts = np.searchsorted(raw.ts, opens, side="left")
        ends = np.searchsorted(raw.ts, closes, side="left")
        return [raw.slice(int(a), int(b)) for a, b in zip(cuts, ends, strict=True)]

    def today_bars(self, symbol: str, start_ns: int | None = None, end_ns: int | None = None,
                   interval: Interval | None = None) -> Bars:
        """Today's session bars of `symbol` with `start_ns <= ts < end_ns` (default: the
        whole session), filtered like `session_bars`, closed by now."""
        iv = interval or self.interval(symbol)
        start = self.open_ns if start_ns is None else max(int(start_ns), self.open_ns)
        end = self.close_ns if end_ns is None else min(int(end_ns), self.close_ns)
        if iv is None or not iv.is_intraday or end <= start:
            return Bars.empty()
        cache = self.source._cache
        if cache is not None:
            end = min(end, self.source.limit(iv))
            return cache.session(symbol, iv).between(start, end) if start < end else Bars.empty()
        return _accepted(self.source.bars(symbol, iv, start, end), [self.open_ns],
                         [self.close_ns], iv)


@runtime_checkable
class ScannerProtocol(Protocol):
    """What the manager needs from a scanner instance (`setup` and `teardown` optional)."""

    def scan(self, ctx: ScanContext) -> ScanResult | tuple[Iterable[str], Iterable[str]]: ...


class Scanner:
    """A convenient base class: stores each parameter value as an attribute of the same
    name; `setup(session_date)` and `teardown()` are called once per trading day."""

    params: ClassVar[dict[str, Param]] = {}

    def __init__(self, **values: Any) -> None:
        for key, value in values.items():
            setattr(self, key, value)

    def setup(self, session_date: datetime.date) -> None:
        """Before the day's first scan (reset per-day caches here)."""

    def teardown(self) -> None:
        """After the day's session ended."""

    def scan(self, ctx: ScanContext) -> ScanResult:
        raise NotImplementedError


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
        if session is not None and getattr(self.config, "mode", "backtest") == "backtest":
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
