"""mismartera.ext.aggregate: bad arguments to the batch function and the streaming class."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mismartera.ext.aggregate import StreamingAggregator, aggregate_bars
from tests.support.strategies import HOUR, MINUTE, session_cases

# ---------------------------------------------------------------------------------------
# bad arguments


def bars(n=3, step=MINUTE):
    ts = np.arange(n, dtype=np.int64) * step
    o = np.ones(n)
    return ts, o, o, o, o, o


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.update(interval_ns=0), "interval_ns must be positive"),
        (lambda a: a.update(interval_ns=-5), "interval_ns must be positive"),
        (lambda a: a.update(high=np.ones(2)), "differ in length"),
        (lambda a: a.update(ts=np.array([0, 2, 1]) * MINUTE), "strictly increasing"),
        (lambda a: a.update(ts=np.array([0, 1, 1]) * MINUTE), "strictly increasing"),
        (lambda a: a.update(ts=np.array([0.0, 1.0, 2.0])), "int64 nanoseconds"),
        (lambda a: a.update(ts=np.zeros((3, 1), np.int64)), "one-dimensional"),
        (lambda a: a.update(session_closes=[10, 20]), "differ in length"),
        (lambda a: a.update(session_opens=[5], session_closes=[5]), "at or after its close"),
        (lambda a: a.update(session_opens=[0, 5], session_closes=[10, 20]), "non-overlapping"),
        (lambda a: a.update(session_opens=[20, 0], session_closes=[30, 10]), "non-overlapping"),
    ],
)
def test_bad_batch_arguments(change, message):
    ts, o, h, lo, c, v = bars()
    args = dict(ts=ts, open=o, high=h, low=lo, close=c, volume=v, session_opens=[0],
                session_closes=[HOUR], interval_ns=5 * MINUTE)
    change(args)
    with pytest.raises(ValueError, match=message):
        aggregate_bars(**args)


@given(st.data())
def test_any_step_back_in_ts_is_reported_at_its_index(data):
    """A repeated or earlier stamp anywhere (before the open, inside a bucket, between
    sessions, after the last close) raises ValueError naming the first bad index."""
    case = data.draw(session_cases(outside=True))
    assume(len(case.ts) >= 2)
    ts = case.ts.copy()
    i = data.draw(st.integers(1, len(ts) - 1))
    ts[i] = ts[data.draw(st.integers(0, i - 1))] - data.draw(st.sampled_from([0, 1, MINUTE]))
    first_bad = int(np.flatnonzero(np.diff(ts) <= 0)[0]) + 1
    with pytest.raises(ValueError, match=rf"strictly increasing: ts\[{first_bad}\] = "):
        aggregate_bars(ts, *case.bars[1:], case.opens, case.closes, case.derived_ns)


@pytest.mark.parametrize(
    ("base", "interval", "message"),
    [(0, 60, "base_ns must be positive"), (60, 0, "interval_ns must be positive"),
     (60, -60, "interval_ns must be positive"), (60, 90, "whole multiple")],
)
def test_bad_streaming_construction(base, interval, message):
    with pytest.raises(ValueError, match=message):
        StreamingAggregator(base, interval)


def test_bad_streaming_calls():
    agg = StreamingAggregator(MINUTE, 5 * MINUTE)
    with pytest.raises(RuntimeError, match="start_session"):
        agg.update(0, 1, 1, 1, 1, 1)
    with pytest.raises(RuntimeError, match="start_session"):
        agg.feed(*bars())
    with pytest.raises(ValueError, match="before its close"):
        agg.start_session(10, 10)
    agg.start_session(0, HOUR)
    agg.update(2 * MINUTE, 1, 1, 1, 1, 1)
    with pytest.raises(ValueError, match="time order"):
        agg.update(MINUTE, 1, 1, 1, 1, 1)
    ts, o, h, lo, c, v = bars(3)
    with pytest.raises(ValueError, match=r"ts\[2\] = 60000000000 < previous 240000000000"):
        agg.feed(np.array([3, 4, 1]) * MINUTE, o, h, lo, c, v)
    assert agg.forming() == (0, 1.0, 1.0, 1.0, 1.0, 1.0)  # nothing of it was applied
    with pytest.raises(ValueError, match="differ in length"):
        agg.feed(ts, o[:2], h, lo, c, v)
    assert agg.pending == 0
