"""The `parquet` exporter: every bar of the snapshot in one Parquet file (through duckdb)
with columns symbol, interval, derived, ts (TIMESTAMPTZ), open, high, low, close, volume."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from mismartera import hookimpl


class ParquetExporter:
    suffixes = (".parquet", ".pq")

    @staticmethod
    def write(doc: dict[str, Any], path: Path) -> None:
        import duckdb
        import numpy as np

        rows = [(sym, name, block["derived"], *row)
                for sym, s in doc["symbols"].items() for name, block in s["bars"].items()
                for row in block["data"]]
        cols = list(zip(*rows, strict=True)) if rows else [()] * 9
        bars_table = {  # noqa: F841 - read by duckdb's replacement scan below
            "symbol": np.array(cols[0], dtype=object), "interval": np.array(cols[1], dtype=object),
            "derived": np.array(cols[2], dtype=bool), "ts": np.array(cols[3], dtype=object),
            **{c: np.array(cols[4 + i], dtype=np.float64)
               for i, c in enumerate(("open", "high", "low", "close", "volume"))},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            con = duckdb.connect()
            con.execute("SET TimeZone = 'UTC'")
            con.execute(
                "COPY (SELECT symbol, interval, derived, CAST(ts AS TIMESTAMPTZ) AS ts, open, "
                "high, low, close, volume FROM bars_table) TO ? (FORMAT parquet)", [tmp])
            con.close()
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


@hookimpl
def register_exporters(register):
    register("parquet", ParquetExporter(), description="all bars in one Parquet file")
