"""The sweep page's data: `mismartera report results.parquet` reads a sweep's results (through
duckdb into pandas), computes what `mismartera.sweep.overfit` says of them and hands plain data
to `mismartera.report.sweep` (which does not import the sweep)."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mismartera.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd

HEATMAP_CELLS = 100_000
"""Heatmap cells embedded at most over every metric: past it, the rank metric's only."""


def is_parquet(path: str | Path) -> bool:
    """A file named .parquet or starting with Parquet's magic bytes."""
    p = Path(path)
    if p.suffix.lower() == ".parquet":
        return not p.is_dir()
    if not p.is_file():
        return False
    with p.open("rb") as fh:
        return fh.read(4) == b"PAR1"


def read_results(path: str | Path) -> pd.DataFrame:
    """A sweep's results table; one sentence (DataError) when the file is not one."""
    import duckdb

    from mismartera.sweep.plan import HEAD_COLUMNS

    if not Path(path).is_file():
        raise DataError(f"{path}: no such file (expected a sweep's results, "
                        f"`mismartera sweep -o {Path(path).name}`)")
    con = duckdb.connect()
    try:
        df = con.execute("SELECT * FROM read_parquet(?)", [str(path)]).df()
    except duckdb.Error as exc:
        raise DataError(f"{path}: cannot be read as Parquet "
                        f"({str(exc).splitlines()[0].rstrip('.')})") from None
    finally:
        con.close()
    missing = [c for c in HEAD_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{path}: not a sweep's results (it has no {missing[0]!r} column; "
                        f"expected the columns of `mismartera sweep -o`)")
    if not len(df):
        raise DataError(f"{path}: a sweep's results without a row")
    return df


def param_columns(df: pd.DataFrame) -> list[str]:
    """The grid parameters: every column that is not a fixed result column."""
    from mismartera.sweep.plan import RESULT_COLUMNS

    return [c for c in df.columns if c not in RESULT_COLUMNS]


def _cells(values: np.ndarray, one_param: bool) -> list[list[Any]]:
    """A grid as plotly's z ([row = y][column = x]), NaN as None."""
    shown = values.reshape(1, -1) if one_param else values.T
    return [[float(v) if np.isfinite(v) else None for v in row] for row in shown]


def heatmaps(rows: pd.DataFrame, params: list[str], metrics: list[str],
             radius: int = 1) -> list[dict[str, Any]]:
    """One grid per (metric, parameter pair) with its neighbourhood mean and stability score:
    the pair's grid averages the rows at each of its points (other parameters, windows and
    symbol sets). A metric without any value is left out; with one parameter its grid is one
    row (y None)."""
    from mismartera.report.sweep import plain
    from mismartera.sweep.overfit import grid_of, neighbourhood_stability, stability_score

    pairs: list[tuple[str, str | None]] = list(combinations(params, 2))
    if len(params) == 1:
        pairs = [(params[0], None)]
    out = []
    for metric in metrics:
        for x, y in pairs:
            names = [x] if y is None else [x, y]
            axes, values = grid_of(rows, names, metric)
            if not np.isfinite(values).any():
                break
            out.append({
                "metric": metric, "x": x, "y": y,
                "x_values": [plain(v) for v in axes[0]],
                "y_values": [metric] if y is None else [plain(v) for v in axes[1]],
                "z": _cells(values, y is None),
                "neighbourhood": _cells(neighbourhood_stability(values, radius), y is None),
                "stability": _cells(stability_score(values, radius), y is None),
            })
    return out


def sweep_page(path: str | Path, rank: str, top: int) -> dict[str, Any]:
    """The sweep page's model of the results file at `path`, ranked by `rank`."""
    from mismartera.report.sweep import STATS, sweep_model
    from mismartera.sweep.overfit import overfitting_summary
    from mismartera.sweep.plan import LOWER_IS_BETTER, RANK_METRICS

    df = read_results(path)
    params = param_columns(df)
    metrics = [c for c in STATS if c in df.columns]
    ranks = [m for m in RANK_METRICS if m in df.columns]
    if rank not in ranks:
        raise ConfigError(f"--rank: expected one of {', '.join(ranks)} (the statistics in "
                          f"{path}), got {rank!r}")
    summary = overfitting_summary(df, params, rank)
    rows = df if summary["roles"] == "all" else df[df["role"] == summary["roles"]]
    sizes = [rows[p].nunique() for p in params]
    cells = sum(a * b for a, b in combinations(sizes, 2)) or sum(sizes)
    order = [rank, *(m for m in metrics if m != rank)]
    shown = order if cells * len(order) <= HEATMAP_CELLS else [rank]
    maps = heatmaps(rows, params, shown) if params else []
    return sweep_model(df, params, rank, overfitting=summary, heatmaps=maps,
                       lower_is_better=LOWER_IS_BETTER, source=str(path), top=top)
