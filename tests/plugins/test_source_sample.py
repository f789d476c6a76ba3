"""The built-in `sample` source (bundled real data) and how the built-in sources register."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from mismartera.bars import Bars
from mismartera.errors import ConfigError
from mismartera.plugin_manager import PluginManager
from mismartera.plugins.sources import sample as sample_module
from mismartera.plugins.sources import synthetic as synthetic_module
from mismartera.plugins.sources.sample import DATA_FILE, SampleSource
from mismartera.plugins.sources.synthetic import SyntheticSource
from mismartera.sources import DataSource
from tests.support.sources import (
    D1,
    M1,
    M5,
    MIN,
    NS,
    NY,
    assert_bars_equal,
    assert_columnar,
    ny_ns,
)

EVERYTHING = (-(2**62), 2**62)


def ny_date(ns: int) -> date:
    return datetime.fromtimestamp(ns // NS, NY).date()


def iso_ns(text: str) -> int:
    td = datetime.fromisoformat(text) - datetime(1970, 1, 1, tzinfo=UTC)
    return (td.days * 86_400 + td.seconds) * NS


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def sample() -> SampleSource:
    return SampleSource(exchange="XNYS")


def test_sample_spy_equals_the_csv_rows(shared_data, sample):
    rows = read_rows(shared_data / "minute/SPY_2011-01.csv")
    bars = sample.bars("SPY", M1, *EVERYTHING)
    assert_columnar(bars)
    assert bars.ts.tolist() == [iso_ns(r["timestamp"]) for r in rows]
    for column in ("open", "high", "low", "close", "volume"):
        assert getattr(bars, column).tolist() == [float(r[column]) for r in rows], column


def test_sample_spy_has_390_regular_bars_per_session_plus_extended_hours(shared_data, sample):
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
    for r in read_rows(shared_data / "minute/SPY_2011-01.csv"):
        stamp = datetime.fromisoformat(r["timestamp"])
        if not (9 * 60 + 30 <= stamp.hour * 60 + stamp.minute < 16 * 60):
            expected[stamp.date()] += 1
    assert extended == expected
    assert sum(expected.values()) == 14_180 - 20 * 390


@pytest.mark.parametrize("symbol", ["AAPL", "MSFT"])
def test_sample_daily_bars_equal_their_files(shared_data, sample, symbol):
    rows = read_rows(shared_data / f"daily/{symbol}_2012-2014.csv")
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
