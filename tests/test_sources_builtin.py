"""The built-in `sample` (bundled real data) and `synthetic` (seeded random walk) sources."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.bars import Bars
from mismartera.errors import ConfigError
from mismartera.intervals import Interval
from mismartera.plugin_manager import PluginManager
from mismartera.plugins.sources import sample as sample_module
from mismartera.plugins.sources import synthetic as synthetic_module
from mismartera.plugins.sources import synthetic_gen
from mismartera.plugins.sources.sample import DATA_FILE, SampleSource
from mismartera.plugins.sources.synthetic import (
    SyntheticSource,
    generate_session_bars,
    generate_sessions,
)
from mismartera.sources import DataSource

DATA = Path("/work/shared/data")
NY = ZoneInfo("America/New_York")
NS = 1_000_000_000
MIN = 60 * NS
HOUR = 60 * MIN
M1, M5, D1 = Interval.parse("1m"), Interval.parse("5m"), Interval.parse("1d")
EVERYTHING = (-(2**62), 2**62)


def ny_ns(d: date, hh: int, mm: int) -> int:
    """A New York wall time as ns UTC, computed without the project's calendar."""
    td = datetime(d.year, d.month, d.day, hh, mm, tzinfo=NY) - datetime(1970, 1, 1, tzinfo=UTC)
    return (td.days * 86_400 + td.seconds) * NS


