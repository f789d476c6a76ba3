"""TimeManager bucket grids (anchored at the session open, truncated at an early close) and
local-time formatting/parsing, cross-checked against exchange_calendars and pandas."""

from __future__ import annotations

from datetime import UTC, date
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.calendar import parse_date
from mismartera.errors import ConfigError
from mismartera.intervals import Interval
from tests.support.calendar import (
    LONDON,
    LSE,
    MINUTE,
    NS,
    NY,
    TM,
    XNYS_SESSIONS,
    XNYS_SET,
    bucket_grid,
    local_hm,
    utc_ns,
    wall_ns,
)


def iso_oracle(ts: int, tz: ZoneInfo) -> str:
    return pd.Timestamp(ts, unit="ns", tz="UTC").tz_convert(tz).isoformat()


# --------------------------------------------------------------------------- bucket grids


def test_bucket_grid_regular_day() -> None:
    d = date(2024, 1, 3)
    starts, ends = bucket_grid(TM, d, Interval.parse("5m"))
    assert len(starts) == 78
    assert starts[0] == wall_ns(NY, 2024, 1, 3, 9, 30) and ends[-1] == wall_ns(
        NY, 2024, 1, 3, 16, 0
    )
    assert np.all(ends - starts == 5 * MINUTE)

    starts, ends = bucket_grid(TM, d, "1h")
    assert local_hm(NY, starts) == [
        (9, 30),
        (10, 30),
        (11, 30),
        (12, 30),
        (13, 30),
        (14, 30),
        (15, 30),
    ]
    assert local_hm(NY, ends) == [
        (10, 30),
        (11, 30),
        (12, 30),
        (13, 30),
        (14, 30),
        (15, 30),
        (16, 0),
    ]
    assert ends[-1] - starts[-1] == 30 * MINUTE

    starts, ends = bucket_grid(TM, d, "1d")
    assert starts.tolist() == [wall_ns(NY, 2024, 1, 3, 9, 30)]
    assert ends.tolist() == [wall_ns(NY, 2024, 1, 3, 16, 0)]

    starts, ends = bucket_grid(TM, d, "4h")
    assert local_hm(NY, starts) == [(9, 30), (13, 30)] and local_hm(NY, ends) == [(13, 30), (16, 0)]


def test_bucket_grid_early_close() -> None:
    d = date(2014, 11, 28)
    starts, ends = bucket_grid(TM, d, "5m")
    assert len(starts) == 42
    assert local_hm(NY, starts[:1]) == [(9, 30)] and local_hm(NY, ends[-1:]) == [(13, 0)]

    starts, ends = bucket_grid(TM, d, "1h")
    assert local_hm(NY, starts) == [(9, 30), (10, 30), (11, 30), (12, 30)]
    assert local_hm(NY, ends) == [(10, 30), (11, 30), (12, 30), (13, 0)]

    starts, ends = bucket_grid(TM, d, "1d")
    assert local_hm(NY, starts) == [(9, 30)] and local_hm(NY, ends) == [(13, 0)]

    starts, ends = bucket_grid(TM, d, "30m")
    assert len(starts) == 7 and local_hm(NY, ends[-1:]) == [(13, 0)]


def test_bucket_grid_non_trading_day_and_weekly() -> None:
    starts, ends = bucket_grid(TM, date(2014, 11, 27), "5m")
    assert len(starts) == 0 and len(ends) == 0 and starts.dtype == np.int64
    with pytest.raises(ConfigError, match="1w"):
        bucket_grid(TM, date(2014, 11, 28), "1w")
    starts, _ = bucket_grid(TM, date(2014, 11, 28), "5m")
    assert bucket_grid(TM, "2014-11-28", "5m")[0].tolist() == starts.tolist()


INTRADAY = [name for name in Interval.SUPPORTED if Interval.parse(name).is_intraday]


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)),
    st.sampled_from([*INTRADAY, "1d"]),
)
def test_bucket_grid_matches_a_naive_walk(d: date, name: str) -> None:
    starts, ends = bucket_grid(TM, d, name)
    if d not in XNYS_SET:
        assert len(starts) == 0
        return
    open_ns, close_ns = XNYS_SESSIONS[d]
    step = Interval.parse(name).ns if name != "1d" else close_ns - open_ns
    expected_starts, expected_ends = [], []
    t = open_ns
    while t < close_ns:
        expected_starts.append(t)
        expected_ends.append(min(t + step, close_ns))
        t += step
    assert starts.tolist() == expected_starts
    assert ends.tolist() == expected_ends


# --------------------------------------------------------------------------- local time


