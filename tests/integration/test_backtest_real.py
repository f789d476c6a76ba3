"""Multi-day backtests over real minute data, end to end through the CLI, values checked
against an independent reading of the files (Python's csv module, pandas)."""

from __future__ import annotations

import csv
import datetime
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mismartera.ext.aggregate import aggregate_bars
from tests.support.data import require_data

DATA = require_data() / "minute"  # every test here runs on the real files
NY = "America/New_York"
STREAMS = ["1m", "5m", "15m", "30m", "1h"]
MINUTES = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60}


def read_rows(path: Path) -> list[tuple[datetime.datetime, list[float]]]:
    with path.open(newline="") as fh:
        return [(datetime.datetime.fromisoformat(r["timestamp"]),
                 [float(r[c]) for c in ("open", "high", "low", "close", "volume")])
                for r in csv.DictReader(fh)]


def close_time(day: datetime.date) -> datetime.time:
    return datetime.time(13, 0) if day == datetime.date(2014, 11, 28) else datetime.time(16, 0)


def regular(rows, day):
    return [(t, v) for t, v in rows
            if t.date() == day and datetime.time(9, 30) <= t.time() < close_time(day)]


def iso(t: datetime.datetime) -> str:
    return t.isoformat()


def run_cli(mismartera_plugins, tmp_path: Path, files: list[str], symbols: list[str],
            start: str, end: str, out: str) -> Path:
    folder = tmp_path / "bars"
    folder.mkdir(exist_ok=True)
    for name in files:
        shutil.copy(DATA / name, folder / name)
    session = tmp_path / "session.toml"
    session.write_text(f"""
[session]
exchange = "XNYS"
start = {start}
end = {end}

[data]
source = "csv"
path = "{folder}"

[symbols]
list = {json.dumps(symbols)}

[streams]
intervals = {json.dumps(STREAMS)}
""")
    out_dir = tmp_path / out
    result = mismartera_plugins.invoke(["backtest", str(session), "--export-dir", str(out_dir),
                                        "--quiet"])
    assert result.exit_code == 0, result.output
    return out_dir


@pytest.fixture(scope="module")
def nov2014(tmp_path_factory):
    from mismartera.plugin_manager import PluginManager
    from mismartera.testing import PluginHarness

    harness = PluginHarness(PluginManager(load_entry_points=False))
    tmp = tmp_path_factory.mktemp("nov2014")
    out = run_cli(harness, tmp, ["SPY_2014-11.csv", "AAPL_2014-11.csv"], ["SPY", "AAPL"],
                  "2014-11-19", "2014-12-03", "days")
    rows = {s: read_rows(DATA / f"{s}_2014-11.csv") for s in ("SPY", "AAPL")}
    return harness, tmp, out, rows


def test_days_exported_holiday_skipped(nov2014):
    _, _, out, rows = nov2014
    days = sorted(p.stem for p in out.glob("*.json"))
    file_days = sorted({t.date().isoformat() for t, _ in rows["SPY"]})
    assert "2014-11-27" not in days and "2014-11-27" not in file_days
    assert days == file_days
    assert len(days) == 10


def test_base_bars_equal_the_files_regular_session_rows(nov2014):
    _, _, out, rows = nov2014
    for path in sorted(out.glob("*.json")):
        day = datetime.date.fromisoformat(path.stem)
        doc = json.loads(path.read_text())
        for sym in ("SPY", "AAPL"):
            want = [[iso(t), *v] for t, v in regular(rows[sym], day)]
            got = doc["symbols"][sym]["bars"]["1m"]["data"]
            assert got == want, (sym, day)
            assert len(got) == (210 if day == datetime.date(2014, 11, 28) else 390)


