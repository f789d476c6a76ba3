"""mismartera.ext.kernels: streaming equals batch bit for bit, warm-up and numeric properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import talib
from hypothesis import given
from hypothesis import strategies as st

from mismartera.ext import kernels as k
from tests.support.kernels import (
    KERNELS,
    PERIOD,
    SERIES,
    assert_close,
    bits,
    feed,
    leading_nans,
    sessions_of_bars,
)


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


# ------------------------------------------------------------- streaming == batch


# the kernels with a fixed warm-up (VWAP's depends on the volumes: see the test after these)
WARMED_UP = [kernel for kernel in KERNELS if kernel.lookback is not None]
STREAM_PERIOD = st.integers(1, 30)


def batch_rows(kernel, columns, params) -> np.ndarray:
    """The batch output as the streaming one: a value per row, or a row of outputs."""
    out = kernel.run_batch(columns, params)
    return np.column_stack(out) if isinstance(out, tuple) else np.asarray(out)


@pytest.mark.parametrize("kernel", WARMED_UP, ids=str)
@given(data=st.data())
def test_streaming_equals_batch_bit_for_bit(kernel, data):
    """Also: the warm-up is exactly TA-Lib's lookback, and `ready` turns on with it."""
    params = data.draw(kernel.params(STREAM_PERIOD), label="params")
    columns = data.draw(noisy_columns(len(kernel.inputs)))
    expected = batch_rows(kernel, columns, params)
    indicator = kernel.stream(*params)
    got = []
    for row in zip(*columns, strict=True):
        ready_before = indicator.ready
        got.append(indicator.update(*row))
        first = np.asarray(got[-1], dtype=np.float64).ravel()[0]
        # ready flips on the first value (finite inputs: no NaN once warmed up)
        assert indicator.ready == (not math.isnan(first))
        assert not ready_before or indicator.ready
    assert bits(np.array(got, dtype=np.float64).reshape(expected.shape)) == bits(expected)
    lookback = kernel.lookback(*params)
    for column in expected.reshape(len(columns[0]), -1 if len(columns[0]) else 1).T:
        assert leading_nans(column) == min(len(column), lookback)
        assert not np.isnan(column[lookback:]).any()


@pytest.mark.parametrize("kernel", WARMED_UP, ids=str)
@given(data=st.data())
def test_reset_forgets_everything(kernel, data):
    params = data.draw(kernel.params(st.integers(1, 12)), label="params")
    first = data.draw(noisy_columns(len(kernel.inputs), max_size=20))
    second = data.draw(noisy_columns(len(kernel.inputs), max_size=40))
    indicator = kernel.stream(*params)
    feed(indicator, *first)
    indicator.reset()
    assert not indicator.ready
    expected = batch_rows(kernel, second, params)
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
