"""TimeManager sessions, holidays, early closes and navigation: cross-checked against
exchange_calendars (built independently here), against known NYSE/LSE facts, and against
brute-force references."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.calendar import SessionTable, TimeManager
from mismartera.errors import ConfigError
from tests.support.calendar import (
    LONDON,
    LSE,
    NS,
    NY,
    TM,
    XNYS,
    XNYS_DATES,
    XNYS_SET,
    bucket_grid,
    early_closes,
    holidays,
    local_hm,
    next_trading_day,
    utc_ns,
    wall_ns,
)

# --------------------------------------------------------------------------- import


def test_import_does_not_load_pandas_or_exchange_calendars() -> None:
    code = (
        "import sys\n"
        "import mismartera.calendar as c\n"
        "tm = c.TimeManager('XNYS')\n"
        "clock = c.BacktestClock(0)\n"
        "before = sorted(m for m in ('pandas', 'exchange_calendars') if m in sys.modules)\n"
        "tm.is_trading_day('2024-01-03')\n"
        "after = sorted(m for m in ('pandas', 'exchange_calendars') if m in sys.modules)\n"
        "print(before, after)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[] ['exchange_calendars', 'pandas']"


# --------------------------------------------------------------------------- cross-check


def test_sessions_match_exchange_calendars_2000_2030() -> None:
    table = TM.sessions(date(2000, 1, 1), date(2030, 12, 31))
    expected = XNYS.sessions_in_range("2000-01-01", "2030-12-31")
    assert list(table.dates) == [ts.date() for ts in expected]
    opens = XNYS.opens.loc[expected].to_numpy(dtype="datetime64[ns]").view(np.int64)
    closes = XNYS.closes.loc[expected].to_numpy(dtype="datetime64[ns]").view(np.int64)
    np.testing.assert_array_equal(table.opens, opens)
    np.testing.assert_array_equal(table.closes, closes)
    assert table.opens.dtype == np.int64 and table.closes.dtype == np.int64


@pytest.mark.parametrize("year", range(2000, 2031))
def test_session_count_per_year_matches_exchange_calendars(year: int) -> None:
    expected = sum(1 for d in XNYS_DATES if d.year == year)
    assert len(TM.sessions(date(year, 1, 1), date(year, 12, 31))) == expected
    assert len(TM.trading_days(date(year, 1, 1), date(year, 12, 31))) == expected


@pytest.mark.parametrize(
    ("year", "count"), [(2012, 250), (2014, 252), (2020, 253), (2022, 251), (2023, 250)]
)
def test_known_nyse_session_counts(year: int, count: int) -> None:
    assert len(TM.trading_days(date(year, 1, 1), date(year, 12, 31))) == count


def test_early_closes_match_exchange_calendars_2000_2030() -> None:
    expected = [
        ts.date() for ts in XNYS.early_closes if date(2000, 1, 1) <= ts.date() <= date(2030, 12, 31)
    ]
    assert early_closes(TM, date(2000, 1, 1), date(2030, 12, 31)) == expected
    assert len(expected) > 60


def test_early_closes_are_exactly_the_sessions_closing_before_four_pm() -> None:
    early = set(early_closes(TM, date(2000, 1, 1), date(2030, 12, 31)))
    for d, _, close in TM.sessions(date(2000, 1, 1), date(2030, 12, 31)):
        local = datetime.fromtimestamp(close // NS, NY)
        assert local.date() == d
        if d in early:
            assert (local.hour, local.minute) < (16, 0)
        else:
            assert (local.hour, local.minute) == (16, 0)


def test_known_early_closes_2014() -> None:
    assert early_closes(TM, date(2014, 1, 1), date(2014, 12, 31)) == [
        date(2014, 7, 3),
        date(2014, 11, 28),
        date(2014, 12, 24),
    ]


def test_holidays_are_the_weekdays_without_a_session() -> None:
    start, end = date(2000, 1, 1), date(2030, 12, 31)
    expected = [
        start + timedelta(days=i)
        for i in range((end - start).days + 1)
        if (start + timedelta(days=i)).weekday() < 5 and start + timedelta(days=i) not in XNYS_SET
    ]
    assert holidays(TM, start, end) == expected


def test_known_holidays_2012_include_hurricane_sandy() -> None:
    assert holidays(TM, date(2012, 1, 1), date(2012, 12, 31)) == [
        date(2012, 1, 2),
        date(2012, 1, 16),
        date(2012, 2, 20),
        date(2012, 4, 6),
        date(2012, 5, 28),
        date(2012, 7, 4),
        date(2012, 9, 3),
        date(2012, 10, 29),
        date(2012, 10, 30),
        date(2012, 11, 22),
        date(2012, 12, 25),
    ]


# --------------------------------------------------------------------------- known days


def test_dst_change_2011_03_14_first_session_after_it() -> None:
    assert TM.session(date(2011, 3, 14)) == (utc_ns(2011, 3, 14, 13, 30), utc_ns(2011, 3, 14, 20))
    assert TM.previous_trading_day(date(2011, 3, 14)) == date(2011, 3, 11)
    assert TM.session(date(2011, 3, 11)) == (utc_ns(2011, 3, 11, 14, 30), utc_ns(2011, 3, 11, 21))


def test_dst_end_2011_11_07() -> None:
    assert TM.session(date(2011, 11, 4)) == (utc_ns(2011, 11, 4, 13, 30), utc_ns(2011, 11, 4, 20))
    assert TM.session(date(2011, 11, 7)) == (utc_ns(2011, 11, 7, 14, 30), utc_ns(2011, 11, 7, 21))


def test_thanksgiving_2014_and_the_early_close_after_it() -> None:
    assert TM.session(date(2014, 11, 27)) is None
    assert not TM.is_trading_day(date(2014, 11, 27))
    assert date(2014, 11, 27) in holidays(TM, date(2014, 11, 1), date(2014, 11, 30))
    open_ns, close_ns = TM.session(date(2014, 11, 28))  # type: ignore[misc]
    assert open_ns == wall_ns(NY, 2014, 11, 28, 9, 30) == utc_ns(2014, 11, 28, 14, 30)
    assert close_ns == wall_ns(NY, 2014, 11, 28, 13, 0) == utc_ns(2014, 11, 28, 18)


def test_mlk_day_2011_and_the_january_2011_sample_month() -> None:
    assert not TM.is_trading_day(date(2011, 1, 17))
    assert holidays(TM, date(2011, 1, 1), date(2011, 1, 31)) == [date(2011, 1, 17)]
    days = TM.trading_days(date(2011, 1, 1), date(2011, 1, 31))
    assert len(days) == 20 and days[0] == date(2011, 1, 3) and days[-1] == date(2011, 1, 31)


def test_weekends_are_not_trading_days() -> None:
    assert TM.session(date(2024, 1, 6)) is None and TM.session(date(2024, 1, 7)) is None
    assert holidays(TM, date(2024, 1, 6), date(2024, 1, 7)) == []


def test_string_and_datetime_dates_are_accepted() -> None:
    assert TM.session("2014-11-28") == TM.session(date(2014, 11, 28))
    assert TM.session(datetime(2014, 11, 28, 12, 0)) == TM.session(date(2014, 11, 28))
    assert TM.is_trading_day("2011-01-18")


def test_coverage_spans_1990_to_2035_and_beyond_is_a_clear_error() -> None:
    assert TM.session(date(1990, 1, 2)) is not None
    assert TM.session(date(2035, 12, 31)) is not None
    assert TM.first_date <= date(1990, 1, 1) and TM.last_date >= date(2035, 12, 31)
    with pytest.raises(ConfigError, match="outside the XNYS calendar's range"):
        TM.session(date(1985, 1, 2))
    with pytest.raises(ConfigError, match="1985-01-02"):
        TM.sessions(date(1985, 1, 2), date(1990, 2, 1))


# --------------------------------------------------------------------------- navigation


@pytest.mark.parametrize(
    ("d", "nxt", "prev"),
    [
        (date(2014, 11, 26), date(2014, 11, 28), date(2014, 11, 25)),  # before Thanksgiving
        (date(2014, 11, 27), date(2014, 11, 28), date(2014, 11, 26)),  # on the holiday
        (date(2011, 1, 14), date(2011, 1, 18), date(2011, 1, 13)),  # Friday before MLK
        (date(2011, 1, 15), date(2011, 1, 18), date(2011, 1, 14)),  # Saturday
        (date(2011, 1, 18), date(2011, 1, 19), date(2011, 1, 14)),  # Tuesday after MLK
        (date(2014, 12, 31), date(2015, 1, 2), date(2014, 12, 30)),  # year end
    ],
)
def test_next_and_previous_trading_day(d: date, nxt: date, prev: date) -> None:
    assert next_trading_day(TM, d) == nxt
    assert TM.previous_trading_day(d) == prev


def test_trading_days_before() -> None:
    assert TM.trading_days_before(date(2011, 1, 19), 3) == [
        date(2011, 1, 13),
        date(2011, 1, 14),
        date(2011, 1, 18),
    ]
    assert TM.trading_days_before(date(2011, 1, 17), 2) == [date(2011, 1, 13), date(2011, 1, 14)]
    assert TM.trading_days_before(date(2011, 1, 19), 0) == []
    with pytest.raises(ValueError):
        TM.trading_days_before(date(2011, 1, 19), -1)
    with pytest.raises(ConfigError, match="sessions before"):
        TM.trading_days_before(date(1990, 1, 10), 30)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)))
def test_next_and_previous_match_brute_force(d: date) -> None:
    nxt = d + timedelta(days=1)
    while nxt not in XNYS_SET:
        nxt += timedelta(days=1)
    prev = d - timedelta(days=1)
    while prev not in XNYS_SET:
        prev -= timedelta(days=1)
    assert next_trading_day(TM, d) == nxt
    assert TM.previous_trading_day(d) == prev
    assert TM.is_trading_day(d) == (d in XNYS_SET)


@given(
    st.dates(min_value=date(2000, 6, 1), max_value=date(2030, 12, 31)),
    st.integers(min_value=0, max_value=60),
)
def test_trading_days_before_matches_brute_force(d: date, n: int) -> None:
    before = [x for x in XNYS_DATES if x < d]
    assert TM.trading_days_before(d, n) == (before[-n:] if n else [])


def test_trading_days_in_period() -> None:
    d = date(2011, 1, 19)
    assert TM.trading_days_in_period(d, "5d") == TM.trading_days_before(d, 5)
    # 1w: [2011-01-12, 2011-01-19), MLK day 01-17 closed
    assert TM.trading_days_in_period(d, "1w") == [
        date(2011, 1, 12),
        date(2011, 1, 13),
        date(2011, 1, 14),
        date(2011, 1, 18),
    ]
    # 1m before 03-31 starts on 02-28 (no 02-31); 02-28 is a Monday
    march = TM.trading_days_in_period(date(2011, 3, 31), "1m")
    assert march[0] == date(2011, 2, 28) and march[-1] == date(2011, 3, 30)
    # 1y before a leap day starts on 02-28 of the year before
    year = TM.trading_days_in_period(date(2012, 2, 29), "1y")
    assert year[0] == date(2011, 2, 28) and year[-1] == date(2012, 2, 28)
    assert len(TM.trading_days_in_period(date(2015, 1, 1), "1y")) == 252  # all of 2014


# --------------------------------------------------------------------------- session table


def test_session_table() -> None:
    table = TM.sessions(date(2014, 11, 24), date(2014, 11, 30))
    assert isinstance(table, SessionTable)
    assert table.dates == (
        date(2014, 11, 24),
        date(2014, 11, 25),
        date(2014, 11, 26),
        date(2014, 11, 28),
    )
    assert len(table) == 4
    assert table.index_of(date(2014, 11, 28)) == 3
    with pytest.raises(ValueError):
        table.index_of(date(2014, 11, 27))
    assert list(table)[3] == (
        date(2014, 11, 28),
        utc_ns(2014, 11, 28, 14, 30),
        utc_ns(2014, 11, 28, 18),
    )
    with pytest.raises(ValueError):
        table.opens[0] = 0  # the calendar's cache is read-only
    empty = TM.sessions(date(2014, 11, 29), date(2014, 11, 30))
    assert len(empty) == 0 and empty.opens.dtype == np.int64 and empty.dates == ()
    assert len(TM.sessions(date(2014, 12, 1), date(2014, 11, 1))) == 0


# --------------------------------------------------------------------------- second exchange


def test_london_stock_exchange() -> None:
    assert LSE.tz == LONDON
    assert LSE.session(date(2024, 1, 2)) == (utc_ns(2024, 1, 2, 8), utc_ns(2024, 1, 2, 16, 30))
    assert LSE.session(date(2024, 7, 1)) == (utc_ns(2024, 7, 1, 7), utc_ns(2024, 7, 1, 15, 30))
    assert early_closes(LSE, date(2024, 1, 1), date(2024, 12, 31)) == [
        date(2024, 12, 24),
        date(2024, 12, 31),
    ]
    assert holidays(LSE, date(2024, 1, 1), date(2024, 12, 31)) == [
        date(2024, 1, 1),
        date(2024, 3, 29),
        date(2024, 4, 1),
        date(2024, 5, 6),
        date(2024, 5, 27),
        date(2024, 8, 26),
        date(2024, 12, 25),
        date(2024, 12, 26),
    ]
    assert LSE.format_ts(utc_ns(2024, 7, 1, 7)) == "2024-07-01T08:00:00+01:00"
    starts, ends = bucket_grid(LSE, date(2024, 12, 24), "1h")
    assert local_hm(LONDON, starts[-1:]) == [(12, 0)] and local_hm(LONDON, ends[-1:]) == [(12, 30)]


def test_unknown_exchange_is_a_config_error_naming_it() -> None:
    tm = TimeManager("NOPE")  # construction is lazy
    with pytest.raises(ConfigError, match=r"unknown exchange 'NOPE'.*XNYS"):
        tm.load()
    with pytest.raises(ConfigError, match="NOPE"):
        tm.session(date(2024, 1, 3))
    assert TimeManager("xnys").session(date(2014, 11, 28)) == TM.session(date(2014, 11, 28))
