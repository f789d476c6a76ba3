"""The report pages: `render(model)` gives a run's report, a comparison's page or a sweep's
page by the model's schema, each one Jinja2 template with plotly.js inlined and the model
embedded as JSON (`page.py`); `write_report(path, model)` writes any of them.

The charts are drawn in the browser by plotly.js from the embedded model (`#report-data`),
so the data is in the page once, the interval selector switches series without a reload
and tests read back exactly what the charts show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mismartera.report import compare, sweep
from mismartera.report.page import page
from mismartera.trading.stats import STAT_ROWS, format_stat

GAP_ROWS_SHOWN = 500


def render(model: dict[str, Any]) -> str:
    """The model's page (one self-contained HTML document): a run's report, or the
    comparison page of a `compare_model`, or the sweep page of a `sweep_model`."""
    schema = model.get("schema")
    if schema == compare.SCHEMA:
        return _render_compare(model)
    if schema == sweep.SCHEMA:
        return sweep.render_sweep(model)
    strategy = model.get("strategy")
    stats = []
    if strategy is not None:
        stats = [(label, format_stat(strategy["stats"].get(key), kind))
                 for label, key, kind in STAT_ROWS]
    base_gaps = [g for g in model["gaps"]
                 if g["interval"] == model["symbols"][g["symbol"]]["base_interval"]]
    return page("report.html.j2", model,
                model=model, summary=model["summary"], strategy=strategy, stats=stats,
                gaps=base_gaps[:GAP_ROWS_SHOWN], gaps_total=len(base_gaps))


def _render_compare(model: dict[str, Any]) -> str:
    runs = model["runs"]
    stats = [(label, [format_stat(r["strategy"]["stats"].get(key), kind) if r["strategy"] else "-"
                      for r in runs])
             for label, key, kind in STAT_ROWS]
    return page("compare.html.j2", model, runs=runs, stats=stats,
                any_strategy=any(r["strategy"] for r in runs))


def write_report(path: str | Path, model: dict[str, Any]) -> Path:
    """Render the model to `path` (atomically) and return the path."""
    from mismartera.export import atomic_write

    html = render(model)
    target = Path(path)
    with atomic_write(target) as fh:
        fh.write(html)
    return target
