"""Exports: file permissions, sets of files, indicator columns, Parquet nanoseconds, and the
files each command says it wrote."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import duckdb
import numpy as np
import pytest

from mismartera.config import SessionConfig
from mismartera.export import atomic_paths, snapshot, write_export
from mismartera.session.coordinator import SessionCoordinator
from tests.support.engine import indicator_plugins

SESSION = {
    "session": {"start": "2011-01-03", "end": "2011-01-04"},
    "data": {"source": "sample"},
    "symbols": {"list": ["SPY"]},
    "streams": {"intervals": ["1m", "5m"]},
    "indicators": [{"name": "sma", "interval": "5m", "params": {"period": 20}},
                   {"name": "bbands", "interval": "5m", "params": {"period": 5}}],
}


@pytest.fixture(scope="module")
def sample_run() -> tuple[SessionCoordinator, dict]:
    coordinator = SessionCoordinator(SessionConfig.from_dict(SESSION), plugins=indicator_plugins())
    coordinator.run()
    doc, _ = snapshot(coordinator.session_data, coordinator.calendar)
    return coordinator, doc


@pytest.fixture
def umask():
    """Set the process umask for one test."""
    saved = os.umask(0o022)
    yield os.umask
    os.umask(saved)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.parametrize(("mask", "want"), [(0o027, 0o640), (0o002, 0o664)])
@pytest.mark.parametrize("suffix", [".json", ".csv", ".parquet"])
def test_export_files_get_the_permissions_the_umask_allows(sample_run, tmp_path, umask,
                                                           suffix, mask, want):
    coordinator, doc = sample_run
    umask(mask)
    written = write_export(tmp_path / f"day{suffix}", doc, coordinator.plugins)
    assert written and {mode(p) for p in written} == {want}


def test_csv_export_names_each_file_and_puts_indicators_beside_the_bars(sample_run, tmp_path):
    coordinator, doc = sample_run
    written = write_export(tmp_path / "day.csv", doc, coordinator.plugins)
    assert [p.name for p in written] == ["day.SPY.1m.csv", "day.SPY.5m.csv"]
    with written[1].open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["ts", "open", "high", "low", "close", "volume", "sma_20_5m",
                       "bbands_5_5m.upper", "bbands_5_5m.middle", "bbands_5_5m.lower"]
    spy = coordinator.session_data["SPY"]
    sma = spy.indicators["sma_20_5m"].history()
    lower = spy.indicators["bbands_5_5m"].history("lower")
    assert len(rows) - 1 == len(sma) == len(spy.bars["5m"].data) == 78
    assert [float(r[4]) for r in rows[1:]] == spy.bars["5m"].data.column("close").tolist()
    assert [float(r[6]) for r in rows[1:]] == sma.tolist()
    assert [float(r[9]) for r in rows[1:]] == lower.tolist()
    with written[0].open(newline="") as fh:  # 1m has no indicator: the bar columns only
        assert next(csv.reader(fh)) == ["ts", "open", "high", "low", "close", "volume"]


def test_indicator_columns_are_empty_until_ready(tmp_path):
    coordinator = SessionCoordinator(SessionConfig.from_dict(
        {**SESSION, "session": {"start": "2011-01-03", "end": "2011-01-03"}}),
        plugins=indicator_plugins())
    coordinator.run()  # no history: the 20-bar SMA is ready at the 20th bar
    doc, _ = snapshot(coordinator.session_data, coordinator.calendar)
    column = doc["symbols"]["SPY"]["bars"]["5m"]["indicators"]["sma_20_5m"]
    assert column[:19] == [None] * 19 and all(v is not None for v in column[19:])
    closes = coordinator.session_data["SPY"].bars["5m"].data.column("close")
    assert column[19] == pytest.approx(float(closes[:20].mean()))
    [written] = [p for p in write_export(tmp_path / "d.csv", doc, coordinator.plugins)
                 if p.name.endswith(".5m.csv")]
    with written.open(newline="") as fh:
        sma = [r["sma_20_5m"] for r in csv.DictReader(fh)]
    assert sma[:19] == [""] * 19 and float(sma[19]) == column[19]


def test_parquet_export_has_nanosecond_utc_stamps_and_indicator_columns(sample_run, tmp_path):
    coordinator, doc = sample_run
    path = tmp_path / "day.parquet"
    assert write_export(path, doc, coordinator.plugins) == [path]
    con = duckdb.connect()
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE "
                             f"SELECT * FROM '{path}')").fetchall())
    assert types["ts"] == "TIMESTAMPTZ_NS" and types["sma_20_5m"] == "DOUBLE"
    spy = coordinator.session_data["SPY"]
    for name in ("1m", "5m"):
        got = con.execute(f"SELECT epoch_ns(ts), close, sma_20_5m FROM '{path}' "
                          f"WHERE interval = ? ORDER BY ts", [name]).fetchall()
        ts, close, sma = (np.array(c, dtype=float if i else np.int64)
                          for i, c in enumerate(zip(*got, strict=True)))
        assert ts.tolist() == spy.bars[name].data.column("ts").tolist()
        assert close.tolist() == spy.bars[name].data.column("close").tolist()
        if name == "5m":
            assert sma.tolist() == spy.indicators["sma_20_5m"].history().tolist()
        else:  # another interval's indicator is NaN on these rows
            assert all(math.isnan(v) for v in sma)


def test_json_export_carries_the_indicator_columns(sample_run, tmp_path):
    coordinator, doc = sample_run
    write_export(tmp_path / "day.json", doc, coordinator.plugins)
    block = json.loads((tmp_path / "day.json").read_text())["symbols"]["SPY"]["bars"]["5m"]
    assert block["indicators"]["bbands_5_5m.upper"] == \
        coordinator.session_data["SPY"].indicators["bbands_5_5m"].history("upper").tolist()


def test_a_failed_set_leaves_the_old_set_and_no_temporary_file(tmp_path):
    old = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for p in old:
        p.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_paths(old) as temps:
        temps[0].write_text("new\n")
        raise RuntimeError("the second file failed")
    assert [p.read_text() for p in old] == ["old\n", "old\n"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]


def test_a_directory_in_the_set_fails_before_any_file_is_replaced(tmp_path):
    (tmp_path / "a.csv").write_text("old\n")
    (tmp_path / "b.csv").mkdir()
    with pytest.raises(IsADirectoryError), atomic_paths([tmp_path / "a.csv",
                                                         tmp_path / "b.csv"]) as temps:
        for t in temps:
            t.write_text("new\n")
    assert (tmp_path / "a.csv").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]


def test_backtest_prints_every_file_it_wrote(mismartera_plugins, tmp_path):
    out = tmp_path / "out" / "day.csv"
    result = mismartera_plugins.invoke(["demo", "--end", "2011-01-03", "--streams", "1m,5m",
                                        "--export", str(out)])
    assert result.exit_code == 0, result.output
    wrote = [line for line in result.stdout.splitlines() if line.startswith("wrote ")]
    names = ["day.SPY.1m.csv", "day.SPY.5m.csv"]
    assert wrote == [f"wrote {out.parent / n}" for n in names]
    assert sorted(p.name for p in out.parent.iterdir()) == names


def test_the_shell_names_every_file_a_csv_export_wrote(tmp_path):
    from tests.support.shell import Shell, write_session

    shell = Shell()
    assert shell.run(f"system start {write_session(tmp_path)}")[0]
    assert shell.run("system wait")[0]
    ok, out, _ = shell.run(f"export {tmp_path / 'out' / 's.csv'}")
    names = [f"s.SYN0.{i}.csv" for i in ("1m", "5m", "15m", "1h")]
    assert ok and out.startswith("wrote " + ", ".join(str(tmp_path / "out" / n) for n in names))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(names)


def test_json_never_holds_a_non_finite_number(tmp_path):
    """A derived volume that overflowed (a source's absurd values) is one sentence naming
    where it is; the file already there stays as it was."""
    from mismartera.errors import DataError
    from mismartera.plugins.exporters.json import JsonExporter

    target = tmp_path / "out.json"
    target.write_text("old")
    doc = {"symbols": {"SPY": {"bars": {"5m": {"data": [["t", 1.0, 2.0, 0.5, 1.0, 1e308],
                                                        ["t", 1.0, 2.0, 0.5, 1.0,
                                                         float("inf")]]}}}}}
    with pytest.raises(DataError) as err:
        JsonExporter.write(doc, target)
    assert str(err.value) == (f"cannot export {target}: symbols.SPY.bars.5m.data[1][5] is not a "
                              "finite number, which JSON cannot hold; nothing was written")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]
