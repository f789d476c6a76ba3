"""Shared by the calendar tests: one TimeManager per exchange, the exchange_calendars oracle
(built independently here) and small time helpers."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import exchange_calendars as xc
import numpy as np
import pandas as pd

from mismartera.calendar import TimeManager

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
