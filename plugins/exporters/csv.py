"""The `csv` exporter: one file per symbol and interval, its bars and then its indicators.

`--export out/day.csv` writes `out/day.AAPL.1m.csv`, `out/day.AAPL.5m.csv`, ...: the
columns ts, open, high, low, close, volume, then one per session indicator of that interval
(empty until it is ready). When a strategy ran, `out/day.trades.csv` (one row per trade)
and `out/day.equity.csv` (ts, equity, exposed at every base-bar close) come with them. The
files are written as a set: all of them or none."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from mismartera import hookimpl
from mismartera.export import atomic_paths


def csv_paths(doc: dict[str, Any], path: Path) -> dict[tuple[str, str], Path]:
    """The file each (symbol, interval) of `doc` goes to."""
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return {(sym, name): path.with_name(f"{stem}.{sym}.{name}.csv")
            for sym, s in doc["symbols"].items() for name in s["bars"]}


def strategy_paths(doc: dict[str, Any], path: Path, suffix: str) -> dict[str, Path]:
    """When a strategy ran: its `trades` and `equity` files beside the bars' ones
    (out/day.csv: out/day.trades.csv, out/day.equity.csv)."""
    if "strategy" not in doc:
        return {}
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return {name: path.with_name(f"{stem}.{name}{suffix}") for name in ("trades", "equity")}


def strategy_tables(doc: dict[str, Any]) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The strategy's trades (one row each; an open trade's exit empty) and its equity at
    every base-bar close, as (columns, rows)."""
    section = doc["strategy"]
    trades = section["trades"]
    columns = list(trades[0]) if trades else ["symbol", "side", "qty", "entry_ts",
                                              "entry_price", "exit_ts", "exit_price", "pnl",
                                              "costs", "entry_quality", "exit_quality"]
    equity = section["equity"]
    return {"trades": (columns, [[t[c] for c in columns] for t in trades]),
            "equity": (list(equity["columns"]), equity["data"])}


def _write_rows(columns: list[str], rows: list[list[Any]], tmp: Path) -> None:
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])


def _write_block(block: dict[str, Any], tmp: Path) -> None:
    indicators = block.get("indicators", {})
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([*block["columns"], *indicators])
        columns = list(indicators.values())
        for i, row in enumerate(block["data"]):
            writer.writerow([*row, *("" if c[i] is None else c[i] for c in columns)])


class CsvExporter:
    suffixes = (".csv",)

    @staticmethod
    def write(doc: dict[str, Any], path: Path) -> list[Path]:
        targets = csv_paths(doc, path)
        extra = strategy_paths(doc, path, ".csv")
        tables = strategy_tables(doc) if extra else {}
        with atomic_paths([*targets.values(), *extra.values()]) as temps:
            for (sym, name), tmp in zip(targets, temps, strict=False):
                _write_block(doc["symbols"][sym]["bars"][name], tmp)
            for name, tmp in zip(extra, temps[len(targets):], strict=True):
                _write_rows(*tables[name], tmp)
        return [*targets.values(), *extra.values()]


@hookimpl
def register_exporters(register):
    register("csv", CsvExporter(), description="one CSV file per symbol and interval")
