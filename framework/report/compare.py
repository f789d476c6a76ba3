"""Several runs side by side: `mismartera report A B ... -o compare.html`.

Each run's report model is built as for one run; the comparison keeps what compares (the
summary, the strategy's statistics and equity curve, each symbol's data quality) and drops
the bars."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mismartera.errors import DataError

SCHEMA = "mismartera.compare/1"


def _quality(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per symbol, its base interval's quality over the run's days."""
    out: dict[str, dict[str, Any]] = {}
    for symbol, sym in model["symbols"].items():
        rows = [q for q in model["quality"]
                if q["symbol"] == symbol and q["interval"] == sym["base_interval"]]
        values = [q["quality"] for q in rows if q["quality"] is not None]
        out[symbol] = {
            "interval": sym["base_interval"], "days": len(rows),
            "mean_quality": sum(values) / len(values) if values else None,
            "min_quality": min(values) if values else None,
            "gap_count": sum(q["gap_count"] for q in rows),
            "missing_bars": sum(q["missing_bars"] for q in rows),
            "bars": sum(q["bars"] for q in rows),
        }
    return out


def _label(run: str, runs: list[str]) -> str:
    name = Path(run).name or run
    return name if sum(Path(r).name == name for r in runs) == 1 else run


def compare_model(models: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The comparison of `(run, report model)` pairs, in the order given."""
    if len(models) < 2:
        raise DataError("a comparison needs at least two runs")
    names = [run for run, _ in models]
    runs = []
    for run, model in models:
        strategy = model.get("strategy")
        runs.append({
            "name": _label(run, names), "path": run,
            "summary": model["summary"],
            "quality": _quality(model),
            "quality_days": [{"date": q["date"], "symbol": q["symbol"], "quality": q["quality"]}
                             for q in model["quality"]
                             if q["interval"] == model["symbols"][q["symbol"]]["base_interval"]],
            "strategy": None if strategy is None else {
                k: strategy[k] for k in ("name", "params", "interval", "cash_start",
                                         "equity_end", "stats", "equity")
            } | {"trades": len(strategy["trades"])},
        })
    return {"schema": SCHEMA, "runs": runs}
