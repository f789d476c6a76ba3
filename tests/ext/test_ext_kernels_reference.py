"""mismartera.ext.kernels against its pure-Python reference and TA-Lib, random and real SPY."""

from __future__ import annotations

import csv
from datetime import datetime

import numpy as np
import pytest
import talib
from hypothesis import given
from hypothesis import strategies as st

from mismartera.ext import kernels as k
from tests.reference import kernels as ref
from tests.support.bench import load_bench
from tests.support.data import require_data
from tests.support.kernels import (
    ABS,
    KERNELS,
    PERIOD,
    SERIES,
    VALUES,
    Kernel,
    assert_close,
    bits,
    running_scale,
    sessions_of_bars,
    window_scale,
)


@st.composite
def price_walks(draw, min_size: int = 0, max_size: int = 60) -> np.ndarray:
    """Prices on a cent grid ($100 .. $1,300) that move by 1..500 cents every step."""
    start = draw(st.integers(40_000, 100_000))
    moves = draw(st.lists(st.integers(-499, 500), min_size=min_size, max_size=max_size))
    steps = np.array(moves, dtype=np.int64)
    steps[steps <= 0] -= 1  # -500 .. -1 and 1 .. 500: never flat
    return (start + np.cumsum(steps)).astype(np.float64) / 100.0


@st.composite
def hlc_walks(draw, max_size: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    close = draw(price_walks(max_size=max_size))
    n = len(close)
    up = np.array(draw(st.lists(st.integers(0, 300), min_size=n, max_size=n)), dtype=np.float64)
    down = np.array(draw(st.lists(st.integers(0, 300), min_size=n, max_size=n)), dtype=np.float64)
    return close + up / 100.0, close - down / 100.0, close


# ---------------------------------------------------------------- kernel == reference


def reference_columns(kernel: Kernel) -> st.SearchStrategy[tuple[np.ndarray, ...]]:
    """Input columns for a comparison with the reference (the session ids last for a kernel
    that takes them): values of every magnitude, or positive bars for VWAP."""
    if kernel.sessions:
        return sessions_of_bars()
    if len(kernel.inputs) == 1:
        return SERIES.map(lambda x: (x,))
    n = len(kernel.inputs)
    return st.lists(st.tuples(*[VALUES] * n), max_size=25).map(
        lambda rows: tuple(np.array([row[j] for row in rows], dtype=np.float64) for j in range(n))
    )


def outputs(values) -> tuple:
    return values if isinstance(values, tuple) else (values,)


@pytest.mark.parametrize("kernel", KERNELS, ids=str)
@given(data=st.data())
def test_batch_matches_the_reference(kernel, data):
    columns = data.draw(reference_columns(kernel), label="columns")
    params = data.draw(kernel.params(PERIOD), label="params")
    got = outputs(kernel.batch(*columns, *params))
    want = outputs(kernel.reference(*columns, *params))
    assert len(got) == len(want)
    slack = kernel.slack(columns[: len(kernel.inputs)], *params)
    for g, w in zip(got, want, strict=True):
        assert_close(g, w, slack, rel=kernel.rel)


@given(SERIES, PERIOD, st.floats(-3, 3), st.floats(-3, 3))
def test_the_middle_band_is_the_sma(x, period, up, dn):
    assert bits(k.bbands(x, period, up, dn)[1]) == bits(k.sma(x, period))


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
    with (require_data() / "minute" / "SPY_2011-01.csv").open() as f:
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


# ---------------------------------------------------------------------- benchmark


def test_benchmark_runs_and_peers_agree(capsys):
    """bench/bench_kernels.py at a small n: it checks every peer equals ours first."""
    bench = load_bench("bench_kernels")
    bench.main(["--n", "3000", "--repeat", "1"])
    out = capsys.readouterr().out
    for name in ("SMA.update", "talipp", "deque", "TA-Lib SMA", "numpy cumsum", "MACD"):
        assert name in out
