"""Reference computations of the tools against overfitting (mismartera.sweep.overfit).

Plain loops over plain lists, written from the papers' formulas and docs/sweeps.md rather than
from the fast code: the neighbourhood by visiting every grid point, the deflated Sharpe ratio
with moments summed by hand and the normal quantile found by bisection on erf, CSCV by literally
enumerating the combinations and ranking with loops.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

EULER_GAMMA = 0.5772156649015329


def _isnan(x: float) -> bool:
    return x != x


# --- neighbourhood ---------------------------------------------------------------------------


def neighbourhood(values: Any, radius: int) -> tuple[dict, dict]:
    """({index: mean}, {index: min}) over the points within `radius` steps on every axis
    (NaN ignored); a NaN point maps to NaN. `values` is an ndarray (only indexed)."""
    shape = values.shape
    all_points = list(itertools.product(*(range(n) for n in shape)))
    means, mins = {}, {}
    for p in all_points:
        if _isnan(float(values[p])):
            means[p] = mins[p] = math.nan
            continue
        near = []
        for q in all_points:
            if all(abs(a - b) <= radius for a, b in zip(p, q, strict=True)):
                v = float(values[q])
                if not _isnan(v):
                    near.append(v)
        means[p] = sum(near) / len(near)
        mins[p] = min(near)
    return means, mins


def grid(rows: list[dict], params: list[str], metric: str) -> tuple[list[list], dict]:
    """(axes, {index: mean metric}) from plain row dicts: ok rows, all params present."""
    good = [r for r in rows if r.get("status", "ok") == "ok"
            and all(r[p] is not None for p in params)]
    axes = [sorted({r[p] for r in good}) for p in params]
    cells: dict[tuple, list[float]] = {}
    for r in good:
        key = tuple(axes[i].index(r[p]) for i, p in enumerate(params))
        cells.setdefault(key, [])
        m = r[metric]
        if m is not None and not _isnan(m) and abs(m) != math.inf:
            cells[key].append(m)
    out = {}
    for key in itertools.product(*(range(len(a)) for a in axes)):
        vals = cells.get(key, [])
        out[key] = sum(vals) / len(vals) if vals else math.nan
    return axes, out


# --- deflated Sharpe ratio ---------------------------------------------------------------------


def norm_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def norm_ppf(p: float) -> float:
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if norm_cdf(mid) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def sharpe(returns: list[float]) -> float:
    r = [x for x in returns if not _isnan(x) and abs(x) != math.inf]
    if len(r) < 2:
        return math.nan
    mean = sum(r) / len(r)
    var = sum((x - mean) ** 2 for x in r) / (len(r) - 1)
    return mean / math.sqrt(var) if var > 0 else math.nan


def deflated_sharpe(best: list[float], trial_sharpes: list[float],
                    n_trials: int | None = None) -> dict[str, float]:
    r = [x for x in best if not _isnan(x) and abs(x) != math.inf]
    trials = [x for x in trial_sharpes if not _isnan(x) and abs(x) != math.inf]
    n = len(trials) if n_trials is None else n_trials
    if len(trials) >= 2:
        mean = sum(trials) / len(trials)
        var = sum((x - mean) ** 2 for x in trials) / (len(trials) - 1)
    else:
        var = math.nan
    if n < 2:
        sr0 = 0.0
    elif _isnan(var):
        sr0 = math.nan
    else:
        sr0 = math.sqrt(var) * ((1 - EULER_GAMMA) * norm_ppf(1 - 1 / n)
                                + EULER_GAMMA * norm_ppf(1 - 1 / (n * math.e)))
    sr = sharpe(r)
    skew = kurt = dsr = math.nan
    t = len(r)
    if t >= 3 and not _isnan(sr):
        mean = sum(r) / t
        m2 = sum((x - mean) ** 2 for x in r) / t
        m3 = sum((x - mean) ** 3 for x in r) / t
        m4 = sum((x - mean) ** 4 for x in r) / t
        skew, kurt = m3 / m2 ** 1.5, m4 / m2 ** 2
        denom = 1 - skew * sr + (kurt - 1) / 4 * sr ** 2
        if denom > 0 and not _isnan(sr0):
            dsr = norm_cdf((sr - sr0) * math.sqrt(t - 1) / math.sqrt(denom))
    return {"sharpe": sr, "expected_max": sr0, "dsr": dsr, "n_trials": n, "n_obs": t,
            "skew": skew, "kurtosis": kurt, "trials_var": var}


# --- probability of backtest overfitting ------------------------------------------------------


def pbo(perf: list[list[float]], splits: int) -> dict[str, Any]:
    """CSCV over perf[period][config] (configs with a non-finite value dropped)."""
    n_periods = len(perf)
    cols = len(perf[0]) if perf else 0
    keep = [c for c in range(cols)
            if all(not _isnan(perf[t][c]) and abs(perf[t][c]) != math.inf
                   for t in range(n_periods))]
    s = min(splits, n_periods)
    if s % 2:
        s -= 1
    if s < 2 or len(keep) < 2:
        return {"pbo": math.nan, "logits": [], "combinations": 0, "n_configs": len(keep)}
    # contiguous blocks, the first n_periods % s of them one period longer
    block_of = []
    for b in range(s):
        block_of += [b] * (n_periods // s + (1 if b < n_periods % s else 0))
    logits = []
    for chosen in itertools.combinations(range(s), s // 2):
        ins = [t for t in range(n_periods) if block_of[t] in chosen]
        outs = [t for t in range(n_periods) if block_of[t] not in chosen]
        is_perf = [sum(perf[t][c] for t in ins) / len(ins) for c in keep]
        oos_perf = [sum(perf[t][c] for t in outs) / len(outs) for c in keep]
        best = 0
        for i in range(len(keep)):
            if is_perf[i] > is_perf[best]:
                best = i
        below = sum(1 for x in oos_perf if x < oos_perf[best])
        equal = sum(1 for x in oos_perf if x == oos_perf[best])
        rank = below + (equal + 1) / 2  # ties share the average rank
        w = rank / (len(keep) + 1)
        logits.append(math.log(w / (1 - w)))
    share = sum(1 for x in logits if x <= 0) / len(logits)
    return {"pbo": share, "logits": logits, "combinations": len(logits), "n_configs": len(keep)}


# --- the summary of a results table -------------------------------------------------------------


def _period_sharpe(r: list[float]) -> float:
    s = sharpe(r)
    return 0.0 if _isnan(s) else s  # no variation within a period counts as 0


def summary(rows: list[dict], params: list[str], metric: str, higher: bool = True,
            splits: int = 16, radius: int = 1, min_sessions: int = 5) -> dict[str, Any]:
    """What overfitting_summary computes, from plain row dicts (role, status, window_start,
    symbols, daily_dates, daily_returns, the params and the metric)."""
    roles = [r["role"] for r in rows]
    role = next((x for x in ("window", "full", "train") if x in roles), None)
    grid_rows = [r for r in rows if r["role"] == role]
    ok = [dict(r) for r in grid_rows if r["status"] == "ok"]
    sign = 1.0 if higher else -1.0
    for r in ok:
        r["m_"] = math.nan if r[metric] is None else sign * r[metric]
    out: dict[str, Any] = {"rows": len(grid_rows), "ok": len(ok), "best": None,
                           "deflated_sharpe": None, "pbo": None}
    axes, cells = grid(ok, params, "m_")
    finite = [k for k in sorted(cells) if not _isnan(cells[k])]
    if finite:
        at = finite[0]
        for k in finite:  # the first largest in C order
            if cells[k] > cells[at]:
                at = k
        shape = tuple(len(a) for a in axes)
        near = [cells[q] for q in cells
                if all(abs(a - b) <= radius for a, b in zip(at, q, strict=True))
                and not _isnan(cells[q])]
        out["best"] = {"params": {p: axes[i][at[i]] for i, p in enumerate(params)},
                       "metric": sign * cells[at],
                       "neighbourhood_mean": sign * sum(near) / len(near),
                       "neighbourhood_min": sign * min(near), "shape": list(shape)}
        out["best"]["stability"] = out["best"]["neighbourhood_mean"] - out["best"]["metric"]
    windows = sorted({r["window_start"] for r in ok}) if role == "window" else []
    windowed = len(windows) >= 2
    # trials: one per ok row, or per (params, symbols) over its windows in window order
    trials: list[dict] = []
    for r in sorted(ok, key=lambda r: r["window_start"]):
        key = tuple(r[p] for p in [*params, "symbols"])
        found = [t for t in trials if t["key"] == key] if windowed else []
        if found:
            t = found[0]
        else:
            t = {"key": key, "metric": [], "returns": [], "dates": [], "windows": {}}
            trials.append(t)
        t["metric"].append(r["m_"])
        t["returns"] += list(r["daily_returns"])
        t["dates"] += list(r["daily_dates"])
        t["windows"][r["window_start"]] = r["m_"]
    for t in trials:
        vals = [x for x in t["metric"] if not _isnan(x)]
        t["score"] = sum(vals) / len(vals) if vals else math.nan
    scored = [t for t in trials if not _isnan(t["score"])]
    if scored:
        best = scored[0]
        for t in scored:
            if t["score"] > best["score"]:
                best = t
        out["deflated_sharpe"] = deflated_sharpe(
            best["returns"], [sharpe(t["returns"]) for t in trials], len(trials))
    if windowed:
        perf = [[t["windows"].get(w, math.nan) for t in trials] for w in windows]
        out["pbo"] = pbo(perf, splits)
    elif len(trials) >= 2:
        common = sorted(set.intersection(*(set(t["dates"]) for t in trials)))
        series = [[t["returns"][t["dates"].index(d)] for d in common] for t in trials]
        periods = min(splits, len(common) // min_sessions)
        periods -= periods % 2
        if periods >= 2:
            bounds, start = [], 0
            for b in range(periods):
                size = len(common) // periods + (1 if b < len(common) % periods else 0)
                bounds.append((start, start + size))
                start += size
            perf = [[_period_sharpe(s[a:b]) for s in series] for a, b in bounds]
            out["pbo"] = pbo(perf, periods)
    return out
