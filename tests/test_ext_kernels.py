"""mismartera.ext.kernels against its pure-Python reference, against TA-Lib, and against
itself: every streaming class equals its batch function bit for bit.

Tolerances. The reference computes each window from scratch (exact sums and standard
deviations, rounded once), so kernels are held to 1e-9 relative plus an absolute slack:
1e-12 times the magnitude of the values involved (the window's for windowed kernels, every
value so far for recursive ones), since a result that cancels to ~0 can only be right to a
few ulps of its inputs; and, for kernels built on running sums, 1e-24 times the largest
value seen so far: compensated running sums carry the history's rounding errors to second
order (~eps^2), which only shows in a window of values 1e12 times smaller than an earlier
one. TA-Lib is held to the same bounds.
"""

from __future__ import annotations

import csv
import importlib.util
import math
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import talib
from hypothesis import given
from hypothesis import strategies as st

from mismartera.ext import kernels as k
from tests.reference import kernels as ref

SPY = Path("/work/shared/data/minute/SPY_2011-01.csv")
REL = 1e-9
ABS = 1e-12

# Finite values of every magnitude up to 1e6 (tiny ones flushed to 0: subnormal arithmetic is
# outside what any kernel promises), mixed with small integers for repeats and constant runs.
FINITE = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False).map(
    lambda v: v if abs(v) >= 1e-100 else 0.0
)
VALUES = st.one_of(FINITE, st.integers(-3, 3).map(float))
SERIES = st.lists(VALUES, max_size=30).map(lambda v: np.array(v, dtype=np.float64))
PERIOD = st.integers(1, 35)


@st.composite
def price_walks(draw, min_size: int = 0, max_size: int = 60) -> np.ndarray:
    """Prices on a cent grid ($100 .. $1,300) that move by 1..500 cents every step."""
    start = draw(st.integers(40_000, 100_000))
    moves = draw(st.lists(st.integers(-499, 500), min_size=min_size, max_size=max_size))
    steps = np.array(moves, dtype=np.int64)
    steps[steps <= 0] -= 1  # -500 .. -1 and 1 .. 500: never flat
    return (start + np.cumsum(steps)).astype(np.float64) / 100.0


@st.composite
def noisy_columns(draw, n_columns: int, max_size: int = 60) -> list[np.ndarray]:
    """Columns of finite values from a seeded generator (cheap to draw, for self-consistency
    tests): magnitudes from 1e-3 to 1e6, small integers, and runs of repeated values."""
    n = draw(st.integers(0, max_size))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    columns = []
    for _ in range(n_columns):
        x = rng.normal(0.0, 1.0, n) * 10.0 ** rng.integers(-3, 7, n)
        small = rng.random(n) < 0.3
        x[small] = rng.integers(-3, 4, int(small.sum()))
        for i in np.flatnonzero(rng.random(n) < 0.3):
            x[i] = x[i - 1] if i > 0 else x[i]
        columns.append(x)
    return columns


