"""mismartera.ext.gaps: find_gaps, classify and GapTracker against the pure-Python
reference, the tracker against the batch kernel, bad arguments, and real data (one vendor
drop-out per day in AAPL 2021-08, pre-market and after-hours bars in SPY 2011-01)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.ext.aggregate import aggregate_bars
from mismartera.ext.gaps import GapTracker, classify, expected_count, find_gaps, quality
from tests.reference import gaps as ref
from tests.support.data import require_data
from tests.support.strategies import (
    MINUTE,
    SessionCase,
    noisy_bars,
    now_in_last_session,
    session_cases,
)

# a gap reference walks the whole grid: keep sessions to a few thousand steps
small_cases = session_cases(max_grid=3_000, outside=True)


def assert_runs_equal(got, expected) -> None:
    assert len(got) == 3
    assert all(g.dtype == np.int64 and g.ndim == 1 for g in got)
    assert [g.tolist() for g in got] == [[int(x) for x in e] for e in expected]


@st.composite
def gap_inputs(draw, case: SessionCase):
    """(ts, session_ends, step): the base bars or the derived bars, on the base or the
    derived grid; the last session ends at its close or at a random "now"."""
    step = draw(st.sampled_from([case.base_ns, case.derived_ns]))
    if draw(st.booleans()):
        ts = case.ts
    else:
        ts = aggregate_bars(*case.bars, case.opens, case.closes, case.derived_ns)[0]
    ends = case.closes.copy()
    if draw(st.booleans()):
        ends[-1] = min(draw(now_in_last_session(case)), int(case.closes[-1]))
    return ts, ends, step


# ---------------------------------------------------------------------------------------
# find_gaps


@given(st.data())
def test_find_gaps_matches_reference(data):
    case = data.draw(small_cases)
    ts, ends, step = data.draw(gap_inputs(case))
    got = find_gaps(ts, case.opens, ends, step)
    assert_runs_equal(got, ref.find_gaps(ts, case.opens, ends, step))
    # every run is maximal, inside its session, and the counts add up
    starts, lasts, counts = got
    assert np.all(counts >= 1)
    np.testing.assert_array_equal(lasts - starts, (counts - 1) * step)
    present = sum(
        len(set(ts.tolist()) & set(ref.expected_starts(int(o), int(e), step)))
        for o, e in zip(case.opens, ends, strict=True)
    )
    assert counts.sum() + present == expected_count(case.opens, ends, step)


@given(st.data())
def test_find_gaps_ignores_repeats_and_off_grid_stamps(data):
    case = data.draw(small_cases)
    ts = np.sort(data.draw(noisy_bars(case))[0])
    got = find_gaps(ts, case.opens, case.closes, case.base_ns)
    assert_runs_equal(got, ref.find_gaps(ts, case.opens, case.closes, case.base_ns))


@given(st.data())
def test_find_gaps_with_now_anywhere(data):
    """`now` before the open, inside (on or off the grid) or after the close."""
    case = data.draw(small_cases)
    ends = case.closes.copy()
    ends[-1] = data.draw(now_in_last_session(case))
    got = find_gaps(case.ts, case.opens, ends, case.base_ns)
    assert_runs_equal(got, ref.find_gaps(case.ts, case.opens, ends, case.base_ns))


def test_find_gaps_hand_made():
    m = MINUTE
    ts = np.array([-3, 0, 1, 1, 2, 5, 7, 7, 8, 20, 21, 24, 30]) * m + np.array(
        [0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0]
    )  # 8m + 7ns is off the grid
    got = find_gaps(ts, [0, 20 * m], [10 * m, 26 * m], m)
    assert_runs_equal(got, ([3 * m, 6 * m, 8 * m, 22 * m, 25 * m],
                            [4 * m, 6 * m, 9 * m, 23 * m, 25 * m], [2, 1, 2, 2, 1]))
    assert_runs_equal(find_gaps([], [0], [3 * m], m), ([0], [2 * m], [3]))
    assert_runs_equal(find_gaps([0], [0], [m], m), ([], [], []))
    assert_runs_equal(find_gaps([0], [10], [5], m), ([], [], []))  # "now" before the open
    assert_runs_equal(find_gaps([], [0], [m + 1], m), ([0], [m], [2]))  # now off the grid


def test_quality_and_expected_count():
    assert quality(0, 0) == 100.0
    assert quality(389, 390) == pytest.approx(100 * 389 / 390)
    assert quality(3, 4) == 75.0
    assert expected_count([0, 100], [10, 95], 3) == 4
    assert expected_count([0, 100], [10, 131], 3) == 4 + 11


# ---------------------------------------------------------------------------------------
# classify


@given(st.data())
def test_classify_matches_reference(data):
    case = data.draw(small_cases)
    ts, o, h, lo, c, v = data.draw(noisy_bars(case))
    with_values = data.draw(st.booleans())
    values = (o, h, lo, c, v) if with_values else ()
    mask, invalid, dup, mis, out = classify(ts, case.opens, case.closes, case.base_ns, *values)
    expected = ref.classify(ts, case.opens, case.closes, case.base_ns, *values)
    assert mask.dtype == np.bool_
    assert mask.tolist() == expected[0]
    assert (invalid, dup, mis, out) == expected[1:]
    assert mask.sum() + invalid + dup + mis + out == len(ts)
    if not with_values:
        assert invalid == 0
    kept = ts[mask]
    assert np.all(np.diff(kept) > 0)  # what is kept is usable as is


def test_classify_hand_made():
    m = MINUTE
    ts = np.array([5, 0, 1, 1, 3, 2, 4, 11, 10]) * m
    ts[4] += 1  # off the grid
    o = np.array([1.0, 1, 1, 1, 1, 1, 1, 1, 1])
    h = o + 1
    h[6] = 0.5  # high below open: invalid
    mask, invalid, dup, mis, out = classify(ts, [0, 10 * m], [5 * m, 11 * m], m,
                                            o, h, o - 1, o, o)
    assert mask.tolist() == [False, True, True, False, False, True, False, False, True]
    assert (invalid, dup, mis, out) == (1, 1, 1, 2)


# ---------------------------------------------------------------------------------------
# GapTracker


@given(st.data())
def test_tracker_matches_batch_and_reference(data):
    case = data.draw(session_cases(max_grid=800, outside=True))
    step = case.base_ns
    ts_all = data.draw(noisy_bars(case))[0]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    tracker, expected = GapTracker(step), ref.GapTracker(step)
    for i in range(case.n_sessions):
        open_ns, close_ns = int(case.opens[i]), int(case.closes[i])
        tracker.start_session(open_ns, close_ns)
        expected.start_session(open_ns, close_ns)
        near = (ts_all >= open_ns - 2 * step) & (ts_all < close_ns + 2 * step)
        ts = ts_all[near]
        cuts = sorted(set(rng.integers(0, len(ts) + 1, rng.integers(0, 6)).tolist()))
        for lo, hi in zip([0, *cuts], [*cuts, len(ts)], strict=True):
            if rng.random() < 0.5:
                assert tracker.add_many(ts[lo:hi]) == sum(expected.add(int(t)) for t in ts[lo:hi])
            else:
                for t in ts[lo:hi]:
                    assert tracker.add(int(t)) == expected.add(int(t))
            if hi < len(ts) and rng.random() < 0.6:
                continue  # query now and then, and always at the end
            for end in (close_ns, int(rng.integers(open_ns - step, close_ns + 2 * step)),
                        int(ts[hi - 1]) if hi else open_ns):
                got = tracker.gaps(end)
                assert_runs_equal(got, expected.gaps(end))
                kept = np.array(expected.kept, np.int64)
                assert_runs_equal(got, find_gaps(kept, [open_ns], [min(end, close_ns)], step))
                assert tracker.expected(end) == expected.expected(end)
                assert tracker.missing(end) == expected.missing(end)
                assert tracker.quality(end) == expected.quality(end)
        assert tracker.present == expected.present
        assert (tracker.duplicates, tracker.misaligned, tracker.outside) == (
            expected.duplicates, expected.misaligned, expected.outside
        )


def test_tracker_hand_made():
    m = MINUTE
    tracker = GapTracker(m)
    assert tracker.session_open is None
    tracker.start_session(0, 10 * m)
    assert (tracker.session_open, tracker.session_close) == (0, 10 * m)
    assert tracker.add_many(np.array([0, 1, 4, 4, 3, 5]) * m) == 4
    assert tracker.add(5 * m + 1) is False
    assert tracker.add(12 * m) is False
    assert (tracker.present, tracker.duplicates, tracker.misaligned, tracker.outside) == (
        4, 2, 1, 1
    )
    assert_runs_equal(tracker.gaps(6 * m), ([2 * m], [3 * m], [2]))
    assert_runs_equal(tracker.gaps(3 * m), ([2 * m], [2 * m], [1]))  # cut by "now"
    assert_runs_equal(tracker.gaps(100 * m), ([2 * m, 6 * m], [3 * m, 9 * m], [2, 4]))
    assert tracker.expected(100 * m) == 10
    assert tracker.quality(100 * m) == 40.0
    assert tracker.quality(3 * m) == pytest.approx(100 * 2 / 3)
    assert tracker.quality(0) == 100.0  # nothing expected yet
    tracker.start_session(20 * m, 30 * m)
    assert tracker.present == 0
    assert_runs_equal(tracker.gaps(22 * m), ([20 * m], [21 * m], [2]))


# ---------------------------------------------------------------------------------------
# bad arguments


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: find_gaps([0, 1], [0], [10], 0), "step_ns must be positive"),
        (lambda: find_gaps([0, 1], [0], [10], -1), "step_ns must be positive"),
        (lambda: find_gaps([1, 0], [0], [10], 1), "must be sorted"),
        (lambda: find_gaps([0, 1], [0, 5], [10], 1), "differ in length"),
        (lambda: find_gaps([0, 1], [5, 0], [10, 3], 1), "non-overlapping"),
        (lambda: find_gaps([0, 1], [0, 5], [10, 20], 1), "non-overlapping"),
        (lambda: find_gaps([0.5, 1.0], [0], [10], 1), "int64 nanoseconds"),
        (lambda: find_gaps(np.zeros((2, 2), np.int64), [0], [10], 1), "one-dimensional"),
        (lambda: classify([0], [0], [10], 0), "step_ns must be positive"),
        (lambda: classify([0], [10], [10], 1), "at or after its close"),
        (lambda: classify([0], [0, 5], [10, 20], 1), "non-overlapping"),
        (lambda: classify([0], [0], [10], 1, [1.0]), "all of open, high"),
        (lambda: classify([0, 1], [0], [10], 1, *[[1.0]] * 5), "differ in length"),
        (lambda: expected_count([0], [10, 20], 1), "differ in length"),
        (lambda: GapTracker(0), "step_ns must be positive"),
        (lambda: GapTracker(1).start_session(5, 5), "before its close"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_tracker_needs_a_session():
    tracker = GapTracker(MINUTE)
    for call in (lambda: tracker.add(0), lambda: tracker.add_many([0]),
                 lambda: tracker.gaps(0), lambda: tracker.quality(0)):
        with pytest.raises(RuntimeError, match="start_session"):
            call()


# ---------------------------------------------------------------------------------------
# real data


def load_ts(name: str) -> np.ndarray:
    import pandas as pd
    df = pd.read_csv(require_data() / "minute" / name, usecols=["timestamp"])
    return pd.to_datetime(df["timestamp"], utc=True).dt.as_unit("ns").astype("int64").to_numpy()


def regular_sessions(ts: np.ndarray):
    """09:30-16:00 New York of each day present in ts (none of these days closes early)."""
    import pandas as pd
    days = pd.to_datetime(ts, utc=True).tz_convert("America/New_York").normalize().unique()
    opens = (days + pd.Timedelta(hours=9, minutes=30)).as_unit("ns").asi8
    closes = (days + pd.Timedelta(hours=16)).as_unit("ns").asi8
    return np.asarray(opens), np.asarray(closes)


def test_aapl_2021_08_one_missing_minute_per_day():
    ts = load_ts("AAPL_2021-08.csv")
    opens, closes = regular_sessions(ts)
    assert len(opens) == 3
    starts, ends, counts = find_gaps(ts, opens, closes, MINUTE)
    present = set(ts.tolist())
    missing = [
        [t for t in range(int(o), int(c), MINUTE) if t not in present]
        for o, c in zip(opens, closes, strict=True)
    ]
    assert [len(day) for day in missing] == [1, 1, 1]
    flat = [day[0] for day in missing]
    np.testing.assert_array_equal(starts, flat)
    np.testing.assert_array_equal(ends, flat)
    np.testing.assert_array_equal(counts, [1, 1, 1])
    tracker = GapTracker(MINUTE)
    for o, c, gap in zip(opens, closes, flat, strict=True):
        tracker.start_session(int(o), int(c))
        tracker.add_many(ts)
        assert_runs_equal(tracker.gaps(int(c)), ([gap], [gap], [1]))
        assert tracker.quality(int(c)) == pytest.approx(100 * 389 / 390)


def test_spy_2011_01_classify_counts_extended_hours():
    ts = load_ts("SPY_2011-01.csv")
    opens, closes = regular_sessions(ts)
    assert len(opens) == 20
    mask, invalid, dup, mis, out = classify(ts, opens, closes, MINUTE)
    assert mask.sum() == 20 * 390  # the README: 390 regular bars every day
    assert (invalid, dup, mis) == (0, 0, 0)
    assert out == len(ts) - 20 * 390
    assert_runs_equal(find_gaps(ts, opens, closes, MINUTE), ([], [], []))


def test_benchmark_runs_and_peer_agrees(capsys):
    """bench/bench_gaps.py at a small n: it checks the numpy peer equals ours first."""
    from tests.support.bench import load_bench

    bench = load_bench("bench_gaps")
    bench.main(["--n", "5000", "--repeat", "1", "--drop", "0.05"])
    out = capsys.readouterr().out
    assert "find_gaps" in out and "numpy setdiff1d" in out
