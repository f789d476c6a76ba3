"""Live mode end to end: the `replay` source plays real minute data as a live feed and the
live coordinator's record of the day equals the backtest of the same day."""

from __future__ import annotations

import csv
import datetime
import json
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mismartera.bars import Bars
from mismartera.config import SessionConfig
from mismartera.errors import ConfigError
from mismartera.intervals import Interval
from mismartera.session.coordinator import SessionCoordinator
from mismartera.session.live import LiveSessionCoordinator
from mismartera.session.live.clocks import ScaledClock, SimulatedClock, WallClock
from mismartera.session.live.inbound import Inbound
from tests.support.engine import CALENDAR
from tests.support.live import (
    DAY,
    INDICATORS,
    SAMPLE,
    STREAMS,
    assert_same_day,
    backtest_doc,
    feed_threads,
    live_plugins,
    live_run,
    session,
)

MINUTE = 60_000_000_000


def extended_hours(path: Path, day: datetime.date, close: datetime.time) -> tuple[int, int]:
    """(bars before 09:30, bars at or after the close) of `day` in a data file, read with
    the csv module."""
    before = after = 0
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            t = datetime.datetime.fromisoformat(row["timestamp"])
            if t.date() == day:
                before += t.time() < datetime.time(9, 30)
                after += t.time() >= close
    return before, after


# ---------------------------------------------------------------------- equals the backtest


def test_replay_on_a_simulated_clock_equals_the_backtest(shared_data):
    coordinator, doc = live_run(session(DAY, SAMPLE, ["SPY"], live={}))
    want = backtest_doc(session(DAY, SAMPLE, ["SPY"]))
    assert isinstance(coordinator.clock, SimulatedClock)
    assert_same_day(doc, want)
    spy = doc["symbols"]["SPY"]
    assert len(spy["bars"]["1m"]["data"]) == 390 and spy["bars"]["1m"]["quality"] == 100.0
    assert [len(spy["bars"][i]["data"]) for i in STREAMS[1:]] == [78, 26, 13, 7, 1]
    assert all(state["ready"] for state in spy["indicators"].values())
    assert spy["historical"]["days"] == ["2011-01-03", "2011-01-04"]
    before, after = extended_hours(shared_data / "minute" / "SPY_2011-01.csv",
                                   datetime.date(2011, 1, 5), datetime.time(16))
    assert before > 0 and after > 0
    assert doc["rejected"]["outside_session"] == before  # the pre-market bars of the feed
    assert want["rejected"]["outside_session"] == before + after
    assert coordinator.late_bars == 0 and coordinator.gap_filler.requests == 0
    assert doc["session"]["active"] is False and not feed_threads()


def test_replay_of_an_early_close_day_equals_the_backtest(shared_data):
    data = {"source": "csv", "path": str(shared_data / "minute" / "SPY_2014-11.csv")}
    day = "2014-11-28"  # closes at 13:00
    _, doc = live_run(session(day, data, ["SPY"], live={}))
    want = backtest_doc(session(day, data, ["SPY"]))
    assert_same_day(doc, want)
    bars = doc["symbols"]["SPY"]["bars"]
    assert len(bars["1m"]["data"]) == 210
    assert bars["1h"]["data"][-1][0] == "2014-11-28T12:30:00-05:00"  # truncated at the close
    assert len(bars["1d"]["data"]) == 1
    before, after = extended_hours(shared_data / "minute" / "SPY_2014-11.csv",
                                   datetime.date(2014, 11, 28), datetime.time(13))
    assert after == 138
    assert doc["rejected"]["outside_session"] == before
    assert want["rejected"]["outside_session"] == before + after


def test_replay_at_20000x_on_the_wall_clock_equals_the_backtest():
    # 14:30 -> 16:00 at 20000x is about 0.3 s of wall time; what closed before 14:30 is
    # back-filled at subscription
    cfg = session(DAY, SAMPLE, ["SPY"], live={"start_time": "14:30"}, speed=20_000)
    coordinator, doc = live_run(cfg)
    assert isinstance(coordinator.clock, ScaledClock)
    assert coordinator.clock.scale == 20_000
    assert_same_day(doc, backtest_doc(session(DAY, SAMPLE, ["SPY"])))
    assert not feed_threads()