@st.composite
def hlc_walks(draw, max_size: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    close = draw(price_walks(max_size=max_size))
    n = len(close)
    up = np.array(draw(st.lists(st.integers(0, 300), min_size=n, max_size=n)), dtype=np.float64)
    down = np.array(draw(st.lists(st.integers(0, 300), min_size=n, max_size=n)), dtype=np.float64)
    return close + up / 100.0, close - down / 100.0, close


# ----------------------------------------------------------------------------- helpers


def window_scale(x: np.ndarray, period: int) -> np.ndarray:
    """Largest |value| of the window ending at each index (0 before the first window)."""
    out = np.zeros(len(x))
    if len(x) >= period:
        windows = np.lib.stride_tricks.sliding_window_view(np.abs(x), period)
        out[period - 1 :] = windows.max(axis=1)
    return out


def sum_slack(x: np.ndarray, period: int) -> np.ndarray:
    """Absolute slack of kernels on running sums: a few ulps of the window, eps^2 of the
    history (see the module docstring)."""
    return ABS * window_scale(x, period) + ABS**2 * running_scale(x)


def running_scale(*arrays: np.ndarray) -> np.ndarray:
    """Largest |value| of all the inputs so far, at each index."""
    if len(arrays[0]) == 0:
        return np.zeros(0)
    return np.maximum.accumulate(np.max(np.abs(np.vstack(arrays)), axis=0))


def assert_close(got, want, slack=0.0, rel: float = REL) -> None:
    """Same NaN positions; elsewhere |got - want| <= rel * |want| + slack (scalar or per
    index)."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg="NaN positions")
    slack = np.broadcast_to(np.asarray(slack, dtype=np.float64), want.shape)
    ok = ~np.isnan(want)
    err = np.abs(got[ok] - want[ok])
    bound = rel * np.abs(want[ok]) + slack[ok]
    bad = np.flatnonzero(err > bound)
    assert bad.size == 0, (
        f"{bad.size} values off, first at {np.flatnonzero(ok)[bad[0]]}: "
        f"got {got[ok][bad[0]]!r}, want {want[ok][bad[0]]!r}"
    )


def bits(values) -> bytes:
    """Exact bytes, so NaN == NaN and -0.0 != 0.0."""
    return np.asarray(values, dtype=np.float64).tobytes()


def leading_nans(values: np.ndarray) -> int:
    finite = np.flatnonzero(~np.isnan(values))
    return len(values) if finite.size == 0 else int(finite[0])


# ---------------------------------------------------------------- kernel == reference


@given(SERIES, PERIOD)
def test_rolling_sum_matches_reference(x, period):
    assert_close(k.rolling_sum(x, period), ref.rolling_sum(x, period), sum_slack(x, period))


@given(SERIES, PERIOD)
def test_sma_matches_reference(x, period):
    assert_close(k.sma(x, period), ref.sma(x, period), sum_slack(x, period))


@given(SERIES, PERIOD)
def test_rolling_std_matches_reference(x, period):
    assert_close(k.rolling_std(x, period), ref.rolling_std(x, period), sum_slack(x, period))


@given(SERIES, PERIOD)
def test_rolling_max_and_min_equal_reference(x, period):
    assert_close(k.rolling_max(x, period), ref.rolling_max(x, period), rel=0.0)
    assert_close(k.rolling_min(x, period), ref.rolling_min(x, period), rel=0.0)


@given(SERIES, PERIOD)
def test_ema_matches_reference(x, period):
    assert_close(k.ema(x, period), ref.ema(x, period), ABS * running_scale(x))


@given(SERIES, PERIOD)
def test_rsi_matches_reference(x, period):
    assert_close(k.rsi(x, period), ref.rsi(x, period), 1e-9)  # RSI lives in [0, 100]


@given(st.data(), PERIOD)
def test_atr_matches_reference(data, period):
    rows = data.draw(st.lists(st.tuples(VALUES, VALUES, VALUES), max_size=25))
    h, lo, c = (np.array([row[j] for row in rows], dtype=np.float64) for j in range(3))
    assert_close(k.atr(h, lo, c, period), ref.atr(h, lo, c, period), ABS * running_scale(h, lo, c))


@st.composite
def sessions_of_bars(draw):
    """Positive prices, volumes >= 0 (zeros too) and non-decreasing session ids."""
    price = st.floats(0.01, 1e5)
    volume = st.one_of(st.just(0.0), st.floats(0.0, 1e9))
    rows = draw(st.lists(st.tuples(price, price, price, volume, st.booleans()), max_size=30))
    h, lo, c, v = (np.array([row[j] for row in rows], dtype=np.float64) for j in range(4))
    ids = np.cumsum(np.array([row[4] for row in rows], dtype=np.int64)) * 7 - 3
    return h, lo, c, v, ids


@given(sessions_of_bars())
def test_vwap_matches_reference(bars):
    h, lo, c, v, ids = bars
    assert_close(k.vwap(h, lo, c, v, ids), ref.vwap(h, lo, c, v, ids))


MACD_PERIODS = st.tuples(st.integers(1, 12), st.integers(0, 12), st.integers(1, 10)).map(
    lambda t: (t[0], t[0] + t[1], t[2])
)


@given(SERIES, MACD_PERIODS)
def test_macd_matches_reference(x, periods):
    scale = ABS * running_scale(x)
    for got, want in zip(k.macd(x, *periods), ref.macd(x, *periods), strict=True):
        assert_close(got, want, scale)


@given(SERIES, PERIOD, st.floats(-3, 3), st.floats(-3, 3))
def test_bbands_match_reference(x, period, up, dn):
    slack = sum_slack(x, period) * (1 + max(abs(up), abs(dn)))
    got = k.bbands(x, period, up, dn)
    for g, w in zip(got, ref.bbands(x, period, up, dn), strict=True):
        assert_close(g, w, slack)
    assert bits(got[1]) == bits(k.sma(x, period))


# ------------------------------------------------------------- streaming == batch


def feed(indicator, *columns) -> list:
    return [indicator.update(*row) for row in zip(*columns, strict=True)]


# name: (streaming factory, batch function, number of input columns)
STREAMING = {
    "rolling_sum": (lambda p: k.RollingSum(p), lambda p, x: k.rolling_sum(x, p), 1),
    "sma": (lambda p: k.SMA(p), lambda p, x: k.sma(x, p), 1),
    "rolling_std": (lambda p: k.RollingStd(p), lambda p, x: k.rolling_std(x, p), 1),
    "rolling_max": (lambda p: k.RollingMax(p), lambda p, x: k.rolling_max(x, p), 1),
    "rolling_min": (lambda p: k.RollingMin(p), lambda p, x: k.rolling_min(x, p), 1),
    "ema": (lambda p: k.EMA(p), lambda p, x: k.ema(x, p), 1),
    "rsi": (lambda p: k.RSI(p), lambda p, x: k.rsi(x, p), 1),
    "atr": (lambda p: k.ATR(p), lambda p, h, lo, c: k.atr(h, lo, c, p), 3),
    "bbands": (
        lambda p: k.BBands(p, 2.0, 1.5),
        lambda p, x: np.column_stack(k.bbands(x, p, 2.0, 1.5)),
        1,
    ),
    "macd": (
        lambda p: k.MACD(max(1, p // 3), p, max(1, p // 2)),
        lambda p, x: np.column_stack(k.macd(x, max(1, p // 3), p, max(1, p // 2))),
        1,
    ),
}


LOOKBACK = {  # leading NaN values of each kernel, as TA-Lib's lookback
    "rolling_sum": lambda p: p - 1,
    "sma": lambda p: p - 1,
    "rolling_std": lambda p: p - 1,
    "rolling_max": lambda p: p - 1,
    "rolling_min": lambda p: p - 1,
    "ema": lambda p: p - 1,
    "rsi": lambda p: p,
    "atr": lambda p: p,
    "bbands": lambda p: p - 1,
    "macd": lambda p: p + max(1, p // 2) - 2,
}


@pytest.mark.parametrize("name", sorted(STREAMING))
@given(data=st.data(), period=st.integers(1, 30))
def test_streaming_equals_batch_bit_for_bit(name, data, period):
    """Also: the warm-up is exactly TA-Lib's lookback, and `ready` turns on with it."""
    make, batch, n_columns = STREAMING[name]
    columns = data.draw(noisy_columns(n_columns))
    expected = np.asarray(batch(period, *columns))
    indicator = make(period)
    got = []
    for row in zip(*columns, strict=True):
        ready_before = indicator.ready
        got.append(indicator.update(*row))
        first = np.asarray(got[-1], dtype=np.float64).ravel()[0]
        # ready flips on the first value (finite inputs: no NaN once warmed up)
        assert indicator.ready == (not math.isnan(first))
        assert not ready_before or indicator.ready
    assert bits(np.array(got, dtype=np.float64).reshape(expected.shape)) == bits(expected)
    lookback = LOOKBACK[name](period)
    for column in expected.reshape(len(columns[0]), -1 if len(columns[0]) else 1).T:
        assert leading_nans(column) == min(len(column), lookback)
        assert not np.isnan(column[lookback:]).any()


@pytest.mark.parametrize("name", sorted(STREAMING))
@given(data=st.data(), period=st.integers(1, 12))
def test_reset_forgets_everything(name, data, period):
    make, batch, n_columns = STREAMING[name]
    first = data.draw(noisy_columns(n_columns, max_size=20))
    second = data.draw(noisy_columns(n_columns, max_size=40))
    indicator = make(period)
    feed(indicator, *first)
    indicator.reset()
    assert not indicator.ready
    expected = np.asarray(batch(period, *second))
    got = np.array(feed(indicator, *second), dtype=np.float64).reshape(expected.shape)
    assert bits(got) == bits(expected)


@given(sessions_of_bars())
def test_vwap_streaming_with_session_resets_equals_batch(bars):
    h, lo, c, v, ids = bars
    indicator = k.VWAP()
    got = []
    for i in range(len(c)):
        if i > 0 and ids[i] != ids[i - 1]:
            indicator.reset()
            assert not indicator.ready
        got.append(indicator.update(h[i], lo[i], c[i], v[i]))
        assert indicator.ready == (not math.isnan(got[-1]))
    assert bits(got) == bits(k.vwap(h, lo, c, v, ids))


# ---------------------------------------------------------------- warm-up, properties


def test_period_one_is_the_identity_or_zero():
    x = np.array([3.0, -1.5, 2.25, 2.25, 7.0])
    assert bits(k.sma(x, 1)) == bits(x)
    assert bits(k.rolling_sum(x, 1)) == bits(x)
    assert bits(k.rolling_max(x, 1)) == bits(x)
    assert bits(k.rolling_min(x, 1)) == bits(x)
    assert bits(k.ema(x, 1)) == bits(x)
    assert bits(k.rolling_std(x, 1)) == bits(np.zeros(5))


@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=5), st.integers(1, 30), st.integers(1, 40)
)
def test_std_of_a_repeated_value_is_exactly_zero(prefix, period, repeats):
    value = prefix[-1]
    x = np.array(prefix + [value] * repeats)
    std = k.rolling_std(x, period)
    constant_from = len(prefix) - 1 + period - 1  # first window of `value` only
    assert (std[constant_from:] == 0.0).all()
    upper, middle, lower = k.bbands(x, period)
    assert (upper[constant_from:] == middle[constant_from:]).all()
    assert (lower[constant_from:] == middle[constant_from:]).all()


