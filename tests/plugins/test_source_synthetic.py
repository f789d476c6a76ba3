"""The `synthetic` source: bars on the XNYS calendar, seeds, gaps, extended hours, options."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from mismartera.bars import Bars
from mismartera.errors import ConfigError
from mismartera.intervals import Interval
from mismartera.plugins.sources.synthetic import SyntheticSource
from mismartera.sources import DataSource
from tests.support.sources import (
    D1,
    EXTENDED_AFTER,
    EXTENDED_BEFORE,
    M1,
    M5,
    MIN,
    assert_bars_equal,
    assert_columnar,
    ny_ns,
)

NOV_2014 = (ny_ns(date(2014, 11, 1), 0, 0), ny_ns(date(2014, 12, 1), 0, 0))


def xnys_sessions_nov_2014() -> list[tuple[date, int, int]]:
    """XNYS sessions of November 2014, written out by hand: weekdays, no session on
    Thanksgiving (11-27), an early close at 13:00 the day after."""
    out = []
    d = date(2014, 11, 1)
    while d.month == 11:
        if d.weekday() < 5 and d != date(2014, 11, 27):
            close = (13, 0) if d == date(2014, 11, 28) else (16, 0)
            out.append((d, ny_ns(d, 9, 30), ny_ns(d, *close)))
        d += timedelta(days=1)
    return out


def test_synthetic_bars_follow_the_calendar():
    src = SyntheticSource(seed=3, interval="1m")
    assert isinstance(src, DataSource)
    bars = src.bars("SYN0", M1, *NOV_2014)
    assert_columnar(bars)
    assert bars.valid_mask().all() and np.all(bars.volume > 0)
    expected = [t for _, o, c in xnys_sessions_nov_2014() for t in range(o, c, MIN)]
    assert bars.ts.tolist() == expected


def test_synthetic_early_close_2014_11_28_ends_at_13_00():
    d = date(2014, 11, 28)
    day = (ny_ns(d, 0, 0), ny_ns(d + timedelta(days=1), 0, 0))
    one_minute = SyntheticSource(interval="1m").bars("SYN0", M1, *day)
    assert len(one_minute) == 210
    assert one_minute.ts[0] == ny_ns(d, 9, 30) and one_minute.ts[-1] == ny_ns(d, 12, 59)
    five = SyntheticSource(interval="5m").bars("SYN0", M5, *day)
    assert five.ts.tolist() == list(range(ny_ns(d, 9, 30), ny_ns(d, 13, 0), 5 * MIN))
    hourly = SyntheticSource(interval="1h").bars("SYN0", Interval.parse("1h"), *day)
    assert hourly.ts.tolist() == [ny_ns(d, h, 30) for h in (9, 10, 11, 12)]
    daily = SyntheticSource(interval="1d").bars("SYN0", D1, *day)
    assert daily.ts.tolist() == [ny_ns(d, 9, 30)]


def test_synthetic_same_seed_gives_identical_arrays():
    a = SyntheticSource(seed=42, count=2).bars("SYN1", M1, *NOV_2014)
    b = SyntheticSource(seed=42, count=2).bars("SYN1", M1, *NOV_2014)
    assert len(a) > 0
    assert_bars_equal(a, b)


def test_synthetic_seeds_and_symbols_differ():
    a = SyntheticSource(seed=1).bars("SYN0", M1, *NOV_2014)
    b = SyntheticSource(seed=2).bars("SYN0", M1, *NOV_2014)
    c = SyntheticSource(seed=1).bars("SYN1", M1, *NOV_2014)
    np.testing.assert_array_equal(a.ts, b.ts)
    assert np.mean(a.close == b.close) < 0.01
    assert np.mean(a.close == c.close) < 0.01
    assert np.mean(a.volume == b.volume) < 0.05


@pytest.mark.parametrize(
    "options",
    [{}, {"gap_rate": 0.2}, {"extended_hours": True}, {"gap_rate": 0.05, "extended_hours": True}],
)
def test_synthetic_day_is_the_same_whatever_range_is_asked(options):
    src = SyntheticSource(seed=7, **options)
    month = src.bars("SYN0", M1, *NOV_2014)
    for d, _, _ in xnys_sessions_nov_2014():
        window = (ny_ns(d, 0, 0), ny_ns(d + timedelta(days=1), 0, 0))
        alone = SyntheticSource(seed=7, **options).bars("SYN0", M1, *window)
        assert len(alone) > 0
        assert_bars_equal(alone, month.between(*window))


@pytest.mark.parametrize("options", [{}, {"gap_rate": 0.1, "extended_hours": True}])
def test_synthetic_year_equals_its_days_generated_alone(options):
    # a year is generated a few sessions at a time; the pieces must not show
    src = SyntheticSource(seed=13, **options)
    year = src.bars("SYN1", M1, ny_ns(date(2014, 1, 1), 0, 0), ny_ns(date(2015, 1, 1), 0, 0))
    days = []
    d = date(2014, 1, 1)
    while d.year == 2014:
        days.append(src.bars("SYN1", M1, ny_ns(d, 0, 0), ny_ns(d + timedelta(days=1), 0, 0)))
        d += timedelta(days=1)
    assert sum(len(b) > 0 for b in days) == 252
    assert_bars_equal(year, Bars.concat(days))


def test_synthetic_window_inside_a_session():
    src = SyntheticSource(seed=5)
    d = date(2014, 11, 12)
    month = src.bars("SYN0", M1, *NOV_2014)
    window = src.bars("SYN0", M1, ny_ns(d, 10, 0), ny_ns(d, 10, 30))
    assert window.ts.tolist() == list(range(ny_ns(d, 10, 0), ny_ns(d, 10, 30), MIN))
    assert_bars_equal(window, month.between(ny_ns(d, 10, 0), ny_ns(d, 10, 30)))


def test_synthetic_gap_rate_drops_that_fraction_and_nothing_else():
    window = (ny_ns(date(2014, 9, 1), 0, 0), ny_ns(date(2015, 1, 1), 0, 0))
    full = SyntheticSource(seed=11).bars("SYN0", M1, *window)
    for rate in (0.01, 0.1, 0.3):
        gappy = SyntheticSource(seed=11, gap_rate=rate).bars("SYN0", M1, *window)
        dropped = 1 - len(gappy) / len(full)
        # ~32,000 bars: the binomial standard deviation is below 0.003
        assert abs(dropped - rate) < 0.015, (rate, dropped)
        assert_bars_equal(gappy, full.take(np.isin(full.ts, gappy.ts)))


def test_synthetic_extended_hours_lie_outside_the_session():
    plain = SyntheticSource(seed=9).bars("SYN0", M1, *NOV_2014)
    extended = SyntheticSource(seed=9, extended_hours=True).bars("SYN0", M1, *NOV_2014)
    assert_columnar(extended)
    assert extended.valid_mask().all() and np.all(extended.volume > 0)
    regular = np.zeros(len(extended), dtype=bool)
    for _, open_ns, close_ns in xnys_sessions_nov_2014():
        in_session = (extended.ts >= open_ns) & (extended.ts < close_ns)
        pre = (extended.ts >= open_ns - EXTENDED_BEFORE) & (extended.ts < open_ns)
        post = (extended.ts >= close_ns) & (extended.ts < close_ns + EXTENDED_AFTER)
        assert pre.sum() > 10 and post.sum() > 10
        regular |= in_session
    # the session's bars are exactly those of the source without extended hours
    assert_bars_equal(extended.take(regular), plain)
    # every other bar lies in the pre-market or after-hours window of some session
    sessions = xnys_sessions_nov_2014()
    for t in extended.ts[~regular].tolist():
        assert any(
            o - EXTENDED_BEFORE <= t < o or c <= t < c + EXTENDED_AFTER for _, o, c in sessions
        ), t
    # the early close's after-hours run from 13:00 to 17:00
    d = date(2014, 11, 28)
    late = extended.between(ny_ns(d, 13, 0), ny_ns(d + timedelta(days=1), 0, 0))
    assert len(late) > 0 and late.ts[-1] < ny_ns(d, 17, 0)


def test_synthetic_symbols_and_intervals():
    assert SyntheticSource().symbols() == ["SYN0", "SYN1"]
    assert SyntheticSource(count=3).symbols() == ["SYN0", "SYN1", "SYN2"]
    src = SyntheticSource(symbols="aapl, msft", interval="5s")
    assert src.symbols() == ["AAPL", "MSFT"]
    assert SyntheticSource(symbols=["X", "Y"]).symbols() == ["X", "Y"]
    assert src.intervals("AAPL") == [Interval.parse("5s")]
    assert src.intervals("SYN0") == []
    d = date(2014, 11, 12)
    session = (ny_ns(d, 9, 30), ny_ns(d, 16, 0))
    assert len(src.bars("AAPL", Interval.parse("5s"), *session)) == 390 * 12
    assert len(src.bars("AAPL", M1, *session)) == 0
    assert len(src.bars("SYN0", Interval.parse("5s"), *session)) == 0


def test_synthetic_empty_and_out_of_calendar_ranges():
    src = SyntheticSource()
    d = date(2014, 11, 12)
    assert len(src.bars("SYN0", M1, ny_ns(d, 12, 0), ny_ns(d, 12, 0))) == 0
    assert len(src.bars("SYN0", M1, ny_ns(d, 12, 0), ny_ns(d, 11, 0))) == 0
    assert len(src.bars("SYN0", M1, ny_ns(d, 16, 0), ny_ns(d, 23, 0))) == 0
    assert len(src.bars("SYN0", M1, -(2**62), ny_ns(date(1900, 1, 1), 0, 0))) == 0
    assert len(src.bars("SYN0", M1, ny_ns(date(2100, 1, 1), 0, 0), 2**62)) == 0


def test_synthetic_string_options_from_the_command_line():
    src = SyntheticSource(seed="5", count="2", gap_rate="0.1", extended_hours="true")
    assert (src.seed, src.symbols(), src.gap_rate, src.extended_hours) == (
        5,
        ["SYN0", "SYN1"],
        0.1,
        True,
    )


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"sed": 1}, "'sed'"),
        ({"seed": -1}, "'seed'"),
        ({"seed": "abc"}, "'seed'"),
        ({"seed": 1.5}, "'seed'"),
        ({"count": 0}, "'count'"),
        ({"count": True}, "'count'"),
        ({"count": 2, "symbols": "A"}, "'symbols' and 'count'"),
        ({"symbols": ""}, "'symbols'"),
        ({"symbols": "A,A"}, "'symbols'"),
        ({"symbols": 3}, "'symbols'"),
        ({"interval": "7m"}, "'interval'"),
        ({"interval": "1w"}, "'interval'"),
        ({"gap_rate": 1.0}, "'gap_rate'"),
        ({"gap_rate": -0.1}, "'gap_rate'"),
        ({"gap_rate": "lots"}, "'gap_rate'"),
        ({"extended_hours": "maybe"}, "'extended_hours'"),
        ({"extended_hours": 1}, "'extended_hours'"),
        ({"exchange": ""}, "'exchange'"),
    ],
)
def test_synthetic_bad_options_are_config_errors_naming_the_option(options, named):
    with pytest.raises(ConfigError, match=named):
        SyntheticSource(**options)


def test_synthetic_unknown_option_lists_the_valid_ones():
    with pytest.raises(ConfigError) as err:
        SyntheticSource(path="x")
    for name in ("seed", "symbols", "count", "interval", "gap_rate", "extended_hours"):
        assert name in str(err.value)


def test_synthetic_unknown_exchange_is_a_config_error():
    src = SyntheticSource(exchange="NOPE")
    with pytest.raises(ConfigError, match="NOPE"):
        src.bars("SYN0", M1, *NOV_2014)