def ny_date(ns: int) -> date:
    return datetime.fromtimestamp(ns // NS, NY).date()


def iso_ns(text: str) -> int:
    td = datetime.fromisoformat(text) - datetime(1970, 1, 1, tzinfo=UTC)
    return (td.days * 86_400 + td.seconds) * NS


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


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


# --------------------------------------------------------------------------------- sample


@pytest.fixture(scope="module")
def sample() -> SampleSource:
    return SampleSource(exchange="XNYS")


def test_sample_spy_equals_the_csv_rows(sample):
    rows = read_rows(DATA / "minute/SPY_2011-01.csv")
    bars = sample.bars("SPY", M1, *EVERYTHING)
    assert_columnar(bars)
    assert bars.ts.tolist() == [iso_ns(r["timestamp"]) for r in rows]
    for column in ("open", "high", "low", "close", "volume"):
        assert getattr(bars, column).tolist() == [float(r[column]) for r in rows], column


def test_sample_spy_has_390_regular_bars_per_session_plus_extended_hours(sample):
    bars = sample.bars("SPY", M1, *EVERYTHING)
    days = sorted({ny_date(t) for t in bars.ts.tolist()})
    assert len(days) == 20 and days[0] == date(2011, 1, 3) and days[-1] == date(2011, 1, 31)
    assert date(2011, 1, 17) not in days  # Martin Luther King Jr. Day
    extended = Counter()
    for d in days:
        open_ns, close_ns = ny_ns(d, 9, 30), ny_ns(d, 16, 0)
        day = sample.bars("SPY", M1, open_ns, close_ns)
        assert len(day) == 390
        assert day.ts.tolist() == list(range(open_ns, close_ns, MIN))
        whole_day = sample.bars("SPY", M1, ny_ns(d, 0, 0), ny_ns(d + timedelta(days=1), 0, 0))
        extended[d] = len(whole_day) - 390
    # the extended-hours bars are the CSV's rows outside 09:30-16:00, day by day
    expected = Counter()
    for r in read_rows(DATA / "minute/SPY_2011-01.csv"):
        stamp = datetime.fromisoformat(r["timestamp"])
        if not (9 * 60 + 30 <= stamp.hour * 60 + stamp.minute < 16 * 60):
            expected[stamp.date()] += 1
    assert extended == expected
    assert sum(expected.values()) == 14_180 - 20 * 390


@pytest.mark.parametrize("symbol", ["AAPL", "MSFT"])
def test_sample_daily_bars_equal_their_files(sample, symbol):
    rows = read_rows(DATA / f"daily/{symbol}_2012-2014.csv")
    bars = sample.bars(symbol, D1, *EVERYTHING)
    assert_columnar(bars)
    assert len(bars) == len(rows) == 754
    # a daily bar starts at its session's open: 09:30 New York time
    assert bars.ts.tolist() == [ny_ns(date.fromisoformat(r["date"]), 9, 30) for r in rows]
    for column in ("open", "high", "low", "close", "volume"):
        assert getattr(bars, column).tolist() == [float(r[column]) for r in rows], column


def test_sample_symbols_and_intervals(sample):
    assert isinstance(sample, DataSource)
    assert sample.name == "sample"
    assert sample.symbols() == ["AAPL", "MSFT", "SPY"]
    assert sample.intervals("SPY") == [M1]
    assert sample.intervals("AAPL") == [D1]
    assert sample.intervals("MSFT") == [D1]
    assert sample.intervals("NOPE") == []


def test_sample_window_other_interval_and_unknown_symbol(sample):
    d = date(2011, 1, 18)
    window = sample.bars("SPY", M1, ny_ns(d, 10, 0), ny_ns(d, 10, 30))
    assert window.ts.tolist() == list(range(ny_ns(d, 10, 0), ny_ns(d, 10, 30), MIN))
    assert len(sample.bars("SPY", M5, *EVERYTHING)) == 0
    assert len(sample.bars("AAPL", M1, *EVERYTHING)) == 0
    assert len(sample.bars("NOPE", M1, *EVERYTHING)) == 0
    assert len(sample.bars("SPY", M1, ny_ns(d, 10, 0), ny_ns(d, 10, 0))) == 0
    year = (ny_ns(date(2013, 1, 1), 0, 0), ny_ns(date(2014, 1, 1), 0, 0))
    assert len(sample.bars("AAPL", D1, *year)) == 252


def test_sample_returns_copies_the_caller_may_change(sample):
    first = sample.bars("SPY", M1, *EVERYTHING)
    original = first.close.copy()
    first.close[:] = -1.0
    restored = Bars(first.ts, first.open, first.high, first.low, original, first.volume)
    assert_bars_equal(sample.bars("SPY", M1, *EVERYTHING), restored)


def test_sample_options():
    assert SampleSource().exchange == "XNYS"
    with pytest.raises(ConfigError, match=r"unknown sample source option 'path'.*exchange"):
        SampleSource(exchange="XNYS", path="/tmp")
    with pytest.raises(ConfigError, match="'exchange' must be XNYS"):
        SampleSource(exchange="XLON")


def test_sample_bundled_file_is_small():
    assert DATA_FILE.stat().st_size < 300_000


def test_sources_register_through_the_plugin_manager():
    manager = PluginManager(builtins=(), load_entry_points=False, warn=lambda line: None)
    manager.register_plugin(sample_module)
    manager.register_plugin(synthetic_module)
    assert manager.get("source", "sample").obj is SampleSource
    assert manager.get("source", "synthetic").obj is SyntheticSource
    assert manager.get("source", "synthetic").description


# ------------------------------------------------------------------ synthetic: generator

EXTENDED_BEFORE = 5 * HOUR + 30 * MIN  # pre-market from 04:00 when the open is 09:30
EXTENDED_AFTER = 4 * HOUR  # after-hours until 20:00 when the close is 16:00


def test_hash_is_splitmix64():
    # first output of splitmix64 seeded with 0 (the published reference value)
    golden = 0x9E3779B97F4A7C15
    assert synthetic_gen._mix_scalar(golden) == 0xE220A8397B1DCDAF
    values = [0, 1, golden, 2**64 - 1, 0x0123456789ABCDEF]
    mixed = synthetic_gen._mix(np.array(values, dtype=np.uint64))
    assert mixed.tolist() == [synthetic_gen._mix_scalar(v) for v in values]


INTERVAL_NS = {
    "1s": (NS, 600),
    "5s": (5 * NS, 600),
    "1m": (MIN, 400),
    "5m": (5 * MIN, 100),
    "1h": (HOUR, 10),
    "1d": (86_400 * NS, 1),
}


@st.composite
def one_session(draw):
    """A session of random length (possibly not a whole number of intervals) opening on a
    whole minute of a random day."""
    name = draw(st.sampled_from(sorted(INTERVAL_NS)))
    interval_ns, most = INTERVAL_NS[name]
    day = draw(st.integers(7_000, 25_000))
    open_ns = day * 86_400 * NS + draw(st.integers(0, 23 * 60)) * MIN
    if name == "1d":
        length = draw(st.integers(1, 24 * 60)) * MIN
    else:
        length = draw(st.integers(1, most)) * interval_ns
        length -= draw(st.integers(0, interval_ns // NS - 1)) * NS  # truncated last bar
    return name, interval_ns, open_ns, open_ns + length


@given(
    session=one_session(),
    seed=st.integers(0, 2**64 - 1),
    symbol=st.sampled_from(["SYN0", "SPY", "BRK.B", "x"]),
    gap_rate=st.sampled_from([0.0, 0.0, 0.05, 0.5, 0.99]),
    extended=st.booleans(),
)
def test_generated_session_is_valid_and_deterministic(session, seed, symbol, gap_rate, extended):
    name, interval_ns, open_ns, close_ns = session
    bars = generate_session_bars(
        symbol, open_ns, close_ns, interval_ns, seed, gap_rate=gap_rate, extended_hours=extended
    )
    assert_columnar(bars)
    assert bars.valid_mask().all()
    assert np.all(bars.low > 0) and np.all(bars.volume >= 1)
    assert np.all(bars.volume == np.floor(bars.volume))
    # the same call gives the same arrays
    again = generate_session_bars(
        symbol, open_ns, close_ns, interval_ns, seed, gap_rate=gap_rate, extended_hours=extended
    )
    assert_bars_equal(bars, again)

    regular = (bars.ts >= open_ns) & (bars.ts < close_ns)
    inside = bars.take(regular)
    assert np.all((inside.ts - open_ns) % interval_ns == 0)
    full = generate_session_bars(symbol, open_ns, close_ns, interval_ns, seed)
    expected_count = -(-(close_ns - open_ns) // interval_ns)
    assert full.ts.tolist() == list(range(open_ns, close_ns, interval_ns))
    assert len(full) == expected_count
    # a random walk: each bar opens where the previous one closed
    np.testing.assert_array_equal(full.open[1:], full.close[:-1])
    # dropping bars leaves the remaining ones unchanged
    kept = np.isin(full.ts, inside.ts)
    assert_bars_equal(inside, full.take(kept))
    if gap_rate == 0.0:
        assert len(inside) == expected_count

    outside = bars.take(~regular)
    if not extended or name == "1d":
        assert len(outside) == 0
    else:
        before = outside.ts < open_ns
        pre, post = outside.ts[before], outside.ts[~before]
        assert np.all(pre >= open_ns - EXTENDED_BEFORE)
        assert np.all((open_ns - pre) % interval_ns == 0)
        assert np.all(post < close_ns + EXTENDED_AFTER)
        assert np.all((post - close_ns) % interval_ns == 0)


@given(
    days=st.lists(st.integers(0, 60), min_size=1, max_size=5, unique=True),
    short=st.lists(st.integers(1, 390), min_size=5, max_size=5),
    seed=st.integers(0, 1000),
    gap_rate=st.sampled_from([0.0, 0.1]),
    extended=st.booleans(),
)
def test_sessions_generated_together_equal_sessions_generated_alone(
    days, short, seed, gap_rate, extended
):
    first = ny_ns(date(2019, 1, 2), 9, 30)
    opens = [first + d * 86_400 * NS for d in sorted(days)]
    closes = [o + (390 if i % 2 else short[i]) * MIN for i, o in enumerate(opens)]
    options = {"gap_rate": gap_rate, "extended_hours": extended}
    together = generate_sessions("SYN1", opens, closes, MIN, seed, **options)
    alone = Bars.concat(
        [
            generate_session_bars("SYN1", o, c, MIN, seed, **options)
            for o, c in zip(opens, closes, strict=True)
        ]
    )
    assert_bars_equal(together, alone)


def test_generate_sessions_edge_cases():
    assert len(generate_sessions("SYN0", [], [], MIN)) == 0
    with pytest.raises(ValueError, match="close after it opens"):
        generate_session_bars("SYN0", 10 * MIN, 10 * MIN, MIN)


# --------------------------------------------------------------------- synthetic: source

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
