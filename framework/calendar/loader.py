"""Building an exchange's sessions from exchange_calendars, once per process.

`load_calendar(exchange, first, last)` imports exchange_calendars (and so pandas) on its
first call, builds the calendar over the range, narrowing it when the library can only
evaluate some years, and keeps the result as a `LoadedCalendar` of int64 arrays and dicts,
shared by every `TimeManager` asking for the same exchange and range.
"""

from __future__ import annotations

import difflib
import re
import threading
import warnings
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from mismartera.calendar.local_time import EPOCH_ORDINAL, readonly
from mismartera.errors import ConfigError

I64 = npt.NDArray[np.int64]

_EXAMPLE_CODES = ("XNYS", "XNAS", "XLON", "XETR", "XTKS", "XHKG", "XTSE", "XASX")

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


class LoadedCalendar:
    """What a TimeManager computes once from the exchange_calendars calendar."""

    __slots__ = (
        "by_date",
        "closes",
        "dates",
        "day_list",
        "days",
        "first",
        "last",
        "opens",
        "tz",
    )

    def __init__(self, cal: Any, first: date, last: date) -> None:
        tz = cal.tz if isinstance(cal.tz, ZoneInfo) else ZoneInfo(str(cal.tz))
        self.tz: ZoneInfo = tz
        self.first, self.last = first, last
        days = cal.sessions.to_numpy(dtype="datetime64[D]").astype(np.int64)
        self.days: I64 = readonly(np.ascontiguousarray(days))
        self.day_list: list[int] = self.days.tolist()
        self.dates: list[date] = [date.fromordinal(n + EPOCH_ORDINAL) for n in self.day_list]
        self.opens: I64 = readonly(
            np.ascontiguousarray(cal.opens.to_numpy(dtype="datetime64[ns]").view(np.int64))
        )
        self.closes: I64 = readonly(
            np.ascontiguousarray(cal.closes.to_numpy(dtype="datetime64[ns]").view(np.int64))
        )
        pairs = zip(self.opens.tolist(), self.closes.tolist(), strict=True)
        self.by_date: dict[date, tuple[int, int]] = dict(zip(self.dates, pairs, strict=True))


_BUILT: dict[tuple[str, date, date], LoadedCalendar] = {}
"""Calendars already built, shared by every TimeManager of the process: they are immutable
and building one takes most of a second (exchange_calendars + pandas)."""
_BUILT_LOCK = threading.Lock()


def load_calendar(exchange: str, first: date, last: date) -> LoadedCalendar:
    """The sessions of `exchange` from `first` to `last` (narrowed when exchange_calendars
    cannot evaluate the whole range), built on the first call for that key and shared
    afterwards; ConfigError for an unknown code or a calendar that cannot be built."""
    key = (exchange.upper(), first, last)
    with _BUILT_LOCK:
        built = _BUILT.get(key)
        if built is None:
            # exchange_calendars triggers pandas deprecation warnings nobody here can act on
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                built = _BUILT[key] = _build_calendar(exchange, first, last)
    return built


def _build_calendar(exchange: str, first: date, last: date) -> LoadedCalendar:
    import exchange_calendars as xc

    known = set(xc.get_calendar_names(include_aliases=True))
    name = exchange
    if name not in known and name.upper() in known:
        name = name.upper()
    if name not in known:
        near = difflib.get_close_matches(name.upper(), sorted(known), n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise ConfigError(
            f"unknown exchange {exchange!r}{hint}: expected an exchange_calendars "
            f"code such as {', '.join(_EXAMPLE_CODES)}"
        )
    # Some calendars cannot be evaluated over the whole default range (holidays recorded
    # only from or up to some year): narrow the range to the year the library names,
    # then fall back to the library's own default range.
    start: date | None = first
    end: date | None = last
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
        return LoadedCalendar(cal, lo, hi)
    reason = str(error).strip() if error else "unknown reason"
    reason = reason if len(reason) <= 120 else reason[:117] + "..."
    raise ConfigError(f"exchange_calendars cannot build the {name} calendar: {reason}")
