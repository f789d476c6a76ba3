"""`mismartera data import|list|quality` on the real files in ../shared/data."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from mismartera.cli import cli
from mismartera.store import BarStore

NY = ZoneInfo("America/New_York")
NS = 1_000_000_000


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


def ok(*args: str, env: dict | None = None):
    result = run(*args, env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def reference_rows(path: Path) -> list[tuple]:
    """(ts ns, o, h, l, c, v) read with the csv module and datetime only."""
    out = []
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            dt = datetime.fromisoformat(row["timestamp"])
            ts = round((dt - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * NS
            out.append((ts, *(float(row[k]) for k in ("open", "high", "low", "close", "volume"))))
    return out


def stored_rows(store: Path, symbol: str, interval: str = "1m") -> list[tuple]:
    with BarStore(store, read_only=True) as s:
        bars = s.read(symbol, interval, -(2**62), 2**62)
    return [(int(t), *map(float, v)) for t, *v in zip(*bars, strict=True)]


@pytest.fixture(scope="module")
def loaded(shared_data, tmp_path_factory) -> Path:
    """A store with every real minute file (one import per symbol, all its files at once)
    and both daily files."""
    store = tmp_path_factory.mktemp("cli") / "bars.duckdb"
    by_symbol: dict[str, list[str]] = {}
    for f in sorted((shared_data / "minute").glob("*.csv")):
        by_symbol.setdefault(f.name.split("_")[0], []).append(str(f))
    for sym, files in by_symbol.items():
        ok("data", "import", *files, "--symbol", sym.lower(), "--store", str(store))
    for f in sorted((shared_data / "daily").glob("*.csv")):
        ok("data", "import", str(f), "--symbol", f.name.split("_")[0], "--interval", "1d",
           "--store", str(store))
    return store


def test_import_stores_exactly_the_files_rows(shared_data, loaded):
    for sym in ("SPY", "AAPL", "MSFT", "TSLA"):
        want = sorted(r for f in sorted((shared_data / "minute").glob(f"{sym}_*.csv"))
                      for r in reference_rows(f))
        assert stored_rows(loaded, sym) == want
    spy = stored_rows(loaded, "SPY")
    hours = [datetime.fromtimestamp(r[0] / NS, NY).time() for r in spy]
    assert any(t < time(9, 30) for t in hours) and any(t >= time(16) for t in hours)


def test_daily_import(shared_data, loaded):
    for sym in ("AAPL", "MSFT"):
        with (shared_data / "daily" / f"{sym}_2012-2014.csv").open(newline="") as f:
            rows = list(csv.DictReader(f))
        got = stored_rows(loaded, sym, "1d")
        assert [r[4] for r in got] == [float(r["close"]) for r in rows]
        assert [datetime.fromtimestamp(r[0] / NS, NY) for r in got] == [
            datetime.combine(date.fromisoformat(r["date"]), time(9, 30), NY) for r in rows]


def test_list_json(shared_data, loaded):
    out = json.loads(ok("data", "list", "--store", str(loaded), "--json").stdout)
    series = {(s["symbol"], s["interval"]): s for s in out["series"]}
    assert set(series) == {("AAPL", "1m"), ("AAPL", "1d"), ("MSFT", "1m"), ("MSFT", "1d"),
                           ("SPY", "1m"), ("TSLA", "1m")}
    spy = series[("SPY", "1m")]
    assert spy["bars"] == 14_180 + len(reference_rows(shared_data / "minute" / "SPY_2014-11.csv"))
    assert (spy["first_day"], spy["last_day"]) == ("2011-01-03", "2014-12-03")
    assert spy["first"] == "2011-01-03T04:00:00-05:00"
    assert series[("AAPL", "1d")]["bars"] == 754
    assert [s["symbol"] for s in out["series"]] == sorted(s["symbol"] for s in out["series"])


def test_list_table(shared_data, loaded):
    out = ok("data", "list", "--store", str(loaded)).stdout
    spy = 14_180 + len(reference_rows(shared_data / "minute" / "SPY_2014-11.csv"))
    for word in ("symbol", "interval", "first day", "last day", "bars", "TSLA", "2012-01-03",
                 "2021-08-25", f"{spy:,}"):
        assert word in out, word


def test_reimport_is_idempotent(shared_data, loaded):
    with BarStore(loaded, read_only=True) as s:
        before = s.checksum()
    f = shared_data / "minute" / "TSLA_2021-08.csv"
    out = ok("data", "import", str(f), "--symbol", "TSLA", "--store", str(loaded)).stdout
    assert "0 inserted, 1167 unchanged" in out
    with BarStore(loaded, read_only=True) as s:
        assert s.checksum() == before


def test_replace(shared_data, tmp_path):
    store = tmp_path / "s.duckdb"
    f = shared_data / "minute" / "AAPL_2021-08.csv"
    ok("data", "import", str(f), "--symbol", "AAPL", "--store", str(store))
    lines = f.read_text().splitlines()
    fields = lines[5].split(",")
    fields[5] = "123"
    changed = tmp_path / "AAPL_changed.csv"
    changed.write_text("\n".join([lines[0], *lines[1:5], ",".join(fields)]) + "\n")
    bad = run("data", "import", str(changed), "--symbol", "AAPL", "--store", str(store))
    assert bad.exit_code == 2 and "--replace" in bad.stderr
    out = ok("data", "import", str(changed), "--symbol", "AAPL", "--store", str(store),
             "--replace").stdout
    assert "0 inserted, 4 unchanged, 1 replaced" in out
    got = stored_rows(store, "AAPL")
    assert len(got) == 1167 and got[4][5] == 123.0


def test_tz_for_naive_stamps(tmp_path):
    f = tmp_path / "naive.csv"
    f.write_text("Date,Time,Open,High,Low,Close,Volume,Extra\n"
                 "2024-01-03,14:30,1,2,0.5,1.5,10,x\n2024-01-03,14:31,1,2,0.5,1.5,10,y\n")
    store = tmp_path / "s.duckdb"
    ok("data", "import", str(f), "--symbol", "X", "--tz", "UTC", "--store", str(store))
    first = stored_rows(store, "X")[0][0]
    assert datetime.fromtimestamp(first / NS, NY) == datetime(2024, 1, 3, 9, 30, tzinfo=NY)
    bad = run("data", "import", str(f), "--symbol", "Y", "--tz", "Mars/Olympus",
              "--store", str(store))
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1
    assert "unknown time zone 'Mars/Olympus'" in bad.stderr


def test_offsets_across_dst_are_fine(tmp_path):
    f = tmp_path / "dst.csv"
    f.write_text("timestamp,open,high,low,close,volume\n"
                 "2011-03-11T15:59:00-05:00,1,2,0.5,1.5,10\n"
                 "2011-03-14T09:30:00-04:00,1,2,0.5,1.5,10\n"
                 "2011-03-14T13:31:00Z,1,2,0.5,1.5,10\n")
    store = tmp_path / "s.duckdb"
    ok("data", "import", str(f), "--symbol", "X", "--store", str(store))
    got = [datetime.fromtimestamp(r[0] / NS, NY).strftime("%m-%d %H:%M")
           for r in stored_rows(store, "X")]
    assert got == ["03-11 15:59", "03-14 09:30", "03-14 09:31"]


def test_default_store_is_created_under_mismartera_home(shared_data, tmp_path):
    home = tmp_path / "home"
    f = shared_data / "minute" / "MSFT_2021-08.csv"
    ok("data", "import", str(f), "--symbol", "MSFT", env={"MISMARTERA_HOME": str(home)})
    assert (home / "bars.duckdb").exists()
    out = json.loads(ok("data", "list", "--json", env={"MISMARTERA_HOME": str(home)}).stdout)
    assert [s["bars"] for s in out["series"]] == [1167]
    empty = ok("data", "list", env={"MISMARTERA_HOME": str(tmp_path / "none")}).stdout
    assert "no bars" in empty and not (tmp_path / "none").exists()


def session_minutes(day: date, close: time = time(16)) -> list[datetime]:
    start = datetime.combine(day, time(9, 30), NY)
    n = (datetime.combine(day, close, NY) - start) // timedelta(minutes=1)
    return [start + timedelta(minutes=i) for i in range(n)]


def test_quality_finds_the_real_gaps(shared_data, loaded):
    for sym in ("AAPL", "MSFT", "TSLA"):
        stamps = {datetime.fromtimestamp(r[0] / NS, NY)
                  for r in reference_rows(shared_data / "minute" / f"{sym}_2021-08.csv")}
        out = json.loads(ok("data", "quality", sym, "--store", str(loaded), "--json",
                            "--start", "2021-08-23", "--end", "2021-08-25").stdout)
        assert [s["date"] for s in out["sessions"]] == ["2021-08-23", "2021-08-24",
                                                         "2021-08-25"]
        for s in out["sessions"]:
            grid = session_minutes(date.fromisoformat(s["date"]))
            missing = [t for t in grid if t not in stamps]
            assert (s["expected"], s["present"]) == (390, 389)
            assert s["quality"] == round(100 * 389 / 390, 2)
            assert [(g["start"], g["end"], g["bar_count"]) for g in s["gaps"]] == [
                (missing[0].isoformat(), missing[-1].isoformat(), len(missing))]
        assert out["quality"] == round(100 * 1167 / 1170, 2)


def test_quality_early_close_and_holiday(loaded):
    out = json.loads(ok("data", "quality", "SPY", "--store", str(loaded), "--json",
                        "--start", "2014-11-25", "--end", "2014-12-01").stdout)
    days = {s["date"]: s for s in out["sessions"]}
    assert list(days) == ["2014-11-25", "2014-11-26", "2014-11-28", "2014-12-01"]
    assert (days["2014-11-28"]["expected"], days["2014-11-28"]["present"]) == (210, 210)
    assert days["2014-11-28"]["close"] == "2014-11-28T13:00:00-05:00"
    assert all(s["gaps"] == [] and s["quality"] == 100.0 for s in out["sessions"])


def test_quality_default_range_and_table(loaded):
    out = json.loads(ok("data", "quality", "spy", "--store", str(loaded), "--json").stdout)
    assert out["start"] == "2011-01-03" and out["end"] == "2014-12-03"
    jan = [s for s in out["sessions"] if s["date"].startswith("2011-01")]
    assert len(jan) == 20 and "2011-01-17" not in {s["date"] for s in jan}
    assert all(s["present"] == 390 for s in jan)
    # the sessions between the two files hold no bars: each one whole-session gap
    feb = next(s for s in out["sessions"] if s["date"] == "2011-02-01")
    assert feb["present"] == 0 and [g["bar_count"] for g in feb["gaps"]] == [390]
    table = ok("data", "quality", "TSLA", "--store", str(loaded), "--start", "2021-08-23",
               "--end", "2021-08-25").stdout
    assert "99.74" in table and "2021-08-23" in table


def test_quality_daily(loaded):
    out = json.loads(ok("data", "quality", "AAPL", "--interval", "1d", "--store", str(loaded),
                        "--json").stdout)
    assert out["expected"] == out["present"] == 754 and out["quality"] == 100.0


@pytest.mark.parametrize("args,message", [
    (["data", "quality", "NOPE"], "no 1m bars for NOPE"),
    (["data", "quality", "SPY", "--start", "2014-12-05", "--end", "2014-12-01"],
     "is before --start"),
    (["data", "quality", "SPY", "--start", "2014-13-01"], "invalid date '2014-13-01'"),
    (["data", "quality", "SPY", "--interval", "7m"], "unknown interval '7m'"),
    (["data", "quality", "SPY", "--exchange", "XXXX"], "unknown exchange 'XXXX'"),
])
def test_quality_errors(loaded, args, message):
    result = run(*args, "--store", str(loaded))
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr


def test_missing_explicit_store_is_an_error(tmp_path):
    result = run("data", "list", "--store", str(tmp_path / "nope.duckdb"))
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_import_with_the_progress_bar(shared_data, tmp_path, monkeypatch):
    """The progress bar's code path (normally only on a terminal, for large files)."""
    from mismartera.commands import data as data_module

    calls: list[int] = []

    def show(total: int) -> bool:
        calls.append(total)
        return True

    monkeypatch.setattr(data_module, "_show_progress", show)
    store = tmp_path / "s.duckdb"
    files = [shared_data / "minute" / "SPY_2011-01.csv", shared_data / "minute" / "SPY_2014-11.csv"]
    out = ok("data", "import", *map(str, files), "--symbol", "SPY", "--store", str(store))
    assert calls == [sum(f.stat().st_size for f in files)]
    n = sum(len(reference_rows(f)) for f in files)
    assert f"{n} inserted, 0 unchanged" in out.stdout
    assert len(stored_rows(store, "SPY")) == n
