"""The kernel registry, and the strategies, tolerances and comparisons shared by the kernel
tests (tests/ext/test_ext_kernels_*.py, test_kernels_update_many.py, test_ext_indicator_bank.py).

`KERNELS` names every kernel of mismartera.ext.kernels once: its streaming class, its batch
function, its pure-Python reference, the bar fields it reads and its parameters; the tests
parametrize over it instead of keeping their own tables.

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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from mismartera.ext import kernels as k
from tests.reference import kernels as ref

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


# ------------------------------------------------------------------------- the registry


def _no_slack(columns, *params) -> float:
    return 0.0


NO_OPTIONS: st.SearchStrategy[dict] = st.just({})


@dataclass(frozen=True)
class Kernel:
    """One kernel as every kernel test sees it. `batch` and `reference` take the input
    columns, then (`sessions`) the session ids, then the parameters; `stream` takes the
    parameters (and `stream_options`) and `update` takes one value of each input column."""

    name: str
    stream: type
    batch: Callable[..., Any]
    reference: Callable[..., Any]
    inputs: tuple[str, ...]  # the bar fields it reads, in call order
    params: Callable[[st.SearchStrategy[int]], st.SearchStrategy[tuple]]  # given the periods
    defaults: tuple = ()  # one valid set of parameters
    windows: tuple[str, ...] = ()  # the integer parameters (the first ones), by name
    lookback: Callable[..., int] | None = None  # leading NaNs of the output (None: no fixed one)
    slack: Callable[..., Any] = _no_slack  # absolute tolerance against the reference
    rel: float = REL  # relative tolerance against the reference
    sessions: bool = False  # batch and reference take session ids after the columns
    stream_options: st.SearchStrategy[dict] = NO_OPTIONS  # keywords only the class takes

    def __str__(self) -> str:
        return self.name

    def run_batch(self, columns, params: tuple = ()):
        """The batch function over `columns` as one session."""
        ids = (np.zeros(len(columns[0]), np.int64),) if self.sessions else ()
        return self.batch(*columns, *ids, *params)


def _one_period(periods: st.SearchStrategy[int]) -> st.SearchStrategy[tuple]:
    return st.tuples(periods)


def _windowed(name: str, stream: type) -> Kernel:
    return Kernel(name, stream, getattr(k, name), getattr(ref, name), ("close",), _one_period,
                  defaults=(5,), windows=("period",), lookback=lambda p: p - 1,
                  slack=lambda columns, p: sum_slack(columns[0], p))


NBDEV = st.floats(-3, 3)

KERNELS: tuple[Kernel, ...] = (
    _windowed("rolling_sum", k.RollingSum),
    _windowed("sma", k.SMA),
    Kernel("rolling_std", k.RollingStd, k.rolling_std, ref.rolling_std, ("close",), _one_period,
           defaults=(5,), windows=("period",), lookback=lambda p: p - 1,
           slack=lambda columns, p: sum_slack(columns[0], p),
           stream_options=st.fixed_dictionaries({"nbdev": st.sampled_from([1.0, 2.5])})),
    Kernel("rolling_max", k.RollingMax, k.rolling_max, ref.rolling_max, ("close",), _one_period,
           defaults=(5,), windows=("period",), lookback=lambda p: p - 1, rel=0.0),
    Kernel("rolling_min", k.RollingMin, k.rolling_min, ref.rolling_min, ("close",), _one_period,
           defaults=(5,), windows=("period",), lookback=lambda p: p - 1, rel=0.0),
    Kernel("ema", k.EMA, k.ema, ref.ema, ("close",), _one_period, defaults=(5,),
           windows=("period",), lookback=lambda p: p - 1,
           slack=lambda columns, p: ABS * running_scale(columns[0])),
    Kernel("rsi", k.RSI, k.rsi, ref.rsi, ("close",), _one_period, defaults=(5,),
           windows=("period",), lookback=lambda p: p,
           slack=lambda columns, p: 1e-9),  # RSI lives in [0, 100]
    Kernel("atr", k.ATR, k.atr, ref.atr, ("high", "low", "close"), _one_period, defaults=(5,),
           windows=("period",), lookback=lambda p: p,
           slack=lambda columns, p: ABS * running_scale(*columns)),
    Kernel("bbands", k.BBands, k.bbands, ref.bbands, ("close",),
           lambda periods: st.tuples(periods, NBDEV, NBDEV), defaults=(5, 2.0, 2.0),
           windows=("period",), lookback=lambda p, up, dn: p - 1,
           slack=lambda columns, p, up, dn: sum_slack(columns[0], p) * (1 + max(abs(up), abs(dn)))),
    Kernel("macd", k.MACD, k.macd, ref.macd, ("close",),
           lambda periods: st.tuples(periods, periods, periods).map(
               lambda t: (min(t[0], t[1]), max(t[0], t[1]), t[2])),
           defaults=(12, 26, 9), windows=("fast", "slow", "signal"),
           lookback=lambda fast, slow, signal: slow + signal - 2,
           slack=lambda columns, *periods: ABS * running_scale(columns[0])),
    Kernel("vwap", k.VWAP, k.vwap, ref.vwap, ("high", "low", "close", "volume"),
           lambda periods: st.just(()), sessions=True),
)
BY_NAME = {kernel.name: kernel for kernel in KERNELS}
