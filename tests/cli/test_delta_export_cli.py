"""`backtest --export-dir DIR --export-every 30m [--delta]` and the shell's `export FILE
--delta`: the deltas folded in order give the full snapshots."""

from __future__ import annotations

import json

from click.testing import CliRunner

from mismartera.cli import cli
from tests.support.delta import fold
from tests.support.engine import dumps
from tests.support.shell import Shell


def demo(tmp_path, *flags: str):
    result = CliRunner().invoke(cli, ["demo", "--end", "2011-01-04", "--quiet",
                                      "--export-dir", str(tmp_path), *flags])
    return result


def test_export_every_with_delta_folds_into_the_full_snapshots(tmp_path):
    full, delta = tmp_path / "full", tmp_path / "delta"
    assert demo(full, "--export-every", "90m").exit_code == 0
    assert demo(delta, "--export-every", "90m", "--delta").exit_code == 0
    names = sorted(p.name for p in full.glob("*T*.json"))
    assert names == sorted(p.name for p in delta.glob("*T*.json"))
    assert names[:5] == ["2011-01-03T1100.json", "2011-01-03T1230.json", "2011-01-03T1400.json",
                         "2011-01-03T1530.json", "2011-01-03T1600.json"]
    record = None
    for name in names:
        want = json.loads((full / name).read_text())
        got = json.loads((delta / name).read_text())
        first_of_day = name.endswith("T1100.json")
        assert ("delta" in got) != first_of_day
        record = got if first_of_day else fold(record, got)
        assert dumps(record) == dumps(want)
    # the close's snapshot is the day's export
    assert dumps(record) == dumps(json.loads((full / "2011-01-04.json").read_text()))


def test_export_every_needs_export_dir_and_delta_needs_export_every(tmp_path):
    result = CliRunner().invoke(cli, ["demo", "--export-every", "30m"])
    assert result.exit_code == 2 and "--export-every needs --export-dir" in result.output
    result = demo(tmp_path, "--delta")
    assert result.exit_code == 2 and "--delta needs --export-every" in result.output
    result = demo(tmp_path, "--export-every", "1d")
    assert result.exit_code == 2 and "expected a session time like 30m" in result.output


def test_shell_export_delta_follows_the_previous_json_export(tmp_path):
    shell = Shell()
    assert shell.run("system start --end 2011-01-03")[0]
    assert shell.run("system wait 60")[0]
    ok, out, _ = shell.run(f"export {tmp_path / 'a.json'} --delta")
    assert ok and "in full: no earlier .json export" in out
    ok, out, _ = shell.run(f"export {tmp_path / 'b.json'} --delta")
    assert ok and "a delta from the previous .json export" in out
    a = json.loads((tmp_path / "a.json").read_text())
    b = json.loads((tmp_path / "b.json").read_text())
    assert b["delta"] is True and not b["symbols"]["SPY"]["bars"]["1m"]["data"]
    assert dumps(fold(a, b)) == dumps(a)
    ok, _, err = shell.run(f"export {tmp_path / 'c.csv'} --delta")
    assert not ok and "--delta writes JSON only" in err
