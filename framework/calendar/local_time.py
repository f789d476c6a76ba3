"""Dates and exchange-local time, vectorised, for the calendar.

`parse_date` reads a `YYYY-MM-DD` date; `day_number` counts days since 1970-01-01.
`ZoneOffsets` keeps the UTC offsets of a zone as sorted change points, so the offsets of many
stamps come from one `searchsorted`; `iso_chars` assembles the ISO-8601 text of many
wall-clock stamps as bytes in numpy. Times are int64 nanoseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

import functools
import threading
from datetime import UTC, date, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from mismartera.errors import ConfigError
from mismartera.intervals import NS

I64 = npt.NDArray[np.int64]

DAY_NS = 86_400 * NS
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


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


def day_number(d: date) -> int:
    """Days from 1970-01-01 to `d`."""
    return d.toordinal() - EPOCH_ORDINAL


def readonly(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """`a`, made read-only."""
    a.flags.writeable = False
    return a


def _format_offset(seconds: int) -> str:
    """A UTC offset as `datetime.isoformat` prints it: +HH:MM, or +HH:MM:SS if needed."""
    sign = "-" if seconds < 0 else "+"
    hh, rest = divmod(abs(seconds), 3600)
    mm, ss = divmod(rest, 60)
    return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}" if ss else f"{sign}{hh:02d}:{mm:02d}"


def fraction(frac_ns: int) -> str:
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
    return readonly(out)


def iso_chars(seconds: I64, extra: int = 0) -> npt.NDArray[np.uint8]:
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


def split_rows(chars: npt.NDArray[np.uint8]) -> list[str]:
    """Each row of an ASCII byte matrix whose last column is "\\n" as a str (without it)."""
    rows = chars.tobytes().decode("ascii").split("\n")
    rows.pop()
    return rows


class OffsetTable(NamedTuple):
    first_day: int  # covered from midnight UTC of this day (days since the epoch) ...
    last_day: int  # ... to midnight UTC of this one
    changes: I64  # instants (ns) at which the offset changes, sorted
    offsets: I64  # offset (ns) before the first change, then after each
    texts: list[str]  # each offset as ISO-8601 prints it ("-05:00")
    width: int  # length of every text, or 0 if they differ
    text_bytes: npt.NDArray[np.uint8] | None  # the texts as a (len, width) ASCII matrix


class ZoneOffsets:
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
        self._table: OffsetTable | None = None

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

    def table(self, lo_ns: int, hi_ns: int) -> OffsetTable:
        """A table whose span covers [lo_ns, hi_ns]."""
        lo_day, hi_day = lo_ns // DAY_NS, hi_ns // DAY_NS + 1
        t = self._table
        if t is not None and t.first_day <= lo_day and hi_day <= t.last_day:
            return t
        with self._lock:
            old = self._span
            if old is not None:
                lo_day, hi_day = min(lo_day, old[0]), max(hi_day, old[1])
            lo_year = date.fromordinal(lo_day + EPOCH_ORDINAL).year
            hi_year = date.fromordinal(hi_day + EPOCH_ORDINAL).year
            lo_day = day_number(date(lo_year, 1, 1))
            hi_day = day_number(date(hi_year + 1, 1, 1))
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
            t = self._table = OffsetTable(
                lo_day,
                hi_day,
                readonly(np.array([ns for ns, _ in self._changes], dtype=np.int64)),
                readonly(np.array(offsets, dtype=np.int64) * NS),
                texts,
                width,
                np.frombuffer("".join(texts).encode("ascii"), np.uint8).reshape(len(texts), -1)
                if width
                else None,
            )
            return t

    def lookup(self, ts: I64) -> tuple[I64, OffsetTable, npt.NDArray[np.intp]]:
        """Per stamp: its offset in ns and its index in the table's offsets; and the table."""
        t = self.table(int(ts.min()), int(ts.max()))
        idx = np.searchsorted(t.changes, ts, side="right")
        return t.offsets[idx], t, idx
