"""mismartera.ext.pipeline: SymbolPipeline and step_until against the pure-Python model
(tests/reference/pipeline.py) after every call, the closing rule stated directly, chunking
equivalence against the batch kernels, interrupts and cut-offs, bad arguments, real minutes
(an early close and vendor drop-outs) and a smoke run of bench/bench_pipeline.py."""

from __future__ import annotations

import math
import pickle
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.ext.aggregate import StreamingAggregator, aggregate_bars
from mismartera.ext.gaps import GapTracker, find_gaps
from mismartera.ext.pipeline import ClosedBar, SymbolPipeline, step_until
from mismartera.ext.ring import BarRing
from tests.reference import pipeline as ref
from tests.reference.ring import RefBarRing
from tests.strategies import (
    HOUR,
    MINUTE,
    NS,
    SECOND,
    new_york_ns,
    noisy_bars,
    present_indices,
    random_ohlcv,
    session_cases,
    sessions,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DAY = 86_400 * NS
# base interval -> the derived intervals it may feed (the engine's pairs, `1d` included)
LAYOUTS: dict[int, tuple[int, ...]] = {
    MINUTE: (5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, DAY),
    SECOND: (5 * SECOND, MINUTE),
    5 * MINUTE: (15 * MINUTE, HOUR),
}
BIG = 1024  # more than any session below holds at any interval
# a 1s base is kept to short sessions (<= 20 min): the gap reference walks the whole grid
MAX_GRID = 1_200


# ---------------------------------------------------------------------------------------
# strategies and builders


@dataclass(frozen=True)
class Layout:
    base_ns: int
    derived: tuple[int, ...]  # derived intervals, in pipeline order
    capacities: tuple[int, ...]  # ring capacity per interval, base first


BASES = st.sampled_from(sorted(LAYOUTS))
SUBSETS = {base: st.lists(st.sampled_from(ivs), unique=True) for base, ivs in LAYOUTS.items()}
CAPACITY = st.one_of(st.just(BIG), st.integers(1, 3))


@st.composite
def layouts(draw, base_ns: int | None = None) -> Layout:
    """A base interval, any subset of its derived intervals (maybe none) and ring capacities
    (mostly roomy; sometimes 1-3 bars, so rings evict while the pipeline runs)."""
    base = base_ns if base_ns is not None else draw(BASES)
    chosen = draw(SUBSETS[base])
    caps = draw(st.lists(CAPACITY, min_size=1 + len(chosen), max_size=1 + len(chosen)))
    return Layout(base, tuple(sorted(chosen)), tuple(caps))


@st.composite
def one_session(draw, base_ns: int, max_grid: int = MAX_GRID) -> tuple[int, int]:
    """One session for `base_ns`: regular or early close (unless longer than `max_grid`
    base bars, as for a seconds base) or short, possibly opening off 09:30; sometimes
    closing off the base grid (the last base bar then ends after the close)."""
    open_ns, close_ns = draw(sessions(base_ns, max_sessions=1, max_grid=max_grid,
                                      max_short=max_grid))[0]
    return open_ns, close_ns - draw(st.sampled_from(CUTS)) * base_ns // 4


CUTS = (0, 0, 0, 0, 1, 2, 3)  # quarters of a base bar cut off the close


@st.composite
def session_bars(draw, open_ns: int, close_ns: int, base_ns: int) -> tuple[np.ndarray, ...]:
    """Valid bars on the base grid of the session, with random gaps (dropped bars, dropped
    runs emptying whole buckets, the first/last bar dropped)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    idx = draw(present_indices(-(-(close_ns - open_ns) // base_ns), rng))
    ts = open_ns + idx.astype(np.int64) * base_ns
    return (ts, *random_ohlcv(rng, len(ts)))


@st.composite
def clock_times(draw, open_ns: int, close_ns: int, layout: Layout, ts: np.ndarray) -> list[int]:
    """Clock times for `advance`: anywhere around the session, the open and the close (and
    1 ns before), bucket ends, bar closes (and 1 ns before); repeats; mostly in order,
    sometimes not."""
    base, span = layout.base_ns, close_ns - open_ns
    ivs = layout.derived or (base,)
    stamps = ts.tolist() or [open_ns]

    def time_of(kind: int, r: int) -> int:
        if kind == 0:
            return open_ns - base + r % (span + 2 * base + 1)
        if kind == 1:
            return (open_ns, close_ns, open_ns - 1, close_ns - 1)[r % 4]
        if kind == 2:
            iv = ivs[r % len(ivs)]
            return min(open_ns + (r // len(ivs) % -(-span // iv) + 1) * iv, close_ns)
        return stamps[r % len(stamps)] + base - (kind == 4)

    picks = draw(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 2**40)), max_size=10))
    times = [time_of(kind, r) for kind, r in picks]
    if draw(st.integers(0, 4)):  # the clock only goes forward in the engine
        times.sort()
    return times


@dataclass
class Built:
    """A compiled pipeline and the kernel objects it drives (interval 0 is the base)."""

    pipeline: SymbolPipeline
    rings: list[BarRing]
    trackers: list[GapTracker]
    aggs: list[StreamingAggregator]


def build(layout: Layout, open_ns: int, close_ns: int,
          capped: bool = False) -> tuple[Built, ref.RefSymbolPipeline]:
    """The compiled pipeline over fresh kernel objects started on the session, and its model;
    `capped`: base bars close at the session close at the latest (as after `load`)."""
    ivs = (layout.base_ns, *layout.derived)
    rings = [BarRing(cap) for cap in layout.capacities]
    trackers = [GapTracker(iv) for iv in ivs]
    aggs = [StreamingAggregator(layout.base_ns, iv) for iv in layout.derived]
    for part in (*trackers, *aggs):
        part.start_session(open_ns, close_ns)
    pipeline = SymbolPipeline(rings[0], trackers[0], layout.base_ns,
                              list(zip(aggs, rings[1:], trackers[1:], strict=True)))
    model = ref.RefSymbolPipeline(layout.base_ns, layout.capacities[0],
                                  list(zip(layout.derived, layout.capacities[1:], strict=True)))
    model.start_session(open_ns, close_ns)
    if capped:
        pipeline.session_close = model.session_close = close_ns
    return Built(pipeline, rings, trackers, aggs), model


# ---------------------------------------------------------------------------------------
# comparisons


def same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def assert_ring_equals(got: BarRing, want: RefBarRing) -> None:
    assert (len(got), got.evicted) == (len(want), want.evicted)
    for g, w in zip(got.arrays(), want.arrays(), strict=True):
        assert g.tolist() == w.tolist()


def assert_ring_holds(got: BarRing, bars: list[tuple]) -> None:
    """The ring holds the last `capacity` of `bars`, oldest first."""
    kept = bars[max(0, len(bars) - got.capacity):]
    assert list(zip(*(a.tolist() for a in got.arrays()), strict=True)) == kept


def assert_same(got: Built, want: ref.RefSymbolPipeline, ends: tuple[int, ...]) -> None:
    """Queue position, closed counts, metrics, every ring and every tracker (gaps up to each
    of `ends`) agree with the model."""
    p = got.pipeline
    assert (p.pos, p.size, p.next_close) == (want.pos, want.size, want.next_close)
    assert p.closed.tolist() == want.closed
    assert p.volume == want.volume
    assert same_float(p.high, want.high) and same_float(p.low, want.low)
    assert p.last_update == want.last_update
    for k, (ring, tracker) in enumerate(zip(got.rings, got.trackers, strict=True)):
        assert_ring_equals(ring, want.ring(k))
        model = want.tracker(k)
        assert tracker.present == model.present
        assert (tracker.duplicates, tracker.misaligned, tracker.outside) == (
            model.duplicates, model.misaligned, model.outside)
        for end in ends:
            assert [a.tolist() for a in tracker.gaps(end)] == [list(x) for x in model.gaps(end)]


def as_rows(columns) -> list[tuple]:
    return list(zip(*(np.asarray(c).tolist() for c in columns), strict=True))


# ---------------------------------------------------------------------------------------
# advance, feed


@given(st.data())
def test_advance_matches_reference_after_every_call(data):
    layout = data.draw(layouts())
    open_ns, close_ns = data.draw(one_session(layout.base_ns))
    bars = data.draw(session_bars(open_ns, close_ns, layout.base_ns))
    times = data.draw(clock_times(open_ns, close_ns, layout, bars[0]))
    capped = data.draw(st.booleans())
    got, want = build(layout, open_ns, close_ns, capped)
    got.pipeline.set_queue(*bars)
    want.set_queue(*bars)
    assert_same(got, want, (close_ns,))
    # uncapped, a bar running past an off-grid close arrives after the clock closed its
    # bucket (it is late there, as the model agrees): the direct rule does not cover that
    direct = capped or (close_ns - open_ns) % layout.base_ns == 0
    queued = as_rows(bars)
    clock = open_ns - layout.base_ns
    for now in [*times, close_ns]:
        assert got.pipeline.advance(now) == want.advance(now)
        assert_same(got, want, (now, close_ns))
        # the closing rule, stated directly: what the clock and the bars delivered decide
        clock = max(clock, now)
        delivered = queued[:got.pipeline.pos]
        assert delivered == [b for b in queued if want.close_of(b) <= clock]
        assert_ring_holds(got.rings[0], delivered)
        for iv, ring in zip(layout.derived, got.rings[1:], strict=True):
            if direct:
                assert_ring_holds(ring, ref.closed_by(delivered, clock, open_ns, close_ns,
                                                      layout.base_ns, iv))
    if got.pipeline.session_close == close_ns:
        assert got.pipeline.next_close is None  # everything delivered at the close


@given(st.data())
def test_feed_matches_reference_after_every_call(data):
    """Live-like: part of the day queued, the rest fed in chunks once the queue is spent,
    either the bars that arrived by the clock or a few at a time (late ones included), with
    clock-only advances in between."""
    layout = data.draw(layouts())
    open_ns, close_ns = data.draw(one_session(layout.base_ns))
    bars = data.draw(session_bars(open_ns, close_ns, layout.base_ns))
    n = len(bars[0])
    split = data.draw(st.integers(0, n))
    times = data.draw(clock_times(open_ns, close_ns, layout, bars[0]))
    got, want = build(layout, open_ns, close_ns, data.draw(st.booleans()))
    got.pipeline.set_queue(*(a[:split] for a in bars))
    want.set_queue(*(a[:split] for a in bars))
    fed = split
    for now in [*times, close_ns]:
        op = data.draw(st.sampled_from(["advance", "arrived", "some"]))
        if op == "advance" or got.pipeline.pos < got.pipeline.size:
            assert got.pipeline.advance(now) == want.advance(now)
        else:
            if op == "arrived":
                upto = fed + int(np.searchsorted(bars[0][fed:] + layout.base_ns, now, "right"))
            else:
                upto = min(n, fed + data.draw(st.integers(0, 4)))
            chunk = [a[fed:upto] for a in bars]
            if data.draw(st.booleans()):
                chunk = [a.tolist() for a in chunk]  # any sequence will do
            assert got.pipeline.feed(*chunk, now) == want.feed(*chunk, now) == upto - fed
            fed = upto
        assert_same(got, want, (now, close_ns))
    rest = [a[fed:] for a in bars]
    assert got.pipeline.feed(*rest, close_ns) == want.feed(*rest, close_ns)
    assert_same(got, want, (close_ns,))
    assert_ring_holds(got.rings[0], as_rows(bars))


@given(st.data())
def test_one_advance_to_the_close_equals_many_small_ones(data):
    """However the clock is chunked, the day ends with the batch kernels' answer: derived
    bars = aggregate_bars, gaps = find_gaps, metrics of every bar."""
    base = data.draw(BASES)
    layout = Layout(base, LAYOUTS[base], (BIG,) * (1 + len(LAYOUTS[base])))
    open_ns, close_ns = data.draw(one_session(base))
    bars = data.draw(session_bars(open_ns, close_ns, base))
    times = sorted(data.draw(clock_times(open_ns, close_ns, layout, bars[0])))
    whole, _ = build(layout, open_ns, close_ns, capped=True)
    chunked, _ = build(layout, open_ns, close_ns, capped=True)
    whole.pipeline.set_queue(*bars)
    chunked.pipeline.set_queue(*bars)
    assert whole.pipeline.advance(close_ns) == len(bars[0])
    total = sum(chunked.pipeline.advance(t) for t in times)
    total += chunked.pipeline.advance(close_ns)
    assert total == len(bars[0])
    for built in (whole, chunked):
        p = built.pipeline
        assert p.volume == sum(bars[5].tolist())
        assert same_float(p.high, max(bars[2].tolist(), default=math.nan))
        assert same_float(p.low, min(bars[3].tolist(), default=math.nan))
        assert p.last_update == (min(int(bars[0][-1]) + base, close_ns) if len(bars[0]) else 0)
        for k, iv in enumerate((base, *layout.derived)):
            expected = bars if k == 0 else aggregate_bars(*bars, [open_ns], [close_ns], iv)
            assert [a.tolist() for a in built.rings[k].arrays()] == [
                np.asarray(a).tolist() for a in expected]
            assert [a.tolist() for a in built.trackers[k].gaps(close_ns)] == [
                a.tolist() for a in find_gaps(expected[0], [open_ns], [close_ns], iv)]
    # the day's derived bars are identical whichever way they were closed
    assert [r.arrays()[0].tolist() for r in chunked.rings] == [
        r.arrays()[0].tolist() for r in whole.rings]


def test_early_close_truncates_the_last_bucket_and_1d_is_the_session():
    """2014-11-28 09:30-13:00, a full minute grid: the 1h bars start 09:30, 10:30, 11:30,
    12:30 (the last one 30 minutes long, closed by the 12:59 bar); one 1d bar."""
    open_ns = new_york_ns(date(2014, 11, 28), 9, 30)
    close_ns = open_ns + 210 * MINUTE
    layout = Layout(MINUTE, (HOUR, DAY), (BIG, BIG, BIG))
    got, _ = build(layout, open_ns, close_ns)
    ts = open_ns + np.arange(210, dtype=np.int64) * MINUTE
    price = np.arange(210, dtype=np.float64)
    got.pipeline.set_queue(ts, price, price + 1, price - 1, price, np.ones(210))
    got.pipeline.advance(close_ns - MINUTE)  # the 12:58 bar: the 12:30 bucket still forms
    assert got.rings[1].arrays()[0].tolist() == [open_ns + k * HOUR for k in range(3)]
    assert len(got.rings[2]) == 0
    got.pipeline.advance(close_ns)
    assert got.pipeline.closed.tolist() == [1, 1, 1]
    hours = got.rings[1].arrays()
    assert hours[0].tolist() == [open_ns + k * HOUR for k in range(4)]
    assert hours[5].tolist() == [60.0, 60.0, 60.0, 30.0]
    assert as_rows(got.rings[2].arrays()) == [(open_ns, 0.0, 210.0, -1.0, 209.0, 210.0)]


def test_a_bucket_without_base_bars_yields_nothing_and_the_clock_closes_a_partial_one():
    open_ns = new_york_ns(date(2021, 8, 23), 9, 30)
    close_ns = open_ns + 390 * MINUTE
    layout = Layout(MINUTE, (5 * MINUTE,), (BIG, BIG))
    got, _ = build(layout, open_ns, close_ns)
    ts = open_ns + np.array([0, 1, 10, 11], np.int64) * MINUTE  # 09:35 bucket empty
    one = np.ones(4)
    got.pipeline.set_queue(ts, one, one, one, one, one)
    got.pipeline.advance(open_ns + 14 * MINUTE)
    assert got.rings[1].arrays()[0].tolist() == [open_ns]  # 09:40 still forming
    assert got.pipeline.closed.tolist() == [4, 1]
    got.pipeline.advance(open_ns + 15 * MINUTE)  # the clock passes 09:45
    assert got.rings[1].arrays()[0].tolist() == [open_ns, open_ns + 10 * MINUTE]
    assert got.rings[1].arrays()[5].tolist() == [2.0, 2.0]
    assert [a.tolist() for a in got.trackers[1].gaps(open_ns + 15 * MINUTE)] == [
        [open_ns + 5 * MINUTE], [open_ns + 5 * MINUTE], [1]]


def test_metrics_are_nan_and_zero_before_the_first_bar_and_reset():
    open_ns = new_york_ns(date(2021, 8, 23), 9, 30)
    got, _ = build(Layout(MINUTE, (), (4,)), open_ns, open_ns + 390 * MINUTE)
    p = got.pipeline
    assert math.isnan(p.high) and math.isnan(p.low) and (p.volume, p.last_update) == (0.0, 0)
    p.feed([open_ns], [2.0], [3.0], [1.0], [2.5], [7.0], open_ns + MINUTE)
    assert (p.volume, p.high, p.low, p.last_update) == (7.0, 3.0, 1.0, open_ns + MINUTE)
    p.reset_metrics()
    assert math.isnan(p.high) and math.isnan(p.low) and (p.volume, p.last_update) == (0.0, 0)


@given(st.data())
def test_load_queues_what_classify_keeps_and_counts_the_rest(data):
    """A source's raw day (repeats, misaligned stamps, bars outside the session, invalid
    values, swapped neighbours) becomes the queue the reference `classify` keeps; the day
    then runs as from that queue."""
    base = data.draw(BASES)
    case = data.draw(session_cases(pairs=[(base, LAYOUTS[base][0])], max_sessions=1,
                                   max_grid=MAX_GRID, max_short=MAX_GRID, outside=True))
    raw = data.draw(noisy_bars(case))
    open_ns, close_ns = int(case.opens[0]), int(case.closes[0])
    layout = data.draw(layouts(base))
    got, want = build(layout, open_ns, close_ns)
    for pipeline in (got.pipeline, want):  # a queue (pre-market bars delivered) the load replaces
        pipeline.set_queue(*case.bars)
        pipeline.advance(open_ns)
    counts = got.pipeline.load(*raw, open_ns, close_ns)
    assert counts == want.load(*raw, open_ns, close_ns)
    assert all(isinstance(c, int) for c in counts)
    assert as_rows(got.pipeline.queue) == want.queue
    assert sum(counts) + got.pipeline.size == len(raw[0])
    for now in (*data.draw(clock_times(open_ns, close_ns, layout, case.ts)), close_ns):
        assert got.pipeline.advance(now) == want.advance(now)
        assert_same(got, want, (now, close_ns))


def test_load_rejects_bad_arguments_and_keeps_the_old_queue():
    got, open_ns, close_ns = minute_pipeline()
    p = got.pipeline
    ts = open_ns + np.arange(3, dtype=np.int64) * MINUTE
    one = np.ones(3)
    assert p.load(ts, one, one, one, one, one, open_ns, close_ns) == (0, 0, 0, 0)
    with pytest.raises(ValueError, match="opens at or after its close"):
        p.load(ts, one, one, one, one, one, close_ns, open_ns)
    with pytest.raises(ValueError, match="one length"):
        p.load(ts, one, one, one[:2], one, one, open_ns, close_ns)
    assert p.queue[0].tolist() == ts.tolist()
    assert p.load([], [], [], [], [], [], open_ns, close_ns) == (0, 0, 0, 0)
    assert (p.size, p.next_close) == (0, None)


def test_clear_queue_forgets_the_queue():
    got, open_ns, close_ns = minute_pipeline()
    p = got.pipeline
    ts = open_ns + np.arange(5, dtype=np.int64) * MINUTE
    one = np.ones(5)
    p.set_queue(ts, one, one, one, one, one)
    p.advance(open_ns + 2 * MINUTE)
    p.clear_queue()
    assert (p.pos, p.size, p.next_close) == (0, 0, None)
    assert [len(a) for a in p.queue] == [0] * 6
    assert p.advance(close_ns) == 0 and len(got.rings[0]) == 2
    assert step_until([p], close_ns, [[[], []]], np.zeros(1, np.uint8)) is None


# ---------------------------------------------------------------------------------------
# step_until


class LoggedLock:
    """A lock that logs when it is taken and let go (single thread: no real locking)."""

    def __init__(self, log: list) -> None:
        self.log = log
        self.held = False

    def acquire(self) -> None:
        assert not self.held
        self.held = True
        self.log.append(("lock",))

    def release(self) -> None:
        assert self.held
        self.held = False
        self.log.append(("unlock",))


class Recorder:
    """Logs every on_step call and every bar handed to a target into one list (with whether
    the lock was held); can raise the interrupt flag at the `stop_at`-th target call."""

    def __init__(self, stop_at: int | None = None, use_lock: bool = False) -> None:
        self.log: list[tuple] = []
        self.interrupt = np.zeros(1, np.uint8)
        self.stop_at = stop_at
        self.calls = 0
        self.lock = LoggedLock(self.log) if use_lock else None

    def held(self) -> bool:
        return self.lock is not None and self.lock.held

    def on_step(self, t: int, changed: list[int]) -> None:
        self.log.append(("step", t, list(changed), self.held()))

    def target(self, i: int, k: int, tag: int):
        def record(bar) -> None:
            assert type(bar) is ClosedBar
            self.log.append(("bar", i, k, tag, tuple(bar), self.held()))
            self.calls += 1
            if self.calls == self.stop_at:
                self.interrupt[0] = 1
                self.log.append(("interrupt",))
        return record


@st.composite
def step_cases(draw):
    """1-3 pipelines on one session, each with its own layout and gaps; which targets each
    interval has (0-2); cut-off times; where (if anywhere) a target raises the interrupt."""
    n = draw(st.integers(1, 3))
    bases = draw(st.lists(BASES, min_size=n, max_size=n))
    open_ns, close_ns = draw(one_session(max(bases)))  # on every base's grid
    pipes = []
    for base in bases:
        layout = draw(layouts(base))
        bars = draw(session_bars(open_ns, close_ns, base))
        tags = draw(st.lists(st.integers(0, 2), min_size=1 + len(layout.derived),
                             max_size=1 + len(layout.derived)))
        pipes.append((layout, bars, tags))
    untils = sorted(draw(st.lists(
        st.one_of(st.integers(open_ns, close_ns), st.just(close_ns)), max_size=3)))
    stop_at = draw(st.none() | st.integers(1, 60))
    # the last cut-off is past the close: uncapped, a base bar may end after it
    return (open_ns, close_ns, pipes, [*untils, close_ns + HOUR], stop_at, draw(st.booleans()),
            draw(st.booleans()))


def run_steps(pipelines, pipes, untils, recorder, stepper, **kwargs) -> list:
    """step_until to each cut-off in turn, resuming after every interrupt; returns what
    each call returned, logged in order with the steps and bars."""
    targets = [[[recorder.target(i, k, tag) for tag in range(n_tags)]
                for k, n_tags in enumerate(tags)]
               for i, (_, _, tags) in enumerate(pipes)]
    for until in untils:
        while True:
            last = stepper(pipelines, until, targets, recorder.interrupt, recorder.on_step,
                           recorder.lock, **kwargs)
            recorder.log.append(("return", until, last))
            if not recorder.interrupt[0]:
                break
            recorder.interrupt[0] = 0
    return recorder.log


@given(step_cases())
def test_step_until_matches_reference(case):
    open_ns, close_ns, pipes, untils, stop_at, use_lock, capped = case
    built, models = [], []
    for layout, bars, _ in pipes:
        got, want = build(layout, open_ns, close_ns, capped)
        got.pipeline.set_queue(*bars)
        want.set_queue(*bars)
        built.append(got)
        models.append(want)
    got_log = run_steps([b.pipeline for b in built], pipes, untils,
                        Recorder(stop_at, use_lock), step_until)
    want_log = run_steps(models, pipes, untils, Recorder(stop_at, use_lock), ref.step_until,
                         bar_type=ClosedBar)
    assert got_log == want_log
    for got, want in zip(built, models, strict=True):
        assert_same(got, want, (close_ns,))
        assert got.pipeline.next_close is None

    # independent of the model: the steps are the distinct queued closes in order; a call
    # returns its last step's time (None without one), steps up to its `until` and no
    # further, and takes every close <= `until` unless interrupted, then stops right after
    # the step at which the flag went up; on_step runs holding the lock, targets without it
    assert all(e[-1] == use_lock for e in got_log if e[0] == "step")
    assert not any(e[-1] for e in got_log if e[0] == "bar")
    closes = sorted({m.close_of(bar) for m in models for bar in m.queue})
    assert [e[1] for e in got_log if e[0] == "step"] == closes
    done: list[int] = []
    events: list[tuple] = []
    for entry in got_log:
        if entry[0] != "return":
            events.append(entry)
            continue
        _, until, last = entry
        times = [e[1] for e in events if e[0] == "step"]
        done += times
        assert all(t <= until for t in times)
        assert last == (times[-1] if times else None)
        if ("interrupt",) in events:
            after = events[events.index(("interrupt",)):]
            assert not any(e[0] == "step" for e in after)
        else:
            assert done == [t for t in closes if t <= until]
        events = []


@given(step_cases())
def test_step_until_hands_every_closed_bar_once_in_order(case):
    """Without evictions, the bars handed for each interval over the day are exactly the
    interval's bars closed by the last step (all queued bars; the derived bars the closing
    rule gives at that time), in time order. Base bars close at the session close at the
    latest (as after `load`) when it is off a base grid, so the closing rule applies."""
    open_ns, close_ns, pipes, *_, capped = case
    capped = capped or any((close_ns - open_ns) % layout.base_ns for layout, _, _ in pipes)
    cap = close_ns if capped else 2**63 - 1
    last_close = max((min(int(bars[0][-1]) + layout.base_ns, cap) for layout, bars, _ in pipes
                      if len(bars[0])), default=open_ns)
    pipelines, expected = [], []
    for layout, bars, _ in pipes:
        roomy = Layout(layout.base_ns, layout.derived, (BIG,) * len(layout.capacities))
        got, _ = build(roomy, open_ns, close_ns, capped)
        got.pipeline.set_queue(*bars)
        pipelines.append(got.pipeline)
        queued = as_rows(bars)
        expected.append([queued] + [
            ref.closed_by(queued, last_close, open_ns, close_ns, layout.base_ns, iv)
            for iv in layout.derived])
    handed = [[[] for _ in e] for e in expected]
    targets = [[[lambda bar, out=handed[i][k]: out.append(tuple(bar))] for k in range(len(e))]
               for i, e in enumerate(expected)]
    step_until(pipelines, close_ns + HOUR, targets, np.zeros(1, np.uint8))
    assert handed == expected


def test_step_until_edges():
    open_ns = new_york_ns(date(2021, 8, 23), 9, 30)
    close_ns = open_ns + 390 * MINUTE
    got, _ = build(Layout(MINUTE, (5 * MINUTE,), (1, 1)), open_ns, close_ns)
    p = got.pipeline
    flag = np.zeros(1, np.uint8)
    assert step_until([], close_ns, [], flag) is None
    assert step_until([p], close_ns, [[[], []]], flag) is None  # nothing queued
    ts = open_ns + np.arange(12, dtype=np.int64) * MINUTE
    one = np.ones(12)
    p.set_queue(ts, one, one, one, one, one)
    assert step_until([p], open_ns + MINUTE - 1, [[[], []]], flag) is None
    assert p.pos == 0
    # an interrupt raised before the call still lets one step happen
    flag[0] = 1
    assert step_until([p], close_ns, [[[], []]], flag) == open_ns + MINUTE
    assert p.pos == 1
    flag[0] = 0
    # capacity-1 rings: a step that closes two 5m bars hands only the one the ring holds
    minutes = np.array([1, 2, 3, 4, 5, 6, 7, 8, 14], np.int64)
    p.set_queue(open_ns + minutes * MINUTE, *(np.ones(9),) * 5)
    seen: list = []
    step_until([p], open_ns + 10 * MINUTE, [[[], [seen.append]]], flag)
    assert [b.ts for b in seen] == [open_ns]
    assert step_until([p], close_ns, [[[], [seen.append]]], flag) == open_ns + 15 * MINUTE
    assert p.closed.tolist() == [1, 2]  # 09:35 (by the 09:44 bar) and 09:40 (it reached 09:45)
    assert [b.ts for b in seen] == [open_ns, open_ns + 10 * MINUTE]


def test_step_until_lets_the_lock_go_when_a_callback_raises():
    got, open_ns, close_ns = minute_pipeline()
    p = got.pipeline
    ts = open_ns + np.arange(4, dtype=np.int64) * MINUTE
    one = np.ones(4)
    p.set_queue(ts, one, one, one, one, one)
    lock = threading.Lock()  # not re-entrant: a lock left held shows
    flag = np.zeros(1, np.uint8)

    def on_step(t: int, changed: list[int]) -> None:
        if t == open_ns + 2 * MINUTE:
            raise KeyError("from on_step")

    def target(bar: ClosedBar) -> None:
        assert lock.acquire(blocking=False)  # free while bars are handed out
        lock.release()
        if bar.ts == open_ns + 2 * MINUTE:
            raise LookupError("from a target")

    with pytest.raises(KeyError, match="from on_step"):
        step_until([p], close_ns, [[[target], []]], flag, on_step, lock)
    assert p.pos == 2 and lock.acquire(blocking=False)
    lock.release()
    with pytest.raises(LookupError, match="from a target"):
        step_until([p], close_ns, [[[target], []]], flag, None, lock)
    assert p.pos == 3 and lock.acquire(blocking=False)
    lock.release()


def test_closed_bar_reads_like_the_tuple_of_its_columns():
    bar = ClosedBar(7, 1.0, 2.0, 0.5, 1.5, 10.0)
    row = (7, 1.0, 2.0, 0.5, 1.5, 10.0)
    assert (bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume) == row
    assert tuple(bar) == row and bar == row and len(bar) == 6
    assert bar[0] == 7 and bar[-1] == 10.0 and list(bar[1:3]) == [1.0, 2.0]
    ts, *_ = bar
    assert ts == 7 and type(ts) is int
    assert hash(bar) == hash(row) and bar != (7, 1.0)
    assert pickle.loads(pickle.dumps(bar)) == bar
    assert "ts=7" in repr(bar)
    with pytest.raises(AttributeError):
        bar.ts = 8


# ---------------------------------------------------------------------------------------
# bad arguments: clear errors, nothing half-applied, never a crash


def minute_pipeline(capacity: int = 8) -> tuple[Built, int, int]:
    open_ns = new_york_ns(date(2021, 8, 23), 9, 30)
    close_ns = open_ns + 390 * MINUTE
    got, _ = build(Layout(MINUTE, (5 * MINUTE,), (capacity, capacity)), open_ns, close_ns)
    return got, open_ns, close_ns


def snapshot(got: Built) -> tuple:
    p = got.pipeline
    return (p.pos, p.size, p.closed.tolist(), p.volume, repr(p.high), p.last_update,
            [as_rows(r.arrays()) for r in got.rings],
            [(t.present, t.duplicates, t.outside) for t in got.trackers],
            [a.forming() for a in got.aggs])


def test_constructor_rejects_bad_arguments():
    ring, tracker = BarRing(4), GapTracker(MINUTE)
    agg, ring5, tracker5 = StreamingAggregator(MINUTE, 5 * MINUTE), BarRing(4), GapTracker(
        5 * MINUTE)
    with pytest.raises(TypeError):
        SymbolPipeline(None, tracker, MINUTE)
    with pytest.raises(TypeError):
        SymbolPipeline(ring, object(), MINUTE)
    with pytest.raises(TypeError):
        SymbolPipeline(ring, tracker, "1m")
    for bad in (0, -MINUTE):
        with pytest.raises(ValueError, match="base_ns must be positive"):
            SymbolPipeline(ring, tracker, bad)
    with pytest.raises(ValueError, match="step"):
        SymbolPipeline(ring, tracker, 2 * MINUTE)  # the base tracker walks another grid
    with pytest.raises(TypeError, match="StreamingAggregator, BarRing, GapTracker"):
        SymbolPipeline(ring, tracker, MINUTE, [(ring5, agg, tracker5)])
    with pytest.raises((TypeError, ValueError)):
        SymbolPipeline(ring, tracker, MINUTE, [(agg, ring5)])
    with pytest.raises(TypeError):
        SymbolPipeline(ring, tracker, MINUTE, [None])
    with pytest.raises(ValueError, match="base interval"):
        SymbolPipeline(ring, tracker, MINUTE,
                       [(StreamingAggregator(SECOND, 5 * MINUTE), ring5, tracker5)])
    with pytest.raises(ValueError, match="step"):
        SymbolPipeline(ring, tracker, MINUTE, [(agg, ring5, GapTracker(15 * MINUTE))])
    p = SymbolPipeline(ring, tracker, MINUTE, [(agg, ring5, tracker5)])
    assert (p.n_derived, p.base_ns, p.size, p.next_close) == (1, MINUTE, 0, None)


def test_set_queue_rejects_unsorted_or_ragged_columns_and_keeps_the_old_queue():
    got, open_ns, _ = minute_pipeline()
    p = got.pipeline
    ts = open_ns + np.arange(3, dtype=np.int64) * MINUTE
    one = np.ones(3)
    p.set_queue(ts, one, one, one, one, one)
    for bad_ts in (ts[::-1], ts[[0, 0, 1]]):
        with pytest.raises(ValueError, match="strictly increasing"):
            p.set_queue(bad_ts, one, one, one, one, one)
    with pytest.raises(ValueError, match="one length"):
        p.set_queue(ts, one, one, one[:2], one, one)
    with pytest.raises(ValueError, match="one length"):
        p.set_queue(ts.reshape(3, 1), one, one, one, one, one)
    assert p.queue[0].tolist() == ts.tolist() and p.size == 3


def test_feed_rejects_ragged_or_out_of_order_bars_and_changes_nothing():
    got, open_ns, _ = minute_pipeline()
    p = got.pipeline
    t = [open_ns + k * MINUTE for k in range(8)]
    p.feed(t[2:4], [1.0, 1.0], [2.0, 2.0], [0.5, 0.5], [1.0, 1.0], [1.0, 1.0], t[4])
    before = snapshot(got)
    ones = [1.0, 1.0]
    bad_batches = [
        ([t[5], t[4]], ones),  # backwards within the batch
        ([t[5], t[5]], ones),  # a repeated stamp
        ([t[3], t[5]], ones),  # the newest delivered bar again
        ([t[1], t[5]], ones),  # before what was delivered
        ([t[5], t[6]], [1.0]),  # ragged
    ]
    for ts, vol in bad_batches:
        with pytest.raises(ValueError, match=r"time order|one length"):
            p.feed(ts, ones, ones, ones, ones, vol, t[7])
        assert snapshot(got) == before
    with pytest.raises(ValueError, match="one length"):
        p.feed(np.array([[t[5]]]), [1.0], [1.0], [1.0], [1.0], [1.0], t[7])
    # an aggregator that already took a later bar (outside the pipeline) refuses older ones
    got.aggs[0].update(t[6], 1.0, 1.0, 1.0, 1.0, 1.0)
    before = snapshot(got)
    with pytest.raises(ValueError, match="time order"):
        p.feed([t[5]], [1.0], [1.0], [1.0], [1.0], [1.0], t[7])
    assert snapshot(got) == before


def test_advance_refuses_queued_bars_older_than_delivered_ones_and_keeps_them_queued():
    got, open_ns, _ = minute_pipeline()
    p = got.pipeline
    p.feed([open_ns + 5 * MINUTE], [1.0], [1.0], [1.0], [1.0], [1.0], open_ns + 6 * MINUTE)
    one = np.ones(2)
    p.set_queue(open_ns + np.array([1, 2], np.int64) * MINUTE, one, one, one, one, one)
    before = snapshot(got)
    with pytest.raises(ValueError, match="time order"):
        p.advance(open_ns + 10 * MINUTE)
    assert snapshot(got) == before and p.pos == 0


def test_delivering_before_the_session_started_is_refused_cleanly():
    rings = [BarRing(4), BarRing(4)]
    trackers = [GapTracker(MINUTE), GapTracker(5 * MINUTE)]
    agg = StreamingAggregator(MINUTE, 5 * MINUTE)
    p = SymbolPipeline(rings[0], trackers[0], MINUTE, [(agg, rings[1], trackers[1])])
    with pytest.raises(RuntimeError, match="start_session"):
        p.feed([0], [1.0], [1.0], [1.0], [1.0], [1.0], MINUTE)
    assert len(rings[0]) == 0 and p.volume == 0.0
    trackers[0].start_session(0, 390 * MINUTE)  # the aggregator still has no session
    with pytest.raises(RuntimeError, match="start_session"):
        p.feed([0], [1.0], [1.0], [1.0], [1.0], [1.0], MINUTE)
    assert len(rings[0]) == 0 and trackers[0].present == 0
    assert p.advance(10 * MINUTE) == 0  # nothing queued: nothing to refuse


def test_advance_at_the_far_ends_of_time_does_not_wrap():
    got, open_ns, _ = minute_pipeline()
    p = got.pipeline
    one = np.ones(2)
    p.set_queue(open_ns + np.array([0, 1], np.int64) * MINUTE, one, one, one, one, one)
    assert p.advance(-(2**63)) == 0 and p.pos == 0
    assert p.advance(2**63 - 1) == 2


def test_step_until_rejects_bad_arguments():
    got, _, close_ns = minute_pipeline()
    p = got.pipeline
    flag = np.zeros(1, np.uint8)
    with pytest.raises(TypeError, match="SymbolPipeline"):
        step_until([object()], close_ns, [[[], []]], flag)
    with pytest.raises(ValueError, match="one entry per pipeline"):
        step_until([p], close_ns, [], flag)
    with pytest.raises(ValueError, match="one entry per interval"):
        step_until([p], close_ns, [[[]]], flag)
    with pytest.raises(ValueError, match="interrupt"):
        step_until([p], close_ns, [[[], []]], np.zeros(0, np.uint8))
    with pytest.raises(ValueError):
        step_until([p], close_ns, [[[], []]], np.zeros(1, np.int64))
    with pytest.raises(TypeError):
        step_until((p,), close_ns, [[[], []]], flag)


# ---------------------------------------------------------------------------------------
# real minutes: AAPL's 2014-11-28 early close, and the 2021-08-23 vendor drop-outs


def load_day(name: str, day: date, close_hm: tuple[int, int]):
    """One calendar day of a real minute file, pre-market and after-hours bars included, with
    the day's session open and close."""
    import pandas as pd

    df = pd.read_csv(DATA / "minute" / name)
    ts = pd.to_datetime(df["timestamp"], utc=True).dt.as_unit("ns").astype("int64").to_numpy()
    open_ns, close_ns = new_york_ns(day, 9, 30), new_york_ns(day, *close_hm)
    keep = (ts >= open_ns - 6 * HOUR) & (ts < close_ns + 8 * HOUR)
    cols = [df[c].to_numpy(np.float64)[keep] for c in ("open", "high", "low", "close", "volume")]
    return open_ns, close_ns, (ts[keep], *cols)


