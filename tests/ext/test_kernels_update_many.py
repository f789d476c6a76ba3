"""`update_many` on the streaming kernels equals repeated `update`, bit for bit, whatever
the chunks: the session hands indicators whole chunks of closed bars."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.ext import kernels

SINGLE = {
    "RollingSum": lambda p: kernels.RollingSum(p),
    "SMA": lambda p: kernels.SMA(p),
    "RollingStd": lambda p: kernels.RollingStd(p),
    "RollingMax": lambda p: kernels.RollingMax(p),
    "RollingMin": lambda p: kernels.RollingMin(p),
    "EMA": lambda p: kernels.EMA(p),
    "RSI": lambda p: kernels.RSI(p),
    "BBands": lambda p: kernels.BBands(p, 2.0, 1.5),
    "MACD": lambda p: kernels.MACD(max(1, p // 2), p, 3),
}
BARS = {
    "ATR": (lambda p: kernels.ATR(p), 3),
    "VWAP": (lambda p: kernels.VWAP(), 4),
}


@st.composite
def series(draw, columns: int = 1):
    n = draw(st.integers(0, 80))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    if draw(st.booleans()):
        close[rng.random(n) < 0.4] = 100.0  # repeated values: constant windows
    if columns == 1:
        return (close,)
    high = close * (1 + np.abs(rng.normal(0, 0.003, n)))
    low = close * (1 - np.abs(rng.normal(0, 0.003, n)))
    volume = np.floor(rng.exponential(100, n)) * (rng.random(n) < 0.9)
    return (high, low, close, volume)[:columns]


def chunks(draw, n: int) -> list[int]:
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=6)))
    return [b - a for a, b in zip([0, *cuts], [*cuts, n], strict=True)]


def one_by_one(kernel, columns) -> np.ndarray:
    rows = [kernel.update(*map(float, row)) for row in zip(*columns, strict=True)]
    if not rows:
        return np.empty((0, 0))
    return np.array(rows, dtype=np.float64).reshape(len(rows), -1).T


def in_chunks(kernel, columns, sizes) -> np.ndarray:
    parts, done = [], 0
    for size in sizes:
        out = kernel.update_many(*(c[done:done + size] for c in columns))
        out = out if isinstance(out, tuple) else (out,)
        assert all(isinstance(o, np.ndarray) and len(o) == size for o in out)
        parts.append(np.vstack(out))
        done += size
    return np.hstack(parts) if parts else np.empty((1, 0))


@given(data=st.data(), name=st.sampled_from(sorted(SINGLE) + sorted(BARS)),
       period=st.integers(1, 12))
def test_update_many_equals_repeated_update(data, name, period):
    make, width = (SINGLE[name], 1) if name in SINGLE else BARS[name]
    columns = data.draw(series(width))
    sizes = chunks(data.draw, len(columns[0]))
    want = one_by_one(make(period), columns)
    kernel = make(period)
    got = in_chunks(kernel, columns, sizes)
    if len(columns[0]):
        np.testing.assert_array_equal(got, want)
    probe = make(period)  # the state after update_many is the state after the updates
    one_by_one(probe, columns)
    assert kernel.ready == probe.ready


def test_update_many_accepts_read_only_views_and_checks_lengths():
    x = np.arange(10.0)
    x.flags.writeable = False
    np.testing.assert_array_equal(kernels.SMA(3).update_many(x[2:]), kernels.sma(x[2:], 3))
    with pytest.raises(ValueError):
        kernels.ATR(3).update_many(x, x, x[:5])
    with pytest.raises(ValueError):
        kernels.SMA(3).update_many(np.ones((2, 2)))
