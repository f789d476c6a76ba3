"""Live gap filling and the repair of late bars: withheld bars are asked for again with
bounded, backed-off retries; late and re-fetched bars are inserted in order, and the
derived bars, indicators and quality equal the backtest of the same day."""

from __future__ import annotations

import csv
import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.bars import Bars
from mismartera.ext.gaps import GapTracker
from mismartera.intervals import Interval
from mismartera.session.data import SessionData, SessionDay, SymbolSessionData
from mismartera.session.live.gapfill import GapFiller, insert_bars
from mismartera.session.live.inbound import deliver_arrivals
from mismartera.session.processor import DataProcessor
from tests.reference.aggregate import aggregate_bars as ref_aggregate
from tests.reference.aggregate import bucket_of
from tests.reference.gaps import find_gaps as ref_find_gaps
from tests.support.engine import CALENDAR
from tests.support.live import (
    DAY,
    SAMPLE,
    assert_same_day,
    backtest_doc,
    feed_threads,
    live_plugins,
    live_run,
    session,
)
from tests.support.strategies import HOUR, INTERVALS, MINUTE, SECOND, new_york_ns, random_ohlcv

ONE_MINUTE = Interval.parse("1m")


def local(hhmm: str, day: str = DAY) -> int:
    hh, mm = map(int, hhmm.split(":"))
    return CALENDAR.local_ns(day, hh, mm)


class Requests:
    """Wraps a coordinator's source to record each gap-fill request: (session time, start,
    end). The coordinator is set after construction."""

    def __init__(self, coordinator) -> None:
        self.coordinator = coordinator
        self.source = coordinator.source
        self.calls: list[tuple[int, int, int]] = []
        inner = self.source.bars

        def bars(symbol, interval, start_ns, end_ns):
            if coordinator.session_data.active:
                self.calls.append((coordinator.now_ns, start_ns, end_ns))
            return inner(symbol, interval, start_ns, end_ns)

        self.source.bars = bars


def run_recorded(cfg, **kwargs: Any):
    from mismartera.export import snapshot
    from mismartera.session.live import LiveSessionCoordinator

    coordinator = LiveSessionCoordinator(cfg, plugins=live_plugins(), **kwargs)
    requests = Requests(coordinator)
    coordinator.run()
    return coordinator, snapshot(coordinator.session_data, coordinator.calendar)[0], requests


# ---------------------------------------------------------------------- end to end


def test_withheld_bars_are_filled_on_the_first_retry_and_the_day_equals_the_backtest():
    withheld = ["09:30", "10:00", "10:01", "12:34", "15:59"]
    coordinator, doc = live_run(session(DAY, SAMPLE, ["SPY"], live={"withhold": withheld}))
    assert_same_day(doc, backtest_doc(session(DAY, SAMPLE, ["SPY"])))
    spy = doc["symbols"]["SPY"]["bars"]
    assert spy["1m"]["gaps"]["gap_count"] == 0 and spy["1m"]["quality"] == 100.0
    filler = coordinator.gap_filler
    # each is asked for once, when its bucket has been over for the delay
    assert filler.filled == 5 and filler.requests == 5
    assert filler.failed_gaps() == []
    assert coordinator.late_bars == 5 and not feed_threads()


def test_retries_back_off_and_succeed_within_the_bound():
    cfg = session(DAY, SAMPLE, ["SPY"], live={"withhold": ["10:00"], "withhold_retries": 2},
                  trailing=0)
    coordinator, doc, requests = run_recorded(
        cfg, gap_filler=GapFiller(delay_s=5, retries=3, backoff=2))
    due = local("10:01") + 5 * SECOND  # the bucket's end + the delay
    ten = (local("10:00"), local("10:01"))
    assert requests.calls == [(due, *ten), (due + 10 * SECOND, *ten),
                              (due + 30 * SECOND, *ten)]
    assert doc["symbols"]["SPY"]["bars"]["1m"]["quality"] == 100.0
    assert_same_day(doc, backtest_doc(session(DAY, SAMPLE, ["SPY"], trailing=0)))
    assert coordinator.gap_filler.failed_gaps() == []


def without_rows(source: Path, target: Path, stamps: set[str]) -> None:
    with source.open(newline="") as fh, target.open("w", newline="") as out:
        reader = csv.DictReader(fh)
        writer = csv.DictWriter(out, reader.fieldnames)
        writer.writeheader()
        writer.writerows(row for row in reader if row["timestamp"] not in stamps)