def test_start_time_backfills_then_paces_bars_at_their_close():
    start = CALENDAR.local_ns(DAY, 11, 0)
    seen: list[tuple[str, int, int]] = []

    class Recorder:
        intervals = ("1m", "5m")

        def on_bar(self, ctx, symbol, interval, bar):
            seen.append((interval, bar.ts, ctx.now_ns))

    cfg = session(DAY, SAMPLE, ["SPY"], live={"start_time": "11:00"}, trailing=0,
                  indicators=[])
    live_run(cfg, observers=[Recorder()])
    for name, step in (("1m", MINUTE), ("5m", 5 * MINUTE)):
        rows = [(ts, now) for interval, ts, now in seen if interval == name]
        assert len(rows) == 390 * MINUTE // step
        assert [ts for ts, _ in rows] == sorted(ts for ts, _ in rows)
        for ts, now in rows:
            assert now == max(start, ts + step), (name, ts, now)


def test_add_symbol_mid_session_equals_a_session_that_had_it_from_the_start(shared_data, tmp_path):
    folder = tmp_path / "bars"
    folder.mkdir()
    for name in ("AAPL_2021-08.csv", "MSFT_2021-08.csv"):
        shutil.copy(shared_data / "minute" / name, folder / name)
    data = {"source": "csv", "path": str(folder)}
    day = "2021-08-25"
    when = CALENDAR.local_ns(day, 11, 0)

    class AddAt:
        added_at = None

        def on_bar(self, ctx, symbol, interval, bar):
            if self.added_at is None and ctx.now_ns >= when:
                ctx.add_symbol("MSFT")
                self.added_at = ctx.now_ns

    adder = AddAt()
    _, doc = live_run(session(day, data, ["AAPL"], live={}), observers=[adder])
    assert adder.added_at == when
    want = backtest_doc(session(day, data, ["AAPL", "MSFT"]))
    assert_same_day(doc, want)
    assert len(doc["symbols"]["MSFT"]["bars"]["1m"]["data"]) == 389  # a real vendor gap
    assert doc["symbols"]["MSFT"]["historical"]["days"] == ["2021-08-23", "2021-08-24"]


def test_indicators_added_mid_session_equal_a_session_that_had_them_from_the_start():
    when = CALENDAR.local_ns(DAY, 11, 0)
    added = ["ema:period=10@1h", "sma:period=10@15m"]

    class AddAt:
        keys: tuple[str, ...] = ()

        def on_bar(self, ctx, symbol, interval, bar):
            if not self.keys and ctx.now_ns >= when:
                self.keys = tuple(ctx.add_indicator(spec) for spec in added)

    adder = AddAt()
    _, doc = live_run(session(DAY, SAMPLE, ["SPY"], live={}), observers=[adder])
    assert adder.keys == ("ema_10_1h", "sma_10_15m")
    more = [{"name": "ema", "interval": "1h", "params": {"period": 10}},
            {"name": "sma", "interval": "15m", "params": {"period": 10}}]
    want = backtest_doc(session(DAY, SAMPLE, ["SPY"], indicators=[*INDICATORS, *more]))
    assert_same_day(doc, want)
    assert doc["symbols"]["SPY"]["indicators"]["ema_10_1h"]["ready"]


def test_stop_ends_the_session_cleanly_and_closes_the_feed():
    stop_at = CALENDAR.local_ns(DAY, 10, 0)

    class StopAt:
        def __init__(self):
            self.coordinator = None

        def on_bar(self, ctx, symbol, interval, bar):
            if ctx.now_ns >= stop_at:
                self.coordinator.stop()

    stopper = StopAt()
    coordinator = LiveSessionCoordinator(session(DAY, SAMPLE, ["SPY"], live={}, trailing=0,
                                                 indicators=[]),
                                         plugins=live_plugins(), observers=[stopper])
    stopper.coordinator = coordinator
    coordinator.run()
    spy = coordinator.session_data["SPY"]
    assert coordinator.now_ns == stop_at
    assert len(spy.base.data) == 30 and spy.base.data.ts_last == stop_at - MINUTE
    assert spy.base.quality == 100.0  # as of the stop, not of the close
    assert not coordinator.session_data.active and not feed_threads()


