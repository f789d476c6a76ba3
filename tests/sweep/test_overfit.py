"""The tools against overfitting (mismartera.sweep.overfit) against the plain reference
(tests/reference/overfit.py), plus cases that can be checked by hand."""

from __future__ import annotations

import itertools
import json
import math
import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mismartera.sweep import overfit as ov
from tests.reference import overfit as ref


def same(a: float | None, b: float | None, rel: float = 1e-9, abs_: float = 1e-12) -> bool:
    """Equal within rounding, NaN/None equal to NaN/None."""
    a = math.nan if a is None else a
    b = math.nan if b is None else b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


# small dyadic numbers: sums are exact in any order, so ties are the same ties in both codes
dyadic = st.integers(-64, 64).map(lambda i: i / 8)
returns = st.integers(-1000, 1000).map(lambda i: i / 10_000)


# --- neighbourhood -------------------------------------------------------------------------


@st.composite
def grids(draw: st.DrawFn) -> np.ndarray:
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    cells = st.one_of(st.just(math.nan), st.floats(-1e6, 1e6, allow_subnormal=False))
    return draw(hnp.arrays(np.float64, shape, elements=cells))


@given(grids(), st.integers(0, 2))
def test_neighbourhood_matches_reference(values: np.ndarray, radius: int) -> None:
    means, mins = ref.neighbourhood(values, radius)
    mean = ov.neighbourhood_stability(values, radius)
    low = ov.neighbourhood_min(values, radius)
    score = ov.stability_score(values, radius)
    assert mean.shape == low.shape == score.shape == values.shape
    for idx in np.ndindex(values.shape):
        assert same(mean[idx], means[idx], rel=1e-9, abs_=1e-6), idx
        assert same(low[idx], mins[idx], rel=0, abs_=0), idx
        assert same(score[idx], means[idx] - values[idx], rel=1e-9, abs_=1e-6), idx


def test_neighbourhood_by_hand() -> None:
    v = np.array([[1.0, 2.0, 3.0], [4.0, np.nan, 6.0]])
    assert ov.neighbourhood_stability(v, 1)[0, 0] == pytest.approx((1 + 2 + 4) / 3)
    assert ov.neighbourhood_stability(v, 1)[0, 1] == pytest.approx((1 + 2 + 3 + 4 + 6) / 5)
    assert np.isnan(ov.neighbourhood_stability(v, 1)[1, 1])  # a failed point stays failed
    assert ov.neighbourhood_min(v, 1)[1, 2] == 2.0
    assert np.array_equal(ov.neighbourhood_stability(v, 0), v, equal_nan=True)
    with pytest.raises(ValueError, match="radius"):
        ov.neighbourhood_stability(v, -1)


def test_a_plateau_is_more_stable_than_a_spike() -> None:
    rng = np.random.default_rng(7)
    base = rng.normal(0.0, 0.05, size=(7, 7))
    plateau = base.copy()
    plateau[2:5, 2:5] += 1.0
    plateau[3, 3] += 0.1  # the best point sits in the middle of a plateau
    spike = base.copy()
    spike[3, 3] = 2.0  # a lucky point among mediocre neighbours
    for grid in (plateau, spike):
        assert np.unravel_index(np.nanargmax(grid), grid.shape) == (3, 3)
    s_plateau = ov.stability_score(plateau)[3, 3]
    s_spike = ov.stability_score(spike)[3, 3]
    assert s_spike < -1.5 < -0.5 < s_plateau <= 0
    assert ov.neighbourhood_min(plateau)[3, 3] > 0.8 > ov.neighbourhood_min(spike)[3, 3]


# --- grid_of -------------------------------------------------------------------------------


@st.composite
def tables(draw: st.DrawFn) -> list[dict]:
    n = draw(st.integers(1, 30))
    rows = []
    for _ in range(n):
        rows.append({
            "fast": draw(st.sampled_from([5, 10, 20])),
            "kind": draw(st.sampled_from(["ema", "sma", None])),
            "sharpe": draw(st.one_of(st.none(), st.just(math.nan), dyadic)),
            "status": draw(st.sampled_from(["ok", "ok", "ok", "error"])),
        })
    return rows


