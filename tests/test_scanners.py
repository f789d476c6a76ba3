"""Scanners: the schedule, stopping the clock at scan times, isolation of a failing scanner,
parameter errors, and the built-in `gap` and `volume_surge` scanners — on real minute data
(checked against an independent reading of the CSV files) and on universes whose gaps and
volumes the tests control."""

from __future__ import annotations

import csv
import datetime
import functools
import itertools
import json
import re
import shutil
import types
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera import hookimpl
from mismartera.bars import Bars
from mismartera.config import ScannerSpec, SessionConfig
from mismartera.errors import ConfigError, PluginError, UserError
from mismartera.export import snapshot
from mismartera.intervals import Interval
from mismartera.plugins.scanners import gap, volume_surge
from mismartera.session.coordinator import SessionCoordinator
from mismartera.session.data import SessionData, SymbolSessionData
from mismartera.session.scanner import (
    ClosedBarsSource,
    DayCache,
    Param,
    ScanContext,
    Scanner,
    ScannerManager,
    ScanResult,
    parse_params,
    scan_times,
)
from tests.engine_helpers import CALENDAR, dumps, plugins

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "minute"
if not DATA.exists():
    DATA = Path("/work/shared/data/minute")
DOC = Path(__file__).resolve().parents[1] / "docs" / "scanners.md"
NY = ZoneInfo("America/New_York")
I1M = Interval.parse("1m")
MIN = 60_000_000_000
AUG = [datetime.date(2021, 8, 23), datetime.date(2021, 8, 24), datetime.date(2021, 8, 25)]
NOV = [datetime.date(2014, 11, d) for d in (19, 20, 21, 24, 25, 26, 28)] + [
    datetime.date(2014, 12, d) for d in (1, 2, 3)]


# --- independent helpers ----------------------------------------------------------------------


def ns(day: datetime.date, hh: int, mm: int, ss: int = 0) -> int:
    """A New York wall time as ns UTC, computed with zoneinfo (not the calendar under test)."""
    return int(datetime.datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=NY)
               .timestamp()) * 1_000_000_000


def close_of(day: datetime.date) -> datetime.time:
    return datetime.time(13, 0) if day == datetime.date(2014, 11, 28) else datetime.time(16, 0)


def session_of(day: datetime.date) -> tuple[int, int]:
    c = close_of(day)
    return ns(day, 9, 30), ns(day, c.hour, c.minute)


@functools.cache
def read_rows(path: Path) -> list[tuple[datetime.datetime, float, float, float]]:
    """(start, open, close, volume) of each row of a CSV file."""
    with path.open(newline="") as fh:
        return [(datetime.datetime.fromisoformat(r["timestamp"]), float(r["open"]),
                 float(r["close"]), float(r["volume"])) for r in csv.DictReader(fh)]


def regular(rows, day):
    """The rows of `day` inside its regular session."""
    return [r for r in rows
            if r[0].date() == day and datetime.time(9, 30) <= r[0].time() < close_of(day)]


# --- plugins and runs -------------------------------------------------------------------------


def with_builtins(harness):
    """The harness's manager with the built-in scanners (unless DEFAULT_PLUGINS has them)."""
    for module, name in ((gap, "gap"), (volume_surge, "volume_surge")):
        if name not in harness.manager.registered("scanner"):
            harness.register(module)
    return harness.manager


