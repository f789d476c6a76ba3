"""Walk-forward: the best parameters of each training window by the ranking metric, and the
out-of-sample row that stitches the test windows run with them.

The best row of a training window is the one with the highest metric (the lowest for
volatility and max_drawdown); ties go to the first in grid order; rows that failed or have
no value of the metric are never the best. The out-of-sample row (role "oos") chains the
test windows' daily returns in fold order — each window starts from the starting cash, so
the stitched equity is cash * prod(1 + r) — and computes its statistics with the same code as
a strategy's (`mismartera.trading.stats`): the return statistics of the stitched equity, the
trade statistics of every closed trade of the test windows, the exposure weighted by each
window's equity marks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mismartera.sweep.plan import LOWER_IS_BETTER, Fold, SweepJob, Task, make_task
from mismartera.sweep.results import make_row
from mismartera.sweep.worker import moments
from mismartera.trading.stats import return_stats, trade_stats


def metric_value(row: Mapping[str, Any], metric: str) -> float | None:
    """The row's metric, None when the row failed or the value is missing or not finite."""
    if row.get("status") != "ok":
        return None
    value = row.get(metric)
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def best_row(rows: Sequence[Mapping[str, Any]], metric: str) -> Mapping[str, Any] | None:
    """The best of `rows` (given in grid order) by `metric`; None when none has a value."""
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    best, best_value = None, -math.inf
    for row in rows:
        value = metric_value(row, metric)
        if value is not None and sign * value > best_value:
            best, best_value = row, sign * value
    return best


def chosen_params(job: SweepJob, rows: Sequence[Mapping[str, Any]], metric: str
                  ) -> dict[str, Any] | None:
    """The grid parameters of the best row (None when no row has a value)."""
    best = best_row(rows, metric)
    return None if best is None else {name: best[name] for name in job.params}


def oos_row(job: SweepJob, symbols: Sequence[str], folds: Sequence[Fold],
            tests: Sequence[Mapping[str, Any] | None], sessions_per_year: int) -> dict[str, Any]:
    """The out-of-sample row of one symbol set: `tests[i]` is fold i's test row (None when no
    training row of that fold could be ranked)."""
    task: Task = make_task(job.fingerprint, {}, symbols, folds[0].test[0], folds[-1].test[1],
                           "oos")
    missing = [f.index for f, row in zip(folds, tests, strict=True)
               if row is None or row.get("status") != "ok"]
    if missing:
        error = (f"no out-of-sample result: fold(s) {', '.join(map(str, missing))} have no "
                 f"test row (a failed test, or no training row with a {job.rank})")
        return make_row(job, task, None, error, 1)
    rows = [row for row in tests if row is not None]
    return make_row(job, task, stitch(rows, float(job.session["broker"]["cash"]),
                                      sessions_per_year), None, 1)


def stitch(rows: Sequence[Mapping[str, Any]], cash: float, sessions_per_year: int
           ) -> dict[str, Any]:
    """The result fields of test rows run one after the other (see the module docstring)."""
    returns = np.concatenate([np.asarray(r["daily_returns"], dtype=np.float64) for r in rows])
    dates = [d for r in rows for d in r["daily_dates"]]
    equity = np.asarray(cash * np.cumprod(1.0 + returns), dtype=np.float64)
    pnl = np.concatenate([np.asarray(r["trade_pnl"], dtype=np.float64) for r in rows])
    marks = np.array([r["equity_marks"] or 0 for r in rows], dtype=np.float64)
    exposures = np.array([r["exposure"] if r["exposure"] is not None else 0.0 for r in rows])
    stats: dict[str, Any] = {
        **return_stats(np.arange(len(equity), dtype=np.int64), equity, cash, sessions_per_year),
        **trade_stats(pnl),
        "exposure": float(marks @ exposures / marks.sum()) if marks.sum() > 0 else None,
    }
    skew, kurt = moments(returns)
    return {
        **stats,
        "sessions": len(returns),
        "returns_skew": skew,
        "returns_kurtosis": kurt,
        "bars": sum(int(r["bars"] or 0) for r in rows),
        "run_s": sum(float(r["run_s"] or 0.0) for r in rows),
        "worker": None,
        "daily_dates": dates,
        "daily_returns": returns.tolist(),
        "trade_pnl": pnl.tolist(),
        "equity_marks": int(marks.sum()),
    }


__all__ = ["best_row", "chosen_params", "metric_value", "oos_row", "stitch"]