# ---------------------------------------------------------------------- sources and clocks


class FakeSubscription:
    def __init__(self, log: list[str], what: str) -> None:
        self.log, self.what = log, what

    def close(self) -> None:
        self.log.append(f"closed {self.what}")


class TickingSource:
    """A live source that pushes everything on subscription, out of order: ten 1m bars,
    trades and quotes. With `clock` it owns the session clock (starting 10 minutes after
    the open); without it the coordinator uses the wall clock."""

    name = "ticking"

    def __init__(self, open_ns: int, clock: bool = True) -> None:
        self.open_ns = open_ns
        self.log: list[str] = []
        if clock:
            self.session_clock = self._session_clock

    def _session_clock(self, open_ns, close_ns, speed):
        clock = SimulatedClock(open_ns + 10 * MINUTE)
        clock.set_session(open_ns, close_ns)
        return clock

    def symbols(self):
        return ["XYZ"]

    def intervals(self, symbol):
        return [Interval.parse("1m")]

    def bars(self, symbol, interval, start_ns, end_ns):
        return Bars.empty()

    def subscribe(self, symbols, interval, sink):
        ts = self.open_ns + MINUTE * np.arange(10)[::-1]  # newest first
        price = 100.0 + np.arange(10.0)[::-1]  # the bar at open + k minutes is priced 100 + k
        sink("XYZ", Bars.from_arrays(ts, price, price + 1, price - 1, price, np.full(10, 5.0)))
        sink("NOPE", Bars.from_arrays(ts[:1], price[:1], price[:1], price[:1], price[:1],
                                      price[:1]))
        return FakeSubscription(self.log, "bars")

    def subscribe_ticks(self, symbols, sink):
        o = self.open_ns
        sink("XYZ", [(o + 3, 100.5, 10), (o + 1, 100.0, 5)])
        sink("XYZ", [(o + 2, 100.25, 1)])
        return FakeSubscription(self.log, "ticks")

    def subscribe_quotes(self, symbols, sink):
        o = self.open_ns
        sink("XYZ", [(o + 2, 99.9, 100.1, 3, 4), (o, 99.8, 100.2, 1, 2)])
        return FakeSubscription(self.log, "quotes")


def ticking_config(**extra: Any) -> SessionConfig:
    return SessionConfig.from_dict({
        "session": {"mode": "live", "start": DAY},
        "data": {"source": "ticking"},
        "symbols": {"list": ["XYZ"]},
        "streams": {"intervals": ["1m", "5m"], "ticks": True, "quotes": True},
        **extra,
    }, origin="test")


@pytest.mark.parametrize("own_clock", [True, False], ids=["source clock", "wall clock"])
def test_ticks_and_quotes_land_in_symbol_data_in_time_order(own_clock):
    open_ns, _ = CALENDAR.session(datetime.date(2011, 1, 5))
    source = TickingSource(open_ns, clock=own_clock)
    coordinator = LiveSessionCoordinator(ticking_config(), plugins=live_plugins(),
                                         source=source)
    coordinator.run()
    # the wall clock is long past that session's close: it runs one closing step
    assert isinstance(coordinator.clock, SimulatedClock if own_clock else WallClock)
    xyz = coordinator.session_data["XYZ"]
    assert xyz.ticks == [(open_ns + 1, 100.0, 5.0), (open_ns + 2, 100.25, 1.0),
                         (open_ns + 3, 100.5, 10.0)]
    assert xyz.quotes == [(open_ns, 99.8, 100.2, 1.0, 2.0), (open_ns + 2, 99.9, 100.1, 3.0, 4.0)]
    assert xyz.base.data.column("ts").tolist() == [open_ns + k * MINUTE for k in range(10)]
    five = xyz.bars["5m"].bars()
    assert five.ts.tolist() == [open_ns, open_ns + 5 * MINUTE]
    assert five.open.tolist() == [100.0, 105.0] and five.close.tolist() == [104.0, 109.0]
    assert five.volume.tolist() == [25.0, 25.0]
    assert coordinator.dropped == 1  # the bar of a symbol not in the session
    assert sorted(source.log) == ["closed bars", "closed quotes", "closed ticks"]


