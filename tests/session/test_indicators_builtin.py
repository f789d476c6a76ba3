"""The built-in indicators against TA-Lib on real data and on hypothesis-generated series;
chunked (streaming) equals one batch equals the kernels' batch functions; warm-up exact."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.bars import Bars
from mismartera.ext import kernels
from mismartera.ext.indicator_bank import KernelBank
from mismartera.ext.ring import BarRing
from mismartera.plugins.indicators import builtin
from mismartera.session.indicators import drive
from mismartera.session.indicators.state import add_kernel
from mismartera.testing import make_bars, run_indicator
from tests.support.data import require_data
from tests.support.indicators import assert_close, talib_reference, vwap_reference


def read_csv(path: Path) -> Bars:
    frame = pd.read_csv(path)
    stamp = frame["timestamp"] if "timestamp" in frame else frame["date"]
    ts = pd.to_datetime(stamp, utc=True).astype("int64").to_numpy()
    return Bars.from_arrays(ts, *(frame[c].to_numpy(float) for c in
                                  ("open", "high", "low", "close", "volume")))


REAL = {"SPY_2014-11": "minute/SPY_2014-11.csv", "AAPL_2014-11": "minute/AAPL_2014-11.csv",
        "AAPL_daily": "daily/AAPL_2012-2014.csv"}


@functools.cache
def real(name: str) -> Bars:
    """One of the REAL files (the test skips when the data is absent)."""
    return read_csv(require_data() / REAL[name])


def session_ids(ts: np.ndarray) -> np.ndarray:
    days = pd.to_datetime(ts, utc=True).tz_convert("America/New_York").normalize()
    return pd.factorize(days)[0]


CLASSES = {cls.name: cls for cls in builtin.BUILTINS}
DEFAULTS = {
    "sma": {"period": 20}, "ema": {"period": 20}, "rsi": {"period": 14}, "atr": {"period": 14},
    "stddev": {"period": 20}, "highest": {"period": 20}, "lowest": {"period": 20},
    "volume_sma": {"period": 20}, "bbands": {"period": 20, "nbdev_up": 2.0, "nbdev_dn": 2.0},
    "macd": {"fast": 12, "slow": 26, "signal": 9}, "vwap": {},
}




def test_every_builtin_is_registered_and_tested():
    assert set(CLASSES) == {"sma", "ema", "rsi", "atr", "vwap", "bbands", "macd", "stddev",
                            "highest", "lowest", "volume_sma"} == set(DEFAULTS)


@pytest.mark.parametrize("data", sorted(REAL))
@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_builtin_equals_talib_on_real_data(name, data):
    bars = real(data)
    params = DEFAULTS[name]
    theirs = (vwap_reference(bars, session_ids(bars.ts)) if name == "vwap"
              else talib_reference(name, bars, **params))
    if name == "vwap":  # restarts at every session: run each session on its own
        ids = session_ids(bars.ts)
        ours = np.concatenate([run_indicator(CLASSES[name], bars.take(ids == k))
                               for k in range(ids.max() + 1)])
    else:
        ours = run_indicator(CLASSES[name], bars, **params)
    scale = float(np.abs(bars.volume if name == "volume_sma" else bars.close).max())
    assert_close(ours, theirs, scale)


@pytest.mark.parametrize("name,params", [
    ("sma", {"period": 5, "field": "high"}), ("stddev", {"period": 10, "nbdev": 2.5}),
    ("bbands", {"period": 10, "nbdev_up": 1.5, "nbdev_dn": 3.0}),
    ("macd", {"fast": 5, "slow": 35, "signal": 5}), ("rsi", {"period": 2}),
    ("atr", {"period": 1}), ("ema", {"period": 2}), ("highest", {"period": 2}),
])
def test_builtin_parameters_equal_talib(name, params):
    bars = real("SPY_2014-11")
    assert_close(run_indicator(CLASSES[name], bars, **params),
                 talib_reference(name, bars, **params), float(bars.close.max()))


# ---- hypothesis series ------------------------------------------------------------------------


@st.composite
def random_bars(draw, max_size: int = 120) -> Bars:
    n = draw(st.integers(0, max_size))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from([1.0, 100.0, 5000.0]))
    rng = np.random.default_rng(seed)
    steps = rng.normal(0, 0.01, n)
    if draw(st.booleans()):  # flat runs: repeated closes (constant windows)
        steps[rng.random(n) < 0.5] = 0.0
    close = scale * np.exp(np.cumsum(steps))
    open_ = np.concatenate([[scale], close[:-1]])[:n]
    wick = scale * np.abs(rng.normal(0, 0.003, (2, n)))
    high = np.maximum(open_, close) + wick[0]
    low = np.minimum(open_, close) - wick[1]
    volume = np.floor(rng.exponential(1000.0, n)) * draw(st.sampled_from([0.0, 1.0, 1.0]))
    return Bars.from_arrays(np.arange(n) * 60_000_000_000, open_, high, low, close, volume)


def random_params(draw, name: str) -> dict:
    period = st.integers(2, 30)
    if name == "macd":
        fast = draw(st.integers(2, 20))
        return {"fast": fast, "slow": draw(st.integers(fast, 30)), "signal": draw(period)}
    if name == "bbands":
        dev = st.sampled_from([0.5, 1.0, 2.0, 2.5])
        return {"period": draw(period), "nbdev_up": draw(dev), "nbdev_dn": draw(dev)}
    if name == "vwap":
        return {}
    return {"period": draw(period)}


@given(data=st.data(), name=st.sampled_from(sorted(DEFAULTS)))
def test_builtin_equals_talib_on_random_series(data, name):
    bars = data.draw(random_bars())
    params = random_params(data.draw, name)
    scale = float(np.abs(bars.volume if name == "volume_sma" else bars.close).max(initial=1.0))
    assert_close(run_indicator(CLASSES[name], bars, **params),
                 talib_reference(name, bars, **params), max(scale, 1.0))


def random_chunks(draw, n: int) -> list[int]:
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=8)))
    return [b - a for a, b in zip([0, *cuts], [*cuts, n], strict=True)]


BATCH = {
    "sma": lambda b, p: kernels.sma(b.close, p["period"]),
    "ema": lambda b, p: kernels.ema(b.close, p["period"]),
    "rsi": lambda b, p: kernels.rsi(b.close, p["period"]),
    "atr": lambda b, p: kernels.atr(b.high, b.low, b.close, p["period"]),
    "stddev": lambda b, p: kernels.rolling_std(b.close, p["period"]),
    "highest": lambda b, p: kernels.rolling_max(b.high, p["period"]),
    "lowest": lambda b, p: kernels.rolling_min(b.low, p["period"]),
    "volume_sma": lambda b, p: kernels.sma(b.volume, p["period"]),
    "vwap": lambda b, p: kernels.vwap(b.high, b.low, b.close, b.volume,
                                      np.zeros(len(b.ts), np.int64)),
    "bbands": lambda b, p: dict(zip(("upper", "middle", "lower"), kernels.bbands(
        b.close, p["period"], p["nbdev_up"], p["nbdev_dn"]), strict=True)),
    "macd": lambda b, p: dict(zip(("macd", "signal", "hist"), kernels.macd(
        b.close, p["fast"], p["slow"], p["signal"]), strict=True)),
}


def assert_identical(a, b) -> None:
    if isinstance(b, dict):
        assert set(a) == set(b)
        for key in b:
            np.testing.assert_array_equal(a[key], b[key])
    else:
        np.testing.assert_array_equal(a, b)


@given(data=st.data(), name=st.sampled_from(sorted(DEFAULTS)))
def test_streaming_in_any_chunks_equals_batch_bit_for_bit(data, name):
    bars = data.draw(random_bars())
    params = random_params(data.draw, name)
    chunks = random_chunks(data.draw, len(bars.ts))
    whole = run_indicator(CLASSES[name], bars, **params)
    assert_identical(run_indicator(CLASSES[name], bars, chunks=chunks, **params), whole)
    assert_identical(run_indicator(CLASSES[name], bars, chunks=[1] * len(bars.ts), **params),
                     whole)
    assert_identical(whole, BATCH[name](bars, params))


WARMUP = {
    "sma": lambda p: p["period"], "ema": lambda p: p["period"], "rsi": lambda p: p["period"] + 1,
    "atr": lambda p: p["period"] + 1, "stddev": lambda p: p["period"],
    "highest": lambda p: p["period"], "lowest": lambda p: p["period"],
    "volume_sma": lambda p: p["period"], "bbands": lambda p: p["period"],
    "macd": lambda p: p["slow"] + p["signal"] - 1, "vwap": lambda p: 1,
}


@given(data=st.data(), name=st.sampled_from(sorted(DEFAULTS)))
def test_warmup_and_ready_are_exact(data, name):
    params = random_params(data.draw, name)
    warmup = WARMUP[name](params)
    indicator = CLASSES[name]("1m", **params)
    assert indicator.warmup == warmup
    n = warmup + data.draw(st.integers(0, 5))
    bars = make_bars(100.0 + np.sin(np.arange(n)), volume=np.full(n, 10.0))
    bank, ring = KernelBank(), BarRing(n)  # as a session runs it: one bar closes at a time
    state = add_kernel(bank, "k", indicator, params)
    readiness = []
    for i in range(n):
        ring.append(*(float(c[i]) if j else int(c[i]) for j, c in enumerate(bars)))
        bank.advance(ring, 1)
        readiness.append(state.ready)
    assert readiness == [i + 1 >= warmup for i in range(n)]
    values = state.history(state.outputs[0])
    assert np.isnan(values[:warmup - 1]).all() and not np.isnan(values[warmup - 1:]).any()


def test_vwap_is_not_ready_while_the_session_has_no_volume():
    bars = make_bars([10.0, 11.0, 12.0], volume=[0.0, 0.0, 5.0])
    state = drive(builtin.VWAP("1m"), bars.slice(0, 2), [1, 1])
    assert not state.ready
    state = drive(builtin.VWAP("1m"), bars)
    assert state.ready and state.value[0] == pytest.approx((12.0 + 12.0 + 12.0) / 3)


@pytest.mark.parametrize("name,params,reason", [
    ("sma", {"period": 0}, "period must be >= 1"),
    ("sma", {"field": "vwap"}, "field must be one of"),
    ("macd", {"fast": 30, "slow": 26}, "fast must be <= slow"),
    ("macd", {"signal": 0}, "signal must be >= 1"),
])
def test_bad_parameters_are_refused(name, params, reason):
    with pytest.raises(ValueError, match=reason):
        CLASSES[name]("1m", **params)


def test_period_one_is_the_field_itself():
    bars = real("SPY_2014-11")
    np.testing.assert_array_equal(run_indicator(builtin.SMA, bars, period=1), bars.close)
    np.testing.assert_array_equal(run_indicator(builtin.Highest, bars, period=1), bars.high)
