"""`data import` never stores a bar under the wrong interval: it is inferred from the
timestamps when not given, and a given one the spacing contradicts is refused."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from mismartera.cli import cli
from mismartera.errors import DataError
from mismartera.importer import infer_interval, read_bars
from mismartera.importer.checks import span
from mismartera.store import BarStore

NY = ZoneInfo("America/New_York")
HEADER = "timestamp,open,high,low,close,volume\n"


def bar_file(path: Path, stamps: list[datetime], fmt: str = "%Y-%m-%d %H:%M") -> Path:
    path.write_text(HEADER + "".join(f"{t:{fmt}},1,2,0.5,1.5,10\n" for t in stamps))
    return path


def every(minutes: int, count: int, days: int = 1) -> list[datetime]:
    """`count` bars `minutes` apart from 09:30 on each of `days` sessions from 2024-01-03."""
    return [datetime(2024, 1, 3 + d, 9, 30) + timedelta(minutes=minutes * k)
            for d in range(days) for k in range(count)]


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_five_minute_file_without_interval_is_stored_as_5m(tmp_path):
    f = bar_file(tmp_path / "five.csv", every(5, 78, days=3))
    store = tmp_path / "bars.duckdb"
    result = run("data", "import", str(f), "--symbol", "X", "--store", str(store))
    assert result.exit_code == 0, result.output
    assert result.stderr == f"interval 5m inferred from the timestamps of {f}\n"
    assert result.stdout.startswith("X 5m: 234 bars read from 1 file")
    with BarStore(store, read_only=True) as s:
        assert [(x.interval, x.bar_count) for x in s.summary()] == [("5m", 234)]


def test_files_of_different_intervals_are_refused_together(tmp_path):
    a = bar_file(tmp_path / "a.csv", every(5, 10))
    b = bar_file(tmp_path / "b.csv", every(1, 10, days=2)[10:])
    store = tmp_path / "bars.duckdb"
    result = run("data", "import", str(a), str(b), "--symbol", "X", "--store", str(store))
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {b}: its bars are 1m bars, those of {a} 5m bars: import "
                             "them separately or give --interval\n")
    assert not store.exists()


def test_given_interval_contradicted_by_the_spacing_is_refused(tmp_path):
    f = bar_file(tmp_path / "half.csv", every(30, 4))
    store = tmp_path / "bars.duckdb"
    result = run("data", "import", str(f), "--symbol", "X", "--interval", "1h",
                 "--store", str(store))
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {f}:3: timestamp 2024-01-03 10:00 is 30m after the previous bar, not a "
        "multiple of 1h: these are not 1h bars (give the file's interval with --interval)\n")
    assert not store.exists()


def test_a_5m_file_given_as_1m_is_refused(tmp_path):
    """The issue's case: a 5-minute file is not stored as 1m bars even when --interval 1m is
    given (every spacing within a day is a multiple of 5m)."""
    f = bar_file(tmp_path / "five.csv", every(5, 78, days=2))
    store = tmp_path / "bars.duckdb"
    result = run("data", "import", str(f), "--symbol", "X", "--interval", "1m",
                 "--store", str(store))
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {f}: the spacing found between its bars within a day is 5m (or a multiple of "
        "it): these are 5m bars, not 1m; give --interval 5m, or leave it out to have it "
        "inferred\n")
    assert not store.exists()


def test_given_interval_with_sparse_bars_is_kept(tmp_path):
    stamps = [datetime(2024, 1, 3, 9, 30) + timedelta(minutes=m) for m in (0, 1, 3, 4, 9)]
    bars, iv = read_bars(bar_file(tmp_path / "sparse.csv", stamps), NY, None)
    assert iv.name == "1m" and len(bars) == 5
    store = tmp_path / "bars.duckdb"
    result = run("data", "import", str(tmp_path / "sparse.csv"), "--symbol", "X", "--interval",
                 "1m", "--store", str(store))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("X 1m: 5 bars read")


@pytest.mark.parametrize(("minutes", "message"), [
    ((0,), " from a single bar: give it with --interval"),
    ((0, 2, 5), ": stamps are as often 2m as 3m apart: give it with --interval"),
    ((0, 7, 14), ": the most common spacing between stamps, 7m, is not a supported interval: "
                 "give it with --interval"),
])
def test_what_cannot_be_inferred_asks_for_the_interval(tmp_path, minutes, message):
    f = bar_file(tmp_path / "x.csv", [datetime(2024, 1, 3, 9, 30) + timedelta(minutes=m)
                                      for m in minutes])
    with pytest.raises(DataError) as info:
        infer_interval(f, NY)
    assert str(info.value) == f"{f}: cannot infer the bar interval{message}"


def test_a_bad_row_is_named_before_the_interval_is_asked_for(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text(HEADER + "2024-01-03 09:30,1,0.5,2,1,10\n")
    with pytest.raises(DataError, match=r"x\.csv:2: high 0\.5 is below low 2\.0$"):
        read_bars(f, NY, None)


def test_most_common_spacing_wins_over_the_smallest(tmp_path):
    # a stray bar in a 5m file: the smallest spacing is 1m, the usual one 5m
    stamps = [*every(5, 20), datetime(2024, 1, 4, 9, 30), datetime(2024, 1, 4, 9, 31)]
    f = bar_file(tmp_path / "x.csv", stamps)
    assert infer_interval(f, NY).name == "5m"
    with pytest.raises(DataError, match=r"x\.csv:23: timestamp 2024-01-04 09:31 is not on the "
                                        "5m grid"):
        read_bars(f, NY, None)


def test_daily_and_weekly_spacing(tmp_path):
    days = [date(2024, 1, 2) + timedelta(days=d) for d in range(0, 30) if d % 7 < 5]
    daily = bar_file(tmp_path / "d.csv", days, "%Y-%m-%d")
    assert infer_interval(daily, NY).name == "1d"
    midnight = bar_file(tmp_path / "m.csv", [datetime.combine(d, datetime.min.time())
                                             for d in days])
    assert infer_interval(midnight, NY).name == "1d"
    weeks = bar_file(tmp_path / "w.csv", [date(2024, 1, 8) + timedelta(weeks=w)
                                          for w in range(6)], "%Y-%m-%d")
    assert infer_interval(weeks, NY).name == "1w"


@pytest.mark.parametrize(("ns", "text"), [(300 * 10**9, "5m"), (3600 * 10**9, "1h"),
                                          (5400 * 10**9, "1h30m"), (90 * 10**9, "90s"),
                                          (5 * 10**8, "0.5s")])
def test_span(ns, text):
    assert span(ns) == text
