"""The `parquet` exporter: every bar of the snapshot in one Parquet file (through duckdb)
with columns symbol, interval, derived, ts (`timestamp[ns, tz=UTC]`), open, high, low,
close, volume, then one float64 column per session indicator (NaN until it is ready, and on
the rows of other intervals)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mismartera import hookimpl
from mismartera.bars import COLUMNS
from mismartera.export import atomic_paths

FIELDS = COLUMNS[1:]


def _table(doc: dict[str, Any]) -> dict[str, Any]:
    """The columns of the file, as numpy arrays (ts still ISO text)."""
    import numpy as np

    blocks = [(sym, name, block) for sym, s in doc["symbols"].items()
              for name, block in s["bars"].items()]
    extra = list(dict.fromkeys(k for _, _, b in blocks for k in b.get("indicators", {})))
    table: dict[str, list[Any]] = {c: [] for c in ("symbol", "interval", "derived", "ts",
                                                   *FIELDS, *extra)}
    for sym, name, block in blocks:
        n = len(block["data"])
        table["symbol"] += [sym] * n
        table["interval"] += [name] * n
        table["derived"] += [block["derived"]] * n
        for column, values in zip(("ts", *FIELDS), zip(*block["data"], strict=True),
                                  strict=False):
            table[column] += values
        indicators = block.get("indicators", {})
        for key in extra:
            table[key] += indicators.get(key, [None] * n)
    types = {"symbol": object, "interval": object, "derived": bool, "ts": object}
    return {c: np.array(v, dtype=types.get(c, np.float64)) for c, v in table.items()}


class ParquetExporter:
    suffixes = (".parquet", ".pq")

    @staticmethod
    def write(doc: dict[str, Any], path: Path) -> list[Path]:
        import duckdb

        bars_table = _table(doc)  # noqa: F841 - read by duckdb's replacement scan below
        with atomic_paths([path]) as (tmp,):
            con = duckdb.connect()
            try:
                con.execute("SET TimeZone = 'UTC'")
                con.execute("COPY (SELECT * REPLACE (CAST(symbol AS VARCHAR) AS symbol, "
                            "CAST(interval AS VARCHAR) AS interval, "
                            "CAST(ts AS TIMESTAMPTZ_NS) AS ts) FROM bars_table) "
                            "TO ? (FORMAT parquet)", [str(tmp)])
            finally:
                con.close()
        return [path]


@hookimpl
def register_exporters(register):
    register("parquet", ParquetExporter(), description="all bars in one Parquet file")
