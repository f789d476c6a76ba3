"""Strategies, tolerances and comparisons shared by the tests/test_ext_kernels_*.py modules.

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

import numpy as np
from hypothesis import strategies as st

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


@st.composite
def sessions_of_bars(draw):
    """Positive prices, volumes >= 0 (zeros too) and non-decreasing session ids."""
    price = st.floats(0.01, 1e5)
    volume = st.one_of(st.just(0.0), st.floats(0.0, 1e9))
    rows = draw(st.lists(st.tuples(price, price, price, volume, st.booleans()), max_size=30))
    h, lo, c, v = (np.array([row[j] for row in rows], dtype=np.float64) for j in range(4))
    ids = np.cumsum(np.array([row[4] for row in rows], dtype=np.int64)) * 7 - 3
    return h, lo, c, v, ids


def feed(indicator, *columns) -> list:
    return [indicator.update(*row) for row in zip(*columns, strict=True)]