@given(SERIES, PERIOD)
def test_rsi_stays_within_0_and_100(x, period):
    values = k.rsi(x, period)
    values = values[~np.isnan(values)]
    assert ((values >= 0.0) & (values <= 100.0)).all()


# --------------------------------------------------------------------- against TA-Lib
# TA-Lib refuses a period of 1 for most functions, hence periods from 2.

TA_PERIOD = st.integers(2, 40)


@given(price_walks(), TA_PERIOD)
def test_windowed_kernels_equal_talib(x, period):
    slack = ABS * window_scale(x, period)
    assert_close(k.rolling_sum(x, period), talib.SUM(x, period), slack)
    assert_close(k.sma(x, period), talib.SMA(x, period), slack)
    assert_close(k.rolling_std(x, period), talib.STDDEV(x, period, 1.0), slack)
    assert_close(k.rolling_max(x, period), talib.MAX(x, period), rel=0.0)
    assert_close(k.rolling_min(x, period), talib.MIN(x, period), rel=0.0)


@given(price_walks(), TA_PERIOD, st.floats(0.5, 3.0), st.floats(0.5, 3.0))
def test_bbands_equal_talib(x, period, up, dn):
    slack = ABS * window_scale(x, period) * 4
    want = talib.BBANDS(x, period, up, dn, 0)
    for got, w in zip(k.bbands(x, period, up, dn), want, strict=True):
        assert_close(got, w, slack)


