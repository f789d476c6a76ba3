"""A run says what happened: no bars at all is one line and exit status 2 (no file
written); each day's snapshot carries that day's errors; the summary counts the rest."""

from __future__ import annotations

import json

from mismartera.commands.backtest import _errors_cell
from mismartera.config import SessionConfig
from mismartera.session.coordinator import SessionCoordinator
from tests.support.engine import plugins

# the bundled sample source has SPY minute bars for January 2011 only
ARGS = ["backtest", "--source", "sample", "--symbols", "SPY"]


def test_a_backtest_without_a_single_bar_is_one_line_exit_2_and_writes_nothing(
        mismartera_plugins, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.json").write_text("old\n")
    result = mismartera_plugins.invoke([*ARGS, "--start", "2012-03-01", "--end", "2012-03-02",
                                        "--export-dir", str(out / "days"),
                                        "--export", str(out / "keep.json")])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: no bars for SPY from source 'sample' from 2012-03-01 to 2012-03-02 "
        "(2 XNYS trading days)"]
    assert sorted(p.name for p in out.iterdir()) == ["keep.json"]
    assert (out / "keep.json").read_text() == "old\n"


def test_days_before_the_first_bar_are_exported_once_it_comes(mismartera_plugins, tmp_path):
    result = mismartera_plugins.invoke([*ARGS, "--start", "2010-12-30", "--end", "2011-01-03",
                                        "--export-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    days = ["2010-12-30", "2010-12-31", "2011-01-03"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{d}.json" for d in days]
    assert [line for line in result.stdout.splitlines() if line.startswith("wrote")] == [
        f"wrote {tmp_path / d}.json" for d in days]
    doc = json.loads((tmp_path / "2010-12-31.json").read_text())
    assert doc["session"]["date"] == "2010-12-31"
    assert doc["symbols"]["SPY"]["errors"] == ["SPY: no 1m bars in the 2010-12-31 session"]


def test_each_day_carries_its_own_errors_and_the_run_keeps_them_all():
    config = SessionConfig.from_dict({
        "session": {"start": "2011-01-28", "end": "2011-02-02"}, "data": {"source": "sample"},
        "symbols": {"list": ["SPY"]}, "streams": {"intervals": ["1m"]}})
    errors: dict[str, list[str]] = {}

    def day_end(coord, day) -> None:
        errors[day.isoformat()] = list(coord.session_data["SPY"].errors)

    spy = SessionCoordinator(config, plugins=plugins()).run(on_day_end=day_end)["SPY"]
    assert errors == {"2011-01-28": [], "2011-01-31": [],
                      "2011-02-01": ["SPY: no 1m bars in the 2011-02-01 session"],
                      "2011-02-02": ["SPY: no 1m bars in the 2011-02-02 session"]}
    assert list(spy.run_errors) == ["SPY: no 1m bars in the 2011-02-01 session",
                                    "SPY: no 1m bars in the 2011-02-02 session"]
    assert _errors_cell(list(spy.run_errors)) == \
        "SPY: no 1m bars in the 2011-02-01 session (+1 more)"
    assert (_errors_cell([]), _errors_cell(["one"])) == ("-", "one")


def test_a_symbol_without_a_stream_keeps_its_error_every_day():
    config = SessionConfig.from_dict({
        "session": {"start": "2011-01-03", "end": "2011-01-04"}, "data": {"source": "sample"},
        "symbols": {"list": ["SPY", "NOPE"]}, "streams": {"intervals": ["1m"]}})
    errors: list[list[str]] = []
    SessionCoordinator(config, plugins=plugins()).run(
        on_day_end=lambda coord, day: errors.append(list(coord.session_data["NOPE"].errors)))
    assert errors == [["NOPE: source 'sample' has no data for this symbol"]] * 2
