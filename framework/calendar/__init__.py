"""Trading calendar and clocks: sessions, trading days, local time.

`TimeManager` wraps an exchange_calendars calendar, imported lazily (importing this module
imports neither exchange_calendars nor pandas; the first call that needs the calendar does).
Everything is computed once per `TimeManager` for the whole loaded range (1990-2040 by
default) and kept as int64 arrays and dicts, so per-session and per-symbol look-ups are cheap.
Times are int64 nanoseconds since the Unix epoch, UTC; dates are `datetime.date` in the
exchange's zone.

Lunch breaks (e.g. XHKG) are not modelled: a session runs from its open to its close.

The calendar is built by `calendar_loader`, local-time helpers live in `local_time`, and the
clocks in `clocks` (re-exported here).
"""

from __future__ import annotations

import bisect
import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from mismartera.calendar.clocks import BacktestClock, Clock, LiveClock
from mismartera.calendar.loader import LoadedCalendar, load_calendar
from mismartera.calendar.local_time import (
    EPOCH,
    NS,
    ZoneOffsets,
    day_number,
    fraction,
    iso_chars,
    parse_date,
    split_rows,
)
from mismartera.errors import ConfigError
from mismartera.intervals import Period

__all__ = [
    "BacktestClock",
    "Clock",
    "LiveClock",
    "SessionTable",
    "TimeManager",
    "parse_date",
]

I64 = npt.NDArray[np.int64]

DEFAULT_FIRST = date(1990, 1, 1)
DEFAULT_LAST = date(2040, 12, 31)


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


class TimeManager:
    """Sessions, trading days and local time of one exchange.

    `exchange` is any exchange_calendars code (default XNYS). The calendar is built on the
    first call that needs it; an unknown code raises ConfigError then (call `load()` to
    check it up front). Dates outside the loaded range raise ConfigError naming the range.
    """

    def __init__(
        self, exchange: str = "XNYS", *, first: date = DEFAULT_FIRST, last: date = DEFAULT_LAST
    ) -> None:
        self.exchange: str = str(exchange).strip()
        self._first, self._last = first, last
        self._s: LoadedCalendar | None = None
        self._tzinfo: ZoneInfo | None = None
        self._lock = threading.Lock()
        self._zone: ZoneOffsets | None = None

    def __repr__(self) -> str:
        return f"TimeManager({self.exchange!r})"

    # ------------------------------------------------------------------ loading

    def load(self) -> TimeManager:
        """Build the calendar now (it is otherwise built on first use); ConfigError if the
        exchange code is unknown or exchange_calendars cannot build it."""
        self._state()
        return self

    def _state(self) -> LoadedCalendar:
        s = self._s
        if s is None:
            with self._lock:
                s = self._s
                if s is None:
                    s = self._s = load_calendar(self.exchange, self._first, self._last)
        return s

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

    def _require(self, s: LoadedCalendar, d: date | str) -> date:
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
        i = bisect.bisect_left(s.day_list, day_number(start))
        j = bisect.bisect_right(s.day_list, day_number(end))
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

    def previous_trading_day(self, d: date | str) -> date:
        """The last trading day strictly before `d`."""
        s = self._state()
        d = self._require(s, d)
        i = bisect.bisect_left(s.day_list, day_number(d))
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
        i = bisect.bisect_left(s.day_list, day_number(d))
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
        i = bisect.bisect_left(s.day_list, day_number(start))
        j = bisect.bisect_right(s.day_list, day_number(end))
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

    # ------------------------------------------------------------------ local time

    def _zone_offsets(self) -> ZoneOffsets:
        z = self._zone
        if z is None:
            z = self._zone = ZoneOffsets(self.tz)
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
            chars = iso_chars(seconds, extra=table.width + 1)
            chars[:, 19:-1] = table.text_bytes[idx]
            chars[:, -1] = ord("\n")
            return split_rows(chars)
        chars = iso_chars(seconds, extra=1)
        chars[:, -1] = ord("\n")
        base = split_rows(chars)
        return [
            b + fraction(f) + table.texts[i]
            for b, f, i in zip(base, frac.tolist(), idx.tolist(), strict=True)
        ]

    def local_ns(self, d: date | str, hh: int, mm: int, ss: int = 0) -> int:
        """A wall time on date `d` in the exchange's zone as ns UTC. A wall time repeated by a
        DST change means its first occurrence; one skipped by it is read with the offset in
        force before the change (PEP 495, fold=0)."""
        d = parse_date(d)
        td = datetime(d.year, d.month, d.day, hh, mm, ss, tzinfo=self.tz) - EPOCH
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
            td = naive.replace(tzinfo=self.tz) - EPOCH
        else:
            off = 0
            if offset.upper() != "Z":
                digits = offset[1:].replace(":", "")
                off = int(digits[:2]) * 3600 + int(digits[2:4]) * 60 + int(digits[4:6] or 0)
                off = -off if offset[0] == "-" else off
            td = naive.replace(tzinfo=UTC) - EPOCH - timedelta(seconds=off)
        return (td.days * 86_400 + td.seconds) * NS + frac_ns

    parse_date = staticmethod(parse_date)