def test_a_bar_never_served_stays_a_gap_after_the_bounded_retries(shared_data, tmp_path):
    withheld = ["10:00", "10:01", "13:07"]
    cfg = session(DAY, SAMPLE, ["SPY"], live={"withhold": withheld, "serve_withheld": False})
    coordinator, doc, requests = run_recorded(cfg, gap_filler=GapFiller(retries=3))
    gaps = doc["symbols"]["SPY"]["bars"]["1m"]["gaps"]
    assert gaps["ranges"] == [
        {"start": "2011-01-05T10:00:00-05:00", "end": "2011-01-05T10:01:00-05:00",
         "bar_count": 2},
        {"start": "2011-01-05T13:07:00-05:00", "end": "2011-01-05T13:07:00-05:00",
         "bar_count": 1},
    ]
    failed = coordinator.gap_filler.failed_gaps()
    assert [(g.start, g.attempts, g.exhausted) for g in failed] == [
        (local("10:00"), 3, True), (local("10:01"), 3, True), (local("13:07"), 3, True)]
    # three per bar: 10:00 and 10:01 fall due a minute apart, so they are asked for apart
    assert len(requests.calls) == 9
    assert {(start, end - start) for _, start, end in requests.calls} == {
        (local(t), MINUTE) for t in withheld}
    # the same day from a file that lacks those bars, as a backtest
    folder = tmp_path / "bars"
    folder.mkdir()
    stamps = {f"2011-01-05T{t}:00-05:00" for t in withheld}
    without_rows(shared_data / "minute" / "SPY_2011-01.csv", folder / "SPY_2011-01.csv", stamps)
    data = {"source": "csv", "path": str(folder)}
    want = backtest_doc(session(DAY, data, ["SPY"]))
    assert want["symbols"]["SPY"]["bars"]["1m"]["gaps"] == gaps
    assert_same_day(doc, want)


def test_late_feed_bars_are_inserted_in_order_and_the_day_equals_the_backtest():
    late = ["09:31", "10:02", "10:04", "12:00", "15:50", "15:59"]
    starts: list[tuple[str, int]] = []

    class Repairs:
        def on_repair(self, ctx, symbol, start_ns):
            starts.append((symbol, start_ns))

    # the gap filler waits longer than the feed is late, so the feed's bars do the repair
    cfg = session(DAY, SAMPLE, ["SPY"], live={"late": late, "late_by": "7m"})
    coordinator, doc = live_run(cfg, observers=[Repairs()],
                                gap_filler=GapFiller(delay_s=900))
    assert_same_day(doc, backtest_doc(session(DAY, SAMPLE, ["SPY"])))
    # "15:59" closes at 16:00 and is pushed at the close (never after it): not late
    assert coordinator.late_bars == len(late) - 1 and coordinator.gap_filler.requests == 0
    assert [s for _, s in starts] == [local(t) for t in late[:-1]]
    assert doc["rejected"]["duplicate"] == 0


def test_withheld_and_late_bars_together_at_20000x():
    live = {"withhold": 0.05, "withhold_seed": 3, "late": ["11:11", "14:44"],
            "start_time": "13:00"}
    cfg = session(DAY, SAMPLE, ["SPY"], live=live, speed=20_000)
    coordinator, doc = live_run(cfg)
    assert_same_day(doc, backtest_doc(session(DAY, SAMPLE, ["SPY"])))
    assert coordinator.late_bars > 0
    assert doc["rejected"]["duplicate"] == 0  # repeats of re-fetched bars are not duplicates


def test_real_vendor_dropouts_are_asked_for_and_recorded(shared_data, tmp_path):
    data = {"source": "csv", "path": str(shared_data / "minute" / "AAPL_2021-08.csv")}
    day = "2021-08-24"
    coordinator, doc = live_run(session(day, data, ["AAPL"], live={}))
    want = backtest_doc(session(day, data, ["AAPL"]))
    assert_same_day(doc, want)
    gaps = doc["symbols"]["AAPL"]["bars"]["1m"]["gaps"]
    assert gaps["ranges"] == [{"start": "2021-08-24T11:00:00-04:00",
                               "end": "2021-08-24T11:00:00-04:00", "bar_count": 1}]
    (failed,) = coordinator.gap_filler.failed_gaps()
    assert failed.start == local("11:00", day)
    assert failed.exhausted and failed.attempts == coordinator.gap_filler.retries
    assert doc["symbols"]["AAPL"]["bars"]["1m"]["quality"] == round(100 * 389 / 390, 2)


# ---------------------------------------------------------------------- the gap filler