def test_derived_bars_equal_aggregate_bars_and_pandas(nov2014):
    _, _, out, rows = nov2014
    for path in sorted(out.glob("*.json")):
        day = datetime.date.fromisoformat(path.stem)
        doc = json.loads(path.read_text())
        open_t = pd.Timestamp(datetime.datetime.combine(day, datetime.time(9, 30)), tz=NY)
        close_t = pd.Timestamp(datetime.datetime.combine(day, close_time(day)), tz=NY)
        for sym in ("SPY", "AAPL"):
            reg = regular(rows[sym], day)
            frame = pd.DataFrame([v for _, v in reg],
                                 columns=["open", "high", "low", "close", "volume"],
                                 index=pd.DatetimeIndex([pd.Timestamp(t) for t, _ in reg]))
            ts = np.array([pd.Timestamp(t).value for t, _ in reg], dtype=np.int64)
            cols = [np.ascontiguousarray(frame[c].to_numpy()) for c in frame.columns]
            for name in STREAMS[1:]:
                got = doc["symbols"][sym]["bars"][name]["data"]
                # independent: pandas groups by bucket start anchored at the open
                step = pd.Timedelta(minutes=MINUTES[name])
                bucket = open_t + ((frame.index - open_t) // step) * step
                agg = frame.groupby(bucket).agg({"open": "first", "high": "max", "low": "min",
                                                 "close": "last", "volume": "sum"})
                want = [[t.tz_convert(NY).isoformat(), *map(float, r)]
                        for t, r in zip(agg.index, agg.to_numpy(), strict=True)]
                assert got == want, (sym, day, name)
                # and the kernel over the file's rows gives the same
                kernel = aggregate_bars(ts, *cols, np.array([open_t.value]),
                                        np.array([close_t.value]), MINUTES[name] * 60 * 10**9)
                assert [r[1:] for r in got] == np.column_stack(kernel[1:]).tolist()
                if day == datetime.date(2014, 11, 28):
                    last_start = pd.Timestamp(got[-1][0])
                    assert last_start < close_t <= last_start + step


def test_early_close_rejects_after_hours_bars(nov2014):
    _, _, out, rows = nov2014
    day = datetime.date(2014, 11, 28)
    doc = json.loads((out / "2014-11-28.json").read_text())
    assert doc["session"]["close"] == "2014-11-28T13:00:00-05:00"
    outside = sum(1 for s in ("SPY", "AAPL") for t, _ in rows[s]
                  if t.date() == day and not (datetime.time(9, 30) <= t.time() < close_time(day)))
    assert outside >= 138 + 109
    assert doc["rejected"] == {"invalid": 0, "duplicate": 0, "misaligned": 0,
                               "outside_session": outside}
    assert doc["symbols"]["SPY"]["bars"]["1h"]["data"][-1][0] == "2014-11-28T12:30:00-05:00"
    assert doc["symbols"]["SPY"]["bars"]["30m"]["data"][-1][0] == "2014-11-28T12:30:00-05:00"


def test_two_runs_give_byte_identical_exports(nov2014):
    harness, tmp, out, _ = nov2014
    again = run_cli(harness, tmp, ["SPY_2014-11.csv", "AAPL_2014-11.csv"], ["SPY", "AAPL"],
                    "2014-11-19", "2014-12-03", "again")
    for path in sorted(out.glob("*.json")):
        assert (again / path.name).read_bytes() == path.read_bytes()


def test_vendor_dropouts_give_the_right_gaps_and_quality(tmp_path, mismartera_plugins):
    files = ["AAPL_2021-08.csv", "MSFT_2021-08.csv", "TSLA_2021-08.csv"]
    out = run_cli(mismartera_plugins, tmp_path, files, ["AAPL", "MSFT", "TSLA"],
                  "2021-08-23", "2021-08-25", "days")
    for path in sorted(out.glob("*.json")):
        day = datetime.date.fromisoformat(path.stem)
        doc = json.loads(path.read_text())
        open_t = datetime.datetime.combine(day, datetime.time(9, 30),
                                           tzinfo=datetime.timezone(datetime.timedelta(hours=-4)))
        grid = [open_t + datetime.timedelta(minutes=k) for k in range(390)]
        for sym in ("AAPL", "MSFT", "TSLA"):
            present = {t for t, _ in regular(read_rows(DATA / f"{sym}_2021-08.csv"), day)}
            missing = [t for t in grid if t not in present]
            assert len(missing) == 1
            block = doc["symbols"][sym]["bars"]["1m"]
            assert block["gaps"] == {"gap_count": 1, "missing_bars": 1, "ranges": [
                {"start": iso(missing[0]), "end": iso(missing[0]), "bar_count": 1}]}
            assert block["quality"] == round(100 * 389 / 390, 2) == 99.74
            # a derived bucket that still had base bars is present: 5m quality stays 100
            assert doc["symbols"][sym]["bars"]["5m"]["quality"] == 100.0
