"""The sweep page (`mismartera report results.parquet`): the numbers it embeds equal the
results table's (the heatmap cells are the grid means per cell, the top rows the best
configurations, the walk-forward statistics those of the compounded out-of-sample returns),
bad input is one sentence, and in a real browser it draws offline without errors."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mismartera.sweep.overfit import overfitting_summary
from mismartera.sweep.plan import HEAD_COLUMNS, TAIL_COLUMNS
from mismartera.trading.stats import return_stats
from tests.reference.overfit import neighbourhood
from tests.report.browser import data_of
from tests.report.pages import assert_red_to_green, keep_section_screenshots, open_offline
from tests.report.test_report import cli

CASH = 100_000.0
GRID = {"fast": [3, 5, 8], "slow": [20, 30, 50], "qty": [1, 2]}
RETURN_KEYS = ("total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown",
               "calmar")


# --- a plain generator of results tables (the columns of docs/sweeps.md) ---------------------


def sessions(start: date, n: int) -> list[str]:
    days, d = [], start
    while len(days) < n:
        if d.weekday() < 5:
            days.append(d.isoformat())
        d += timedelta(days=1)
    return days


def row(params: dict[str, Any], role: str, days: list[str], rng: np.random.Generator,
        fold: int | None = None, error: str | None = None,
        returns: list[float] | None = None, names: list[str] | None = None) -> dict[str, Any]:
    """One result row (`names` the grid parameters, by default those of `params`); its
    statistics those of its daily returns (drawn around a mean that depends on the parameters
    unless given)."""
    names = list(params) if names is None else names
    out: dict[str, Any] = dict.fromkeys([*HEAD_COLUMNS, *names, *TAIL_COLUMNS])
    out.update(task=f"t{rng.integers(1 << 40):x}", job="f00dfeed", role=role, fold=fold,
               window_start=days[0], window_end=days[-1], symbols="SYN0",
               status="error" if error else "ok", error=error, attempts=3 if error else 1)
    out.update({k: v for k, v in params.items()})
    if error:
        out.update(daily_dates=[], daily_returns=[], trade_pnl=[])
        return out
    if returns is None:
        mu = 0.0004 * params.get("fast", 0) / 5 - 0.00001 * params.get("slow", 0)
        returns = list(rng.normal(mu, 0.01, len(days)))
    equity = CASH * np.cumprod(1.0 + np.asarray(returns))
    pnl = list(rng.normal(5.0, 40.0, int(rng.integers(3, 12))))
    wins, losses = [p for p in pnl if p > 0], [p for p in pnl if p < 0]
    out.update(return_stats(np.arange(len(days), dtype=np.int64), equity, CASH))
    out.update(trades=len(pnl), win_rate=len(wins) / len(pnl), avg_trade=sum(pnl) / len(pnl),
               profit_factor=sum(wins) / -sum(losses) if losses else None, exposure=0.5,
               sessions=len(days), returns_skew=0.0, returns_kurtosis=3.0, bars=390 * len(days),
               run_s=0.1, worker="host:1", daily_dates=days, daily_returns=returns,
               trade_pnl=pnl, equity_marks=len(days))
    for key in ("max_drawdown_peak_ns", "max_drawdown_trough_ns"):
        out.pop(key, None)
    return out


def points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    names = list(grid)
    return [dict(zip(names, values, strict=True))
            for values in np.array(np.meshgrid(*grid.values(), indexing="ij")).reshape(
                len(names), -1).T.tolist()]


def windowed_rows(grid: dict[str, list[Any]] = GRID, windows: int = 4, seed: int = 7
                  ) -> list[dict[str, Any]]:
    """A grid over `windows` windows of 15 sessions; two rows fail, one has no Sharpe."""
    rng = np.random.default_rng(seed)
    rows = []
    for w in range(windows):
        days = sessions(date(2024, 1, 1) + timedelta(weeks=3 * w), 15)
        for i, p in enumerate(points(grid)):
            failed = (w, i) in ((0, 1), (2, 4))
            rows.append(row(p, "window", days, rng, error="ValueError: boom" if failed else None))
    rows[5]["sharpe"] = None
    return rows


def walk_forward_rows(folds: int = 3, seed: int = 11) -> list[dict[str, Any]]:
    """Training rows per fold, the test row of the best (by Sharpe) and the stitched
    out-of-sample row, as a walk-forward sweep writes them."""
    rng = np.random.default_rng(seed)
    grid = {"fast": GRID["fast"], "slow": GRID["slow"]}
    rows, tests = [], []
    for f in range(folds):
        train = sessions(date(2024, 1, 1) + timedelta(weeks=2 * f), 10)
        test = sessions(date.fromisoformat(train[-1]) + timedelta(days=1), 5)
        fold_rows = [row(p, "train", train, rng, fold=f) for p in points(grid)]
        best = max(fold_rows, key=lambda r: r["sharpe"])
        tests.append(row({k: best[k] for k in grid}, "test", test, rng, fold=f))
        rows += fold_rows
    returns = [r for t in tests for r in t["daily_returns"]]
    days = [d for t in tests for d in t["daily_dates"]]
    oos = row({}, "oos", days, rng, returns=returns, names=list(grid))
    oos["daily_dates"] = days
    return [*rows, *tests, oos]


def write_parquet(rows: list[dict[str, Any]], path: Path) -> Path:
    import duckdb
    import pandas as pd

    frame = pd.DataFrame(rows)
    con = duckdb.connect()
    try:
        con.register("rows_df", frame)
        con.execute(f"COPY rows_df TO '{path}' (FORMAT parquet)")
    finally:
        con.close()
    return path


def read_back(path: Path) -> Any:
    import duckdb

    con = duckdb.connect()
    try:
        return con.execute("SELECT * FROM read_parquet(?)", [str(path)]).df()
    finally:
        con.close()


def page_of(rows: list[dict[str, Any]], folder: Path, *args: str) -> tuple[Path, dict]:
    results = write_parquet(rows, folder / "results.parquet")
    page = folder / "sweep.html"
    result = cli(["report", str(results), "-o", str(page), *args])
    assert result.exit_code == 0, result.output
    assert f"wrote {page}" in result.output
    return page, data_of(page)


@pytest.fixture(scope="module")
def windowed(tmp_path_factory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("sweep-windows")
    rows = windowed_rows()
    page, model = page_of(rows, folder)
    return {"rows": rows, "page": page, "model": model, "parquet": folder / "results.parquet"}


@pytest.fixture(scope="module")
def walk_forward(tmp_path_factory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("sweep-wf")
    rows = walk_forward_rows()
    page, model = page_of(rows, folder)
    return {"rows": rows, "page": page, "model": model}


def finite(v: Any) -> bool:
    return v is not None and math.isfinite(v)


def config_means(rows: list[dict], keys: list[str], metric: str) -> dict[tuple, float]:
    """The mean of `metric` per configuration over the ok rows with a value."""
    cells: dict[tuple, list[float]] = {}
    for r in rows:
        if r["status"] == "ok" and finite(r[metric]):
            cells.setdefault(tuple(r[k] for k in keys), []).append(r[metric])
    return {k: sum(v) / len(v) for k, v in cells.items()}


# --- the numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["sharpe", "max_drawdown"])
def test_heatmap_cells_are_the_grid_means_per_cell(windowed, metric):
    model = windowed["model"]
    maps = [h for h in model["heatmaps"] if h["metric"] == metric]
    assert {(h["x"], h["y"]) for h in maps} == {("fast", "slow"), ("fast", "qty"),
                                                ("slow", "qty")}
    for h in maps:
        means = config_means(windowed["rows"], [h["x"], h["y"]], metric)
        assert h["x_values"] == GRID[h["x"]] and h["y_values"] == GRID[h["y"]]
        z = np.full((len(h["x_values"]), len(h["y_values"])), np.nan)
        for j, y in enumerate(h["y_values"]):
            for i, x in enumerate(h["x_values"]):
                assert h["z"][j][i] == pytest.approx(means[x, y], rel=1e-12)
                z[i, j] = means[x, y]
        near, _ = neighbourhood(z, 1)
        for (i, j), mean in near.items():
            assert h["neighbourhood"][j][i] == pytest.approx(mean, rel=1e-12)
            assert h["stability"][j][i] == pytest.approx(mean - z[i, j], rel=1e-9, abs=1e-15)


def test_the_summary_counts_the_table(windowed):
    s = windowed["model"]["summary"]
    rows = windowed["rows"]
    assert (s["tasks"], s["ok"], s["failed"]) == (len(rows), len(rows) - 2, 2)
    assert s["rank"] == "sharpe" and s["higher_is_better"] and s["windows"] == 4
    assert s["params"] == GRID and s["jobs"] == ["f00dfeed"]
    assert (s["start"], s["end"]) == (rows[0]["window_start"], rows[-1]["window_end"])
    assert len(windowed["model"]["failed"]) == 2
    assert {f["error"] for f in windowed["model"]["failed"]} == {"ValueError: boom"}


def test_the_top_rows_are_the_best_configurations(windowed):
    model = windowed["model"]
    means = config_means(windowed["rows"], list(GRID), "sharpe")
    ranked = sorted(means, key=lambda k: -means[k])
    top = model["top"]
    assert len(top) == 18  # every configuration (fewer than --top)
    assert [tuple(t[k] for k in GRID) for t in top] == ranked
    for t in top:
        key = tuple(t[k] for k in GRID)
        assert t["sharpe"] == pytest.approx(means[key], rel=1e-12)
        calmar = config_means(windowed["rows"], list(GRID), "calmar")
        assert t["calmar"] == pytest.approx(calmar[key], rel=1e-12)
    assert model["overfitting"]["best"]["params"] == dict(zip(GRID, ranked[0], strict=True))
    assert model["overfitting"] == overfitting_summary(read_back(windowed["parquet"]),
                                                       list(GRID), "sharpe")
    assert model["overfitting"]["pbo"]["logits_hist"]["counts"]


def test_rank_chooses_the_metric_and_its_direction(windowed, tmp_path):
    _, model = page_of(windowed["rows"], tmp_path, "--rank", "max_drawdown", "--top", "3")
    means = config_means(windowed["rows"], list(GRID), "max_drawdown")
    assert [tuple(t[k] for k in GRID) for t in model["top"]] == sorted(
        means, key=lambda k: means[k])[:3]
    assert not model["summary"]["higher_is_better"]
    assert model["heatmaps"][0]["metric"] == "max_drawdown"


def test_one_parameter_gives_a_one_row_heatmap(tmp_path):
    rows = windowed_rows({"fast": [3, 5, 8, 13]}, windows=2)
    _, model = page_of(rows, tmp_path)
    h = next(h for h in model["heatmaps"] if h["metric"] == "sharpe")
    means = config_means(rows, ["fast"], "sharpe")
    assert h["y"] is None and h["y_values"] == ["sharpe"]
    assert h["z"][0][1] is None  # fast=5: one row failed, the other has no Sharpe
    for f, cell in zip(h["x_values"], h["z"][0], strict=True):
        assert cell == (pytest.approx(means[(f,)], rel=1e-12) if (f,) in means else None)


def test_walk_forward_shows_the_compounded_out_of_sample_returns(walk_forward):
    wf = walk_forward["model"]["walk_forward"]
    oos_row = next(r for r in walk_forward["rows"] if r["role"] == "oos")
    [oos] = wf["oos"]
    r = np.asarray(oos_row["daily_returns"])
    growth = np.cumprod(1.0 + r)
    assert oos["equity"]["dates"] == oos_row["daily_dates"]
    assert oos["equity"]["equity"] == pytest.approx(growth.tolist(), rel=1e-12)
    assert min(oos["equity"]["drawdown"]) <= 0.0
    expected = return_stats(np.arange(len(r), dtype=np.int64), growth, 1.0)
    for key in RETURN_KEYS:
        assert oos["stats"][key] == pytest.approx(expected[key], rel=1e-9), key
    tests = [t for t in walk_forward["rows"] if t["role"] == "test"]
    assert [(f["fold"], f["params"], f["test_start"]) for f in wf["folds"]] == [
        (t["fold"], {"fast": t["fast"], "slow": t["slow"]}, t["window_start"]) for t in tests]
    for f in wf["folds"]:
        train = [t for t in walk_forward["rows"] if t["role"] == "train" and t["fold"] == f["fold"]]
        assert f["train_metric"] == max(t["sharpe"] for t in train)
        assert (f["train_start"], f["train_end"]) == (train[0]["window_start"],
                                                      train[0]["window_end"])
    assert walk_forward["model"]["summary"]["grid_role"] == "train"


def test_a_real_walk_forward_sweep(tmp_path):
    import mismartera.sweep as sweep_package
    from tests.sweep.helpers import SESSION

    results = tmp_path / "wf.parquet"
    sweep_package.sweep(SESSION, {"fast": [3, 5], "slow": [20, 30]},
                        walk_forward="train=5d,test=5d", workers=0, output=results)
    page = tmp_path / "wf.html"
    result = cli(["report", str(results), "-o", str(page)])
    assert result.exit_code == 0, result.output
    model, df = data_of(page), read_back(results)
    oos_row = df[df["role"] == "oos"].iloc[0]
    [oos] = model["walk_forward"]["oos"]
    r = np.asarray(oos_row["daily_returns"], dtype=np.float64)
    growth = np.cumprod(1.0 + r)
    expected = return_stats(np.arange(len(r), dtype=np.int64), growth, 1.0)
    for key in RETURN_KEYS:
        assert oos["stats"][key] == pytest.approx(expected[key], rel=1e-9, abs=1e-12), key
    assert oos["equity"]["equity"] == pytest.approx(growth.tolist(), rel=1e-12)
    tests = df[df["role"] == "test"].sort_values("fold")
    assert [f["params"] for f in model["walk_forward"]["folds"]] == [
        {"fast": int(t.fast), "slow": int(t.slow)} for t in tests.itertuples()]
    assert model["summary"]["tasks"] == len(df) and model["summary"]["failed"] == 0


# --- bad input ------------------------------------------------------------------------------


def _not_a_sweep(path: Path) -> None:
    write_parquet([{"a": 1, "b": "x"}], path)


def _no_rows(path: Path) -> None:
    write_parquet(windowed_rows(windows=1), path)
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(f"COPY (SELECT * FROM read_parquet('{path}') LIMIT 0) TO '{path}.tmp' "
                    "(FORMAT parquet)")
    finally:
        con.close()
    Path(f"{path}.tmp").replace(path)


@pytest.mark.parametrize("make, args, words", [
    (lambda p: None, [], "results.parquet: no such file"),
    (lambda p: p.write_bytes(b"not parquet at all, just bytes"), [],
     "cannot be read as Parquet"),
    (_not_a_sweep, [], "not a sweep's results (it has no 'task' column"),
    (_no_rows, [], "a sweep's results without a row"),
    (lambda p: write_parquet(windowed_rows(windows=1), p), ["--rank", "luck"],
     "--rank: expected one of"),
    (lambda p: write_parquet(windowed_rows(windows=1), p), ["OTHER"],
     "makes a page of its own"),
])
def test_bad_input_is_one_sentence(tmp_path, make, args, words):
    results = tmp_path / "results.parquet"
    make(results)
    page = tmp_path / "sweep.html"
    args = [str(tmp_path) if a == "OTHER" else a for a in args]
    result = cli(["report", str(results), "-o", str(page), *args])
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert words in message and len(message.splitlines()) == 1, message
    assert not page.exists()


# --- in a real browser ----------------------------------------------------------------------


def _drawn(browser) -> dict[str, list]:
    return dict(browser.js("""return [...document.querySelectorAll('[data-chart]')].map(el => [
        el.id, [el.classList.contains('js-plotly-plot'), (el._fullData || []).map(t => t.type),
                el.querySelectorAll('svg.main-svg').length]])"""))


@pytest.mark.parametrize("which", ["windowed", "walk_forward"])
def test_the_page_draws_offline_without_errors(browser, screenshots, request, which):
    page = request.getfixturevalue(which)["page"]
    open_offline(browser, page)
    charts = _drawn(browser)
    expected = {"chart-heatmap", "chart-stability",
                "chart-pbo" if which == "windowed" else "chart-oos"}
    assert expected <= set(charts)
    for chart_id, (plotted, types, svgs) in charts.items():
        assert plotted and types and svgs > 0, chart_id
    assert charts["chart-heatmap"][1][0] == "heatmap"
    assert_red_to_green(browser, "chart-heatmap")  # sharpe: higher is better
    keep_section_screenshots(browser, screenshots, f"sweep-{which}")

def test_the_selectors_switch_the_heatmaps(browser, windowed):
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.open(windowed["page"])
    model = windowed["model"]
    z = "return document.getElementById(arguments[0]).data[0].z"
    first = model["heatmaps"][0]
    assert browser.js(z, "chart-heatmap") == first["z"]
    assert browser.js(z, "chart-stability") == first["neighbourhood"]
    Select(browser.driver.find_element("id", "heatmap-metric")).select_by_value("calmar")
    Select(browser.driver.find_element("id", "heatmap-pair")).select_by_index(2)
    Select(browser.driver.find_element("id", "stability-view")).select_by_value("stability")
    WebDriverWait(browser.driver, 20).until(lambda d: d.execute_script(
        "return window.reportCharts.heatmap") == "slow,qty:calmar"
        and d.execute_script("return window.reportCharts.stability") == "stability")
    shown = next(h for h in model["heatmaps"] if h["metric"] == "calmar"
                 and (h["x"], h["y"]) == ("slow", "qty"))
    assert browser.js(z, "chart-heatmap") == shown["z"]
    assert browser.js(z, "chart-stability") == shown["stability"]