@pytest.mark.parametrize(("files", "day", "close_hm", "after"), [
    (("AAPL_2014-11.csv", "SPY_2014-11.csv"), date(2014, 11, 28), (13, 0), (109, 138)),
    (("AAPL_2021-08.csv", "MSFT_2021-08.csv", "TSLA_2021-08.csv"), date(2021, 8, 23), (16, 0),
     None),
])
def test_real_minutes_load_and_step_by_step_match_reference(files, day, close_hm, after):
    layout = Layout(MINUTE, LAYOUTS[MINUTE], (BIG,) * 6)
    built, models, days = [], [], []
    for k, name in enumerate(files):
        open_ns, close_ns, raw = load_day(name, day, close_hm)
        got, want = build(layout, open_ns, close_ns)
        counts = got.pipeline.load(*raw, open_ns, close_ns)
        assert counts == want.load(*raw, open_ns, close_ns)
        if after is not None:  # the early close: the bars after 13:00 are outside
            assert ((raw[0] >= close_ns) & (raw[0] < close_ns + 6 * HOUR)).sum() == after[k]
            assert counts[3] >= after[k]
        built.append(got)
        models.append(want)
        days.append(got.pipeline.queue)
    pipes = [(layout, bars, (1,) * 6) for bars in days]
    untils = [open_ns + 95 * MINUTE, close_ns]
    got_log = run_steps([b.pipeline for b in built], pipes, untils, Recorder(500, True),
                        step_until)
    want_log = run_steps(models, pipes, untils, Recorder(500, True), ref.step_until,
                         bar_type=ClosedBar)
    assert got_log == want_log
    for got, want, bars in zip(built, models, days, strict=True):
        got.pipeline.advance(close_ns)  # as the engine does at the close
        want.advance(close_ns)
        assert_same(got, want, (open_ns + 95 * MINUTE, close_ns))
        assert len(got.rings[0]) == len(bars[0]) == (210 if close_hm == (13, 0) else 389)
        assert len(got.rings[-1]) == 1  # one 1d bar
        for ring, iv in zip(got.rings[1:], layout.derived, strict=True):
            assert as_rows(ring.arrays()) == as_rows(
                aggregate_bars(*bars, [open_ns], [close_ns], iv))


