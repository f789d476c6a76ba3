"""Tools against overfitting a parameter sweep (docs/sweeps.md, "Against overfitting").

- `neighbourhood_stability` / `neighbourhood_min` / `stability_score`: the metric around each
  grid point, so a robust plateau stands apart from a lucky isolated spike; `grid_of` turns a
  results table into the grid.
- `deflated_sharpe`: the deflated Sharpe ratio of the best row given how many rows were tried
  (Bailey & López de Prado 2014).
- `pbo_cscv`: the probability of backtest overfitting by combinatorially symmetric
  cross-validation (Bailey, Borwein, López de Prado & Zhu 2015).
- `overfitting_summary`: all three for a sweep's results table, as a JSON-ready dict.

Only numpy and the standard library; pandas is used through the DataFrame passed in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

from mismartera.sweep.plan import LOWER_IS_BETTER

F64 = npt.NDArray[np.float64]

EULER_GAMMA = 0.5772156649015329
# the daily-returns PBO: at least this many sessions per period
MIN_PERIOD_SESSIONS = 5
_NORMAL = NormalDist()
_CHUNK = 1 << 22  # elements per (combinations x configs) block in pbo_cscv


# --- neighbourhood stability ---------------------------------------------------------------


def _slide(a: F64, radius: int, reduce: Callable[[F64, F64], F64], fill: float) -> F64:
    """Reduce every box of +-radius steps on every axis (separable: one axis at a time)."""
    if radius < 0:
        raise ValueError(f"the neighbourhood radius must be >= 0, not {radius}")
    for axis in range(a.ndim):
        n = a.shape[axis]
        moved = np.moveaxis(a, axis, 0)
        pad = [(radius, radius)] + [(0, 0)] * (a.ndim - 1)
        padded = np.pad(moved, pad, constant_values=fill)
        acc = padded[0:n].copy()
        for k in range(1, 2 * radius + 1):
            acc = reduce(acc, padded[k:k + n])
        a = np.moveaxis(acc, 0, axis)
    return a


def neighbourhood_stability(values: npt.ArrayLike, radius: int = 1) -> F64:
    """The mean of the metric over each grid point's neighbourhood.

    `values` has one axis per grid parameter (NaN = a failed or missing point). The
    neighbourhood of a point is every point within `radius` grid steps on every axis, itself
    included (a (2r+1)^d box clipped at the edges); NaNs are ignored. A point that is itself
    NaN stays NaN. Same shape as `values`.
    """
    v = np.asarray(values, dtype=np.float64)
    ok = ~np.isnan(v)
    total = _slide(np.where(ok, v, 0.0), radius, np.add, 0.0)
    count = _slide(ok.astype(np.float64), radius, np.add, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    return np.where(ok, mean, np.nan)


def neighbourhood_min(values: npt.ArrayLike, radius: int = 1) -> F64:
    """The worst (smallest) metric over each point's neighbourhood (as in
    `neighbourhood_stability`); NaN where the point is NaN."""
    v = np.asarray(values, dtype=np.float64)
    ok = ~np.isnan(v)
    low = _slide(np.where(ok, v, np.inf), radius, np.fmin, np.inf)
    return np.where(ok, low, np.nan)


def stability_score(values: npt.ArrayLike, radius: int = 1) -> F64:
    """Neighbourhood mean minus the point's own value, in the metric's units.

    About 0 on a plateau (the neighbours do as well); strongly negative at a lucky isolated
    spike (the neighbours do much worse); positive in a pit. For the best point it is <= 0
    and reads "how much of the best value the neighbours lose".
    """
    v = np.asarray(values, dtype=np.float64)
    return neighbourhood_stability(v, radius) - v


def _axis_values(column: np.ndarray) -> tuple[np.ndarray, npt.NDArray[np.intp]]:
    """Sorted distinct values of a column (first-seen order if they cannot be sorted) and
    each row's index among them."""
    try:
        axis, index = np.unique(column, return_inverse=True)
    except TypeError:
        seen: dict[Any, int] = {}
        index = np.array([seen.setdefault(x, len(seen)) for x in column], dtype=np.intp)
        axis = np.array(list(seen), dtype=object)
    return axis, index.reshape(-1)


