"""Live runs over several days: a replay of `start..end` runs session after session (phase 4
and the day's exports at each close, then teardown and the next trading day's initialise,
holidays skipped), each day's record equal to that day of the backtest of the same range;
the feed is closed at each close and a stop between two days leaves a clean state."""

from __future__ import annotations

import dataclasses
import datetime
import json

import pytest

from mismartera.export import snapshot
from mismartera.session.coordinator import SessionCoordinator
from mismartera.session.live import LiveSessionCoordinator, live_days, live_range
from mismartera.session.live.clocks import ScaledClock, SimulatedClock
from mismartera.session.run import run_backtest, run_label
from tests.support.engine import CALENDAR
from tests.support.live import (
    SAMPLE,
    assert_same_day,
    feed_threads,
    live_plugins,
    session,
)

D = datetime.date


def ranged(first: str, last: str, *, live: dict | None = None, speed: float = 0,
           **kwargs) -> object:
    """A session config over first..last (a live replay with `live` options)."""
    cfg = session(first, SAMPLE, ["SPY"], live=live, speed=speed, **kwargs)
    return dataclasses.replace(cfg, end=D.fromisoformat(last))


def day_records(coordinator: SessionCoordinator) -> dict[D, dict]:
    """Run `coordinator`, keeping each day's export (made by an on_day_end hook) and checking
    that the feed of the day just ended is closed."""
    records: dict[D, dict] = {}

    def on_day_end(coord, day):
        assert not feed_threads()
        records[day] = json.loads(json.dumps(snapshot(coord.session_data, coord.calendar)[0]))

    coordinator.run(on_day_end=on_day_end)
    return records


@pytest.mark.parametrize(("first", "last", "live", "speed", "days"), [
    # a simulated clock, over the Martin Luther King Day holiday, a withheld bar each day
    # (gap filling starts afresh each session)
    ("2011-01-14", "2011-01-18", {"withhold": ["10:00"]}, 0,
     [D(2011, 1, 14), D(2011, 1, 18)]),
    # the wall clock at 20000x: about 1.2 s of wall time per session
    ("2011-01-04", "2011-01-06", {}, 20_000, [D(2011, 1, 4), D(2011, 1, 5), D(2011, 1, 6)]),
])
def test_a_multi_day_replay_equals_the_backtest_day_by_day(first, last, live, speed, days):
    coordinator = LiveSessionCoordinator(ranged(first, last, live=live, speed=speed),
                                         plugins=live_plugins())
    got = day_records(coordinator)
    want = day_records(SessionCoordinator(ranged(first, last), plugins=live_plugins()))
    assert list(got) == list(want) == coordinator.days == days
    for day in days:
        assert got[day]["session"]["date"] == day.isoformat()
        assert_same_day(got[day], want[day])
    # indicators carried across sessions: the last day's are ready from the open
    assert got[days[-1]]["symbols"]["SPY"]["indicators"]
    clock_type = SimulatedClock if speed == 0 else ScaledClock
    assert isinstance(coordinator.clock, clock_type)
    assert coordinator.metrics.trading_days == len(days)
    if live:
        counts = coordinator.gap_fill_counts()
        assert counts["filled"] == len(days) and counts["exhausted"] == 0
    assert not coordinator.session_data.active and not feed_threads()


def test_a_live_run_writes_each_days_export(tmp_path):
    cfg = dataclasses.replace(ranged("2011-01-05", "2011-01-06", live={}, trailing=0,
                                     indicators=[]), export_dir=tmp_path)
    data = run_backtest(cfg, plugins=live_plugins(), collect=False)
    assert data.mode == "live" and str(data.date) == "2011-01-06"
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["2011-01-05.json", "2011-01-06.json"]
    for name in files:
        doc = json.loads((tmp_path / name).read_text())
        assert doc["session"]["date"] == name[:10] and doc["session"]["mode"] == "live"


def test_stop_between_two_days_leaves_a_clean_state():
    cfg = ranged("2011-01-04", "2011-01-06", live={}, speed=20_000, trailing=0, indicators=[])
    coordinator = LiveSessionCoordinator(cfg, plugins=live_plugins())
    ended: list[D] = []

    def on_day_end(coord, day):
        ended.append(day)
        coord.stop()  # as a shell `system stop` arriving between two sessions

    coordinator.run(on_day_end=on_day_end)
    sd = coordinator.session_data
    assert ended == [D(2011, 1, 4)] and coordinator.metrics.trading_days == 1
    assert str(sd.date) == "2011-01-04" and sd.trading_days == 1 and not sd.active
    assert coordinator.now_ns == CALENDAR.session(D(2011, 1, 4))[1]  # it ran to its close
    assert len(sd["SPY"].base.data) == 390
    assert not coordinator._subscriptions and not len(coordinator.inbound)
    assert not feed_threads()


def test_stop_in_the_second_session_ends_it_there():
    stop_at = CALENDAR.local_ns(D(2011, 1, 5), 10, 0)

    class StopAt:
        coordinator: LiveSessionCoordinator | None = None

        def on_bar(self, ctx, symbol, interval, bar):
            if ctx.now_ns >= stop_at and self.coordinator is not None:
                self.coordinator.stop()

    stopper = StopAt()
    cfg = ranged("2011-01-04", "2011-01-06", live={}, trailing=0, indicators=[])
    coordinator = LiveSessionCoordinator(cfg, plugins=live_plugins(), observers=[stopper])
    stopper.coordinator = coordinator
    records = day_records(coordinator)
    assert list(records) == [D(2011, 1, 4), D(2011, 1, 5)]
    spy = coordinator.session_data["SPY"]
    assert coordinator.now_ns == stop_at and spy.base.data.ts_last == stop_at - 60 * 10**9
    assert len(records[D(2011, 1, 4)]["symbols"]["SPY"]["bars"]["1m"]["data"]) == 390
    assert not coordinator.session_data.active and not feed_threads()


def test_the_live_range_and_its_label():
    today = CALENDAR.local_ns(D(2011, 1, 5), 12, 0)
    assert live_range(ranged("2011-01-15", "2011-01-19", live={}), CALENDAR) == (
        D(2011, 1, 15), D(2011, 1, 19))
    # the real trading days: the weekend and the holiday skipped
    assert live_days(ranged("2011-01-15", "2011-01-19", live={}), CALENDAR) == (
        D(2011, 1, 18), D(2011, 1, 19))
    alone = dataclasses.replace(session("2011-01-05", SAMPLE, ["SPY"], live={}), end=None)
    assert live_days(alone, CALENDAR) == (D(2011, 1, 5), D(2011, 1, 5))
    none = dataclasses.replace(alone, start=None)
    assert live_days(none, CALENDAR, now_ns=today) == (D(2011, 1, 5), D(2011, 1, 5))
    assert run_label(ranged("2011-01-15", "2011-01-19", live={}), CALENDAR) == (
        "live XNYS 2011-01-18..2011-01-19")
    assert run_label(alone) == "live XNYS 2011-01-05"
    assert run_label(ranged("2011-01-15", "2011-01-19")) == "backtest XNYS 2011-01-15..2011-01-19"
