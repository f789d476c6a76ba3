"""The `parquet` data source: one Parquet file or a folder of them, read through DuckDB.

Columns (any case): an optional `symbol`, the time in `ts` (integer ns since the epoch, UTC,
or a timestamp), `timestamp`, `datetime` or `date` (+ `time`), and `open, high, low, close,
volume`. A file without a `symbol` column holds one symbol, named like the csv source's files:
`<SYMBOL>.parquet` or `<SYMBOL>_<anything>.parquet` (`.pq` too). Rows are validated by the
same importer as `mismartera data import` and kept in memory once read.

Options: `path` (file or folder, required), `exchange="XNYS"`, `interval` (optional, else
inferred per file), `tz` (zone of naive stamps; default the exchange's).

A folder holding `symbol=...` folders, or a URL (`s3://`, `gs://`, `https://`), is a
hive-partitioned dataset `PATH/symbol=SPY/year=2020/1m.parquet`, read by partition: only the
symbols and years a run asks for (`mismartera.plugins.sources.hive`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mismartera import hookimpl
from mismartera.plugins.sources.csv import FolderSource, symbol_of
from mismartera.plugins.sources.hive import HiveDataset, is_hive_root

_SUFFIXES = (".parquet", ".pq")


class ParquetSource(FolderSource):
    """Bars from Parquet files, with or without a `symbol` column."""

    name = "parquet"
    kind = "Parquet"

    def scan(self) -> dict[str, list[Path]]:
        from mismartera.importer import parquet_symbols

        files = [self.path] if self.path.is_file() else sorted(self.path.iterdir())
        out: dict[str, list[Path]] = {}
        for f in files:
            if not f.is_file() or f.suffix.lower() not in _SUFFIXES:
                continue
            symbols = parquet_symbols(f)
            if symbols is None:
                sym = symbol_of(f, _SUFFIXES)
                symbols = [sym] if sym else []
            for sym in symbols:
                out.setdefault(sym, []).append(f)
        return out


def parquet_source(**options: Any) -> ParquetSource | HiveDataset:
    """The `parquet` source: a hive-partitioned dataset (a folder of `symbol=...` folders, or
    a URL), else Parquet files read whole (`ParquetSource`)."""
    path = options.get("path")
    if not isinstance(path, str | Path) or not is_hive_root(str(path).strip()):
        return ParquetSource(**options)
    # the options are checked as the folder source checks them; the dataset needs no scan
    opts = _HiveOptions(**{**options, "path": Path(__file__)})
    return HiveDataset(str(path).strip(), opts.calendar().tz, opts.interval, opts.tz())


class _HiveOptions(ParquetSource):
    """A hive dataset's options, parsed and checked like the folder source's."""

    def scan(self) -> dict[str, list[Path]]:
        return {"-": []}


@hookimpl
def register_data_sources(register) -> None:
    register(
        "parquet",
        parquet_source,
        description="a Parquet file or folder (optional symbol column), or a hive dataset "
        "DIR/symbol=SYM/year=YYYY/ (local, s3://, gs://, https://), read through DuckDB",
    )
