"""Shared by the calendar tests: one TimeManager per exchange, the exchange_calendars oracle
(built independently here) and small time helpers."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import exchange_calendars as xc
import numpy as np
import numpy.typing as npt
import pandas as pd

from mismartera.calendar import TimeManager
from mismartera.errors import ConfigError
from mismartera.intervals import Interval

NS = 1_000_000_000
MINUTE = 60 * NS
NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")

# One TimeManager per exchange for all the calendar tests (hypothesis needs no function fixtures).
TM = TimeManager("XNYS")
LSE = TimeManager("XLON")
# The oracle, built here with its own range (ours spans 1990-2040).
with warnings.catch_warnings():  # pandas deprecations raised inside exchange_calendars
    warnings.simplefilter("ignore", DeprecationWarning)
    XNYS = xc.get_calendar("XNYS", start="1999-01-01", end="2031-12-31")
XNYS_DATES = [ts.date() for ts in XNYS.sessions]
XNYS_SET = set(XNYS_DATES)
XNYS_SESSIONS = dict(
    zip(
        XNYS_DATES,
        zip(
            XNYS.opens.to_numpy(dtype="datetime64[ns]").view(np.int64).tolist(),
            XNYS.closes.to_numpy(dtype="datetime64[ns]").view(np.int64).tolist(),
            strict=True,
        ),
        strict=True,
    )
)


def utc_ns(y: int, mo: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> int:
    return int(datetime(y, mo, d, hh, mm, ss, tzinfo=UTC).timestamp()) * NS


def wall_ns(tz: ZoneInfo, y: int, mo: int, d: int, hh: int, mm: int) -> int:
    """A wall time in `tz` as ns UTC, through pandas (independent of our code)."""
    return pd.Timestamp(datetime(y, mo, d, hh, mm)).tz_localize(tz).value


def local_hm(tz: ZoneInfo, stamps: np.ndarray) -> list[tuple[int, int]]:
    out = []
    for t in stamps.tolist():
        dt = datetime.fromtimestamp(t // NS, tz)
        out.append((dt.hour, dt.minute))
    return out


I64 = npt.NDArray[np.int64]


# What the tests ask of a calendar beyond the engine's needs, over TimeManager's public API.


def holidays(tm: TimeManager, start: date, end: date) -> list[date]:
    """Weekdays (Monday-Friday: both exchanges tested here) from `start` to `end` without a
    session."""
    days = (start + timedelta(days=i) for i in range((end - start).days + 1))
    return [d for d in days if d.weekday() < 5 and not tm.is_trading_day(d)]


def early_closes(tm: TimeManager, start: date, end: date) -> list[date]:
    """Sessions from `start` to `end` that close, in local time, before the latest local close
    of the range (the regular close, which no tested range changes)."""
    closes = [(d, tm.to_local(close).time()) for d, _, close in tm.sessions(start, end)]
    regular = max(t for _, t in closes)
    return [d for d, t in closes if t < regular]


def next_trading_day(tm: TimeManager, d: date) -> date:
    """The first trading day strictly after `d`."""
    nxt = d + timedelta(days=1)
    while not tm.is_trading_day(nxt):
        nxt += timedelta(days=1)
    return nxt


def bucket_grid(tm: TimeManager, d: date | str, interval: Interval | str) -> tuple[I64, I64]:
    """Bucket starts and ends of `interval` in the session on `d`: anchored at the open, the
    last bucket truncated at the close; `1d` is one bucket [open, close); empty on a
    non-trading day."""
    iv = Interval.parse(interval)
    if iv.name == "1w":
        raise ConfigError(
            "interval 1w has no bucket grid within one session: expected an intraday "
            "interval or 1d"
        )
    session = tm.session(d)
    if session is None:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    open_ns, close_ns = session
    if not iv.is_intraday:
        return np.array([open_ns], dtype=np.int64), np.array([close_ns], dtype=np.int64)
    starts = np.arange(open_ns, close_ns, iv.ns, dtype=np.int64)
    return starts, np.minimum(starts + iv.ns, close_ns)