class Events:
    """Records symbol_added / symbol_removed with the clock time they happened at."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, int]] = []

    @hookimpl
    def symbol_added(self, session_data, symbol):
        self.log.append(("add", symbol, session_data.now_ns))

    @hookimpl
    def symbol_removed(self, session_data, symbol):
        self.log.append(("remove", symbol, session_data.now_ns))


def config(folder: Path, symbols, start, end, scanners=()) -> SessionConfig:
    data = {
        "session": {"start": str(start), "end": str(end)},
        "data": {"source": "csv", "path": str(folder)},
        "symbols": {"list": list(symbols)},
        "streams": {"intervals": ["1m", "5m", "15m"]},
        "historical": {"trailing_days": 1},
        "scanners": list(scanners),
    }
    return SessionConfig.from_dict(data, origin="session.toml")


def run(harness, cfg: SessionConfig):
    """Run; returns (coordinator, {day: export}, symbol events after start-up). With no
    harness, the built-in plugins only and no events."""
    events = Events()
    if harness is not None:
        harness.register(events, name=f"events-{id(events)}")
    docs = {}
    coordinator = SessionCoordinator(cfg, plugins=harness.manager if harness else plugins(),
                                     calendar=CALENDAR)

    def on_day_end(coord, day):
        docs[day] = json.loads(dumps(snapshot(coord.session_data, coord.calendar)[0]))

    coordinator.run(on_day_end=on_day_end)
    first_open = session_of(coordinator.days[0])[0]
    log = [e for e in events.log if not (e[0] == "add" and e[2] == first_open
                                          and e[1] in cfg.symbols)]
    return coordinator, docs, log


@pytest.fixture(scope="module")
def aug(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("aug2021")
    for sym in ("AAPL", "MSFT", "TSLA"):
        shutil.copy(DATA / f"{sym}_2021-08.csv", folder / f"{sym}_2021-08.csv")
    return folder


@pytest.fixture(scope="module")
def nov(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("nov2014")
    for sym in ("SPY", "AAPL"):
        shutil.copy(DATA / f"{sym}_2014-11.csv", folder / f"{sym}_2014-11.csv")
    return folder


@pytest.fixture(scope="module")
def aug_full(aug):
    """A run that had all three symbols from the start, no scanners."""
    _, docs, _ = run(None, config(aug, ["AAPL", "MSFT", "TSLA"], AUG[0], AUG[-1]))
    return docs


# --- test scanners ------------------------------------------------------------------------------


class Recorder(Scanner):
    """Records what it sees at each run."""

    params: ClassVar[dict[str, Param]] = {"symbol": Param("AAPL", str)}

    def __init__(self, **values) -> None:
        super().__init__(**values)
        self.log: list[tuple[int, int, int | None]] = []

    def scan(self, ctx: ScanContext) -> ScanResult:
        data = ctx.session_data.get(self.symbol)
        ts = data.base.bars().ts if data is not None else np.empty(0, np.int64)
        self.log.append((ctx.now_ns, ctx.session_data.now_ns, int(ts[-1]) if len(ts) else None))
        return ScanResult()


class Boom(Recorder):
    """Raises at its `fail_at`-th run of each day."""

    params: ClassVar[dict[str, Param]] = {"fail_at": Param(2, int, minimum=1)}

    def setup(self, session_date):
        self.today = 0

    def scan(self, ctx):
        self.today += 1
        self.log.append((ctx.now_ns, 0, None))
        if self.today == self.fail_at:
            raise ValueError("boom\nsecond line")
        return ScanResult()


class Garbage(Scanner):
    def scan(self, ctx):
        return "AAPL"


class BadSetup(Recorder):
    def setup(self, session_date):
        raise RuntimeError("no setup today")


class BadTeardown(Recorder):
    def teardown(self):
        raise KeyError("gone")


class Adder(Scanner):
    """Adds and removes fixed symbols: for the manager's bookkeeping."""

    params: ClassVar[dict[str, Param]] = {
        "add": Param(None, str, help="comma-separated symbols"),
        "remove": Param(None, str, help="comma-separated symbols"),
    }

    def scan(self, ctx):
        return ScanResult(tuple(self.add.split(",")) if self.add else (),
                          tuple(self.remove.split(",")) if self.remove else ())


class ScannersForTests:
    @staticmethod
    @hookimpl
    def register_scanners(register):
        register("recorder", Recorder, description="records its runs")
        register("boom", Boom, description="raises")
        register("garbage", Garbage)
        register("bad_setup", BadSetup)
        register("bad_teardown", BadTeardown)
        register("adder", Adder)


@pytest.fixture
def harness(mismartera_plugins):
    with_builtins(mismartera_plugins)
    mismartera_plugins.register(ScannersForTests, name="test-scanners")
    return mismartera_plugins


# --- the schedule --------------------------------------------------------------------------


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


def manager(harness, *scanners, source=None) -> ScannerManager:
    cfg = SessionConfig.from_dict({"session": {"start": "2021-08-23", "end": "2021-08-25"},
                                   "data": {"source": "synthetic"},
                                   "symbols": {"list": ["SYN0"]},
                                   "scanners": list(scanners)}, origin="session.toml")
    m = ScannerManager(cfg, harness.manager, CALENDAR, source or MemorySource({}))
    m.validate()
    return m


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
    sd.date = day
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


