"""A sweep's page: `mismartera report results.parquet -o sweep.html`.

`sweep_model(df, ...)` builds the page's model from a sweep's results table (a pandas
DataFrame with the columns of docs/sweeps.md) and what the caller computed from it with
`mismartera.sweep.overfit` (this package does not import the sweep: the command layer reads
the Parquet file, computes the overfitting summary and the heatmap grids, and passes plain
data): the summary, the parameter heatmaps with their neighbourhood stability, the
overfitting figures, the top rows and, with walk-forward, the stitched out-of-sample equity,
its statistics and the parameters chosen per fold. `mismartera.report.write_report(path, model)`
renders it like the run report: one page, plotly.js inlined, the model embedded once as JSON.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from mismartera.report.page import page
from mismartera.trading.stats import STAT_ROWS, format_stat

SCHEMA = "mismartera.sweep/1"
TOP_ROWS = 20
"""Rows of the top table by default."""
FAILED_ROWS = 50
"""Failed tasks listed at most (all are counted)."""
STATS = tuple(key for _, key, _ in STAT_ROWS)
"""The strategy statistics of a row, in the order the tables show them."""
_KIND = {key: kind for _, key, kind in STAT_ROWS}


def plain(value: Any) -> Any:
    """A JSON-ready scalar: numpy scalars as Python ones, NaN, infinities and NA as None."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int | str | bool):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _listed(cell: Any) -> list[Any]:
    """A list cell as read back from Parquet (a list or an array); [] when missing."""
    return [plain(v) for v in cell] if isinstance(cell, list | tuple | np.ndarray) else []


def _window(row: Mapping[str, Any]) -> str:
    return f"{row['window_start']} – {row['window_end']}"


def _summary(df: Any, params: Sequence[str], metric: str, higher: bool,
             grid_role: str) -> dict[str, Any]:
    ok = int((df["status"] == "ok").sum())
    grid = df if grid_role == "all" else df[df["role"] == grid_role]
    windows = grid[["window_start", "window_end"]].drop_duplicates()
    return {
        "jobs": sorted({str(j) for j in df["job"]}),
        "tasks": len(df), "ok": ok, "failed": len(df) - ok,
        "roles": {str(r): int(n) for r, n in df["role"].value_counts(sort=False).items()},
        "rank": metric, "higher_is_better": higher, "grid_role": grid_role,
        "start": plain(df["window_start"].min()), "end": plain(df["window_end"].max()),
        "windows": len(windows),
        "symbol_sets": sorted({str(s) for s in grid["symbols"]}),
        "params": {p: sorted({plain(v) for v in grid[p] if plain(v) is not None},
                             key=lambda v: (isinstance(v, str), v)) for p in params},
    }


def _top(grid: Any, params: Sequence[str], metric: str, higher: bool, n: int) -> list[dict]:
    """The best `n` configs (params x symbol set), each stat averaged over its windows."""
    ok = grid[grid["status"] == "ok"]
    if not len(ok):
        return []
    stats = [c for c in STATS if c in ok.columns]
    keys = [*params, "symbols"]
    means = ok.groupby(keys, dropna=False, sort=False)[stats].mean()
    counts = ok.groupby(keys, dropna=False, sort=False).size()
    order = means[metric].sort_values(ascending=not higher, na_position="last", kind="stable")
    rows = []
    for key in order.index[:n]:
        key_t = key if isinstance(key, tuple) else (key,)
        rows.append({**{k: plain(v) for k, v in zip(keys, key_t, strict=True)},
                     "windows": int(counts[key]),
                     **{c: plain(means.at[key, c]) for c in stats}})
    return rows


def _equity(returns: Sequence[float]) -> tuple[list[float], list[float]]:
    """The growth of 1 compounded from daily returns, and its drawdown from the running peak
    (the start, 1, counts as a peak)."""
    equity = np.cumprod(1.0 + np.asarray(returns, dtype=np.float64))
    peak = np.maximum.accumulate(np.maximum(equity, 1.0))
    return equity.tolist(), (equity / peak - 1.0).tolist()


