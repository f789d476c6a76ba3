"""mismartera.ext.aggregate: aggregate_bars against the reference, metamorphic, real SPY."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.ext.aggregate import StreamingAggregator, aggregate_bars
from tests.reference import aggregate as ref
from tests.support.aggregate import assert_columns_equal, run_batch
from tests.support.data import require_data
from tests.support.strategies import (
    HOUR,
    INTERVALS,
    MINUTE,
    PAIRS,
    SECOND,
    new_york_ns,
    session_cases,
)

# ---------------------------------------------------------------------------------------
# batch against the reference


@given(session_cases(outside=True))
def test_batch_matches_reference(case):
    expected = ref.aggregate_bars(*case.bars, case.opens, case.closes, case.derived_ns)
    assert_columns_equal(run_batch(case), expected)


@given(session_cases(kinds=("early",), outside=True))
def test_batch_matches_reference_on_early_closes(case):
    expected = ref.aggregate_bars(*case.bars, case.opens, case.closes, case.derived_ns)
    assert_columns_equal(run_batch(case), expected)


@pytest.mark.parametrize(("base", "derived"), PAIRS)
def test_every_pair_on_a_full_early_close_session(base, derived):
    """Every base bar of a 09:30-13:00 session present: bucket k holds the base bars
    k*ratio .. (k+1)*ratio - 1, the last bucket truncated at the close."""
    open_ns = new_york_ns(date(2014, 11, 28), 9, 30)
    close_ns = open_ns + 210 * MINUTE
    n = (close_ns - open_ns) // base
    ts = open_ns + np.arange(n, dtype=np.int64) * base
    o = np.arange(n, dtype=np.float64)
    out = aggregate_bars(ts, o, o + 0.5, o - 0.5, o + 0.25, np.ones(n), [open_ns], [close_ns],
                         derived)
    ratio = derived // base
    starts = list(range(0, n, ratio))
    ends = [min(s + ratio, n) for s in starts]
    np.testing.assert_array_equal(out[0], [open_ns + s * base for s in starts])
    np.testing.assert_array_equal(out[1], starts)
    np.testing.assert_array_equal(out[2], [e - 1 + 0.5 for e in ends])
    np.testing.assert_array_equal(out[3], [s - 0.5 for s in starts])
    np.testing.assert_array_equal(out[4], [e - 1 + 0.25 for e in ends])
    np.testing.assert_array_equal(out[5], [e - s for s, e in zip(starts, ends, strict=True)])


@given(session_cases(outside=True))
def test_daily_bar_is_the_whole_session(case):
    """An interval as long as a day (`1d`) gives one bar per session with a bar in it."""
    day = 86_400 * SECOND
    expected = ref.aggregate_bars(*case.bars, case.opens, case.closes, day)
    got = run_batch(case, day)
    assert_columns_equal(got, expected)
    assert set(got[0].tolist()) <= set(case.opens.tolist())
    agg = StreamingAggregator(case.base_ns, day)
    for i in range(case.n_sessions):
        agg.start_session(int(case.opens[i]), int(case.closes[i]))
        agg.feed(*case.bars)
        agg.close_until(int(case.closes[i]))
    assert_columns_equal(agg.pop_closed(), expected)


def test_huge_interval_does_not_overflow():
    """open + interval beyond int64 still means "up to the close"."""
    open_ns = new_york_ns(date(2014, 11, 28), 9, 30)
    close_ns = open_ns + 210 * MINUTE
    huge = MINUTE * 2**27  # ~8.1e18 ns: open + huge overflows int64
    ts = open_ns + np.arange(0, 210, 7, dtype=np.int64) * MINUTE
    o = np.arange(len(ts), dtype=np.float64)
    out = aggregate_bars(ts, o, o + 1, o - 1, o, np.ones(len(ts)), [open_ns], [close_ns], huge)
    assert_columns_equal(out, ([open_ns], [0.0], [len(ts)], [-1.0], [len(ts) - 1.0],
                               [float(len(ts))]))
    agg = StreamingAggregator(MINUTE, huge)
    agg.start_session(open_ns, close_ns)
    assert agg.feed(ts, o, o + 1, o - 1, o, np.ones(len(ts))) == 0
    assert agg.close_until(close_ns - 1) == 0
    assert agg.close_until(close_ns) == 1
    assert_columns_equal(agg.pop_closed(), out)


def test_hand_made_example():
    """1m -> 5m, session 10:00-10:12 (last bucket truncated to 2 minutes), a dropped
    bucket, bars before the open and at the close ignored."""
    m = MINUTE
    ts = np.array([-1, 0, 1, 4, 10, 11, 12, 13]) * m
    o = np.array([9.0, 1, 2, 3, 4, 5, 6, 7])
    h = o + 10
    lo = o - 10
    c = o + 0.5
    v = np.array([100.0, 1, 2, 3, 4, 5, 6, 7])
    out = aggregate_bars(ts, o, h, lo, c, v, [0], [12 * m], 5 * m)
    assert_columns_equal(
        out,
        ([0, 10 * m], [1.0, 4.0], [13.0, 15.0], [-9.0, -6.0], [3.5, 5.5], [6.0, 9.0]),
    )


def test_empty_inputs():
    empty_ts = np.empty(0, np.int64)
    empty = np.empty(0)
    out = aggregate_bars(empty_ts, empty, empty, empty, empty, empty, [0], [10], 5)
    assert [len(a) for a in out] == [0] * 6
    out = aggregate_bars([1, 2], [1.0, 1], [1.0, 1], [1.0, 1], [1.0, 1], [1.0, 1], [], [], 5)
    assert [len(a) for a in out] == [0] * 6


def test_accepts_datetime64_and_lists():
    ts = np.array(["2024-01-02T14:30", "2024-01-02T14:31"], dtype="datetime64[ns]")
    opens = np.array(["2024-01-02T14:30"], dtype="datetime64[s]")
    closes = np.array(["2024-01-02T21:00"], dtype="datetime64[s]")
    out = aggregate_bars(ts, [1, 2], [3, 4], [0, 1], [2, 3], [5, 6], opens, closes, 5 * MINUTE)
    assert_columns_equal(out, ([ts[0].astype(np.int64)], [1.0], [4.0], [0.0], [3.0], [11.0]))


# ---------------------------------------------------------------------------------------
# invariants and metamorphic properties


@given(session_cases(outside=True, fractional_volume=True))
def test_ohlc_invariants_and_volume_conservation(case):
    ts, o, h, lo, c, v = run_batch(case)
    assert np.all(lo <= np.minimum(o, c)) and np.all(np.maximum(o, c) <= h)
    base_volume = case.volume[case.in_session()].sum()
    assert v.sum() == pytest.approx(base_volume, rel=1e-12, abs=1e-9)
    # one bar per non-empty bucket, each a bucket start of some session, in time order
    assert np.all(np.diff(ts) > 0)
    session = np.searchsorted(case.opens, ts, side="right") - 1
    assert np.all(session >= 0)
    assert np.all(ts < case.closes[session])
    assert np.all((ts - case.opens[session]) % case.derived_ns == 0)
    in_session = case.ts[case.in_session()]
    s = np.searchsorted(case.opens, in_session, side="right") - 1
    buckets = case.opens[s] + (in_session - case.opens[s]) // case.derived_ns * case.derived_ns
    np.testing.assert_array_equal(ts, np.unique(buckets))


def nested_triples():
    """(base, mid, top) with mid a multiple of base and top a multiple of mid."""
    return [
        (b, m, t)
        for b, m in PAIRS
        for m2, t in PAIRS
        if m2 == m
    ]


@given(st.data())
def test_derived_of_derived_equals_direct(data):
    base, mid, top = data.draw(st.sampled_from(nested_triples()))
    case = data.draw(session_cases(pairs=[(base, top)], outside=True))
    direct = run_batch(case, top)
    via_mid = aggregate_bars(*run_batch(case, mid), case.opens, case.closes, top)
    assert_columns_equal(via_mid, direct)


@given(session_cases(pairs=[(MINUTE, 15 * MINUTE)], kinds=("regular", "early")))
def test_1m_5m_15m_equals_1m_15m(case):
    via_5m = aggregate_bars(*run_batch(case, 5 * MINUTE), case.opens, case.closes, 15 * MINUTE)
    assert_columns_equal(via_5m, run_batch(case, 15 * MINUTE))


@given(session_cases(pairs=[(SECOND, 5 * MINUTE)]))
def test_1s_1m_5m_equals_1s_5m(case):
    via_1m = aggregate_bars(*run_batch(case, MINUTE), case.opens, case.closes, 5 * MINUTE)
    assert_columns_equal(via_1m, run_batch(case, 5 * MINUTE))


@given(session_cases(pairs=[(b, b) for b in sorted(set(INTERVALS.values()) - {HOUR})]))
def test_same_interval_is_identity_in_session(case):
    in_session = case.in_session()
    assert_columns_equal(run_batch(case), [a[in_session] for a in case.bars])


# ---------------------------------------------------------------------------------------
# real data: SPY minutes of 2014-11-19 .. 12-03, early close on 2014-11-28 at 13:00


def load_minutes(name: str):
    import pandas as pd
    df = pd.read_csv(require_data() / "minute" / name)
    ts = pd.to_datetime(df["timestamp"], utc=True).dt.as_unit("ns").astype("int64").to_numpy()
    cols = [df[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")]
    return (ts, *cols)


def xnys_sessions(start: str, end: str):
    import exchange_calendars as xcals
    cal = xcals.get_calendar("XNYS", start="2014-01-01", end="2022-12-31")
    sched = cal.schedule.loc[start:end]
    opens = sched["open"].dt.as_unit("ns").astype("int64").to_numpy()
    closes = sched["close"].dt.as_unit("ns").astype("int64").to_numpy()
    return opens, closes


@pytest.mark.filterwarnings("ignore:Series.values returning")  # inside exchange_calendars
@pytest.mark.parametrize("interval", ["5m", "30m", "1h"])
def test_spy_2014_11_matches_pandas(interval):
    import pandas as pd
    bars_ = load_minutes("SPY_2014-11.csv")
    opens, closes = xnys_sessions("2014-11-19", "2014-12-03")
    early = new_york_ns(date(2014, 11, 28), 13, 0)
    assert early in closes  # the calendar knows the early close
    iv = INTERVALS[interval]
    got = aggregate_bars(*bars_, opens, closes, iv)

    df = pd.DataFrame(dict(zip(("ts", "open", "high", "low", "close", "volume"), bars_,
                               strict=True)))
    s = np.searchsorted(opens, df["ts"].to_numpy(), side="right") - 1
    df["s"] = s
    df = df[(s >= 0) & (df["ts"].to_numpy() < closes[np.maximum(s, 0)])]
    df["bucket"] = opens[df["s"]] + (df["ts"] - opens[df["s"]]) // iv * iv
    expected = df.groupby("bucket").agg(
        open=("open", "first"), high=("high", "max"), low=("low", "min"),
        close=("close", "last"), volume=("volume", "sum"),
    )
    np.testing.assert_array_equal(got[0], expected.index.to_numpy())
    for k, col in enumerate(("open", "high", "low", "close", "volume"), start=1):
        np.testing.assert_array_equal(got[k], expected[col].to_numpy(), err_msg=col)

    # the early-close day ends with a bucket truncated at 13:00 and ignores the 138 bars after
    day = (got[0] >= new_york_ns(date(2014, 11, 28), 9, 30)) & (
        got[0] < early
    )
    assert day.sum() == {"5m": 42, "30m": 7, "1h": 4}[interval]
    last = got[0][day][-1]
    assert last == early - {"5m": 5 * MINUTE, "30m": 30 * MINUTE, "1h": 30 * MINUTE}[interval]
    after = (bars_[0] >= early) & (bars_[0] < early + 6 * HOUR)
    assert after.sum() == 138


def test_benchmark_runs_and_peers_agree(capsys):
    """bench/bench_aggregate.py at a small n: it checks both peers equal ours first."""
    from tests.support.bench import load_bench

    bench = load_bench("bench_aggregate")
    bench.main(["--n", "5000", "--repeat", "1"])
    out = capsys.readouterr().out
    assert "aggregate_bars" in out and "numpy reduceat" in out and "pandas" in out
