"""Shared by the built-in source tests: New York times, extended hours, bar assertions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np

from mismartera.bars import Bars
from mismartera.intervals import Interval

NY = ZoneInfo("America/New_York")
NS = 1_000_000_000
MIN = 60 * NS
HOUR = 60 * MIN
M1, M5, D1 = Interval.parse("1m"), Interval.parse("5m"), Interval.parse("1d")


def ny_ns(d: date, hh: int, mm: int) -> int:
    """A New York wall time as ns UTC, computed without the project's calendar."""
    td = datetime(d.year, d.month, d.day, hh, mm, tzinfo=NY) - datetime(1970, 1, 1, tzinfo=UTC)
    return (td.days * 86_400 + td.seconds) * NS


def assert_bars_equal(a: Bars, b: Bars) -> None:
    assert len(a) == len(b)
    for name, x, y in zip(Bars._fields, a, b, strict=True):
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)


def assert_columnar(bars: Bars) -> None:
    assert bars.ts.dtype == np.int64
    assert all(a.dtype == np.float64 for a in bars[1:])
    assert all(a.flags.c_contiguous and a.ndim == 1 for a in bars)
    assert np.all(np.diff(bars.ts) > 0)


EXTENDED_BEFORE = 5 * HOUR + 30 * MIN  # pre-market from 04:00 when the open is 09:30
EXTENDED_AFTER = 4 * HOUR  # after-hours until 20:00 when the close is 16:00
