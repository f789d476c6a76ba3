"""The scanner manager: schedule, clock stops, failing-scanner isolation, param errors."""

from __future__ import annotations

import datetime
import re

import pytest

from mismartera.config import ScannerSpec
from mismartera.errors import ConfigError, PluginError, UserError
from mismartera.session.data import SessionData, SymbolSessionData
from mismartera.session.scanner import Param, ScanResult, parse_params, scan_times
from tests.support.engine import CALENDAR, dumps
from tests.support.scanners import (
    AUG,
    I1M,
    MIN,
    NY,
    config,
    manager,
    ns,
    read_rows,
    regular,
    run,
    session_of,
)


def spec(**kwargs) -> ScannerSpec:
    return ScannerSpec("recorder", **kwargs)


def test_no_every_and_no_at_runs_once_at_the_open():
    day = AUG[1]
    assert scan_times(spec(), CALENDAR, day) == [ns(day, 9, 30)]


def test_every_runs_from_open_plus_every_to_before_the_close():
    day = AUG[1]
    times = scan_times(spec(every="5m"), CALENDAR, day)
    assert times == [ns(day, 9, 35) + k * 5 * MIN for k in range(77)]
    assert times[-1] == ns(day, 15, 55)
    hourly = scan_times(spec(every="1h"), CALENDAR, day)
    assert hourly == [ns(day, h, 30) for h in range(10, 16)]


def test_at_times_are_local_clamped_to_the_open_and_dropped_at_the_close():
    for day in (AUG[1], datetime.date(2014, 11, 25)):  # -04:00 and -05:00
        times = scan_times(spec(at=["08:00", "09:30", "09:31", "12:00", "16:00", "17:30"]),
                           CALENDAR, day)
        assert times == [ns(day, 9, 30), ns(day, 9, 31), ns(day, 12, 0)]


def test_early_close_day_ends_the_schedule_at_its_close():
    day = datetime.date(2014, 11, 28)  # closes 13:00
    assert scan_times(spec(every="1h"), CALENDAR, day) == [ns(day, 10, 30), ns(day, 11, 30),
                                                           ns(day, 12, 30)]
    assert scan_times(spec(every="30m", at=["12:59", "13:00", "14:00", "10:00"]), CALENDAR,
                      day) == [ns(day, 10, 0), ns(day, 10, 30), ns(day, 11, 0), ns(day, 11, 30),
                               ns(day, 12, 0), ns(day, 12, 30), ns(day, 12, 59)]
    assert scan_times(spec(at=["14:00"]), CALENDAR, day) == []
    assert scan_times(spec(), CALENDAR, datetime.date(2014, 11, 27)) == []  # holiday


def test_next_time_is_the_next_run_strictly_after_now(harness):
    m = manager(harness, {"name": "recorder", "at": ["10:00", "12:00"]},
                {"name": "recorder", "every": "1h"})
    day = AUG[1]
    m.setup(day)
    assert m.next_time(ns(day, 9, 0)) == ns(day, 10, 0)
    assert m.next_time(ns(day, 10, 0)) == ns(day, 10, 30)
    assert m.next_time(ns(day, 11, 45)) == ns(day, 12, 0)
    assert m.next_time(ns(day, 15, 30)) is None
    sd = SessionData()
    m.run_due(ns(day, 10, 30), sd)  # both due: each runs once
    logs = [e.scanner.log for e in m.entries]
    assert [[t for t, *_ in log] for log in logs] == [[ns(day, 10, 30)], [ns(day, 10, 30)]]
    assert m.run_due(ns(day, 10, 30), sd) == [] and len(logs[0]) == 1  # not again
    m.run_due(ns(day, 12, 0), sd)
    assert len(logs[0]) == 2 and len(logs[1]) == 2
    assert m.next_time(ns(day, 12, 0)) == ns(day, 12, 30)


def test_due_scanners_run_in_time_then_config_order_and_ops_are_deduplicated(harness):
    m = manager(harness,
                {"name": "adder", "params": {"add": "XX,AAPL", "remove": "ZZ"}, "at": ["10:00"]},
                {"name": "adder", "params": {"add": "YY,XX", "remove": "XX"}, "at": ["09:45"]},
                {"name": "adder", "params": {"add": "XX"}, "at": ["10:00"]})
    day = AUG[1]
    m.setup(day)
    sd = SessionData()
    sd.register(SymbolSessionData("AAPL", I1M, [I1M], {I1M: 4}))
    ops = m.run_due(ns(day, 10, 0), sd)
    # [[scanners]][1] first (09:45): XX not present so its removal is dropped; then [0]: XX
    # already added by [1], AAPL already in, ZZ absent; then [2]: XX already added
    assert ops == [("add", "YY"), ("add", "XX")]
    assert [r["added"] for r in m.status()] == [[], ["XX", "YY"], []]


