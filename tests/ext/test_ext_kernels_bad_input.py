"""mismartera.ext.kernels: non-finite input, bad arguments, input coercion, read-only params."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mismartera.ext import kernels as k
from tests.support.kernels import KERNELS, Kernel, bits, feed

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

# (kernel, the name of one of its window parameters), for every kernel and window parameter
WINDOWS = [(kernel, window) for kernel in KERNELS for window in kernel.windows]
WINDOW_IDS = [f"{kernel}-{window}" for kernel, window in WINDOWS]


def with_window(kernel: Kernel, window: str, value: int) -> tuple:
    """The kernel's default parameters with one window parameter set to `value`."""
    params = list(kernel.defaults)
    params[kernel.windows.index(window)] = value
    return tuple(params)


def batch_on_ones(kernel: Kernel, params: tuple):
    return kernel.run_batch([np.ones(5)] * len(kernel.inputs), params)


@pytest.mark.parametrize(("kernel", "window"), WINDOWS, ids=WINDOW_IDS)
@pytest.mark.parametrize("period", [0, -1, -(2**40)])
def test_batch_rejects_a_period_below_one(kernel, window, period):
    with pytest.raises(ValueError, match=rf"^{window} must be >= 1, got {period}$"):
        batch_on_ones(kernel, with_window(kernel, window, period))


@pytest.mark.parametrize(("kernel", "window"), WINDOWS, ids=WINDOW_IDS)
def test_batch_takes_a_long_period_and_rejects_an_absurd_one(kernel, window):
    with pytest.raises(ValueError, match=rf"^{window} must be <= {2**40}, got {2**40 + 1}$"):
        batch_on_ones(kernel, with_window(kernel, window, 2**40 + 1))
    if window != "fast":  # fast > slow is its own error
        for out in np.atleast_2d(batch_on_ones(kernel, with_window(kernel, window, 10**9))):
            assert np.isnan(out).all() and len(out) == 5


@pytest.mark.parametrize(("kernel", "window"), WINDOWS, ids=WINDOW_IDS)
def test_streaming_rejects_a_period_below_one(kernel, window):
    with pytest.raises(ValueError, match=f"{window} must be >= 1"):
        kernel.stream(*with_window(kernel, window, 0))


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
