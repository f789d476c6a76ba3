"""The kernels' block paths (`update_many` over long arrays: rolling extremes a block or two
at a time, window sums by segment lanes, smoothing two values at a time) equal the
one-value `update`, bit for bit, however the input is cut; rolling extremes also with NaN,
infinities and signed zeros, which only the block paths scan for; rolling std and BBands
also where the variance collapses and is recomputed inside a chunk."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from mismartera.ext import kernels as k
from tests.reference import kernels as ref
from tests.support.kernels import BY_NAME, KERNELS, assert_close, bits

WARMED_UP = [kernel for kernel in KERNELS if kernel.lookback is not None]
SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0])


@st.composite
def long_columns(draw, n_columns: int, specials: bool = False) -> list[np.ndarray]:
    """Random walks of up to 2,400 values (two groups of four window-sum segments of 256
    for periods up to 64, and what is left after them), repeated runs, and, with
    `specials`, NaN, infinities and signed zeros at random places."""
    n = draw(st.integers(0, 2400))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    columns = []
    for _ in range(n_columns):
        x = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
        x[rng.random(n) < 0.2] = 100.0
        if specials:
            where = rng.random(n) < draw(st.sampled_from([0.0, 0.005, 0.05]))
            x[where] = rng.choice(SPECIAL, int(where.sum()))
        columns.append(x)
    return columns


def cuts(draw, n: int) -> list[tuple[int, int]]:
    points = sorted(draw(st.lists(st.integers(0, n), max_size=5)))
    return list(zip([0, *points], [*points, n], strict=True))


def rows_of(out) -> np.ndarray:
    out = out if isinstance(out, tuple) else (out,)
    return np.vstack([np.asarray(o, dtype=np.float64) for o in out])


def one_by_one(stream, columns) -> np.ndarray:
    got = [stream.update(*map(float, row)) for row in zip(*columns, strict=True)]
    width = len(stream.outputs)
    return np.array(got, dtype=np.float64).reshape(len(got), width).T


@given(data=st.data(), kernel=st.sampled_from(WARMED_UP))
def test_long_inputs_in_pieces_equal_one_update_at_a_time(data, kernel):
    params = data.draw(kernel.params(st.integers(1, 40)), label="params")
    columns = data.draw(long_columns(len(kernel.inputs)))
    chunked = kernel.stream(*params)
    parts = [rows_of(chunked.update_many(*(c[a:b] for c in columns)))
             for a, b in cuts(data.draw, len(columns[0]))]
    want = one_by_one(kernel.stream(*params), columns)
    assert bits(np.hstack(parts)) == bits(want)


@given(data=st.data(), name=st.sampled_from(["rolling_max", "rolling_min"]))
def test_rolling_extremes_with_nan_infinities_and_zeros(data, name):
    kernel = BY_NAME[name]
    period = data.draw(st.integers(1, 12), label="period")
    (x,) = data.draw(long_columns(1, specials=True))
    batch = kernel.batch(x, period)
    assert np.array_equal(batch, kernel.reference(x, period), equal_nan=True)  # inf too
    chunked = kernel.stream(period)
    parts = [chunked.update_many(x[a:b]) for a, b in cuts(data.draw, len(x))]
    want = one_by_one(kernel.stream(period), [x])[0]
    assert bits(np.concatenate([batch[:0], *parts])) == bits(want)  # chunked, then whole
    assert bits(batch) == bits(want)


def test_a_nan_in_one_block_does_not_reach_back_into_the_block_before():
    x = np.arange(40.0)
    x[27] = np.nan  # windows of 5 ending at 27 .. 31 hold it; blocks are 20..24, 25..29, ...
    got = k.rolling_max(x, 5)
    want = np.maximum.reduce([np.roll(x, s) for s in range(5)])
    want[:4] = np.nan
    want[27:32] = np.nan
    assert bits(got) == bits(want)


@st.composite
def collapsing_walks(draw) -> np.ndarray:
    """Random walks of up to 2,600 values without repeated values whose step size falls and
    rises by up to 10^6 at random places: the rolling variance collapses below 1/1024 of
    its peak (an exact recomputation in the middle of the block path) and passes the
    1,024 values after which it is recomputed anyway."""
    n = draw(st.integers(0, 2600))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = np.ones(n)
    for start in sorted(draw(st.lists(st.integers(0, n), max_size=4))):
        scale[start:] = 10.0 ** rng.uniform(-6, 0)
    return 100 + np.cumsum(rng.normal(0, 1, n) * scale)


@given(data=st.data(), name=st.sampled_from(["rolling_std", "bbands"]))
def test_dispersion_blocks_through_collapses_and_recomputations(data, name):
    kernel = BY_NAME[name]
    period = data.draw(st.integers(1, 40), label="period")
    x = data.draw(collapsing_walks())
    want = one_by_one(kernel.stream(period), [x])
    assert bits(rows_of(kernel.batch(x, period))) == bits(want)
    chunked = kernel.stream(period)
    parts = [rows_of(chunked.update_many(x[a:b])) for a, b in cuts(data.draw, len(x))]
    assert bits(np.hstack([want[:, :0], *parts])) == bits(want)
    tail = x[-(100 + period - 1) :]  # the exact deviations of the last windows
    exact = np.asarray(ref.rolling_std(tail, period))[period - 1 :]
    std = want[0] if name == "rolling_std" else (want[0] - want[1]) / 2.0  # nbdev_up = 2
    # A sliding variance's error follows the data's scale, not the deviation's: each update's
    # deviations carry an ulp of |x|, summed over up to 1,024 updates between recomputations
    # (values ~100 with a deviation of 3e-6 give 1.4e-12 of error: 5e-7 of the std). So the
    # slack is the window's scale times 1,024 ulps, beside the relative 1e-7.
    scale = np.abs(tail).max(initial=0.0) * np.finfo(np.float64).eps * 1024
    assert_close(std[len(x) - len(exact) :], exact, 1e-12 * (1 + np.abs(exact)) + scale,
                 rel=1e-7)