# --- the coordinator stops exactly at scan times ----------------------------------------------


def last_closed_bar(rows, day, now):
    starts = [ns(day, r[0].hour, r[0].minute) for r in regular(rows, day)]
    closed = [t for t in starts if t + MIN <= now]
    return closed[-1] if closed else None


def test_the_clock_stops_exactly_at_every_scan_time(shared_data, harness, aug, aug_full):
    scanners = [{"name": "recorder", "every": "30m", "at": ["09:00", "09:31", "12:07"]}]
    coordinator, docs, _ = run(harness, config(aug, ["AAPL"], AUG[0], AUG[-1], scanners))
    log = coordinator.scanners.entries[0].scanner.log
    expected = []
    for day in AUG:
        times = {ns(day, 9, 30), ns(day, 9, 31), ns(day, 12, 7)}
        times.update(ns(day, 9, 30) + k * 30 * MIN for k in range(1, 13))
        expected += sorted(times)
    assert [now for now, _, _ in log] == expected
    rows = read_rows(shared_data / "minute" / "AAPL_2021-08.csv")
    for now, clock, last in log:
        day = datetime.datetime.fromtimestamp(now / 1e9, NY).date()
        assert clock == now  # SessionData's clock is the scan time
        assert last == last_closed_bar(rows, day, now)  # every bar closed by now, none after
    assert log[0][2] is None  # at the open: before any bar
    # stopping at scan times changes nothing in the result
    for day in AUG:
        assert dumps(docs[day]["symbols"]["AAPL"]) == dumps(aug_full[day]["symbols"]["AAPL"])


# --- a failing scanner is isolated --------------------------------------------------------


def test_a_raising_scanner_is_disabled_for_the_day_and_the_session_goes_on(harness, aug,
                                                                           aug_full):
    scanners = [{"name": "boom", "params": {"fail_at": 2}, "every": "1h"},
                {"name": "recorder", "every": "1h"},
                {"name": "garbage", "at": ["12:00"]},
                {"name": "bad_setup"}]
    coordinator, docs, _ = run(harness, config(aug, ["AAPL"], AUG[0], AUG[-1], scanners))
    boom, recorder = (e.scanner for e in coordinator.scanners.entries[:2])
    per_day = {d: [t for t, *_ in boom.log if session_of(d)[0] <= t < session_of(d)[1]]
               for d in AUG}
    assert per_day == {d: [ns(d, 10, 30), ns(d, 11, 30)] for d in AUG}  # runs again each day
    assert len(recorder.log) == 6 * 3  # the other scanner kept its schedule
    for d in AUG:  # each day's export carries that day's errors
        errors = docs[d]["errors"]
        assert all("\n" not in e for e in errors)
        assert sorted(errors) == sorted([
            f"scanner 'boom' ([[scanners]][0]) raised at {d} 11:30:00: ValueError: boom; "
            f"disabled for the rest of {d}",
            f"scanner 'garbage' ([[scanners]][2]) raised at {d} 12:00:00: TypeError: scan() "
            f"must return a ScanResult or an (add, remove) pair, got str; disabled for the "
            f"rest of {d}",
            f"scanner 'bad_setup' ([[scanners]][3]) raised in setup: RuntimeError: no setup "
            f"today; disabled for the rest of {d}"])
    assert coordinator.session_data.errors == docs[AUG[-1]]["errors"]
    for day in AUG:
        assert dumps(docs[day]["symbols"]) == dumps({"AAPL": aug_full[day]["symbols"]["AAPL"]})


def test_a_disabled_scanner_no_longer_stops_the_clock(harness):
    m = manager(harness, {"name": "boom", "params": {"fail_at": 1}, "every": "1h"})
    day = AUG[1]
    m.setup(day)
    sd = SessionData()
    assert m.next_time(ns(day, 9, 30)) == ns(day, 10, 30)
    assert m.run_due(ns(day, 10, 30), sd) == []
    assert m.next_time(ns(day, 10, 30)) is None and len(sd.errors) == 1
    m.teardown()
    m.setup(AUG[2])
    assert m.next_time(ns(AUG[2], 9, 30)) == ns(AUG[2], 10, 30)


def test_an_error_in_teardown_is_recorded_too(harness):
    m = manager(harness, {"name": "bad_teardown"})
    m.setup(AUG[1])
    sd = SessionData()
    assert m.run_due(ns(AUG[1], 9, 30), sd) == [] and sd.errors == []
    m.teardown()
    assert sd.errors == ["scanner 'bad_teardown' ([[scanners]][0]) raised in teardown: "
                         "KeyError: 'gone'"]


# --- parameter and name errors ------------------------------------------------------------