def grid_of(df: Any, params: Sequence[str], metric: str) -> tuple[list[np.ndarray], F64]:
    """(axes, values) from a results table: `axes[i]` the sorted distinct values of
    `params[i]`, `values[i0, i1, ...]` the metric at that grid point.

    Rows may come in any order. Rows with a `status` other than "ok" and rows with a missing
    parameter are skipped. Several rows at one grid point (several windows or symbol sets)
    are averaged, NaN metrics ignored; a grid point without a finite value is NaN.
    """
    rows = df
    if "status" in df.columns:
        rows = df[df["status"] == "ok"]
    if len(params):
        rows = rows[rows[list(params)].notna().all(axis=1)]
    axes: list[np.ndarray] = []
    index: list[npt.NDArray[np.intp]] = []
    for name in params:
        axis, idx = _axis_values(rows[name].to_numpy())
        axes.append(axis)
        index.append(idx)
    shape = tuple(len(a) for a in axes)
    metric_values = np.asarray(rows[metric].to_numpy(dtype=np.float64, na_value=np.nan))
    finite = np.isfinite(metric_values)
    flat = np.ravel_multi_index(tuple(i[finite] for i in index), shape) if len(params) else (
        np.zeros(int(finite.sum()), dtype=np.intp))
    size = int(np.prod(shape, dtype=np.int64))
    total = np.bincount(flat, weights=metric_values[finite], minlength=size)
    count = np.bincount(flat, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return axes, values.reshape(shape)


# --- deflated Sharpe ratio -----------------------------------------------------------------


def sharpe_per_obs(returns: npt.ArrayLike) -> float:
    """mean / std (ddof=1) of the finite returns: the per-observation (not annualised) Sharpe
    ratio; NaN with fewer than 2 observations or no variation."""
    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    if len(r) < 2:
        return math.nan
    sd = float(np.std(r, ddof=1))
    return float(np.mean(r)) / sd if sd > 0 else math.nan


@dataclass(frozen=True)
class DeflatedSharpe:
    """The deflated Sharpe ratio of the best row (all Sharpes per observation, not annualised).

    sharpe: of the best row's returns; expected_max: the expected maximum Sharpe of
    `n_trials` independent trials with true Sharpe 0 and the trials' Sharpe variance
    (`trials_var`); dsr: the probability that the true Sharpe exceeds expected_max, corrected
    for the returns' skew and kurtosis (Pearson, normal = 3) over `n_obs` observations.
    Undefined values are NaN (see `deflated_sharpe`).
    """

    sharpe: float
    expected_max: float
    dsr: float
    n_trials: int
    n_obs: int
    skew: float
    kurtosis: float
    trials_var: float

    def to_dict(self) -> dict[str, float | int | None]:
        """JSON-ready (NaN -> None)."""
        return {k: _json_number(v) for k, v in self.__dict__.items()}


def expected_max_sharpe(n_trials: int, variance: float) -> float:
    """E[max of n_trials Sharpes] when every true Sharpe is 0 and the estimates have this
    variance: sqrt(V) ((1-g) Z^-1(1 - 1/N) + g Z^-1(1 - 1/(N e))), g the Euler-Mascheroni
    constant. 0 for fewer than 2 trials (nothing was selected); NaN for a NaN variance."""
    if n_trials < 2:
        return 0.0
    if not math.isfinite(variance) or variance < 0:
        return math.nan
    z1 = _NORMAL.inv_cdf(1.0 - 1.0 / n_trials)
    z2 = _NORMAL.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    return math.sqrt(variance) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


def deflated_sharpe(
    best_returns: npt.ArrayLike, trial_sharpes: npt.ArrayLike, n_trials: int | None = None
) -> DeflatedSharpe:
    """The deflated Sharpe ratio (Bailey & López de Prado 2014).

    `best_returns`: the per-period returns of the selected row (NaNs dropped; T = how many are
    left). `trial_sharpes`: the per-observation Sharpe ratios of all the trials, the best
    included (NaNs dropped). `n_trials`: N, by default the number of finite trial Sharpes (pass
    it when some trials have no finite Sharpe but were tried all the same).

    DSR = Z((SR - SR0) sqrt(T-1) / sqrt(1 - skew SR + (kurt-1)/4 SR^2)), SR0 =
    `expected_max_sharpe(N, var(trial_sharpes, ddof=1))`. Never raises: with N < 2, SR0 = 0
    (the probabilistic Sharpe ratio against 0); with fewer than 2 finite trial Sharpes the
    variance is NaN; with T < 3, no variation in the returns, or a non-positive correction
    term, sharpe/skew/kurtosis and the dsr are NaN as far as they are undefined.
    """
    r = np.asarray(best_returns, dtype=np.float64).ravel()
    r = r[np.isfinite(r)]
    t = len(r)
    trials = np.asarray(trial_sharpes, dtype=np.float64).ravel()
    trials = trials[np.isfinite(trials)]
    n = len(trials) if n_trials is None else int(n_trials)
    var = float(np.var(trials, ddof=1)) if len(trials) >= 2 else math.nan
    sr0 = expected_max_sharpe(n, var)
    sr = sharpe_per_obs(r)
    skew = kurt = dsr = math.nan
    if t >= 3 and math.isfinite(sr):
        dev = r - r.mean()
        m2 = float(np.mean(dev**2))
        skew = float(np.mean(dev**3)) / m2**1.5
        kurt = float(np.mean(dev**4)) / m2**2
        term = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
        if term > 0 and math.isfinite(sr0):
            dsr = _NORMAL.cdf((sr - sr0) * math.sqrt(t - 1) / math.sqrt(term))
    return DeflatedSharpe(sr, sr0, dsr, n, t, skew, kurt, var)


# --- probability of backtest overfitting (CSCV) --------------------------------------------


@dataclass(frozen=True)
class PBO:
    """The probability of backtest overfitting by CSCV.

    pbo: the share of combinations whose in-sample best config ranks in the lower half
    out-of-sample (logit <= 0); NaN when undefined. logits: one per combination, in the order
    of itertools.combinations(range(splits), splits // 2). combinations: how many (C(S, S/2)).
    splits: S, the blocks used. n_configs: the configs ranked; dropped: the configs left out
    for a non-finite value.
    """

    pbo: float
    logits: F64
    combinations: int
    splits: int
    n_configs: int
    dropped: int

    def to_dict(self, bins: int = 20) -> dict[str, Any]:
        """JSON-ready, the logits as a histogram ({"edges", "counts"}) rather than one by one."""
        out: dict[str, Any] = {
            "pbo": _json_number(self.pbo), "combinations": self.combinations,
            "splits": self.splits, "configs": self.n_configs, "dropped": self.dropped,
        }
        finite = self.logits[np.isfinite(self.logits)]
        if len(finite):
            counts, edges = np.histogram(finite, bins=bins)
            out["logits_hist"] = {"edges": [float(e) for e in edges],
                                  "counts": [int(c) for c in counts]}
        return out


def block_bounds(n_periods: int, splits: int) -> list[tuple[int, int]]:
    """[start, end) of `splits` contiguous blocks covering n_periods rows; the first
    n_periods % splits blocks hold one row more."""
    size, extra = divmod(n_periods, splits)
    bounds, start = [], 0
    for b in range(splits):
        end = start + size + (1 if b < extra else 0)
        bounds.append((start, end))
        start = end
    return bounds


def effective_splits(n_periods: int, splits: int) -> int:
    """The S used: `splits` rounded down to even, and to n_periods if that is smaller (0 when
    fewer than 2 periods)."""
    s = min(int(splits), int(n_periods))
    return s - s % 2 if s >= 2 else 0


def pbo_cscv(perf: npt.ArrayLike, splits: int = 16) -> PBO:
    """The probability of backtest overfitting (Bailey, Borwein, López de Prado & Zhu 2015).

    `perf[t, n]`: a performance measure (larger = better) of config n in sub-period t. The
    periods are grouped into S = `effective_splits(n_periods, splits)` contiguous blocks
    (`block_bounds`). For each of the C(S, S/2) ways of choosing S/2 blocks as in-sample (the
    rest out-of-sample), a config's performance in a set is its mean over the set's periods;
    n* = the best config in-sample (the first on ties); w = its rank out-of-sample / (N + 1)
    (rank 1 = worst, ties share the average rank); logit = ln(w / (1 - w)).
    PBO = the share of logits <= 0. Configs with any non-finite value are dropped first. With
    fewer than 2 configs or S < 2: pbo NaN, no logits. Never raises for such input.
    """
    p = np.asarray(perf, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"perf must be 2-D [periods x configs], not {p.ndim}-D")
    keep = np.isfinite(p).all(axis=0)
    p = p[:, keep]
    dropped = int((~keep).sum())
    n_configs = p.shape[1]
    s = effective_splits(p.shape[0], splits)
    if s < 2 or n_configs < 2:
        return PBO(math.nan, np.empty(0), 0, s, n_configs, dropped)
    blocks = np.stack([p[a:b].sum(axis=0) for a, b in block_bounds(p.shape[0], s)])
    sizes = np.array([b - a for a, b in block_bounds(p.shape[0], s)], dtype=np.float64)
    chosen = np.array(list(combinations(range(s), s // 2)), dtype=np.intp)
    member = np.zeros((len(chosen), s))
    np.put_along_axis(member, chosen, 1.0, axis=1)
    total, periods = blocks.sum(axis=0), sizes.sum()
    logits = np.empty(len(chosen))
    step = max(1, _CHUNK // n_configs)
    for a in range(0, len(chosen), step):
        m = member[a:a + step]
        is_n = m @ sizes
        is_perf = (m @ blocks) / is_n[:, None]
        oos_perf = (total - m @ blocks) / (periods - is_n)[:, None]
        best = np.argmax(is_perf, axis=1)
        oos_best = oos_perf[np.arange(len(m)), best][:, None]
        rank = (oos_perf < oos_best).sum(axis=1) + ((oos_perf == oos_best).sum(axis=1) + 1) / 2
        w = rank / (n_configs + 1)
        logits[a:a + step] = np.log(w / (1.0 - w))
    return PBO(float(np.mean(logits <= 0)), logits, len(chosen), s, n_configs, dropped)


# --- the summary of a results table --------------------------------------------------------


def _json_number(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _grid_rows(df: Any) -> tuple[Any, str]:
    """The rows a grid is made of: role "window" if any, else "full", else "train"
    (walk-forward), else all rows."""
    if "role" not in df.columns:
        return df, "all"
    for role in ("window", "full", "train"):
        rows = df[df["role"] == role]
        if len(rows):
            return rows, role
    return df, "all"


def _trial_key(row: Any, keys: Sequence[str]) -> dict[str, Any]:
    return {k: _json_number(row[k]) for k in keys}


def _listed(row: Any, column: str) -> list[Any]:
    """A row's list cell (a list or an array, as read back from Parquet); [] when missing."""
    cell = row[column] if column in row.index else None
    return list(cell) if isinstance(cell, list | tuple | np.ndarray) else []


def _trials(rows: Any, params: Sequence[str], windowed: bool) -> list[dict[str, Any]]:
    """One trial per ok row, or per (params, symbols) across its windows (window order)."""
    cols = set(rows.columns)
    keys = [*params, *(["symbols"] if "symbols" in cols else [])]
    ordered = rows.sort_values("window_start", kind="stable") if "window_start" in cols else rows
    trials: dict[Any, dict[str, Any]] = {}
    for i, (_, row) in enumerate(ordered.iterrows()):
        key = tuple(_trial_key(row, keys).values()) if windowed else i
        t = trials.setdefault(key, {"key": _trial_key(row, keys), "metric": [], "returns": [],
                                    "dates": [], "windows": {}})
        t["metric"].append(row["metric_"])
        t["returns"].extend(_listed(row, "daily_returns"))
        t["dates"].extend(_listed(row, "daily_dates"))
        if windowed:
            t["windows"][row["window_start"]] = row["metric_"]
    for t in trials.values():
        m = np.asarray(t["metric"], dtype=np.float64)
        t["score"] = float(np.nanmean(m)) if np.isfinite(m).any() else math.nan
    return list(trials.values())


def _period_sharpes(trials: list[dict[str, Any]], splits: int) -> tuple[F64 | None, str]:
    """[periods x trials] per-period Sharpe of the trials' daily returns, aligned on dates."""
    series = [np.asarray(t["returns"], dtype=np.float64) for t in trials]
    if all(len(t["dates"]) == len(s) for t, s in zip(trials, series, strict=True)):
        common = set(trials[0]["dates"]).intersection(*(t["dates"] for t in trials[1:]))
        order = sorted(common)
        aligned = []
        for t, s in zip(trials, series, strict=True):
            where = {d: i for i, d in enumerate(t["dates"])}
            aligned.append(s[[where[d] for d in order]])
        series = aligned
    elif len({len(s) for s in series}) != 1:
        return None, "the trials' daily returns differ in length and have no dates to align"
    days = len(series[0]) if series else 0
    periods = effective_splits(days // MIN_PERIOD_SESSIONS, splits)
    if periods < 2:
        return None, f"{days} common sessions: too few for 2 periods of {MIN_PERIOD_SESSIONS}"
    r = np.column_stack(series)
    perf = np.empty((periods, r.shape[1]))
    for k, (a, b) in enumerate(block_bounds(days, periods)):
        chunk = r[a:b]
        sd = chunk.std(axis=0, ddof=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            perf[k] = np.where(sd > 0, chunk.mean(axis=0) / sd, 0.0)
    return perf, "daily_returns"


def overfitting_summary(
    df: Any, params: Sequence[str], metric: str = "sharpe", *, radius: int = 1,
    splits: int = 16, higher_is_better: bool | None = None,
) -> dict[str, Any]:
    """Stability, deflated Sharpe and PBO of a sweep's results table, JSON-ready.

    The grid rows are those of role "window" if any, else "full", else "train" (walk-forward),
    else all rows; those whose status is not "ok" are excluded and counted. `higher_is_better`
    defaults to False for the metrics in LOWER_IS_BETTER (mismartera.sweep.plan). A trial is an
    ok row or, with several windows, a (params, symbols) config over all its windows (daily
    returns concatenated in window order, metric the mean over windows); N = the number of
    trials. PBO uses the metric per window when there are several windows, else the
    per-period Sharpe of the daily returns (aligned on dates, up to `splits` periods of at
    least MIN_PERIOD_SESSIONS sessions; 0 for a period without variation). NaN -> None.
    See docs/sweeps.md, "Against overfitting", for every key.
    """
    missing = [c for c in (*params, metric) if c not in df.columns]
    if missing:
        raise ValueError(f"the results table has no column {missing[0]!r}")
    higher = metric not in LOWER_IS_BETTER if higher_is_better is None else higher_is_better
    sign = 1.0 if higher else -1.0
    rows, roles = _grid_rows(df)
    total = len(rows)
    if "status" in rows.columns:
        rows = rows[rows["status"] == "ok"]
    rows = rows.assign(metric_=sign * rows[metric].to_numpy(dtype=np.float64, na_value=np.nan))
    out: dict[str, Any] = {"metric": metric, "higher_is_better": higher, "roles": roles,
                           "rows": total, "ok": len(rows), "failed": total - len(rows),
                           "radius": radius, "best": None, "deflated_sharpe": None, "pbo": None}
    if not len(rows):
        return out
    axes, grid = grid_of(rows, params, "metric_")
    out["grid_shape"] = list(grid.shape)
    if np.isfinite(grid).any():
        at = np.unravel_index(int(np.nanargmax(grid)), grid.shape)
        out["best"] = {
            "params": {p: _json_number(axes[i][at[i]]) for i, p in enumerate(params)},
            "metric": _json_number(sign * grid[at]),
            "neighbourhood_mean": _json_number(sign * neighbourhood_stability(grid, radius)[at]),
            "neighbourhood_min": _json_number(sign * neighbourhood_min(grid, radius)[at]),
            "stability": _json_number(sign * stability_score(grid, radius)[at]),
        }
    windowed = (roles == "window" and "window_start" in rows.columns
                and rows["window_start"].nunique() >= 2)
    trials = _trials(rows, params, windowed)
    scores = np.array([t["score"] for t in trials])
    if "daily_returns" in rows.columns and np.isfinite(scores).any():
        best = trials[int(np.nanargmax(scores))]
        sharpes = [sharpe_per_obs(np.asarray(t["returns"], dtype=np.float64)) for t in trials]
        dsr = deflated_sharpe(np.asarray(best["returns"], dtype=np.float64), sharpes, len(trials))
        out["deflated_sharpe"] = {**dsr.to_dict(), "trial": best["key"]}
    if windowed:
        windows = sorted({w for t in trials for w in t["windows"]})
        perf = np.array([[t["windows"].get(w, math.nan) for t in trials] for w in windows])
        out["pbo"] = {**pbo_cscv(perf, splits).to_dict(), "source": "windows"}
    elif "daily_returns" in rows.columns and len(trials) >= 2:
        periods, source = _period_sharpes(trials, splits)
        if periods is None:
            out["pbo"] = {"pbo": None, "reason": source}
        else:  # one block per period
            out["pbo"] = {**pbo_cscv(periods, len(periods)).to_dict(), "source": source}
    return out
