"""Trading calendar and clocks: sessions, holidays, early closes, bucket grids, local time.

`TimeManager` wraps an exchange_calendars calendar, imported lazily (importing this module
imports neither exchange_calendars nor pandas; the first call that needs the calendar does).
Everything is computed once per `TimeManager` for the whole loaded range (1990-2040 by
default) and kept as int64 arrays and dicts, so per-session and per-symbol look-ups are cheap.
Times are int64 nanoseconds since the Unix epoch, UTC; dates are `datetime.date` in the
exchange's zone.

Lunch breaks (e.g. XHKG) are not modelled: a session runs from its open to its close.
"""

from __future__ import annotations

import bisect
import difflib
import functools
import re
import threading
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from mismartera.errors import ConfigError
from mismartera.intervals import Interval, Period

__all__ = [
    "BacktestClock",
    "Clock",
    "LiveClock",
    "SessionTable",
    "TimeManager",
    "parse_date",
]

I64 = npt.NDArray[np.int64]

NS = 1_000_000_000
DAY_NS = 86_400 * NS
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
DEFAULT_FIRST = date(1990, 1, 1)
DEFAULT_LAST = date(2040, 12, 31)
_EXAMPLE_CODES = ("XNYS", "XNAS", "XLON", "XETR", "XTKS", "XHKG", "XTSE", "XASX")
_GRID_CACHE_MAX = 4096


def parse_date(text: str | date) -> date:
    """A `YYYY-MM-DD` string as a date (a date passes through); ConfigError otherwise."""
    if isinstance(text, datetime):
        return text.date()
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise ConfigError(f"invalid date {text!r}: expected YYYY-MM-DD") from None


def _day_number(d: date) -> int:
    return d.toordinal() - _EPOCH_ORDINAL


def _readonly(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    a.flags.writeable = False
    return a


def _format_offset(seconds: int) -> str:
    """A UTC offset as `datetime.isoformat` prints it: +HH:MM, or +HH:MM:SS if needed."""
    sign = "-" if seconds < 0 else "+"
    hh, rest = divmod(abs(seconds), 3600)
    mm, ss = divmod(rest, 60)
    return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}" if ss else f"{sign}{hh:02d}:{mm:02d}"


def _fraction(frac_ns: int) -> str:
    """Sub-second digits: none, 6 when the stamp is whole microseconds, else 9."""
    if frac_ns == 0:
        return ""
    if frac_ns % 1000 == 0:
        return f".{frac_ns // 1000:06d}"
    return f".{frac_ns:09d}"


_PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), np.uint8).reshape(100, 2)


