"""mismartera.ext.pipeline: advance, feed and load against the model, and hand-made sessions."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from mismartera.ext.aggregate import aggregate_bars
from mismartera.ext.gaps import find_gaps
from mismartera.ext.pipeline import step_until
from tests.reference import pipeline as ref
from tests.support.pipeline import (
    BASES,
    BIG,
    DAY,
    LAYOUTS,
    MAX_GRID,
    Layout,
    as_rows,
    assert_ring_holds,
    assert_same,
    build,
    clock_times,
    layouts,
    minute_pipeline,
    one_session,
    same_float,
    session_bars,
)
from tests.support.strategies import HOUR, MINUTE, new_york_ns, noisy_bars, session_cases

# ---------------------------------------------------------------------------------------
# advance, feed


@given(st.data())
def test_advance_matches_reference_after_every_call(data):
    layout = data.draw(layouts())
    open_ns, close_ns = data.draw(one_session(layout.base_ns))
    bars = data.draw(session_bars(open_ns, close_ns, layout.base_ns))
    times = data.draw(clock_times(open_ns, close_ns, layout, bars[0]))
    got, want = build(layout, open_ns, close_ns)
    got.pipeline.set_queue(*bars)
    want.set_queue(*bars)
    assert_same(got, want, (close_ns,))
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
            assert_ring_holds(ring, ref.closed_by(delivered, clock, open_ns, close_ns,
                                                  layout.base_ns, iv))
    assert got.pipeline.session_close == close_ns  # from the started base gap tracker
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
    got, want = build(layout, open_ns, close_ns)
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
    whole, _ = build(layout, open_ns, close_ns)
    chunked, _ = build(layout, open_ns, close_ns)
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


def test_a_bar_longer_than_its_session_is_delivered_at_the_close():
    """A 1 s bar in a 0.75 s session (queued with set_queue, as live mode does) closes at the
    session's close, which the pipeline takes from the started base gap tracker."""
    open_ns, close_ns = 1_912_944_638_000_000_000, 1_912_944_638_750_000_000
    got, want = build(Layout(1_000_000_000, (), (8,)), open_ns, close_ns)
    bars = [np.array([open_ns]), *(np.array([x]) for x in (100.04, 100.04, 100.01, 100.01, 5036.0))]
    got.pipeline.set_queue(*bars)
    want.set_queue(*bars)
    assert got.pipeline.next_close == close_ns
    assert got.pipeline.advance(close_ns) == want.advance(close_ns) == 1
    assert_same(got, want, (close_ns,))
    assert got.pipeline.last_update == close_ns