def test_the_clock_stops_exactly_at_every_scan_time(harness, aug, aug_full):
    scanners = [{"name": "recorder", "every": "30m", "at": ["09:00", "09:31", "12:07"]}]
    coordinator, docs, _ = run(harness, config(aug, ["AAPL"], AUG[0], AUG[-1], scanners))
    log = coordinator.scanners.entries[0].scanner.log
    expected = []
    for day in AUG:
        times = {ns(day, 9, 30), ns(day, 9, 31), ns(day, 12, 7)}
        times.update(ns(day, 9, 30) + k * 30 * MIN for k in range(1, 13))
        expected += sorted(times)
    assert [now for now, _, _ in log] == expected
    rows = read_rows(DATA / "AAPL_2021-08.csv")
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
    errors = coordinator.session_data.errors
    assert all("\n" not in e for e in errors)
    for d in AUG:
        assert (f"scanner 'boom' ([[scanners]][0]) raised at {d} 11:30:00: ValueError: boom; "
                f"disabled for the rest of {d}") in errors
        assert (f"scanner 'garbage' ([[scanners]][2]) raised at {d} 12:00:00: TypeError: scan() "
                f"must return a ScanResult or an (add, remove) pair, got str; disabled for the "
                f"rest of {d}") in errors
        assert (f"scanner 'bad_setup' ([[scanners]][3]) raised in setup: RuntimeError: no setup "
                f"today; disabled for the rest of {d}") in errors
    assert len(errors) == 9
    assert docs[AUG[-1]]["errors"] == errors  # in the export too
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


# --- gap on real data ---------------------------------------------------------------------


def expected_gaps(files: dict[str, Path], days, threshold: float) -> dict:
    """{day: {symbol: move %}} of the symbols whose first regular bar's open moved beyond
    `threshold` percent from the last regular bar's close of the day before (the previous
    day in the files, which are consecutive sessions), read with the csv module."""
    out: dict = {d: {} for d in days}
    for sym, path in files.items():
        rows = read_rows(path)
        for prev, day in itertools.pairwise(days):
            before, today = regular(rows, prev), regular(rows, day)
            if before and today:
                close, first = before[-1][2], today[0][1]
                move = (first - close) / close * 100
                if abs(move) > threshold:
                    out[day][sym] = move
    return out


def test_gap_adds_the_expected_symbols_on_real_data(harness, aug, aug_full):
    files = {s: DATA / f"{s}_2021-08.csv" for s in ("AAPL", "MSFT", "TSLA")}
    want = expected_gaps(files, AUG, 0.5)
    assert want == {AUG[0]: {}, AUG[1]: {"TSLA": pytest.approx(0.637, abs=1e-3)},
                    AUG[2]: {"MSFT": pytest.approx(0.558, abs=1e-3)}}
    scanners = [{"name": "gap", "params": {"threshold": 0.5}, "at": ["09:31"]}]
    _, docs, log = run(harness, config(aug, ["AAPL"], AUG[0], AUG[-1], scanners))
    assert log == [("add", sym, ns(day, 9, 31)) for day in AUG for sym in sorted(want[day])
                   if sym != "AAPL"]
    assert sorted(docs[AUG[1]]["symbols"]) == ["AAPL", "TSLA"]
    assert sorted(docs[AUG[2]]["symbols"]) == ["AAPL", "MSFT", "TSLA"]
    # an added symbol's record equals that of a run that had it from the start
    for day, syms in ((AUG[1], ["AAPL", "TSLA"]), (AUG[2], ["AAPL", "MSFT", "TSLA"])):
        for sym in syms:
            got, full = docs[day]["symbols"][sym], aug_full[day]["symbols"][sym]
            assert got["bars"]["1m"]["data"] and got["historical"]["days"]
            assert dumps(got) == dumps(full)
    # deterministic: the same run again gives byte-identical exports
    _, again, _ = run(harness, config(aug, ["AAPL"], AUG[0], AUG[-1], scanners))
    assert [dumps(again[d]) for d in AUG] == [dumps(docs[d]) for d in AUG]


def test_gap_removes_symbols_that_no_longer_qualify_across_an_early_close(harness, nov):
    """SPY gaps beyond 0.3% on 11-20, 11-21 and 12-01 — the last one against the 13:00 close
    of the 11-28 early close, not the after-hours bars that follow it in the file."""
    spy = DATA / "SPY_2014-11.csv"
    want = expected_gaps({"SPY": spy}, NOV, 0.3)
    assert {d for d, hit in want.items() if hit} == {datetime.date(2014, 11, 20),
                                                     datetime.date(2014, 11, 21),
                                                     datetime.date(2014, 12, 1)}
    rows = read_rows(spy)  # the last row of 11-28 is after the close and would not qualify
    last = [r for r in rows if r[0].date() == datetime.date(2014, 11, 28)][-1]
    assert abs((regular(rows, datetime.date(2014, 12, 1))[0][1] - last[2]) / last[2]) < 0.003
    scanners = [{"name": "gap", "params": {"threshold": 0.3, "remove": True},
                 "at": ["09:31"], "universe": ["SPY"]}]
    _, docs, log = run(harness, config(nov, ["AAPL"], NOV[0], NOV[-1], scanners))
    expected, present = [], False
    for day in NOV[1:]:
        if bool(want[day]) != present:
            present = not present
            expected.append(("add" if present else "remove", "SPY", ns(day, 9, 31)))
    assert log == expected
    assert [d for d in NOV if "SPY" in docs[d]["symbols"]] == [
        datetime.date(2014, 11, 20), datetime.date(2014, 11, 21), datetime.date(2014, 12, 1)]
    assert all("AAPL" in docs[d]["symbols"] for d in NOV)  # configured symbols stay


