"""The `parquet` data source: one Parquet file or a folder of them, read through DuckDB.

Columns (any case): an optional `symbol`, the time in `ts` (integer ns since the epoch, UTC,
or a timestamp), `timestamp`, `datetime` or `date` (+ `time`), and `open, high, low, close,
volume`. A file without a `symbol` column holds one symbol, named like the csv source's files:
`<SYMBOL>.parquet` or `<SYMBOL>_<anything>.parquet` (`.pq` too). Rows are validated by the
same importer as `mismartera data import` and kept in memory once read.

Options: `path` (file or folder, required), `exchange="XNYS"`, `interval` (optional, else
inferred per file), `tz` (zone of naive stamps; default the exchange's).
"""

from __future__ import annotations

from pathlib import Path

from mismartera import hookimpl
from mismartera.plugins.sources.csv import FolderSource, symbol_of

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


@hookimpl
def register_data_sources(register) -> None:
    register(
        "parquet",
        ParquetSource,
        description="a Parquet file or folder (optional symbol column) read through DuckDB",
    )
