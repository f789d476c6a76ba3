"""The report page: one Jinja2 template, plotly.js inlined, the model embedded as JSON.

The charts are drawn in the browser by plotly.js from the embedded model (`#report-data`),
so the data is in the page once, the interval selector switches series without a reload
and tests read back exactly what the charts show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mismartera.errors import UserError
from mismartera.trading.stats import STAT_ROWS, format_stat

GAP_ROWS_SHOWN = 500


def _embed(model: dict[str, Any]) -> str:
    """The model as JSON safe inside a <script> element."""
    text = json.dumps(model, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _template(name: str) -> tuple[Any, str]:
    """The Jinja2 template and plotly.js."""
    try:
        import jinja2
        from plotly.offline import get_plotlyjs
    except ImportError as e:
        raise UserError(f"the report needs plotly and jinja2 ({e.name} is missing): "
                        "pip install 'mismartera[report]'") from None
    env = jinja2.Environment(loader=jinja2.PackageLoader("mismartera.report", "."),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    return env.get_template(name), get_plotlyjs()


def render(model: dict[str, Any]) -> str:
    """The report page (one self-contained HTML document); a comparison model
    (`compare_model`) gives the comparison page."""
    if model.get("schema") == "mismartera.compare/1":
        return _render_compare(model)
    template, plotly_js = _template("report.html.j2")
    strategy = model.get("strategy")
    stats = []
    if strategy is not None:
        stats = [(label, format_stat(strategy["stats"].get(key), kind))
                 for label, key, kind in STAT_ROWS]
    base_gaps = [g for g in model["gaps"]
                 if g["interval"] == model["symbols"][g["symbol"]]["base_interval"]]
    return template.render(
        model=model, summary=model["summary"], strategy=strategy, stats=stats,
        gaps=base_gaps[:GAP_ROWS_SHOWN], gaps_total=len(base_gaps),
        data_json=_embed(model), plotly_js=plotly_js,
    )


def _render_compare(model: dict[str, Any]) -> str:
    template, plotly_js = _template("compare.html.j2")
    runs = model["runs"]
    stats = [(label, [format_stat(r["strategy"]["stats"].get(key), kind) if r["strategy"] else "-"
                      for r in runs])
             for label, key, kind in STAT_ROWS]
    return template.render(runs=runs, stats=stats,
                           any_strategy=any(r["strategy"] for r in runs),
                           data_json=_embed(model), plotly_js=plotly_js)


def write_report(path: str | Path, model: dict[str, Any]) -> Path:
    """Render the model to `path` (atomically) and return the path."""
    from mismartera.export import atomic_write

    page = render(model)
    target = Path(path)
    with atomic_write(target) as fh:
        fh.write(page)
    return target