def test_gap_before_the_open_uses_the_last_pre_market_price_on_real_data(tmp_path):
    """SPY_2011-01 has pre-market bars: at the open, the last one's close vs the previous
    regular close; without pre-market bars there is no verdict."""
    shutil.copy(DATA / "SPY_2011-01.csv", tmp_path / "SPY_2011-01.csv")
    from mismartera.plugins.sources.csv import CsvSource

    source = CsvSource(path=str(tmp_path))
    rows = read_rows(tmp_path / "SPY_2011-01.csv")
    days = sorted({r[0].date() for r in rows})
    hits = 0
    for prev, day in itertools.pairwise(days):
        open_ns = ns(day, 9, 30)
        pre = [r for r in rows if r[0].date() == day and r[0].time() < datetime.time(9, 30)]
        close = regular(rows, prev)[-1][2]
        move = (pre[-1][2] - close) / close * 100
        scanner = gap.GapScanner(**parse_params("gap", gap.GapScanner.params,
                                                {"threshold": 0.25}))
        scanner.setup(day)
        ctx = context(source, day, open_ns, ["SPY"])
        result = scanner.scan(ctx)
        assert result.add == (("SPY",) if abs(move) > 0.25 else ())
        hits += bool(result.add)
        # a minute later the first session bar has not closed: still the pre-market price
        assert scanner.scan(context(source, day, open_ns + MIN - 1, ["SPY"])).add == result.add
    assert 0 < hits < len(days) - 1


# --- volume_surge on real data -------------------------------------------------------------