@given(price_walks(), TA_PERIOD)
def test_ema_and_rsi_equal_talib(x, period):
    assert_close(k.ema(x, period), talib.EMA(x, period), ABS * running_scale(x))
    assert_close(k.rsi(x, period), talib.RSI(x, period), 1e-9)


@given(hlc_walks(), st.integers(1, 40))
def test_atr_equals_talib(hlc, period):
    h, lo, c = hlc
    assert_close(
        k.atr(h, lo, c, period), talib.ATR(h, lo, c, period), ABS * running_scale(h, lo, c)
    )


@given(price_walks(max_size=80), st.integers(2, 15), st.integers(0, 15), st.integers(1, 12))
def test_macd_equals_talib_with_its_alignment(x, fast, extra, signal):
    slow = fast + extra
    scale = ABS * running_scale(x)
    for got, want in zip(
        k.macd(x, fast, slow, signal), talib.MACD(x, fast, slow, signal), strict=True
    ):
        assert_close(got, want, scale)


def spy_bars() -> dict[str, np.ndarray]:
    with SPY.open() as f:
        rows = list(csv.DictReader(f))
    bars = {
        col: np.array([float(r[col]) for r in rows]) for col in ("high", "low", "close", "volume")
    }
    days = [datetime.fromisoformat(r["timestamp"]).date().toordinal() for r in rows]
    bars["day"] = np.array(days, dtype=np.int64)
    return bars


