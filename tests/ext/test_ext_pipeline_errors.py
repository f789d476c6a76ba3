"""mismartera.ext.pipeline: bad arguments give clear errors, apply nothing by half, never crash."""

from __future__ import annotations

import numpy as np
import pytest

from mismartera.ext.aggregate import StreamingAggregator
from mismartera.ext.gaps import GapTracker
from mismartera.ext.pipeline import SymbolPipeline, step_until
from mismartera.ext.ring import BarRing
from tests.support.pipeline import Built, as_rows, minute_pipeline
from tests.support.strategies import MINUTE, SECOND

# ---------------------------------------------------------------------------------------
# bad arguments: clear errors, nothing half-applied, never a crash


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
    with pytest.raises(ValueError, match="differ in length"):
        p.set_queue(ts, one, one, one[:2], one, one)
    with pytest.raises(ValueError, match="ts must be a one-dimensional array"):
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
        with pytest.raises(ValueError, match=r"time order|differ in length"):
            p.feed(ts, ones, ones, ones, ones, vol, t[7])
        assert snapshot(got) == before
    with pytest.raises(ValueError, match="ts must be a one-dimensional array"):
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
    with pytest.raises(ValueError, match="feeds must have one entry per pipeline"):
        step_until([p], close_ns, [[[], []]], flag, feeds=[])
    with pytest.raises(ValueError, match=r"feeds\[0\] must have one entry per interval"):
        step_until([p], close_ns, [[[], []]], flag, feeds=[[[]]])
    with pytest.raises(ValueError, match="coarse needs"):
        step_until([p], close_ns, [[[], []]], flag, coarse=np.zeros(3, np.int64))


def test_load_rejects_bad_arguments_and_keeps_the_old_queue():
    got, open_ns, close_ns = minute_pipeline()
    p = got.pipeline
    ts = open_ns + np.arange(3, dtype=np.int64) * MINUTE
    one = np.ones(3)
    assert p.load(ts, one, one, one, one, one, open_ns, close_ns) == (0, 0, 0, 0)
    with pytest.raises(ValueError, match="opens at or after its close"):
        p.load(ts, one, one, one, one, one, close_ns, open_ns)
    with pytest.raises(ValueError, match="differ in length"):
        p.load(ts, one, one, one[:2], one, one, open_ns, close_ns)
    assert p.queue[0].tolist() == ts.tolist()
    assert p.load([], [], [], [], [], [], open_ns, close_ns) == (0, 0, 0, 0)
    assert (p.size, p.next_close) == (0, None)