@given(tables())
def test_grid_of_matches_reference(rows: list[dict]) -> None:
    axes_ref, cells = ref.grid(rows, ["fast", "kind"], "sharpe")
    axes, values = ov.grid_of(pd.DataFrame(rows), ["fast", "kind"], "sharpe")
    assert [list(a) for a in axes] == axes_ref
    assert values.shape == tuple(len(a) for a in axes_ref)
    for idx, v in cells.items():
        assert same(values[idx], v), idx


def test_grid_of_averages_windows_in_any_order() -> None:
    df = pd.DataFrame({"a": [2, 1, 2, 1, 2], "b": [0.5, 0.5, 0.5, 0.1, 0.1],
                       "sharpe": [1.0, 3.0, 2.0, 4.0, 5.0], "status": ["ok"] * 5})
    axes, v = ov.grid_of(df.sample(frac=1.0, random_state=3), ["a", "b"], "sharpe")
    assert [list(x) for x in axes] == [[1, 2], [0.1, 0.5]]
    assert v.tolist() == [[4.0, 3.0], [5.0, 1.5]]


# --- deflated Sharpe ratio -----------------------------------------------------------------


def check_dsr(got: ov.DeflatedSharpe, want: dict) -> None:
    for key, value in want.items():
        assert same(getattr(got, key), value, rel=1e-8, abs_=1e-10), (key, got, want)


@given(st.lists(st.one_of(returns, st.just(math.nan)), max_size=60),
       st.lists(st.one_of(st.floats(-0.5, 0.5), st.just(math.nan)), max_size=20),
       st.one_of(st.none(), st.integers(0, 10_000)))
def test_deflated_sharpe_matches_reference(best: list, trials: list, n: int | None) -> None:
    check_dsr(ov.deflated_sharpe(np.array(best), np.array(trials), n),
              ref.deflated_sharpe(best, trials, n))


def test_expected_max_matches_reference() -> None:
    for n in (2, 3, 10, 100, 12_345):
        for var in (0.0, 1e-4, 0.3):
            got = ov.expected_max_sharpe(n, var)
            want = ref.deflated_sharpe([], [0.0, 1.0], n)["expected_max"] * math.sqrt(var / 0.5)
            assert same(got, want, rel=1e-9), (n, var)


def test_dsr_falls_as_trials_grow() -> None:
    rng = np.random.default_rng(11)
    best = rng.normal(0.001, 0.01, size=500)
    trials = rng.normal(0.0, 0.04, size=50)
    dsrs = [ov.deflated_sharpe(best, trials, n).dsr for n in (1, 2, 10, 100, 1000, 10_000)]
    assert all(a > b for a, b in itertools.pairwise(dsrs)), dsrs
    maxes = [ov.expected_max_sharpe(n, 0.04**2) for n in (2, 10, 100, 1000)]
    assert all(a < b for a, b in itertools.pairwise(maxes))


def test_dsr_with_one_trial_is_the_probabilistic_sharpe_against_zero() -> None:
    rng = np.random.default_rng(5)
    r = rng.normal(0.002, 0.01, size=250)
    d = ov.deflated_sharpe(r, [0.2])
    assert d.n_trials == 1 and d.expected_max == 0.0 and math.isnan(d.trials_var)
    sr, t = r.mean() / r.std(ddof=1), len(r)
    z = sr * math.sqrt(t - 1) / math.sqrt(1 - d.skew * sr + (d.kurtosis - 1) / 4 * sr * sr)
    assert d.dsr == pytest.approx(ref.norm_cdf(z))


@pytest.mark.parametrize(("best", "trials"), [
    ([], []), ([0.01], [1.0, 2.0]), ([0.01, 0.02], [1.0, 2.0]),
    ([0.01, 0.01, 0.01], [1.0, 2.0]), ([math.nan] * 5, [0.1, 0.2]),
    ([0.01, -0.02, 0.03, 0.0], [0.3, 0.3, 0.3]), ([0.01, -0.02, 0.03, 0.0], [math.nan]),
])
def test_dsr_edge_cases_are_defined(best: list, trials: list) -> None:
    d = ov.deflated_sharpe(best, trials)
    check_dsr(d, ref.deflated_sharpe(best, trials))
    json.dumps(d.to_dict(), allow_nan=False)