def test_gap_filler_arguments_are_checked():
    for bad in ({"delay_s": -1}, {"retries": -1}, {"retries": 1.5}, {"backoff": 0.5}):
        with pytest.raises(ValueError):
            GapFiller(**bad)


class ListSource:
    """Serves given base bars; can fail."""

    name = "list"

    def __init__(self, bars: Bars, fail: bool = False) -> None:
        self.all, self.fail, self.calls = bars, fail, []

    def bars(self, symbol, interval, start_ns, end_ns):
        self.calls.append((start_ns, end_ns))
        if self.fail:
            raise ConnectionError("feed down")
        return self.all.between(start_ns, end_ns)


def one_symbol(open_ns: int, close_ns: int, intervals=("1m", "5m")) -> tuple[SessionData,
                                                                              SymbolSessionData]:
    sd = SessionData()
    sd.day = SessionDay(CALENDAR.date_of(open_ns), open_ns, close_ns)
    ivs = [Interval.parse(i) for i in intervals]
    symbol_data = SymbolSessionData("X", ivs[0], ivs, dict.fromkeys(ivs, 500))
    symbol_data.start_session(open_ns, close_ns)
    symbol_data.is_loaded = True
    sd.register(symbol_data)
    return sd, symbol_data


def walk(n: int, open_ns: int, step: int = MINUTE) -> Bars:
    price = 100.0 + np.arange(n) * 0.01
    return Bars.from_arrays(open_ns + step * np.arange(n), price, price + 1, price - 1, price,
                            np.full(n, 10.0))


def test_a_failing_source_counts_as_failed_attempts_and_the_session_goes_on():
    open_ns, close_ns = local("09:30"), local("10:00")
    sd, x = one_symbol(open_ns, close_ns)
    all_bars = walk(30, open_ns)
    keep = np.ones(30, bool)
    keep[[3, 4, 20]] = False
    now = open_ns + 22 * MINUTE
    DataProcessor().deliver(x, all_bars.slice(0, 22).take(keep[:22]), now)
    filler = GapFiller(delay_s=0, retries=2, backoff=1)
    source = ListSource(all_bars, fail=True)

    def repair(symbol_data, bars):
        return insert_bars(sd, symbol_data, bars, closed_until_ns=now)

    assert filler.step(sd, source, now, repair=repair) == []
    assert source.calls == [(open_ns + 3 * MINUTE, open_ns + 5 * MINUTE),
                            (open_ns + 20 * MINUTE, open_ns + 21 * MINUTE)]
    gaps = filler.failed_gaps()
    assert [g.attempts for g in gaps] == [1, 1, 1]
    assert gaps[0].last_error == "ConnectionError: feed down"
    assert filler.next_time() == now  # delay 0, backoff 1: due again at once
    source.fail = False
    got = filler.step(sd, source, now, repair=repair)
    assert got == [("X", open_ns + 3 * MINUTE)]
    assert filler.failed_gaps() == [] and filler.filled == 3
    assert x.base.data.column("ts").tolist() == all_bars.ts[:22].tolist()
    assert x.base.tracker.missing(now) == 0
    assert x.bars["5m"].data.column("ts").tolist() == [open_ns + k * 5 * MINUTE for k in range(4)]


def test_removed_symbols_are_forgotten():
    open_ns, close_ns = local("09:30"), local("10:00")
    sd, _ = one_symbol(open_ns, close_ns)
    filler = GapFiller(delay_s=0, retries=5)
    filler.step(sd, ListSource(Bars.empty()), open_ns + 5 * MINUTE, repair=lambda s, b: 0)
    assert len(filler.failed_gaps()) == 5 and filler.next_time() is not None
    sd.remove("X")
    filler.step(sd, ListSource(Bars.empty()), open_ns + 6 * MINUTE, repair=lambda s, b: 0)
    assert filler.failed_gaps() == [] and filler.next_time() is None


# ---------------------------------------------------------------------- property: repair


NAMES = {ns: name for name, ns in INTERVALS.items()}
SMALL_PAIRS = [(b, d) for b, d in ((MINUTE, 5 * MINUTE), (MINUTE, 15 * MINUTE),
                                   (5 * SECOND, MINUTE), (5 * MINUTE, HOUR))]


def expected_record(ts, bars, open_ns, close_ns, base_ns, derived_ns, close_mark):
    """What in-order delivery gives for the arrived bars `ts` (sorted): the closed derived
    bars (every bucket but the last; the last too if it ended by `close_mark` or its final
    base bar is there) and the forming bar (or None)."""
    cols = [c.tolist() for c in bars]
    derived = ref_aggregate(*cols, [open_ns], [close_ns], derived_ns)
    n = len(derived[0])
    forming = None
    if n:
        _, end = bucket_of(derived[0][-1], open_ns, close_ns, derived_ns)
        if end > close_mark and ts[-1] + base_ns < end:
            forming = tuple(col[-1] for col in derived)
            n -= 1
    return tuple(col[:n] for col in derived), forming


