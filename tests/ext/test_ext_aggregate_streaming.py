"""mismartera.ext.aggregate: StreamingAggregator against the reference and the batch function."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from mismartera.ext.aggregate import StreamingAggregator
from tests.reference import aggregate as ref
from tests.support.aggregate import assert_columns_equal, run_batch
from tests.support.strategies import MINUTE, SessionCase, session_cases

# ---------------------------------------------------------------------------------------
# streaming


@st.composite
def stream_plan(draw, case: SessionCase, i: int):
    """Operations for session i: chunks (split at drawn points) fed by `feed` or bar by bar,
    `close_until` at a time that never runs ahead of the next bar's arrival, `pop_closed`
    now and then (the choices after each chunk come from a drawn seed)."""
    lo_ns = case.opens[i] - 6 * case.base_ns
    hi_ns = case.closes[i] + 6 * case.base_ns
    idx = np.flatnonzero((case.ts >= lo_ns) & (case.ts < hi_ns))
    in_session = (case.ts[idx] >= case.opens[i]) & (case.ts[idx] < case.closes[i])
    cuts = sorted(set(draw(st.lists(st.integers(0, len(idx)), max_size=8))) | {len(idx)})
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ops, prev = [], 0
    for cut in cuts:
        if cut > prev:
            ops.append(("feed" if rng.random() < 0.5 else "update", idx[prev:cut]))
        later = np.flatnonzero(in_session[cut:])
        last_seen = int(case.ts[idx[cut - 1]]) if cut else int(lo_ns)
        if len(later):  # the clock stays before the next in-session bar has closed
            limit = int(case.ts[idx[cut + later[0]]]) + case.base_ns - 1
        else:
            limit = int(case.closes[i]) + case.base_ns
        if rng.random() < 0.7:
            lo = min(last_seen, limit)
            ops.append(("close_until", rng.choice([limit, int(rng.integers(lo, limit + 1))])))
        if rng.random() < 0.3:
            ops.append(("pop", None))
        prev = cut
    ops.append(("close_until", int(case.closes[i])))
    return ops


def run_stream(agg, case: SessionCase, ops, expected_agg=None):
    """Apply ops to `agg` (and to `expected_agg` call by call when given, comparing every
    return value and the forming bar); return the popped bars."""
    popped = []
    for op, arg in ops:
        if op == "feed":
            got = agg.feed(*(a[arg] for a in case.bars))
            if expected_agg is not None:
                assert got == sum(
                    expected_agg.update(int(case.ts[j]), *(float(a[j]) for a in case.bars[1:]))
                    for j in arg
                )
        elif op == "update":
            for j in arg:
                bar = (int(case.ts[j]), *(float(a[j]) for a in case.bars[1:]))
                got = agg.update(*bar)
                assert got in (0, 1, 2)
                if expected_agg is not None:
                    assert got == expected_agg.update(*bar)
        elif op == "close_until":
            got = agg.close_until(arg)
            if expected_agg is not None:
                assert got == expected_agg.close_until(arg)
        else:
            popped.append(agg.pop_closed())
            if expected_agg is not None:
                assert_columns_equal(popped[-1], expected_agg.pop_closed())
        if expected_agg is not None:
            assert agg.forming() == expected_agg.forming()
            assert agg.pending == len(expected_agg.closed)
    popped.append(agg.pop_closed())
    if expected_agg is not None:
        assert_columns_equal(popped[-1], expected_agg.pop_closed())
    return tuple(np.concatenate(cols) for cols in zip(*popped, strict=True))


@given(st.data())
def test_streaming_equals_batch_and_reference(data):
    case = data.draw(session_cases(max_sessions=2, max_short=150, dense_limit=150, outside=True))
    agg = StreamingAggregator(case.base_ns, case.derived_ns)
    expected_agg = ref.StreamingAggregator(case.base_ns, case.derived_ns)
    parts = []
    for i in range(case.n_sessions):
        agg.start_session(int(case.opens[i]), int(case.closes[i]))
        expected_agg.start_session(int(case.opens[i]), int(case.closes[i]))
        assert (agg.session_open, agg.session_close) == (case.opens[i], case.closes[i])
        parts.append(run_stream(agg, case, data.draw(stream_plan(case, i)), expected_agg))
        assert agg.forming() is None
    streamed = tuple(np.concatenate(cols) for cols in zip(*parts, strict=True))
    assert_columns_equal(streamed, run_batch(case))
    assert agg.late == 0


@given(st.data())
def test_streaming_with_repeats_and_off_grid_stamps_matches_reference(data):
    """Non-decreasing stamps with repeats and off-grid times: late bars are counted, and
    every call agrees with the reference."""
    case = data.draw(session_cases(max_sessions=1, max_short=150, dense_limit=150, outside=True))
    extra = data.draw(st.lists(st.tuples(
        st.integers(0, max(0, len(case.ts) - 1)),
        st.sampled_from([0, 1, case.base_ns - 1]) | st.integers(0, case.base_ns - 1),
    ), max_size=6)) if len(case.ts) else []
    ts = np.sort(np.concatenate([case.ts, [case.ts[i] + off for i, off in extra]]))
    rng = np.random.default_rng(len(ts))
    lows = rng.random(len(ts))
    bars = (ts.astype(np.int64), lows + 1, lows + 2, lows, lows + 1.5, np.ones(len(ts)))
    agg = StreamingAggregator(case.base_ns, case.derived_ns)
    expected_agg = ref.StreamingAggregator(case.base_ns, case.derived_ns)
    agg.start_session(int(case.opens[0]), int(case.closes[0]))
    expected_agg.start_session(int(case.opens[0]), int(case.closes[0]))
    for j in range(len(ts)):
        bar = (int(bars[0][j]), *(float(a[j]) for a in bars[1:]))
        assert agg.update(*bar) == expected_agg.update(*bar)
        assert agg.forming() == expected_agg.forming()
    assert agg.close_until(int(case.closes[0])) == expected_agg.close_until(int(case.closes[0]))
    assert_columns_equal(agg.pop_closed(), expected_agg.pop_closed())
    assert agg.late == expected_agg.late


def test_streaming_close_rules():
    m = MINUTE
    agg = StreamingAggregator(m, 5 * m)
    agg.start_session(0, 12 * m)
    assert agg.update(0, 1, 2, 0, 1, 10) == 0
    assert agg.forming() == (0, 1.0, 2.0, 0.0, 1.0, 10.0)
    assert agg.close_until(5 * m - 1) == 0
    assert agg.update(2 * m, 3, 5, 1, 4, 1) == 0
    assert agg.close_until(5 * m) == 1  # the clock passed the bucket end
    assert agg.forming() is None
    assert agg.update(9 * m, 1, 1, 1, 1, 1) == 1  # ts + base reaches the bucket end
    assert agg.update(9 * m, 1, 1, 1, 1, 1) == 0  # its bucket closed: late
    assert agg.late == 1
    assert agg.update(10 * m, 1, 1, 1, 1, 2) == 0
    assert agg.update(11 * m, 1, 3, 1, 2, 3) == 1  # truncated last bucket ends at the close
    assert agg.update(12 * m, 1, 1, 1, 1, 1) == 0  # at the close: outside
    assert agg.pending == 3
    assert_columns_equal(
        agg.pop_closed(),
        ([0, 5 * m, 10 * m], [1.0, 1.0, 1.0], [5.0, 1.0, 3.0], [0.0, 1.0, 1.0],
         [4.0, 1.0, 2.0], [11.0, 1.0, 5.0]),
    )
    assert agg.pending == 0
    assert [len(a) for a in agg.pop_closed()] == [0] * 6


def test_streaming_two_closes_in_one_update():
    m = MINUTE
    agg = StreamingAggregator(m, 5 * m)
    agg.start_session(0, 60 * m)
    agg.update(m, 1, 1, 1, 1, 1)
    assert agg.update(9 * m, 2, 2, 2, 2, 2) == 2  # closes [0, 5m) then its own [5m, 10m)
    assert list(agg.pop_closed()[0]) == [0, 5 * m]


def test_start_session_discards_forming_keeps_closed():
    m = MINUTE
    agg = StreamingAggregator(m, 5 * m)
    agg.start_session(0, 10 * m)
    agg.update(4 * m, 1, 1, 1, 1, 1)
    agg.update(5 * m, 1, 1, 1, 1, 1)
    agg.start_session(20 * m, 30 * m)
    assert agg.forming() is None
    assert list(agg.pop_closed()[0]) == [0]