# --- PBO by CSCV ---------------------------------------------------------------------------


@given(st.integers(1, 12).flatmap(lambda t: st.integers(1, 6).flatmap(
    lambda n: st.lists(st.lists(st.one_of(dyadic, dyadic, dyadic, st.just(math.nan)),
                                min_size=n, max_size=n), min_size=t, max_size=t))),
       st.sampled_from([2, 3, 4, 6, 8, 16]))
def test_pbo_matches_reference(perf: list[list[float]], splits: int) -> None:
    got = ov.pbo_cscv(np.array(perf), splits)
    want = ref.pbo(perf, splits)
    assert same(got.pbo, want["pbo"], rel=0, abs_=0)
    assert got.combinations == want["combinations"] == len(got.logits)
    assert got.n_configs == want["n_configs"]
    assert got.n_configs + got.dropped == len(perf[0])
    assert np.allclose(got.logits, want["logits"], rtol=0, atol=1e-12)
    json.dumps(got.to_dict(), allow_nan=False)


def test_pbo_with_sixteen_splits_matches_reference() -> None:
    rng = np.random.default_rng(2)
    perf = np.round(rng.normal(0, 1, size=(37, 3)) * 8) / 8
    got, want = ov.pbo_cscv(perf, 16), ref.pbo(perf.tolist(), 16)
    assert got.combinations == want["combinations"] == 12_870
    assert got.pbo == want["pbo"]
    assert np.allclose(got.logits, want["logits"], rtol=0, atol=1e-12)


def test_pbo_of_a_config_best_in_every_period_is_zero() -> None:
    rng = np.random.default_rng(3)
    perf = rng.normal(0.0, 1.0, size=(48, 200))
    perf[:, 17] = perf.max(axis=1) + 0.5
    result = ov.pbo_cscv(perf, 16)
    assert result.combinations == 12_870 and result.n_configs == 200
    assert result.pbo == 0.0
    assert np.allclose(result.logits, math.log(200 / 1))  # always ranked first of 200


def test_pbo_of_pure_noise_is_about_one_half() -> None:
    rng = np.random.default_rng(4)
    perf = rng.normal(0.0, 1.0, size=(64, 300))
    result = ov.pbo_cscv(perf, 16)
    assert result.combinations == 12_870 and result.splits == 16
    assert 0.3 <= result.pbo <= 0.8, result.pbo


def test_pbo_undefined_cases() -> None:
    assert math.isnan(ov.pbo_cscv(np.ones((1, 5))).pbo)  # one period: S < 2
    assert math.isnan(ov.pbo_cscv(np.ones((8, 1))).pbo)  # one config
    nan_col = np.ones((8, 3))
    nan_col[2, 1] = math.nan
    assert ov.pbo_cscv(nan_col, 4).dropped == 1
    assert ov.pbo_cscv(np.ones((7, 3)), 16).splits == 6


# --- the summary ---------------------------------------------------------------------------


def sweep_rows(seed: int, windows: int, fail: float = 0.1, days: int = 40) -> list[dict]:
    """A fake results table: a 4 x 3 grid of (fast, slow), `windows` windows (or one full run),
    random daily returns, some failed tasks."""
    rng = random.Random(seed)
    dates = [f"2021-{1 + d // 28:02d}-{1 + d % 28:02d}" for d in range(days * max(windows, 1))]
    rows = []
    for w in range(max(windows, 1)):
        span = dates[w * days:(w + 1) * days]
        for fast in (5, 10, 20, 40):
            for slow in (50, 100, 200):
                r = [rng.gauss(0.0005 * (fast == 10), 0.01) for _ in span]
                ok = rng.random() >= fail
                rows.append({
                    "role": "window" if windows else "full", "status": "ok" if ok else "error",
                    "window_start": span[0], "symbols": "AAPL", "fast": fast, "slow": slow,
                    "sharpe": ref.sharpe(r) * math.sqrt(252) if ok else None,
                    "daily_dates": span if ok else None, "daily_returns": r if ok else None,
                })
    rng.shuffle(rows)
    return rows