def _walk_forward(df: Any, params: Sequence[str], metric: str) -> dict[str, Any] | None:
    """The stitched out-of-sample rows (role "oos") and the folds (role "test" rows, the
    training windows of role "train")."""
    oos = df[df["role"] == "oos"]
    tests = df[df["role"] == "test"]
    if not len(oos) and not len(tests):
        return None
    train = df[df["role"] == "train"]
    folds = []
    for _, row in tests.sort_values(["symbols", "fold"], kind="stable").iterrows():
        fold_train = train[(train["fold"] == row["fold"]) & (train["symbols"] == row["symbols"])]
        chosen = {p: plain(row[p]) for p in params}
        same = fold_train
        for p in params:
            same = same[same[p] == row[p]]
        folds.append({
            "fold": plain(row["fold"]), "symbols": row["symbols"],
            "train_start": plain(fold_train["window_start"].min()) if len(fold_train) else None,
            "train_end": plain(fold_train["window_end"].max()) if len(fold_train) else None,
            "test_start": row["window_start"], "test_end": row["window_end"],
            "params": chosen, "status": row["status"], "error": plain(row["error"]),
            "train_metric": plain(same[metric].iloc[0]) if len(same) else None,
            "test_metric": plain(row[metric]),
        })
    stitched = []
    for _, row in oos.sort_values("symbols", kind="stable").iterrows():
        returns = [0.0 if r is None else r for r in _listed(row.get("daily_returns"))]
        equity, drawdown = _equity(returns)
        stitched.append({
            "symbols": row["symbols"], "status": row["status"], "error": plain(row["error"]),
            "start": row["window_start"], "end": row["window_end"],
            "stats": {c: plain(row[c]) for c in STATS if c in row.index},
            "sessions": plain(row.get("sessions")),
            "equity": {"dates": _listed(row.get("daily_dates")), "returns": returns,
                       "equity": equity, "drawdown": drawdown},
            "test_starts": [f["test_start"] for f in folds if f["symbols"] == row["symbols"]],
        })
    return {"oos": stitched, "folds": folds}


def _failed(df: Any, params: Sequence[str]) -> list[dict[str, Any]]:
    rows = df[df["status"] != "ok"].head(FAILED_ROWS)
    return [{"task": row["task"], "role": row["role"], "window": _window(row),
             "symbols": row["symbols"], "params": {p: plain(row[p]) for p in params},
             "attempts": plain(row["attempts"]), "error": plain(row["error"])}
            for _, row in rows.iterrows()]


def sweep_model(df: Any, params: Sequence[str], metric: str, *, overfitting: Mapping[str, Any],
                heatmaps: Sequence[Mapping[str, Any]], lower_is_better: Collection[str] = (),
                source: str = "", top: int = TOP_ROWS) -> dict[str, Any]:
    """The page's model (JSON-ready) of a sweep's results table `df`.

    `params`: the grid parameter columns; `metric`: the ranking metric; `overfitting`: the
    `mismartera.sweep.overfit.overfitting_summary` of the table; `heatmaps`: one grid per
    (metric, parameter pair), each `{"metric", "x", "y", "x_values", "y_values", "z",
    "neighbourhood", "stability"}` (`z[j][i]` at `y_values[j]`, `x_values[i]`; `y` None
    with one parameter); `lower_is_better`: the metrics where smaller is better."""
    higher = metric not in lower_is_better
    grid_role = str(overfitting.get("roles", "all"))
    grid = df if grid_role == "all" else df[df["role"] == grid_role]
    summary = _summary(df, params, metric, higher, grid_role)
    others = {"windows": summary["windows"], "symbol_sets": len(summary["symbol_sets"])}
    return {
        "schema": SCHEMA, "source": source, "summary": summary,
        "lower_is_better": sorted(lower_is_better),
        "heatmaps": [dict(h) for h in heatmaps],
        "averaged": others,
        "overfitting": dict(overfitting),
        "top": _top(grid, params, metric, higher, top),
        "walk_forward": _walk_forward(df, params, metric),
        "failed": _failed(df, params),
    }


def _param_text(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def render_sweep(model: Mapping[str, Any]) -> str:
    """The sweep page (one self-contained HTML document)."""
    summary = model["summary"]
    params = list(summary["params"])
    stats = [(label, key, kind) for label, key, kind in STAT_ROWS]

    def fmt(key: str, value: Any) -> str:
        kind = _KIND.get(key, "num")
        if kind == "int" and isinstance(value, float):  # a count averaged over windows
            return f"{value:,.1f}" if not value.is_integer() else f"{int(value):,}"
        return format_stat(value, kind)

    wf = model["walk_forward"]
    oos_stats = []
    if wf is not None:
        oos_stats = [(label, [fmt(key, o["stats"].get(key)) for o in wf["oos"]])
                     for label, key, _ in stats]
    return page("sweep.html.j2", model,
                model=model, summary=summary, params=params, stats=stats, fmt=fmt,
                param_text=_param_text, overfit=model["overfitting"], wf=wf, oos_stats=oos_stats)


__all__ = ["SCHEMA", "TOP_ROWS", "plain", "render_sweep", "sweep_model"]