def _civil_from_days(days: I64) -> tuple[I64, I64, I64]:
    """Proleptic Gregorian (year, month, day) of days since 1970-01-01, vectorised
    (H. Hinnant's `civil_from_days`)."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


@functools.cache
def _time_chars() -> npt.NDArray[np.uint8]:
    """ASCII "HH:MM:SS" of every second of a day, one row each."""
    hour, rest = np.divmod(np.arange(86_400), 3600)
    minute, second = np.divmod(rest, 60)
    out = np.empty((86_400, 8), dtype=np.uint8)
    out[:, [2, 5]] = ord(":")
    out[:, 0:2], out[:, 3:5], out[:, 6:8] = _PAIRS[hour], _PAIRS[minute], _PAIRS[second]
    return _readonly(out)


def _iso_chars(seconds: I64, extra: int = 0) -> npt.NDArray[np.uint8]:
    """ASCII "YYYY-MM-DDTHH:MM:SS" of wall-clock seconds since the epoch, one row per stamp
    (years 0-9999), plus `extra` columns left for the caller to fill."""
    days, tod = np.divmod(seconds, 86_400)
    first, last = int(days.min()), int(days.max())
    if last - first < 4 * len(days) + 1000:  # dense: every day of the span, once
        span, where = np.arange(first, last + 1, dtype=np.int64), days - first
    else:  # sparse stamps over a long span: only the days present
        span, where = np.unique(days, return_inverse=True)
    year, month, day = _civil_from_days(span)
    dates = np.empty((len(span), 10), dtype=np.uint8)
    dates[:, [4, 7]] = ord("-")
    dates[:, 0:2], dates[:, 2:4] = _PAIRS[year // 100], _PAIRS[year % 100]
    dates[:, 5:7], dates[:, 8:10] = _PAIRS[month], _PAIRS[day]
    out = np.empty((len(seconds), 19 + extra), dtype=np.uint8)
    out[:, 0:10] = dates[where]
    out[:, 10] = ord("T")
    out[:, 11:19] = _time_chars()[tod]
    return out


def _split_rows(chars: npt.NDArray[np.uint8]) -> list[str]:
    """Each row of an ASCII byte matrix whose last column is "\\n" as a str (without it)."""
    rows = chars.tobytes().decode("ascii").split("\n")
    rows.pop()
    return rows


_TS_PATTERN = re.compile(
    r"^(\d{4}-\d\d-\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|[+-]\d\d:?\d\d(?::?\d\d)?)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True, eq=False)
class SessionTable:
    """The trading sessions of a date range: dates, and open/close times (int64 ns UTC).

    The arrays are read-only views of the calendar's cache."""

    dates: tuple[date, ...]
    opens: I64
    closes: I64

    def __len__(self) -> int:
        return len(self.dates)

    def index_of(self, d: date) -> int:
        """Position of session `d` in the table; ValueError if `d` is not one of its dates."""
        i = bisect.bisect_left(self.dates, d)
        if i == len(self.dates) or self.dates[i] != d:
            raise ValueError(f"{d} is not a session in this table")
        return i

    def __iter__(self):
        """Yield `(date, open_ns, close_ns)` per session."""
        return zip(self.dates, self.opens.tolist(), self.closes.tolist(), strict=True)


_EARLIEST = re.compile(r"(?:earliest date|back to the year)\D*(\d{4})")
_LATEST = re.compile(r"(?:latest date|recorded to the year)\D*(\d{4})")


def _narrow_range(
    message: str, start: date | None, end: date | None
) -> tuple[date | None, date | None] | None:
    """The range an exchange_calendars error message says the calendar can be built over
    ("earliest date ... is 2017-01-01", "only recorded back to the year 1997", "only
    recorded to the year 2026"), or None if it names no narrower range."""
    if (m := _EARLIEST.search(message)) and start is not None:
        year = int(m[1])
        if date(year, 1, 1) > start:
            return date(year, 1, 1), end
    if (m := _LATEST.search(message)) and end is not None:
        year = int(m[1])
        if date(year, 12, 31) < end:
            return start, date(year, 12, 31)
    return None


class _OffsetTable(NamedTuple):
    first_day: int  # covered from midnight UTC of this day (days since the epoch) ...
    last_day: int  # ... to midnight UTC of this one
    changes: I64  # instants (ns) at which the offset changes, sorted
    offsets: I64  # offset (ns) before the first change, then after each
    texts: list[str]  # each offset as ISO-8601 prints it ("-05:00")
    width: int  # length of every text, or 0 if they differ
    text_bytes: npt.NDArray[np.uint8] | None  # the texts as a (len, width) ASCII matrix