@st.composite
def small_sessions(draw) -> tuple[int, int, int, int, Bars]:
    """(base_ns, derived_ns, open_ns, close_ns, bars): one short session (1-40 base slots,
    opening on or a little after 09:30 New York) with random gaps; cheap to draw."""
    base_ns, derived_ns = draw(st.sampled_from(SMALL_PAIRS))
    slots = draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    day = datetime.date(2005, 1, 3) + datetime.timedelta(days=int(rng.integers(0, 7000)))
    open_ns = new_york_ns(day, 9, 30) + int(rng.integers(0, 10)) * base_ns
    keep = rng.random(slots) >= rng.choice([0.0, 0.2, 0.6])
    ts = open_ns + base_ns * np.flatnonzero(keep).astype(np.int64)
    bars = Bars.from_arrays(ts, *random_ohlcv(rng, len(ts)))
    return base_ns, derived_ns, open_ns, open_ns + slots * base_ns, bars


@given(small_sessions(), st.data())
def test_any_arrival_order_gives_the_record_of_in_order_delivery(case, data):
    base_ns, derived_ns, open_ns, close_ns, bars = case
    intervals = [NAMES[base_ns], NAMES[derived_ns], "1d"]
    sd, x = one_symbol(open_ns, close_ns, intervals)
    day = x.bars["1d"]
    n = len(bars.ts)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    # most bars arrive at their close, some later (after later bars), a few much later
    delay = np.where(rng.random(n) < 0.7, 0, rng.integers(0, 3 * derived_ns // base_ns + 2, n))
    arrive = bars.ts + base_ns + delay * base_ns
    grace = data.draw(st.sampled_from([0, base_ns // 2, 2 * base_ns]))
    steps = sorted(set(data.draw(st.lists(st.integers(open_ns, close_ns), max_size=10))))
    steps = [*steps, close_ns]
    handed = np.zeros(n, bool)
    processor = DataProcessor()
    mark = open_ns
    for k, now in enumerate(steps):
        final = k == len(steps) - 1
        due = ~handed & ((arrive <= now) | final)
        order = rng.permutation(np.flatnonzero(due))
        raw = bars.take(order)
        handed |= due
        mark = close_ns if final else max(mark, now - grace, open_ns)

        def repair(symbol_data, late, until):
            return insert_bars(sd, symbol_data, late, closed_until_ns=until)

        arrivals, _ = deliver_arrivals(x, raw, open_ns=open_ns, close_ns=close_ns,
                                       close_mark=mark, processor=processor, repair=repair)
        assert arrivals.rejected == {}
        got_ts = bars.ts[handed]
        assert x.base.data.column("ts").tolist() == got_ts.tolist()
        arrived = bars.take(handed)
        for interval_data, step in ((x.bars[NAMES[derived_ns]], derived_ns), (day, 10**15)):
            closed, forming = expected_record(got_ts, arrived, open_ns, close_ns, base_ns,
                                              step, mark)
            ring = interval_data.data.arrays()
            assert [c.tolist() for c in ring] == [list(c) for c in closed]
            assert interval_data.aggregator.forming() == forming
    assert handed.all()
    assert x.base.tracker.gaps(close_ns)[0].tolist() == ref_find_gaps(
        bars.ts.tolist(), [open_ns], [close_ns], base_ns)[0]
    tracker = GapTracker(derived_ns)
    tracker.start_session(open_ns, close_ns)
    tracker.add_many(x.bars[NAMES[derived_ns]].data.column("ts"))
    assert x.bars[NAMES[derived_ns]].tracker.quality(close_ns) == tracker.quality(close_ns)
    assert x.metrics.volume == float(bars.volume.sum())  # whole numbers: exact


def test_insert_bars_ignores_bars_already_there():
    open_ns, close_ns = local("09:30"), local("10:00")
    sd, x = one_symbol(open_ns, close_ns)
    bars = walk(10, open_ns)
    DataProcessor().deliver(x, bars, open_ns + 10 * MINUTE)
    before = x.bars["5m"].bars()
    assert insert_bars(sd, x, bars.slice(2, 5), closed_until_ns=open_ns + 10 * MINUTE) == 0
    assert x.bars["5m"].bars().ts.tolist() == before.ts.tolist()