def test_real_spy_minutes_equal_talib():
    bars = spy_bars()
    h, lo, c = bars["high"], bars["low"], bars["close"]
    assert len(c) == 14_180
    for period in (2, 5, 14, 20, 50, 390):
        slack = ABS * window_scale(c, period)
        assert_close(k.rolling_sum(c, period), talib.SUM(c, period), slack)
        assert_close(k.sma(c, period), talib.SMA(c, period), slack)
        assert_close(k.rolling_std(c, period), talib.STDDEV(c, period, 1.0), slack)
        assert_close(k.rolling_max(c, period), talib.MAX(c, period), rel=0.0)
        assert_close(k.rolling_min(c, period), talib.MIN(c, period), rel=0.0)
        assert_close(k.ema(c, period), talib.EMA(c, period))
        assert_close(k.rsi(c, period), talib.RSI(c, period))
        assert_close(k.atr(h, lo, c, period), talib.ATR(h, lo, c, period))
        for got, want in zip(
            k.bbands(c, period, 2.0, 2.0), talib.BBANDS(c, period, 2.0, 2.0, 0), strict=True
        ):
            assert_close(got, want)
    for got, want in zip(k.macd(c), talib.MACD(c, 12, 26, 9), strict=True):
        assert_close(got, want, ABS * running_scale(c))


def test_real_spy_vwap_equals_reference():
    bars = spy_bars()
    first_days = bars["day"] < bars["day"][0] + 3  # the reference is quadratic per session
    args = [bars[col][first_days] for col in ("high", "low", "close", "volume", "day")]
    got = k.vwap(*args)
    assert len(np.unique(args[4])) == 3
    assert_close(got, ref.vwap(*args))
    assert not np.isnan(got).any()  # every bar of the file has volume


# ------------------------------------------------------------------ long series


def test_window_sums_do_not_drift_over_a_million_values():
    """A million prices with a 1e12 spike every 10,000 values: a plain running sum keeps the
    spikes' rounding errors forever; ours matches a fresh sum of every window."""
    rng = np.random.default_rng(3)
    x = 100.0 + np.cumsum(rng.normal(0.0, 0.05, 1_000_000))
    x[::10_000] = 1e12
    period = 20
    fresh = np.lib.stride_tricks.sliding_window_view(x, period).sum(axis=1)
    got = k.rolling_sum(x, period)[period - 1 :]
    assert np.max(np.abs(got - fresh) / np.abs(fresh)) < 1e-12
    assert_close(k.sma(x, period)[period - 1 :], fresh / period)
    for end in range(period - 1, len(x), 997):  # a thousand windows against exact sums
        exact = math.fsum(x[end - period + 1 : end + 1])
        assert abs(got[end - period + 1] - exact) <= 2 * np.spacing(exact)
    # the data is a real trap: TA-Lib's plain running sum is off by far more
    naive = talib.SUM(x, period)[period - 1 :]
    assert np.max(np.abs(naive - fresh) / np.abs(fresh)) > 1e-6


# ---------------------------------------------------------------- non-finite input