class _ZoneOffsets:
    """The UTC offsets of one zone over a span of instants, as sorted change points, so the
    offsets of many stamps come from one `searchsorted`. Extended on demand by whole years,
    scanning only the years not yet covered.

    Offsets are sampled at each UTC midnight and every change is located to the second by
    bisection; two changes within one UTC day (which no exchange zone has) would be missed."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._lock = threading.Lock()
        self._span: tuple[int, int] | None = None  # covered [first day, last day] midnights
        self._initial = 0  # offset (s) at the first covered midnight
        self._changes: list[tuple[int, int]] = []  # (instant ns, offset s from then on)
        self._table: _OffsetTable | None = None

    def _offset_s(self, second: int) -> int:
        off = datetime.fromtimestamp(second, self.tz).utcoffset()
        assert off is not None
        return off.days * 86_400 + off.seconds

    def _scan(self, lo_day: int, hi_day: int) -> tuple[int, list[tuple[int, int]]]:
        """The offset at midnight UTC of `lo_day`, and the changes after it up to midnight
        of `hi_day` (inclusive)."""
        first = prev = self._offset_s(lo_day * 86_400)
        changes = []
        for day in range(lo_day + 1, hi_day + 1):
            off = self._offset_s(day * 86_400)
            if off != prev:
                lo, hi = (day - 1) * 86_400, day * 86_400  # offset(lo) old, offset(hi) new
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if self._offset_s(mid) == off:
                        hi = mid
                    else:
                        lo = mid
                changes.append((hi * NS, off))
                prev = off
        return first, changes

    def table(self, lo_ns: int, hi_ns: int) -> _OffsetTable:
        """A table whose span covers [lo_ns, hi_ns]."""
        lo_day, hi_day = lo_ns // DAY_NS, hi_ns // DAY_NS + 1
        t = self._table
        if t is not None and t.first_day <= lo_day and hi_day <= t.last_day:
            return t
        with self._lock:
            old = self._span
            if old is not None:
                lo_day, hi_day = min(lo_day, old[0]), max(hi_day, old[1])
            lo_year = date.fromordinal(lo_day + _EPOCH_ORDINAL).year
            hi_year = date.fromordinal(hi_day + _EPOCH_ORDINAL).year
            lo_day = _day_number(date(lo_year, 1, 1))
            hi_day = _day_number(date(hi_year + 1, 1, 1))
            if old is None:
                self._initial, self._changes = self._scan(lo_day, hi_day)
            else:
                if lo_day < old[0]:
                    self._initial, left = self._scan(lo_day, old[0])
                    self._changes = left + self._changes
                if hi_day > old[1]:
                    self._changes = self._changes + self._scan(old[1], hi_day)[1]
            self._span = (lo_day, hi_day)
            offsets = [self._initial] + [off for _, off in self._changes]
            texts = [_format_offset(o) for o in offsets]
            widths = {len(text) for text in texts}
            width = widths.pop() if len(widths) == 1 else 0
            t = self._table = _OffsetTable(
                lo_day,
                hi_day,
                _readonly(np.array([ns for ns, _ in self._changes], dtype=np.int64)),
                _readonly(np.array(offsets, dtype=np.int64) * NS),
                texts,
                width,
                np.frombuffer("".join(texts).encode("ascii"), np.uint8).reshape(len(texts), -1)
                if width
                else None,
            )
            return t

    def lookup(self, ts: I64) -> tuple[I64, _OffsetTable, npt.NDArray[np.intp]]:
        """Per stamp: its offset in ns and its index in the table's offsets; and the table."""
        t = self.table(int(ts.min()), int(ts.max()))
        idx = np.searchsorted(t.changes, ts, side="right")
        return t.offsets[idx], t, idx


class _Loaded:
    """What a TimeManager computes once from the exchange_calendars calendar."""

    __slots__ = (
        "by_date",
        "close_offset_days",
        "close_times",
        "closes",
        "dates",
        "day_list",
        "days",
        "first",
        "last",
        "opens",
        "tz",
        "weekmask",
    )

    def __init__(self, cal: Any, first: date, last: date) -> None:
        tz = cal.tz if isinstance(cal.tz, ZoneInfo) else ZoneInfo(str(cal.tz))
        self.tz: ZoneInfo = tz
        self.first, self.last = first, last
        days = cal.sessions.to_numpy(dtype="datetime64[D]").astype(np.int64)
        self.days: I64 = _readonly(np.ascontiguousarray(days))
        self.day_list: list[int] = self.days.tolist()
        self.dates: list[date] = [date.fromordinal(n + _EPOCH_ORDINAL) for n in self.day_list]
        self.opens: I64 = _readonly(
            np.ascontiguousarray(cal.opens.to_numpy(dtype="datetime64[ns]").view(np.int64))
        )
        self.closes: I64 = _readonly(
            np.ascontiguousarray(cal.closes.to_numpy(dtype="datetime64[ns]").view(np.int64))
        )
        pairs = zip(self.opens.tolist(), self.closes.tolist(), strict=True)
        self.by_date: dict[date, tuple[int, int]] = dict(zip(self.dates, pairs, strict=True))
        self.weekmask: tuple[bool, ...] = tuple(c == "1" for c in str(cal.weekmask))
        self.close_offset_days = int(getattr(cal, "close_offset", 0) or 0)
        # ((first date the close time applies from | None, local time), ...) in date order
        self.close_times = tuple(
            (None if start is None else start.date(), t) for start, t in cal.close_times
        )