def test_format_ts_examples() -> None:
    assert TM.format_ts(wall_ns(NY, 2024, 1, 3, 9, 30)) == "2024-01-03T09:30:00-05:00"
    assert TM.format_ts(wall_ns(NY, 2024, 7, 3, 9, 30)) == "2024-07-03T09:30:00-04:00"
    assert (
        TM.format_ts(utc_ns(2024, 1, 3, 14, 30) + 1500 * 1000) == "2024-01-03T09:30:00.001500-05:00"
    )
    assert TM.format_ts(utc_ns(2024, 1, 3, 14, 30) + 7) == "2024-01-03T09:30:00.000000007-05:00"
    assert TM.format_many(np.array([], dtype=np.int64)) == []


def test_local_ns_date_of_to_local() -> None:
    assert TM.local_ns(date(2011, 3, 14), 9, 30) == utc_ns(2011, 3, 14, 13, 30)
    assert TM.local_ns(date(2011, 3, 11), 9, 30) == utc_ns(2011, 3, 11, 14, 30)
    assert TM.local_ns(date(2011, 3, 11), 16, 0, 30) == utc_ns(2011, 3, 11, 21, 0, 30)
    # 00:30 UTC on 2024-01-04 is still 2024-01-03 in New York
    assert TM.date_of(utc_ns(2024, 1, 4, 0, 30)) == date(2024, 1, 3)
    local = TM.to_local(utc_ns(2024, 1, 4, 0, 30) + 123_456_789)
    assert local.tzinfo == NY
    assert (local.day, local.hour, local.minute, local.microsecond) == (3, 19, 30, 123_456)


def test_parse_ts() -> None:
    assert TM.parse_ts("2024-01-03T09:30:00-05:00") == utc_ns(2024, 1, 3, 14, 30)
    assert TM.parse_ts("2024-01-03T14:30:00Z") == utc_ns(2024, 1, 3, 14, 30)
    assert TM.parse_ts("2024-01-03 09:30") == utc_ns(2024, 1, 3, 14, 30)  # naive: exchange zone
    assert TM.parse_ts("2024-01-03T09:30:00.5-05:00") == utc_ns(2024, 1, 3, 14, 30) + NS // 2
    for bad in ("", "2024-01-03", "2024-13-03T09:30:00", "noon", "2024-01-03T09:30:00+5"):
        with pytest.raises(ConfigError):
            TM.parse_ts(bad)


def test_parse_date() -> None:
    assert parse_date("2024-01-03") == date(2024, 1, 3)
    assert parse_date(" 2024-01-03 ") == date(2024, 1, 3)
    assert TM.parse_date("2014-11-28") == date(2014, 11, 28)
    assert parse_date(date(2024, 1, 3)) == date(2024, 1, 3)
    for bad in ("2024-13-01", "2024-02-30", "yesterday", "", "01/03/2024"):
        with pytest.raises(ConfigError, match="YYYY-MM-DD"):
            parse_date(bad)


# Stamps within two hours of New York DST changes, and anywhere in 1900-2100.
DST_CHANGES = [utc_ns(2011, 3, 13, 7), utc_ns(2011, 11, 6, 6), utc_ns(2024, 3, 10, 7)]
ANY_TS = st.integers(min_value=utc_ns(1900, 1, 1), max_value=utc_ns(2100, 1, 1))
NEAR_DST = st.builds(
    lambda base, delta: base + delta,
    st.sampled_from(DST_CHANGES),
    st.integers(min_value=-2 * 3600 * NS, max_value=2 * 3600 * NS),
)
WHOLE_SECONDS = st.builds(lambda t: t // NS * NS, ANY_TS | NEAR_DST)
STAMPS = ANY_TS | NEAR_DST | WHOLE_SECONDS


@given(STAMPS)
def test_format_ts_matches_pandas_and_round_trips(ts: int) -> None:
    text = TM.format_ts(ts)
    assert text == iso_oracle(ts, NY)
    assert TM.parse_ts(text) == ts
    assert TM.date_of(ts) == pd.Timestamp(ts, unit="ns", tz="UTC").tz_convert(NY).date()
    local = TM.to_local(ts)
    expected = pd.Timestamp(ts, unit="ns", tz="UTC").floor("us").tz_convert(NY)
    assert local.tzinfo is TM.tz
    assert local.astimezone(UTC) == expected.to_pydatetime().astimezone(UTC)
    assert local.utcoffset() == expected.utcoffset()  # the right side of a repeated hour


@given(st.lists(STAMPS, max_size=20))
def test_format_many_equals_format_ts(stamps: list[int]) -> None:
    arr = np.array(stamps, dtype=np.int64)
    assert TM.format_many(arr) == [TM.format_ts(t) for t in stamps]


@given(st.lists(WHOLE_SECONDS, min_size=1, max_size=20))
def test_format_many_whole_seconds_london(stamps: list[int]) -> None:
    assert LSE.format_many(stamps) == [iso_oracle(t, LONDON) for t in stamps]