def surge_reference(files, day, now, window, factor):
    """(judged, qualifying) at `now` on `day`, from the CSV files: window volume of today vs
    factor x the mean over the earlier days in the files (all inside the lookback, all full
    sessions)."""
    judged, hits = [], []
    open_ns = ns(day, 9, 30)
    end = (now - open_ns) // MIN
    start = max(0, end - window)
    for sym, path in files.items():
        rows = read_rows(path)
        trailing = [d for d in AUG if d < day]
        if not trailing or end <= start:
            continue

        def volume(d, rows=rows):
            o = ns(d, 9, 30)
            return sum(v for t, _, _, v in regular(rows, d)
                       if start <= (ns(d, t.hour, t.minute) - o) // MIN < end)

        avg = sum(volume(d) for d in trailing) / len(trailing)
        judged.append(sym)
        if volume(day) > factor * avg:
            hits.append(sym)
    return judged, hits


@pytest.mark.parametrize("remove", [False, True])
def test_volume_surge_adds_the_expected_symbols_on_real_data(harness, aug, aug_full, remove):
    files = {s: DATA / f"{s}_2021-08.csv" for s in ("AAPL", "MSFT", "TSLA")}
    scanners = [{"name": "volume_surge", "every": "15m",
                 "params": {"factor": 2.0, "window": 15, "remove": remove}}]
    _, docs, log = run(harness, config(aug, ["AAPL"], AUG[0], AUG[-1], scanners))
    expected, present, added = [], {"AAPL"}, set()
    for day in AUG:
        for k in range(1, 26):
            now = ns(day, 9, 30) + k * 15 * MIN
            judged, hits = surge_reference(files, day, now, 15, 2.0)
            if remove:
                for sym in sorted(added):
                    if sym in judged and sym not in hits:
                        expected.append(("remove", sym, now))
                        present.discard(sym)
                        added.discard(sym)
            for sym in hits:
                if sym not in present:
                    expected.append(("add", sym, now))
                    present.add(sym)
                    added.add(sym)
    assert [e for e in expected if e[0] == "add"][:2] == [("add", "MSFT", ns(AUG[2], 13, 30)),
                                                         ("add", "TSLA", ns(AUG[2], 13, 45))]
    assert (len(expected) > 2) == remove
    def order(event):  # at one time: removals, then additions
        return event[2], event[0] == "add", event[1]

    assert sorted(log, key=order) == sorted(expected, key=order)
    if not remove:
        for sym in ("MSFT", "TSLA"):
            assert dumps(docs[AUG[2]]["symbols"][sym]) == dumps(aug_full[AUG[2]]["symbols"][sym])


# --- controlled universes --------------------------------------------------------------------


class MemorySource:
    """Bars held in memory, one interval per symbol."""

    name = "memory"

    def __init__(self, bars: dict[str, Bars], interval: Interval = I1M) -> None:
        self._bars, self.interval = bars, interval
        self.calls: list[tuple[str, int, int]] = []

    def symbols(self):
        return sorted(self._bars)

    def intervals(self, symbol):
        return [self.interval] if symbol in self._bars else []

    def bars(self, symbol, interval, start_ns, end_ns):
        self.calls.append((symbol, start_ns, end_ns))
        if symbol not in self._bars or interval != self.interval:
            return Bars.empty()
        return self._bars[symbol].between(start_ns, end_ns)


def make_bars(rows: list[tuple[int, float, float, float, float, float]]) -> Bars:
    rows = sorted(rows)
    return Bars.from_arrays(*zip(*rows, strict=True)) if rows else Bars.empty()


def flat(ts: int, price: float, volume: float = 100.0):
    return (ts, price, price, price, price, volume)


def opened(ts: int, open_: float, close: float, volume: float = 100.0):
    return (ts, open_, max(open_, close), min(open_, close), close, volume)


def day_cache(source, day) -> DayCache:
    return DayCache(source, ns(day, 0, 0), ns(day + datetime.timedelta(days=1), 0, 0),
                    *session_of(day))


def context(source, day, now, universe, in_session=(), added=(), cached=False) -> ScanContext:
    """What the manager gives a scan; `cached` as in a backtest (the day read once), else as
    in a live session (every read goes to the source)."""
    open_ns, close_ns = CALENDAR.session(day)
    sd = SessionData()
    for sym in in_session:
        sd.register(SymbolSessionData(sym, I1M, [I1M], {I1M: 4}))
    view = ClosedBarsSource(source, now, CALENDAR, close_ns,
                            day_cache(source, day) if cached else None)
    return ScanContext(scanner="test", date=day, now_ns=now, open_ns=open_ns, close_ns=close_ns,
                       calendar=CALENDAR, source=view, session_data=sd,
                       universe=tuple(universe), added=frozenset(added))


PREV, DAY = datetime.date(2024, 3, 7), datetime.date(2024, 3, 8)


def gap_universe() -> MemorySource:
    """Previous regular close 100 unless said otherwise; today's first bars vary."""
    p_open, p_close = session_of(PREV)
    d_open = ns(DAY, 9, 30)

    def prev(close=100.0):
        return [flat(p_open, 99.0), flat(p_close - 2 * MIN, 98.0), flat(p_close - MIN, close)]

    invalid_last = (p_close - MIN, 100.0, 90.0, 110.0, 100.0, 1.0)  # high < low
    d_pre, d_after = ns(DAY, 9, 0), ns(PREV, 16, 30)
    return MemorySource({
        "UP3": make_bars([*prev(), opened(d_open, 103.0, 90.0), flat(d_open + MIN, 500.0)]),
        "DN3": make_bars([*prev(), opened(d_open, 97.0, 97.5)]),
        "UP1": make_bars([*prev(), opened(d_open, 101.0, 101.0)]),
        "EDGE": make_bars([*prev(), opened(d_open, 102.0, 102.0)]),  # exactly 2%: not beyond
        "LATE": make_bars([*prev(), opened(d_open + 3 * MIN, 105.0, 105.0)]),  # 09:30-32 missing
        "NOPREV": make_bars([flat(ns(datetime.date(2024, 3, 6), 15, 59), 100.0),
                             opened(d_open, 110.0, 110.0)]),
        # +3.5% from the regular close; +0.49% from the after-hours bar, which is ignored
        "AFTER": make_bars([*prev(), flat(d_after, 103.0), opened(d_open, 103.5, 103.5)]),
        # the last bar is invalid: +3.57% from the 15:58 close 98 (+1.5% from the invalid one)
        "BADLAST": make_bars([*prev()[:2], invalid_last, opened(d_open, 101.5, 101.5)]),
        # pre-market +10% then -10%, then opens +0.5%
        "PRE": make_bars([*prev(), flat(d_pre, 110.0), flat(d_open - MIN, 90.0),
                          opened(d_open, 100.5, 100.5)]),
        # a misaligned bar (+50%) is not the first bar: the 09:31 bar is (0%)
        "MISALIGNED": make_bars([*prev(), opened(d_open + MIN // 2, 150.0, 150.0),
                                 opened(d_open + MIN, 100.0, 100.0)]),
    })


@pytest.mark.parametrize("cached", [False, True])
def test_gap_on_a_universe_with_controlled_gaps(cached):
    source = gap_universe()
    universe = source.symbols()

    def scan(now, added=(), in_session=(), **params):
        scanner = gap.GapScanner(**parse_params("gap", gap.GapScanner.params, params))
        scanner.setup(DAY)
        return scanner.scan(context(source, DAY, now, universe, in_session, added, cached))

    at_0931 = ns(DAY, 9, 31)
    big = ("BADLAST", "AFTER", "DN3", "UP3")  # largest |move| first, ties by symbol
    assert scan(at_0931).add == big
    assert scan(at_0931, direction="up").add == ("BADLAST", "AFTER", "UP3")
    assert scan(at_0931, direction="down").add == ("DN3",)
    assert scan(at_0931, threshold=0.75).add == (*big, "EDGE", "UP1")  # PRE is +0.5%
    assert scan(at_0931, threshold=1.99).add == (*big, "EDGE")
    assert scan(at_0931, max_symbols=3).add == ("BADLAST", "AFTER", "DN3")
    # symbols already in the session count towards max_symbols but are not added again
    assert scan(at_0931, max_symbols=3, in_session=["AFTER"]).add == ("BADLAST", "DN3")
    # the first bar present (09:33) is used once it has closed, never before
    assert scan(ns(DAY, 9, 34) - 1).add == big
    assert scan(ns(DAY, 9, 34)).add == ("LATE", *big)
    assert scan(ns(DAY, 9, 32), threshold=10.0).add == ()  # MISALIGNED's 150 is not used
    # at the open only pre-market prices are known: PRE's last one is -10%
    assert scan(ns(DAY, 9, 30)).add == ("PRE",)
    assert scan(ns(DAY, 9, 30), direction="up").add == ()
    # a nanosecond earlier the 09:29 bar has not closed: 09:00's +10% is the last price
    assert scan(ns(DAY, 9, 30) - 1, direction="up", threshold=9.99).add == ("PRE",)
    # after the open PRE moved +0.5% only: removed when this entry added it
    result = scan(at_0931, added=["PRE", "DN3", "NOPREV"], in_session=["PRE", "DN3", "NOPREV"],
                  remove=True)
    assert result == ScanResult(("BADLAST", "AFTER", "UP3"), ("PRE",))  # NOPREV: no verdict
    assert scan(at_0931, added=["PRE"], in_session=["PRE"]).remove == ()  # remove = false


def test_gap_never_reads_a_bar_that_has_not_closed():
    source = gap_universe()
    scanner = gap.GapScanner(**parse_params("gap", gap.GapScanner.params, {}))
    scanner.setup(DAY)
    now = ns(DAY, 9, 31)
    scanner.scan(context(source, DAY, now, source.symbols()))
    assert source.calls and all(end <= now - MIN + 1 for _, _, end in source.calls)


@given(st.lists(st.tuples(st.none() | st.integers(50, 150),  # previous close
                          st.none() | st.integers(0, 3),  # first session bar's minute
                          st.integers(50, 150),  # its open
                          st.none() | st.integers(50, 150),  # pre-market close at 09:10
                          st.booleans(), st.booleans()),  # in session, added by this entry
                min_size=1, max_size=5),
       st.integers(0, 4), st.sampled_from([0.0, 0.5, 2.0, 10.0, 33.3]),
       st.sampled_from(["up", "down", "both"]), st.none() | st.integers(1, 3), st.booleans(),
       st.booleans())
def test_gap_matches_a_reference_on_random_universes(specs, minute, threshold, direction,
                                                     max_symbols, remove, cached):
    p_close = session_of(PREV)[1]
    d_open = ns(DAY, 9, 30)
    now = d_open + minute * MIN
    bars, moves, in_session, added = {}, {}, [], []
    for k, (prev, first, open_, pre, present, mine) in enumerate(specs):
        sym = f"S{k}"
        rows = [] if prev is None else [flat(p_close - MIN, float(prev))]
        if first is not None:
            rows.append(opened(d_open + first * MIN, float(open_), float(open_)))
        if pre is not None:
            rows.append(flat(ns(DAY, 9, 10), float(pre)))
        bars[sym] = make_bars(rows)
        price = (float(open_) if first is not None and first + 1 <= minute
                 else None if pre is None else float(pre))
        if prev is not None and price is not None:
            moves[sym] = (price - prev) / prev * 100
        if present:
            in_session.append(sym)
            if mine:
                added.append(sym)
    hit = {s: m for s, m in moves.items()
           if (m > threshold if direction == "up" else m < -threshold if direction == "down"
               else abs(m) > threshold)}
    chosen = sorted(hit, key=lambda s: (-abs(hit[s]), s))[:max_symbols]
    scanner = gap.GapScanner(threshold=threshold, direction=direction, max_symbols=max_symbols,
                             remove=remove)
    scanner.setup(DAY)
    result = scanner.scan(context(MemorySource(bars), DAY, now, sorted(bars), in_session, added,
                                  cached))
    assert result.add == tuple(s for s in chosen if s not in in_session)
    assert result.remove == (tuple(sorted(s for s in added if s in moves and s not in chosen))
                             if remove else ())


# volume_surge: today 2014-12-01; lookback 3 = 11-25, 11-26 and 11-28 (closes 13:00)
VDAY = datetime.date(2014, 12, 1)
VTRAIL = [datetime.date(2014, 11, 25), datetime.date(2014, 11, 26), datetime.date(2014, 11, 28)]


def minutes(day, volumes: dict[int, float]):
    """Bars at minute offsets from the open with the given volumes."""
    o = ns(day, 9, 30)
    return [flat(o + m * MIN, 10.0, v) for m, v in volumes.items()]


def every_minute(day, volume, last=390):
    return minutes(day, dict.fromkeys(range(min(last, (session_of(day)[1] - ns(day, 9, 30))
                                                // MIN)), volume))


def surge_universe() -> MemorySource:
    def trailing(v25, v26, v28):
        return (every_minute(VTRAIL[0], v25) + every_minute(VTRAIL[1], v26)
                + every_minute(VTRAIL[2], v28))

    return MemorySource({
        "A301": make_bars(trailing(100, 100, 100) + every_minute(VDAY, 301)),
        "B300": make_bars(trailing(100, 100, 100) + every_minute(VDAY, 300)),
        "EARLY": make_bars(trailing(100, 100, 1000) + every_minute(VDAY, 301)),
        "MISSDAY": make_bars(every_minute(VTRAIL[1], 100) + every_minute(VTRAIL[2], 100)
                             + every_minute(VDAY, 301)),
        "HOLES": make_bars(trailing(100, 100, 100)
                           + minutes(VDAY, {m: 1000.0 for m in range(0, 390, 2)})),
        "NODATA": make_bars(every_minute(VDAY, 10_000)),
    })


def surge_scanner(**params) -> volume_surge.VolumeSurgeScanner:
    scanner = volume_surge.VolumeSurgeScanner(**parse_params(
        "volume_surge", volume_surge.VolumeSurgeScanner.params, {"lookback": 3, **params}))
    scanner.setup(VDAY)
    return scanner


@pytest.mark.parametrize("cached", [False, True])
def test_volume_surge_on_a_universe_with_controlled_volumes(cached):
    source = surge_universe()

    def surge(now, added=(), in_session=(), **params):
        ctx = context(source, VDAY, now, source.symbols(), in_session, added, cached)
        return surge_scanner(**params).scan(ctx)

    # 10:00, window 5 = slots 25-29: A301 1505 > 3 x 500; B300 1500 is not; EARLY's trailing
    # mean is 2000 (11-28 counts: its session covers the window); MISSDAY averages the two
    # days it has; HOLES has bars at 26 and 28 only (2000, missing bars count 0); NODATA has no
    # trailing day: no verdict. Strongest surge first, ties by symbol.
    assert surge(ns(VDAY, 10, 0)).add == ("HOLES", "A301", "MISSDAY")
    # 14:00: 11-28 closed at 13:00 and leaves the average, so EARLY qualifies now
    assert surge(ns(VDAY, 14, 0)).add == ("HOLES", "A301", "EARLY", "MISSDAY")
    assert surge(ns(VDAY, 10, 0), min_days=3).add == ("HOLES", "A301")
    assert surge(ns(VDAY, 14, 0), min_days=3).add == ()  # only two days cover 14:00
    assert surge(ns(VDAY, 10, 0), factor=3.5).add == ("HOLES",)
    # at the open nothing has closed; at 09:32 the window is the 2 bars since the open
    assert surge(ns(VDAY, 9, 30)).add == ()
    assert surge(ns(VDAY, 9, 32)).add == ("HOLES", "A301", "MISSDAY")
    assert surge(ns(VDAY, 9, 33) - 1, window=1).add == ()  # no whole closed bar in the window
    assert surge(ns(VDAY, 9, 33), window=1).add == ("HOLES", "A301", "MISSDAY")
    assert surge(ns(VDAY, 9, 34), window=1).add == ("A301", "MISSDAY")  # HOLES: no 09:33 bar
    result = surge(ns(VDAY, 10, 0), added=["B300", "NODATA"],
                   in_session=["B300", "NODATA", "A301"], remove=True)
    assert result == ScanResult(("HOLES", "MISSDAY"), ("B300",))


@pytest.mark.parametrize("cached", [False, True])
def test_volume_surge_scanning_all_day_equals_fresh_scans(cached):
    """One scanner reads today's bars a little at each scan; its answers equal those of a new
    scanner at each time (which reads everything at once)."""
    source = surge_universe()
    scanner = surge_scanner(window=3)
    for k in range(0, 390, 7):
        now = ns(VDAY, 9, 30) + k * MIN + (k % 3)
        ctx = context(source, VDAY, now, source.symbols(), cached=cached)
        assert scanner.surges(ctx) == surge_scanner(window=3).surges(ctx)


def test_the_scanner_doc_example_runs(harness, aug):
    text = DOC.read_text()
    code = re.search(r"## Writing a scanner.*?```python\n(.*?)```", text, re.S)
    assert code
    module = types.ModuleType("scanner_doc_example")
    exec(compile(code.group(1), "docs/scanners.md", "exec"), module.__dict__)
    harness.register(module, name="doc-example")
    scanners = [{"name": "high_volume_open", "params": {"min_volume": 1_000_000},
                 "at": ["09:31"]}]
    _, docs, log = run(harness, config(aug, ["MSFT"], AUG[0], AUG[-1], scanners))
    assert sorted(docs[AUG[-1]]["symbols"]) == ["AAPL", "MSFT"]
    firsts = {s: [regular(read_rows(DATA / f"{s}_2021-08.csv"), d)[0][3] for d in AUG]
              for s in ("AAPL", "TSLA")}
    assert firsts["AAPL"][0] > 1_000_000 > max(firsts["TSLA"])
    assert log == [("add", "AAPL", ns(AUG[0], 9, 31))]


@given(st.sets(st.integers(-400, 800), max_size=30), st.integers(-420, 820),
       st.integers(-600, 900), st.integers(-600, 1000), st.booleans())
def test_closed_bars_source_hides_bars_that_have_not_closed(offsets, now_min, a, b, cached):
    """Any question, any time: only bars with ts + 1m <= now, as a live source or from the
    backtest day cache (which holds the whole day)."""
    day = AUG[1]
    o = ns(day, 9, 30)
    rows = [flat(o + m * MIN, 10.0) for m in sorted(offsets)]
    source = MemorySource({"X": make_bars(rows)})
    now = o + now_min * MIN + 17
    view = ClosedBarsSource(source, now, CALENDAR, session_of(day)[1],
                            day_cache(source, day) if cached else None)
    start, end = o + a * MIN, o + b * MIN
    got = view.bars("X", I1M, start, end).ts.tolist()
    assert got == [r[0] for r in rows if start <= r[0] < end and r[0] + MIN <= now]
    ctx = context(source, day, now, ["X"], cached=cached)
    assert ctx.today_bars("X").ts.tolist() == [
        r[0] for r in rows if o <= r[0] < session_of(day)[1] and r[0] + MIN <= now]


def test_closed_bars_source_daily_limit_and_the_backtest_cache(harness):
    day = AUG[1]
    source = MemorySource({})
    daily = ClosedBarsSource(source, ns(day, 12, 0), CALENDAR, session_of(day)[1])
    assert daily.limit(Interval.parse("1d")) == ns(day, 0, 0)
    after = ClosedBarsSource(source, session_of(day)[1], CALENDAR, session_of(day)[1])
    assert after.limit(Interval.parse("1d")) == ns(AUG[2], 0, 0)
    m = manager(harness, {"name": "recorder"})
    m.setup(day)
    assert isinstance(m._cache, DayCache)  # a backtest reads each day once
    m.config = types.SimpleNamespace(mode="live", scanners=m.config.scanners)
    m.setup(day)
    assert m._cache is None  # live: the source's day is still growing


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