_BUILT: dict[tuple[str, date, date], _Loaded] = {}
"""Calendars already built, shared by every TimeManager of the process: they are immutable
and building one takes most of a second (exchange_calendars + pandas)."""
_BUILT_LOCK = threading.Lock()


class TimeManager:
    """Sessions, holidays, early closes, bucket grids and local time of one exchange.

    `exchange` is any exchange_calendars code (default XNYS). The calendar is built on the
    first call that needs it; an unknown code raises ConfigError then (call `load()` to
    check it up front). Dates outside the loaded range raise ConfigError naming the range.
    """

    def __init__(
        self, exchange: str = "XNYS", *, first: date = DEFAULT_FIRST, last: date = DEFAULT_LAST
    ) -> None:
        self.exchange: str = str(exchange).strip()
        self._first, self._last = first, last
        self._s: _Loaded | None = None
        self._tzinfo: ZoneInfo | None = None
        self._lock = threading.Lock()
        self._zone: _ZoneOffsets | None = None
        self._early: npt.NDArray[np.bool_] | None = None
        self._grids: dict[tuple[date | str, Interval | str], tuple[I64, I64]] = {}

    def __repr__(self) -> str:
        return f"TimeManager({self.exchange!r})"

    # ------------------------------------------------------------------ loading

    def load(self) -> TimeManager:
        """Build the calendar now (it is otherwise built on first use); ConfigError if the
        exchange code is unknown or exchange_calendars cannot build it."""
        self._state()
        return self

    def _state(self) -> _Loaded:
        s = self._s
        if s is None:
            with self._lock:
                s = self._s
                if s is None:
                    s = self._s = self._build()
        return s

    def _build(self) -> _Loaded:
        key = (self.exchange.upper(), self._first, self._last)
        with _BUILT_LOCK:
            built = _BUILT.get(key)
            if built is None:
                # exchange_calendars triggers pandas deprecation warnings nobody here can act on
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    built = _BUILT[key] = self._build_calendar()
        return built

    def _build_calendar(self) -> _Loaded:
        import exchange_calendars as xc

        known = set(xc.get_calendar_names(include_aliases=True))
        name = self.exchange
        if name not in known and name.upper() in known:
            name = name.upper()
        if name not in known:
            near = difflib.get_close_matches(name.upper(), sorted(known), n=3, cutoff=0.5)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise ConfigError(
                f"unknown exchange {self.exchange!r}{hint}: expected an exchange_calendars "
                f"code such as {', '.join(_EXAMPLE_CODES)}"
            )
        # Some calendars cannot be evaluated over the whole default range (holidays recorded
        # only from or up to some year): narrow the range to the year the library names,
        # then fall back to the library's own default range.
        start: date | None = self._first
        end: date | None = self._last
        error: Exception | None = None
        for _ in range(6):
            try:
                cal = xc.get_calendar(name, start=start, end=end)
            except (ValueError, NotImplementedError, xc.errors.CalendarError) as exc:
                error = exc
                narrowed = _narrow_range(str(exc), start, end)
                if narrowed is None:
                    if start is None and end is None:
                        break
                    narrowed = (None, None)
                start, end = narrowed
                continue
            lo = start if start is not None else cal.first_session.date()
            hi = end if end is not None else cal.last_session.date()
            return _Loaded(cal, lo, hi)
        reason = str(error).strip() if error else "unknown reason"
        reason = reason if len(reason) <= 120 else reason[:117] + "..."
        raise ConfigError(f"exchange_calendars cannot build the {name} calendar: {reason}")

    @property
    def tz(self) -> ZoneInfo:
        """The exchange's time zone."""
        tz = self._tzinfo = self._state().tz
        return tz

    @property
    def first_date(self) -> date:
        """First date the loaded calendar covers."""
        return self._state().first

    @property
    def last_date(self) -> date:
        """Last date the loaded calendar covers."""
        return self._state().last

    def _require(self, s: _Loaded, d: date | str) -> date:
        d = parse_date(d)
        if d < s.first or d > s.last:
            raise ConfigError(
                f"{d} is outside the {self.exchange} calendar's range {s.first}..{s.last}"
            )
        return d

    # ------------------------------------------------------------------ sessions

    def sessions(self, start: date | str, end: date | str) -> SessionTable:
        """The sessions from `start` to `end` inclusive (empty if none)."""
        s = self._state()
        start, end = self._require(s, start), self._require(s, end)
        i = bisect.bisect_left(s.day_list, _day_number(start))
        j = bisect.bisect_right(s.day_list, _day_number(end))
        j = max(i, j)
        return SessionTable(tuple(s.dates[i:j]), s.opens[i:j], s.closes[i:j])

    def session(self, d: date | str) -> tuple[int, int] | None:
        """(open_ns, close_ns) of the session on `d`, or None on a non-trading day."""
        s = self._s or self._state()
        hit = s.by_date.get(d)  # type: ignore[arg-type]
        if hit is not None:
            return hit
        return s.by_date.get(self._require(s, d))

    def is_trading_day(self, d: date | str) -> bool:
        """True when the exchange holds a session on `d`."""
        return self.session(d) is not None

    def next_trading_day(self, d: date | str) -> date:
        """The first trading day strictly after `d`."""
        s = self._state()
        d = self._require(s, d)
        i = bisect.bisect_right(s.day_list, _day_number(d))
        if i == len(s.dates):
            raise ConfigError(
                f"no {self.exchange} session after {d} in the calendar's range {s.first}..{s.last}"
            )
        return s.dates[i]

    def previous_trading_day(self, d: date | str) -> date:
        """The last trading day strictly before `d`."""
        s = self._state()
        d = self._require(s, d)
        i = bisect.bisect_left(s.day_list, _day_number(d))
        if i == 0:
            raise ConfigError(
                f"no {self.exchange} session before {d} in the calendar's range {s.first}..{s.last}"
            )
        return s.dates[i - 1]

    def trading_days_before(self, d: date | str, n: int) -> list[date]:
        """The `n` trading days strictly before `d`, oldest first."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        s = self._state()
        d = self._require(s, d)
        i = bisect.bisect_left(s.day_list, _day_number(d))
        if i < n:
            raise ConfigError(
                f"only {i} {self.exchange} sessions before {d} in the calendar's range "
                f"{s.first}..{s.last}, {n} requested"
            )
        return s.dates[i - n : i]

    def trading_days(self, start: date | str, end: date | str) -> list[date]:
        """The trading days from `start` to `end` inclusive."""
        s = self._state()
        start, end = self._require(s, start), self._require(s, end)
        i = bisect.bisect_left(s.day_list, _day_number(start))
        j = bisect.bisect_right(s.day_list, _day_number(end))
        return s.dates[i:j]

    def trading_days_in_period(self, d: date | str, period: Period | str) -> list[date]:
        """The trading days of a historical window ending strictly before `d`: `Nd` is the N
        trading days before `d`; `Nw`, `Nm`, `Ny` the trading days in [d - N weeks / months /
        years, d) (a day missing from a shorter month is clamped to its last day)."""
        p = period if isinstance(period, Period) else Period.parse(period)
        s = self._state()
        d = self._require(s, d)
        if p.unit == "d":
            return self.trading_days_before(d, p.count)
        if p.unit == "w":
            start = d - timedelta(weeks=p.count)
        else:
            months = p.count * (12 if p.unit == "y" else 1)
            year, month0 = divmod(d.year * 12 + d.month - 1 - months, 12)
            month = month0 + 1
            next_month = date(year + month // 12, month % 12 + 1, 1)
            start = date(year, month, min(d.day, (next_month - timedelta(days=1)).day))
        if start < s.first:
            raise ConfigError(
                f"the {p} window before {d} starts before the {self.exchange} calendar's "
                f"range {s.first}..{s.last}"
            )
        return self.trading_days(start, d - timedelta(days=1))

    def holidays(self, start: date | str, end: date | str) -> list[date]:
        """Days from `start` to `end` on which the exchange normally trades (Monday-Friday
        for most exchanges) but holds no session."""
        s = self._state()
        start, end = self._require(s, start), self._require(s, end)
        out = []
        d = start
        one = timedelta(days=1)
        while d <= end:
            if s.weekmask[d.weekday()] and d not in s.by_date:
                out.append(d)
            d += one
        return out

    def early_closes(self, start: date | str, end: date | str) -> list[date]:
        """Sessions from `start` to `end` that close before the exchange's regular close."""
        s = self._state()
        start, end = self._require(s, start), self._require(s, end)
        early = self._early_mask(s)
        i = bisect.bisect_left(s.day_list, _day_number(start))
        j = bisect.bisect_right(s.day_list, _day_number(end))
        return [s.dates[k] for k in np.flatnonzero(early[i:j]) + i]

    def _early_mask(self, s: _Loaded) -> npt.NDArray[np.bool_]:
        if self._early is None and len(s.closes):
            local_close = s.closes + self._zone_offsets().lookup(s.closes)[0]
            regular_tod = np.empty(len(s.days), dtype=np.int64)
            for since, t in s.close_times:
                tod = (t.hour * 3600 + t.minute * 60 + t.second) * NS
                if since is None:
                    regular_tod[:] = tod
                else:
                    regular_tod[s.days >= _day_number(since)] = tod
            regular = (s.days + s.close_offset_days) * DAY_NS + regular_tod
            self._early = local_close < regular
        elif self._early is None:
            self._early = np.zeros(0, dtype=bool)
        return self._early

    # ------------------------------------------------------------------ bucket grid

    def bucket_grid(self, d: date | str, interval: Interval | str) -> tuple[I64, I64]:
        """Bucket starts and ends (int64 ns, read-only) of `interval` in the session on `d`:
        anchored at the open, the last bucket truncated at the close; `1d` is one bucket
        [open, close). Empty on a non-trading day."""
        key = (d, interval)
        hit = self._grids.get(key)
        if hit is not None:
            return hit
        iv = Interval.parse(interval)
        if iv.name == "1w":
            raise ConfigError(
                "interval 1w has no bucket grid within one session: expected an intraday "
                "interval or 1d"
            )
        session = self.session(d)
        if session is None:
            starts = np.empty(0, dtype=np.int64)
            ends = np.empty(0, dtype=np.int64)
        elif not iv.is_intraday:
            starts = np.array([session[0]], dtype=np.int64)
            ends = np.array([session[1]], dtype=np.int64)
        else:
            open_ns, close_ns = session
            starts = np.arange(open_ns, close_ns, iv.ns, dtype=np.int64)
            ends = np.minimum(starts + iv.ns, close_ns)
        grid = (_readonly(starts), _readonly(ends))
        if len(self._grids) >= _GRID_CACHE_MAX:
            self._grids.clear()
        self._grids[key] = grid
        return grid

    # ------------------------------------------------------------------ local time

    def _zone_offsets(self) -> _ZoneOffsets:
        z = self._zone
        if z is None:
            z = self._zone = _ZoneOffsets(self.tz)
        return z

    def date_of(self, ts_ns: int) -> date:
        """The exchange-local date of an instant."""
        return datetime.fromtimestamp(int(ts_ns) // NS, self._tzinfo or self.tz).date()

    def to_local(self, ts_ns: int) -> datetime:
        """An instant as an aware datetime in the exchange's zone (nanoseconds truncated to
        microseconds)."""
        seconds, frac = divmod(int(ts_ns), NS)
        tz = self._tzinfo or self.tz
        return datetime.fromtimestamp(seconds, tz).replace(microsecond=frac // 1000)

    def format_ts(self, ts_ns: int) -> str:
        """ISO-8601 in the exchange's zone with its offset, e.g. "2024-01-03T09:30:00-05:00".
        Sub-second stamps get 6 digits (whole microseconds) or 9."""
        seconds, frac = divmod(int(ts_ns), NS)
        dt = datetime.fromtimestamp(seconds, self._tzinfo or self.tz)
        if frac % 1000 == 0:  # isoformat prints 6 digits when microsecond != 0
            return dt.replace(microsecond=frac // 1000).isoformat()
        text = dt.isoformat()  # "YYYY-MM-DDTHH:MM:SS" + offset
        return f"{text[:19]}.{frac:09d}{text[19:]}"

    def format_many(self, ts: npt.ArrayLike) -> list[str]:
        """`format_ts` of every stamp of an array, vectorised (the text is assembled as bytes
        in numpy; only stamps with a sub-second part take a per-stamp path)."""
        ts = np.asarray(ts, dtype=np.int64).ravel()
        if ts.size == 0:
            return []
        offsets, table, idx = self._zone_offsets().lookup(ts)
        seconds, frac = np.divmod(ts + offsets, NS)
        if table.text_bytes is not None and not frac.any():
            chars = _iso_chars(seconds, extra=table.width + 1)
            chars[:, 19:-1] = table.text_bytes[idx]
            chars[:, -1] = ord("\n")
            return _split_rows(chars)
        chars = _iso_chars(seconds, extra=1)
        chars[:, -1] = ord("\n")
        base = _split_rows(chars)
        return [
            b + _fraction(f) + table.texts[i]
            for b, f, i in zip(base, frac.tolist(), idx.tolist(), strict=True)
        ]

    def local_dates(self, ts: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
        """The exchange-local date (datetime64[D]) of every stamp of an array."""
        ts = np.asarray(ts, dtype=np.int64).ravel()
        if ts.size == 0:
            return np.empty(0, dtype="datetime64[D]")
        offsets = self._zone_offsets().lookup(ts)[0]
        return ((ts + offsets) // DAY_NS).astype("datetime64[D]")

    def local_ns(self, d: date | str, hh: int, mm: int, ss: int = 0) -> int:
        """A wall time on date `d` in the exchange's zone as ns UTC. A wall time repeated by a
        DST change means its first occurrence; one skipped by it is read with the offset in
        force before the change (PEP 495, fold=0)."""
        d = parse_date(d)
        td = datetime(d.year, d.month, d.day, hh, mm, ss, tzinfo=self.tz) - _EPOCH
        return (td.days * 86_400 + td.seconds) * NS + td.microseconds * 1000

    def parse_ts(self, text: str) -> int:
        """An ISO-8601 stamp (offset or Z honoured, naive read in the exchange's zone, up to 9
        fractional digits) as ns UTC; ConfigError on bad input. Inverse of `format_ts`."""
        m = _TS_PATTERN.match(str(text).strip())
        if m is None:
            raise ConfigError(
                f"invalid timestamp {text!r}: expected ISO-8601, e.g. 2024-01-03T09:30:00-05:00"
            )
        day, hh, mm, ss, frac, offset = m.groups()
        try:
            d = date.fromisoformat(day)
            naive = datetime(d.year, d.month, d.day, int(hh), int(mm), int(ss or 0))
        except ValueError:
            raise ConfigError(f"invalid timestamp {text!r}: no such date or time") from None
        frac_ns = int((frac or "").ljust(9, "0") or 0)
        if offset is None:
            td = naive.replace(tzinfo=self.tz) - _EPOCH
        else:
            off = 0
            if offset.upper() != "Z":
                digits = offset[1:].replace(":", "")
                off = int(digits[:2]) * 3600 + int(digits[2:4]) * 60 + int(digits[4:6] or 0)
                off = -off if offset[0] == "-" else off
            td = naive.replace(tzinfo=UTC) - _EPOCH - timedelta(seconds=off)
        return (td.days * 86_400 + td.seconds) * NS + frac_ns

    parse_date = staticmethod(parse_date)


# ---------------------------------------------------------------------- clocks


@runtime_checkable
class Clock(Protocol):
    """The session's notion of now (ns UTC), bounded by the current session's close."""

    @property
    def now(self) -> int: ...

    @property
    def limit(self) -> int | None: ...

    def advance_to(self, t: int) -> None: ...

    def set_session(self, open_ns: int, close_ns: int) -> None: ...


class BacktestClock:
    """Simulated time: moves only forward, only when told, and never past `limit` (the
    current session's close)."""

    __slots__ = ("_limit", "_now")

    def __init__(self, now_ns: int, limit: int | None = None) -> None:
        now_ns = int(now_ns)
        if limit is not None and now_ns > limit:
            raise ValueError(f"clock start {now_ns} is past its limit {limit}")
        self._now = now_ns
        self._limit = None if limit is None else int(limit)

    def __repr__(self) -> str:
        return f"BacktestClock(now={self._now}, limit={self._limit})"

    @property
    def now(self) -> int:
        return self._now

    @property
    def limit(self) -> int | None:
        return self._limit

    def advance_to(self, t: int) -> None:
        """Move to `t`; ValueError if `t` is before now or past the limit."""
        t = int(t)
        if t < self._now:
            raise ValueError(f"clock cannot move backwards: {t} < now {self._now}")
        if self._limit is not None and t > self._limit:
            raise ValueError(f"clock cannot pass its limit (session close): {t} > {self._limit}")
        self._now = t

    def set_session(self, open_ns: int, close_ns: int) -> None:
        """Jump to a session's open and take its close as the limit (forward only)."""
        open_ns, close_ns = int(open_ns), int(close_ns)
        if open_ns < self._now:
            raise ValueError(
                f"clock cannot move backwards: session open {open_ns} < now {self._now}"
            )
        if close_ns < open_ns:
            raise ValueError(f"session close {close_ns} is before its open {open_ns}")
        self._now, self._limit = open_ns, close_ns


class LiveClock:
    """Wall time (`time.time_ns()`). `advance_to(t)` sleeps until the wall clock reaches `t`
    (returns at once if it already has) and refuses a `t` past the limit; the live
    coordinator only reads `now`. The time source and sleep are injectable for tests."""

    __slots__ = ("_limit", "_sleep", "_time_ns")

    def __init__(self, *, time_ns=time.time_ns, sleep=time.sleep) -> None:
        self._time_ns = time_ns
        self._sleep = sleep
        self._limit: int | None = None

    def __repr__(self) -> str:
        return f"LiveClock(limit={self._limit})"

    @property
    def now(self) -> int:
        return int(self._time_ns())

    @property
    def limit(self) -> int | None:
        return self._limit

    def advance_to(self, t: int) -> None:
        """Block until wall time >= `t`; ValueError if `t` is past the limit."""
        t = int(t)
        if self._limit is not None and t > self._limit:
            raise ValueError(f"clock cannot pass its limit (session close): {t} > {self._limit}")
        while (remaining := t - self.now) > 0:
            self._sleep(remaining / NS)

    def set_session(self, open_ns: int, close_ns: int) -> None:
        """Take the session's close as the limit (now stays wall time); sessions must come in
        order: a close before the previous one raises ValueError."""
        open_ns, close_ns = int(open_ns), int(close_ns)
        if close_ns < open_ns:
            raise ValueError(f"session close {close_ns} is before its open {open_ns}")
        if self._limit is not None and close_ns < self._limit:
            raise ValueError(f"session close {close_ns} is before the previous one {self._limit}")
        self._limit = close_ns