@pytest.mark.parametrize(("entry", "message"), [
    ({"name": "gap", "params": {"treshold": 1}},
     "session.toml: [[scanners]][0]: scanner 'gap' has no param 'treshold' (did you mean "
     "'threshold'?); valid params: direction, max_symbols, remove, threshold"),
    ({"name": "gap", "params": {"direction": "sideways"}},
     "session.toml: [[scanners]][0]: scanner 'gap' param 'direction': expected 'up', 'down' or "
     "'both', got 'sideways'; valid params: direction, max_symbols, remove, threshold"),
    ({"name": "gap", "params": {"threshold": "2"}},
     "session.toml: [[scanners]][0]: scanner 'gap' param 'threshold': expected a number >= 0, "
     "got '2'; valid params: direction, max_symbols, remove, threshold"),
    ({"name": "gap", "params": {"threshold": -1.5}},
     "session.toml: [[scanners]][0]: scanner 'gap' param 'threshold': expected a number >= 0, "
     "got -1.5; valid params: direction, max_symbols, remove, threshold"),
    ({"name": "gap", "params": {"max_symbols": 0}},
     "session.toml: [[scanners]][0]: scanner 'gap' param 'max_symbols': expected a whole number "
     ">= 1, got 0; valid params: direction, max_symbols, remove, threshold"),
    ({"name": "gap", "params": {"remove": "yes"}},
     "session.toml: [[scanners]][0]: scanner 'gap' param 'remove': expected true or false, got "
     "'yes'; valid params: direction, max_symbols, remove, threshold"),
    ({"name": "volume_surge", "params": {"factor": 0}},
     "session.toml: [[scanners]][0]: scanner 'volume_surge' param 'factor': expected a number > "
     "0, got 0; valid params: factor, lookback, min_days, remove, window"),
    ({"name": "volume_surge", "params": {"window": 2.5}},
     "session.toml: [[scanners]][0]: scanner 'volume_surge' param 'window': expected a whole "
     "number >= 1, got 2.5; valid params: factor, lookback, min_days, remove, window"),
    ({"name": "gap", "every": "1d"},
     "session.toml: [[scanners]][0] every: expected an intraday interval like \"5m\", got '1d'"),
])
def test_bad_params_are_one_line_config_errors(harness, entry, message):
    with pytest.raises(ConfigError) as info:
        manager(harness, entry)
    assert str(info.value) == message


def test_an_unknown_scanner_is_a_one_line_error_naming_the_available_ones(harness):
    with pytest.raises(PluginError) as info:
        manager(harness, {"name": "recorder"}, {"name": "gapp"})
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith("session.toml: [[scanners]][1] name: unknown scanner 'gapp' (did you "
                           "mean 'gap'?); available: ")
    assert re.search(r"available: [a-z_, ]*\bgap\b[a-z_, ]*\bvolume_surge\b", text)


def test_valid_params_are_converted_and_defaulted(harness):
    m = manager(harness, {"name": "gap", "params": {"threshold": 3, "direction": "up"}},
                {"name": "volume_surge", "params": {"factor": 2, "window": 15.0}})
    g, v = (e.scanner for e in m.entries)
    assert (g.threshold, g.direction, g.max_symbols, g.remove) == (3.0, "up", None, False)
    assert isinstance(g.threshold, float)
    assert (v.factor, v.window, v.lookback, v.min_days, v.remove) == (2.0, 15, 10, 1, False)
    assert parse_params("x", {"n": Param(None, int, minimum=1)}, {"n": None}) == {"n": None}


def test_the_command_line_reports_a_bad_param_in_one_line(harness, tmp_path, aug):
    session = tmp_path / "session.toml"
    session.write_text(f"""
[session]
start = 2021-08-23
end = 2021-08-23

[data]
source = "csv"
path = "{aug}"

[symbols]
list = ["AAPL"]

[[scanners]]
name = "gap"
params = {{ thresold = 1.0 }}
""")
    result = harness.invoke(["backtest", str(session), "--quiet"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"Error: {session}: [[scanners]][0]: scanner 'gap' has no param 'thresold' (did you mean "
        "'threshold'?); valid params: direction, max_symbols, remove, threshold"]


def test_scan_results_are_normalised_and_checked():
    assert ScanResult(["aapl ", "MSFT", "AAPL"], ["tsla"]) == ScanResult(("AAPL", "MSFT"),
                                                                        ("TSLA",))
    assert ScanResult.of(None) == ScanResult()
    assert ScanResult.of((["x"], [])) == ScanResult(("X",))
    for bad in ("AAPL", ["A", "B", "C"], 3):
        with pytest.raises(TypeError):
            ScanResult.of(bad)
    with pytest.raises(TypeError):
        ScanResult(["not a symbol!"])
    assert issubclass(ConfigError, UserError)