def test_a_base_bar_running_past_an_early_close_closes_at_the_close():
    """1h base on 2014-11-28 (09:30-13:00): the 12:30 bar is cut by the 13:00 close once
    `load` gave the session; it closes, with the 1d bar, at 13:00, not 13:30."""
    open_ns = new_york_ns(date(2014, 11, 28), 9, 30)
    close_ns = new_york_ns(date(2014, 11, 28), 13, 0)
    got, want = build(Layout(HOUR, (DAY,), (8, 8)), open_ns, close_ns)
    ts = open_ns + np.arange(-1, 5, dtype=np.int64) * HOUR  # 08:30 .. 13:30
    price = np.arange(6, dtype=np.float64) + 100
    raw = (ts, price, price + 1, price - 1, price, np.full(6, 10.0))
    assert got.pipeline.load(*raw, open_ns, close_ns) == (0, 0, 0, 2)
    want.load(*raw, open_ns, close_ns)
    steps: list[int] = []
    daily: list[tuple] = []
    last = step_until([got.pipeline], close_ns + HOUR, [[[], [lambda b: daily.append(tuple(b))]]],
                      np.zeros(1, np.uint8), lambda t, changed: steps.append(t))
    assert steps == [open_ns + k * HOUR for k in (1, 2, 3)] + [close_ns]
    assert last == close_ns
    assert daily == [(open_ns, 101.0, 105.0, 100.0, 104.0, 40.0)]
    assert got.pipeline.last_update == close_ns
    ref.step_until([want], close_ns + HOUR, [[[], []]], np.zeros(1, np.uint8))
    assert_same(got, want, (close_ns,))


# ---------------------------------------------------------------------------------------
# benchmark smoke test


def test_bench_pipeline_runs_with_a_small_n(capsys):
    """bench/bench_pipeline.py at tiny sizes (it checks both ways agree before timing)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "bench" / "bench_pipeline.py"
    spec = importlib.util.spec_from_file_location("bench_pipeline", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--n", "3", "--repeat", "1"])
    out = capsys.readouterr().out
    assert "SymbolPipeline.advance" in out and "step_until" in out