def test_simulated_clock_waits_for_attached_threads():
    clock = SimulatedClock(0)
    clock.set_session(0, 100)
    got: list[tuple[int, int]] = []
    cancel = threading.Event()

    def feeder():
        try:
            for t in (10, 20, 30):
                if not clock.sleep_until(t, cancel):
                    return
                got.append((t, clock.now))
        finally:
            clock.detach()

    clock.attach()
    thread = threading.Thread(target=feeder)
    thread.start()
    clock.settle()
    assert got == []
    clock.advance_to(20)  # returns once the feeder has handled 10 and 20
    assert got == [(10, 20), (20, 20)]
    with pytest.raises(ValueError, match="backwards"):
        clock.advance_to(5)
    with pytest.raises(ValueError, match="limit"):
        clock.advance_to(101)
    cancel.set()
    clock.wake()
    thread.join(5)
    assert not thread.is_alive()
    clock.advance_to(100)  # nothing attached any more: returns at once
    assert got == [(10, 20), (20, 20)]


def test_scaled_clock_runs_at_its_speed_from_its_start():
    wall = [1_000]
    clock = ScaledClock(5_000, 50.0, time_ns=lambda: wall[0])
    assert clock.now == 5_000
    wall[0] += 10
    assert clock.now == 5_500
    assert clock.default_grace_ns == int(0.05e9 * 50)
    with pytest.raises(ValueError):
        ScaledClock(0, 0)


def test_inbound_wakes_a_waiting_coordinator():
    inbound = Inbound()
    clock = WallClock(time_ns=lambda: 0)  # frozen: the waits below would last an hour

    def wait_an_hour():
        clock.wait(3600 * 1_000_000_000, inbound)

    for wake in (lambda: inbound.put("bars", "X", Bars.empty()), inbound.poke):
        waiter = threading.Thread(target=wait_an_hour, daemon=True)
        waiter.start()
        wake()
        waiter.join(10)
        assert not waiter.is_alive()
        inbound.drain()
    assert len(inbound) == 0


# ---------------------------------------------------------------------- configuration


@pytest.mark.parametrize(("change", "message"), [
    ({"session": {"start": "2011-01-15", "end": "2011-01-17"}},
     "no XNYS trading day between 2011-01-15 and 2011-01-17"),
    ({"session": {"start": "2011-01-17"}}, "not a trading day on XNYS"),
    ({"data": {"source": "sample"}}, "cannot stream live"),
])
def test_live_config_errors(change, message):
    doc: dict[str, Any] = {
        "session": {"mode": "live", "start": DAY},
        "data": {"source": "replay", "from": "sample"},
        "symbols": {"list": ["SPY"]},
    }
    for section, values in change.items():
        doc[section] = {**({"mode": "live"} if section == "session" else {}), **values}
    coordinator = LiveSessionCoordinator(SessionConfig.from_dict(doc, origin="s.toml"),
                                         plugins=live_plugins())
    with pytest.raises(ConfigError, match=message):
        coordinator.run()


def test_run_backtest_picks_the_coordinator_by_mode_and_writes_the_export(tmp_path):
    from dataclasses import replace

    from mismartera.session.run import build_coordinator, run_backtest

    live = session(DAY, SAMPLE, ["SPY"], live={}, trailing=0, indicators=[])
    assert type(build_coordinator(live, plugins=live_plugins())) is LiveSessionCoordinator
    assert type(build_coordinator(session(DAY, SAMPLE, ["SPY"]),
                                  plugins=live_plugins())) is SessionCoordinator
    out = tmp_path / "live.json"
    data = run_backtest(replace(live, export_path=out), plugins=live_plugins())
    assert data.mode == "live" and out.exists()
    doc = json.loads(out.read_text())
    assert doc["session"]["mode"] == "live"
    assert len(doc["symbols"]["SPY"]["bars"]["1m"]["data"]) == 390
