"""`update_many` on the streaming kernels equals repeated `update`, bit for bit, whatever
the chunks: the session hands indicators whole chunks of closed bars."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.ext import kernels
from tests.support.kernels import KERNELS


@st.composite
def series(draw, fields: tuple[str, ...]):
    """The columns `fields` of random-walk bars."""
    n = draw(st.integers(0, 80))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    if draw(st.booleans()):
        close[rng.random(n) < 0.4] = 100.0  # repeated values: constant windows
    if fields == ("close",):
        return (close,)
    high = close * (1 + np.abs(rng.normal(0, 0.003, n)))
    low = close * (1 - np.abs(rng.normal(0, 0.003, n)))
    volume = np.floor(rng.exponential(100, n)) * (rng.random(n) < 0.9)
    bars = {"high": high, "low": low, "close": close, "volume": volume}
    return tuple(bars[field] for field in fields)


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


@given(data=st.data(), kernel=st.sampled_from(KERNELS))
def test_update_many_equals_repeated_update(data, kernel):
    params = data.draw(kernel.params(st.integers(1, 12)), label="params")
    options = data.draw(kernel.stream_options, label="options")

    def make():
        return kernel.stream(*params, **options)

    columns = data.draw(series(kernel.inputs))
    sizes = chunks(data.draw, len(columns[0]))
    want = one_by_one(make(), columns)
    chunked = make()
    got = in_chunks(chunked, columns, sizes)
    if len(columns[0]):
        np.testing.assert_array_equal(got, want)
    probe = make()  # the state after update_many is the state after the updates
    one_by_one(probe, columns)
    assert chunked.ready == probe.ready


def test_update_many_accepts_read_only_views_and_checks_lengths():
    x = np.arange(10.0)
    x.flags.writeable = False
    np.testing.assert_array_equal(kernels.SMA(3).update_many(x[2:]), kernels.sma(x[2:], 3))
    with pytest.raises(ValueError):
        kernels.ATR(3).update_many(x, x, x[:5])
    with pytest.raises(ValueError):
        kernels.SMA(3).update_many(np.ones((2, 2)))