def test_nan_poisons_running_kernels_until_reset():
    x = np.array([1.0, 2.0, 4.0, np.nan, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    for out in (
        k.rolling_sum(x, 2),
        k.sma(x, 2),
        k.rolling_std(x, 2),
        k.ema(x, 2),
        k.rsi(x, 2),
        *k.bbands(x, 2),
        *k.macd(x, 1, 2, 1),
        k.atr(x, x, x, 1),
        k.vwap(x, x, x, np.ones(10), np.zeros(10, np.int64)),
    ):
        assert np.isnan(out[3:]).all()
    sma = k.SMA(2)
    feed(sma, x)
    sma.reset()
    got = feed(sma, [1.0, 2.0])
    assert math.isnan(got[0]) and got[1] == 1.5


def test_rolling_extremes_are_nan_exactly_while_a_nan_is_in_the_window():
    x = np.array([1.0, 5.0, np.nan, 2.0, 3.0, 1.0, 0.0])
    assert bits(k.rolling_max(x, 2)) == bits([np.nan, 5.0, np.nan, np.nan, 3.0, 3.0, 1.0])
    assert bits(k.rolling_min(x, 3)) == bits([np.nan, np.nan, np.nan, np.nan, np.nan, 1.0, 0.0])


def test_a_nan_close_only_drops_the_previous_close_term_of_atr():
    h = np.array([10.0, 11.0, 12.0, 13.0])
    lo = np.array([9.0, 10.0, 11.0, 12.0])
    c = np.array([9.5, np.nan, 11.5, 12.5])
    assert bits(k.atr(h, lo, c, 1)) == bits([np.nan, 1.5, 1.0, 1.5])


# ------------------------------------------------------------------ bad arguments

BATCH_CALLS = {
    "rolling_sum": lambda x, p: k.rolling_sum(x, p),
    "sma": lambda x, p: k.sma(x, p),
    "rolling_std": lambda x, p: k.rolling_std(x, p),
    "rolling_max": lambda x, p: k.rolling_max(x, p),
    "rolling_min": lambda x, p: k.rolling_min(x, p),
    "ema": lambda x, p: k.ema(x, p),
    "rsi": lambda x, p: k.rsi(x, p),
    "atr": lambda x, p: k.atr(x, x, x, p),
    "bbands": lambda x, p: k.bbands(x, p),
    "macd_fast": lambda x, p: k.macd(x, p, 26, 9),
    "macd_slow": lambda x, p: k.macd(x, 1, p, 9),
    "macd_signal": lambda x, p: k.macd(x, 12, 26, p),
}
CLASSES = {
    "RollingSum": lambda p: k.RollingSum(p),
    "SMA": lambda p: k.SMA(p),
    "RollingStd": lambda p: k.RollingStd(p),
    "RollingMax": lambda p: k.RollingMax(p),
    "RollingMin": lambda p: k.RollingMin(p),
    "EMA": lambda p: k.EMA(p),
    "RSI": lambda p: k.RSI(p),
    "ATR": lambda p: k.ATR(p),
    "BBands": lambda p: k.BBands(p),
    "MACD": lambda p: k.MACD(1, 2, p),
}


@pytest.mark.parametrize("name", sorted(BATCH_CALLS))
@pytest.mark.parametrize("period", [0, -1, -(2**40)])
def test_batch_rejects_a_period_below_one(name, period):
    arg = {"macd_fast": "fast", "macd_slow": "slow", "macd_signal": "signal"}.get(name, "period")
    with pytest.raises(ValueError, match=rf"^{arg} must be >= 1, got {period}$"):
        BATCH_CALLS[name](np.ones(5), period)


@pytest.mark.parametrize("name", sorted(BATCH_CALLS))
def test_batch_takes_a_long_period_and_rejects_an_absurd_one(name):
    arg = {"macd_fast": "fast", "macd_slow": "slow", "macd_signal": "signal"}.get(name, "period")
    with pytest.raises(ValueError, match=rf"^{arg} must be <= {2**40}, got {2**40 + 1}$"):
        BATCH_CALLS[name](np.ones(5), 2**40 + 1)
    if name != "macd_fast":  # fast > slow is its own error
        for out in np.atleast_2d(BATCH_CALLS[name](np.ones(5), 10**9)):
            assert np.isnan(out).all() and len(out) == 5


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_streaming_rejects_a_period_below_one(name):
    arg = "signal" if name == "MACD" else "period"
    with pytest.raises(ValueError, match=f"{arg} must be >= 1"):
        CLASSES[name](0)


def test_mismatched_lengths_name_the_argument():
    with pytest.raises(ValueError, match=r"^low has 4 values but high has 5$"):
        k.atr(np.ones(5), np.ones(4), np.ones(5))
    with pytest.raises(ValueError, match=r"^close has 6 values but high has 5$"):
        k.atr(np.ones(5), np.ones(5), np.ones(6))
    with pytest.raises(ValueError, match=r"^volume has 4 values but high has 5$"):
        k.vwap(np.ones(5), np.ones(5), np.ones(5), np.ones(4), np.zeros(5, np.int64))
    with pytest.raises(ValueError, match=r"^session_ids has 3 values but high has 5$"):
        k.vwap(np.ones(5), np.ones(5), np.ones(5), np.ones(5), np.zeros(3, np.int64))


def test_other_bad_arguments():
    with pytest.raises(
        ValueError, match=r"^x must be a one-dimensional array, got shape \(2, 2\)$"
    ):
        k.sma(np.ones((2, 2)), 2)
    with pytest.raises(ValueError, match="one-dimensional"):
        k.ema(3.0, 2)
    with pytest.raises(ValueError, match=r"^fast must be <= slow, got fast=5 and slow=3$"):
        k.macd(np.ones(5), 5, 3, 2)
    with pytest.raises(ValueError, match="fast must be <= slow"):
        k.MACD(5, 3, 2)
    with pytest.raises(ValueError, match=r"^nbdev_up must be a finite number, got nan$"):
        k.bbands(np.ones(5), 2, float("nan"), 2.0)
    with pytest.raises(ValueError, match=r"^nbdev_dn must be a finite number, got inf$"):
        k.BBands(2, 2.0, float("inf"))
    with pytest.raises(ValueError, match=r"^session_ids must hold integers, got dtype float64$"):
        k.vwap(np.ones(2), np.ones(2), np.ones(2), np.ones(2), np.array([1.0, 2.0]))


def test_inputs_are_coerced_and_never_modified():
    x = [1, 2, 3, 4]  # a list of ints
    assert bits(k.sma(x, 2)) == bits([np.nan, 1.5, 2.5, 3.5])
    strided = np.arange(8.0)[::2]
    assert bits(k.rolling_max(strided, 2)) == bits([np.nan, 2.0, 4.0, 6.0])
    frozen = np.arange(6.0)
    frozen.setflags(write=False)
    assert bits(k.ema(frozen, 3)) == bits([np.nan, np.nan, 1.0, 2.0, 3.0, 4.0])
    days = np.array(["2024-01-02", "2024-01-02", "2024-01-03"], dtype="datetime64[D]")
    assert bits(k.vwap([3, 3, 6], [1, 1, 0], [2, 2, 3], [1, 3, 0], days)) == bits(
        [2.0, 2.0, np.nan]
    )
    assert len(k.macd([], 2, 3, 2)[0]) == 0 and len(k.vwap([], [], [], [], [])) == 0


def test_parameters_are_read_only_properties():
    bb = k.BBands(10, 1.5, 2.5)
    assert (bb.period, bb.nbdev_up, bb.nbdev_dn) == (10, 1.5, 2.5)
    macd = k.MACD(3, 7, 4)
    assert (macd.fast, macd.slow, macd.signal) == (3, 7, 4)
    assert k.EMA(3).alpha == 0.5
    assert repr(macd) == "MACD(fast=3, slow=7, signal=4)" and repr(k.SMA(4)) == "SMA(period=4)"
    for indicator, attr in ((k.SMA(4), "period"), (macd, "slow"), (bb, "nbdev_up")):
        with pytest.raises(AttributeError):
            setattr(indicator, attr, 5)


# ---------------------------------------------------------------------- benchmark


def test_benchmark_runs_and_peers_agree(capsys):
    """bench/bench_kernels.py at a small n: it checks every peer equals ours first."""
    path = Path(__file__).resolve().parents[1] / "bench" / "bench_kernels.py"
    spec = importlib.util.spec_from_file_location("bench_kernels", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--n", "3000", "--repeat", "1"])
    out = capsys.readouterr().out
    for name in ("SMA.update", "talipp", "deque", "TA-Lib SMA", "numpy cumsum", "MACD"):
        assert name in out
