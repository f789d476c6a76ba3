"""Walk-forward: each test row runs the argmax of its training window, and the out-of-sample
row is the test rows stitched, checked against a plain numpy computation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mismartera.sweep import sweep
from mismartera.sweep.walkforward import best_row
from tests.sweep.helpers import GRID, session

WF = session(session__end="2024-02-29")
SPEC = "train=10d,test=5d"


@pytest.fixture(scope="module")
def table():
    return sweep(WF, GRID, walk_forward=SPEC, workers=2)


def plain_best(rows, metric, lower=False):
    best, value = None, None
    for row in rows:
        v = row[metric]
        if row["status"] != "ok" or v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if value is None or (v < value if lower else v > value):
            best, value = row, v
    return best


def records(df):
    return df.to_dict("records")


def test_each_test_window_runs_the_best_of_its_training(table):
    train = table[table["role"] == "train"]
    test = table[table["role"] == "test"]
    folds = sorted(train["fold"].unique())
    assert len(folds) == len(test) >= 5
    for fold in folds:
        rows = records(train[train["fold"] == fold])
        assert len(rows) == 4
        best = plain_best(rows, "sharpe")
        chosen = test[test["fold"] == fold].iloc[0]
        assert (chosen["fast"], chosen["slow"]) == (best["fast"], best["slow"])
        assert chosen["window_start"] > rows[0]["window_end"]
        assert chosen["status"] == "ok"


def test_the_test_windows_follow_each_other(table):
    test = table[table["role"] == "test"].sort_values("fold")
    dates = [d for ds in test["daily_dates"] for d in ds]
    assert dates == sorted(set(dates))
    assert dates[-1] == "2024-02-29"


def max_drawdown(levels):
    peak, worst = levels[0], 0.0
    for x in levels:
        peak = max(peak, x)
        worst = max(worst, 1 - x / peak)
    return worst


def test_the_oos_row_is_the_test_rows_stitched(table):
    test = table[table["role"] == "test"].sort_values("fold")
    (oos,) = records(table[table["role"] == "oos"])
    returns = np.concatenate([np.asarray(r, dtype=float) for r in test["daily_returns"]])
    assert np.array_equal(np.asarray(oos["daily_returns"], dtype=float), returns)
    assert list(oos["daily_dates"]) == [d for ds in test["daily_dates"] for d in ds]
    cash = 100_000.0
    levels = [cash]
    for r in returns:
        levels.append(levels[-1] * (1 + r))
    n = len(returns)
    assert oos["sessions"] == n
    assert oos["total_return"] == pytest.approx(levels[-1] / cash - 1, rel=1e-12, abs=1e-15)
    mean, sd = returns.mean(), returns.std(ddof=1)
    assert oos["sharpe"] == pytest.approx(mean / sd * math.sqrt(252), rel=1e-9)
    assert oos["volatility"] == pytest.approx(sd * math.sqrt(252), rel=1e-9)
    assert oos["max_drawdown"] == pytest.approx(max_drawdown(levels), rel=1e-9, abs=1e-15)
    pnl = np.concatenate([np.asarray(p, dtype=float) for p in test["trade_pnl"]])
    assert oos["trades"] == len(pnl) == test["trades"].sum()
    assert oos["win_rate"] == pytest.approx((pnl > 0).mean())
    assert oos["avg_trade"] == pytest.approx(pnl.mean())
    marks = test["equity_marks"].to_numpy(dtype=float)
    assert oos["exposure"] == pytest.approx((test["exposure"] * marks).sum() / marks.sum())
    d = returns - mean
    m2 = (d**2).mean()
    assert oos["returns_skew"] == pytest.approx((d**3).mean() / m2**1.5)
    assert oos["returns_kurtosis"] == pytest.approx((d**4).mean() / m2**2)
    assert oos["bars"] == test["bars"].sum()
    assert oos["window_start"] == test.iloc[0]["window_start"]
    assert oos["window_end"] == test.iloc[-1]["window_end"]
    assert pd.isna(oos["fast"]) and pd.isna(oos["slow"]) and pd.isna(oos["fold"])


def test_ranking_by_a_lower_is_better_metric_takes_the_smallest():
    table = sweep(WF, GRID, walk_forward="train=10d,test=10d", rank="max_drawdown", workers=0)
    train, test = table[table["role"] == "train"], table[table["role"] == "test"]
    for fold, rows in train.groupby("fold"):
        best = plain_best(records(rows), "max_drawdown", lower=True)
        chosen = test[test["fold"] == fold].iloc[0]
        assert (chosen["fast"], chosen["slow"]) == (best["fast"], best["slow"])


def test_a_fold_without_a_ranked_training_row_leaves_the_oos_row_an_error():
    table = sweep(WF, {"fast": [3], "slow": [2]}, walk_forward="train=15d,test=10d", workers=0,
                  retries=0)
    assert (table[table["role"] == "train"]["status"] == "error").all()
    assert not (table["role"] == "test").any()
    (oos,) = records(table[table["role"] == "oos"])
    assert oos["status"] == "error" and "no test row" in oos["error"]


def row(metric, status="ok", **params):
    return {"status": status, "sharpe": metric, **params}


def test_best_row_ties_errors_and_missing_values():
    rows = [row(None, a=0), row(float("nan"), a=1), row(9.0, "error", a=2), row(1.0, a=3),
            row(1.0, a=4), row(0.5, a=5)]
    assert best_row(rows, "sharpe")["a"] == 3  # the first of a tie
    assert best_row(rows[:3], "sharpe") is None
    dd = [{"status": "ok", "max_drawdown": v, "a": i} for i, v in enumerate([0.3, 0.1, 0.1])]
    assert best_row(dd, "max_drawdown")["a"] == 1