def check_summary(got: dict, want: dict) -> None:
    json.dumps(got, allow_nan=False)
    assert got["rows"] == want["rows"] and got["ok"] == want["ok"]
    assert got["failed"] == want["rows"] - want["ok"]
    best, wbest = got["best"], want["best"]
    assert best["params"] == wbest["params"] and got["grid_shape"] == wbest["shape"]
    for key in ("metric", "neighbourhood_mean", "neighbourhood_min", "stability"):
        assert same(best[key], wbest[key]), key
    for key, value in want["deflated_sharpe"].items():
        assert same(got["deflated_sharpe"][key], value, rel=1e-8, abs_=1e-10), key
    if want["pbo"] is None:
        assert got["pbo"] is None or got["pbo"]["pbo"] is None
    else:
        assert same(got["pbo"]["pbo"], want["pbo"]["pbo"], rel=1e-12)
        assert got["pbo"]["combinations"] == want["pbo"]["combinations"]
        assert sum(got["pbo"]["logits_hist"]["counts"]) == want["pbo"]["combinations"]


@pytest.mark.parametrize(("seed", "windows"), [(1, 0), (2, 0), (3, 6), (4, 8), (5, 1)])
def test_summary_matches_reference(seed: int, windows: int) -> None:
    rows = sweep_rows(seed, windows)
    got = ov.overfitting_summary(pd.DataFrame(rows), ["fast", "slow"], "sharpe")
    want = ref.summary(rows, ["fast", "slow"], "sharpe")
    check_summary(got, want)
    assert got["pbo"]["source"] == ("windows" if windows > 1 else "daily_returns")


def test_summary_of_a_lower_is_better_metric() -> None:
    rows = sweep_rows(6, 4)
    for r in rows:
        r["volatility"] = None if r["status"] != "ok" else float(np.std(r["daily_returns"]))
    got = ov.overfitting_summary(pd.DataFrame(rows), ["fast", "slow"], "volatility")
    want = ref.summary(rows, ["fast", "slow"], "volatility", higher=False)
    assert got["higher_is_better"] is False
    check_summary(got, want)
    assert got["best"]["stability"] >= 0  # the least volatile point: neighbours are worse


def test_summary_counts_failures_and_survives_an_empty_table() -> None:
    rows = sweep_rows(7, 0, fail=1.0)
    got = ov.overfitting_summary(pd.DataFrame(rows), ["fast", "slow"])
    assert got["ok"] == 0 and got["failed"] == 12 and got["best"] is None
    json.dumps(got, allow_nan=False)
    with pytest.raises(ValueError, match="no column 'slowest'"):
        ov.overfitting_summary(pd.DataFrame(rows), ["fast", "slowest"])


def test_summary_of_a_table_read_back_from_parquet(tmp_path) -> None:
    import duckdb

    df = pd.DataFrame(sweep_rows(8, 6))
    path = tmp_path / "results.parquet"
    con = duckdb.connect()
    con.register("results", df)
    con.execute(f"COPY results TO '{path}' (FORMAT parquet)")
    back = con.execute(f"SELECT * FROM '{path}'").df()  # list cells come back as arrays
    assert ov.overfitting_summary(back, ["fast", "slow"]) == ov.overfitting_summary(
        df, ["fast", "slow"])


def test_summary_with_too_few_sessions_or_disjoint_train_windows() -> None:
    short = ov.overfitting_summary(pd.DataFrame(sweep_rows(9, 0, days=6)), ["fast", "slow"])
    assert short["pbo"]["pbo"] is None and "too few" in short["pbo"]["reason"]
    rows = sweep_rows(10, 3, fail=0.0, days=12)
    for r in rows:  # walk-forward train rows: each (params, fold) is its own trial
        r["role"] = "train"
    got = ov.overfitting_summary(pd.DataFrame(rows), ["fast", "slow"])
    assert got["roles"] == "train" and got["deflated_sharpe"]["n_trials"] == 36
    assert got["pbo"]["pbo"] is None  # the folds' train windows share no session here
    json.dumps(got, allow_nan=False)
