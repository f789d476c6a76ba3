"""The `csv` exporter: one file per symbol and interval, with the contract's columns.

`--export out/day.csv` writes `out/day.AAPL.1m.csv`, `out/day.AAPL.5m.csv`, ...; every
file is written atomically, and all of them only after each one was produced."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from mismartera import hookimpl
from mismartera.export import atomic_write


def csv_paths(doc: dict[str, Any], path: Path) -> dict[tuple[str, str], Path]:
    """The file each (symbol, interval) of `doc` goes to."""
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return {(sym, name): path.with_name(f"{stem}.{sym}.{name}.csv")
            for sym, s in doc["symbols"].items() for name in s["bars"]}


class CsvExporter:
    suffixes = (".csv",)

    @staticmethod
    def write(doc: dict[str, Any], path: Path) -> None:
        for (sym, name), target in csv_paths(doc, path).items():
            block = doc["symbols"][sym]["bars"][name]
            with atomic_write(target) as fh:
                writer = csv.writer(fh, lineterminator="\n")
                writer.writerow(block["columns"])
                writer.writerows(block["data"])


@hookimpl
def register_exporters(register):
    register("csv", CsvExporter(), description="one CSV file per symbol and interval")
