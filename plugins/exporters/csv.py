"""The `csv` exporter: one file per symbol and interval, its bars and then its indicators.

`--export out/day.csv` writes `out/day.AAPL.1m.csv`, `out/day.AAPL.5m.csv`, ...: the
columns ts, open, high, low, close, volume, then one per session indicator of that interval
(empty until it is ready). The files are written as a set: all of them or none."""

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
        with atomic_paths(list(targets.values())) as temps:
            for (sym, name), tmp in zip(targets, temps, strict=True):
                _write_block(doc["symbols"][sym]["bars"][name], tmp)
        return list(targets.values())


@hookimpl
def register_exporters(register):
    register("csv", CsvExporter(), description="one CSV file per symbol and interval")
