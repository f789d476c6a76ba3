"""The `parquet` exporter: every bar of the snapshot in one Parquet file (through duckdb)
with columns symbol, interval, derived, ts (`timestamp[ns, tz=UTC]`), open, high, low,
close, volume, then one float64 column per session indicator (NaN until it is ready, and on
the rows of other intervals). When a strategy ran, `out/day.trades.parquet` (one row per
trade, times `timestamp[ns, tz=UTC]`) and `out/day.equity.parquet` (ts, equity, exposed)
come with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mismartera import hookimpl
from mismartera.bars import COLUMNS
from mismartera.export import atomic_paths
from mismartera.plugins.exporters.csv import strategy_paths, strategy_tables

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


def _strategy_table(columns: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    """A strategy table's columns as numpy arrays: text and times as objects (cast by the
    query), flags as bool, numbers as float64 (None: NaN)."""
    import numpy as np

    out = {}
    for j, name in enumerate(columns):
        values = [row[j] for row in rows]
        if name in ("symbol", "side") or name.endswith("_ts") or name == "ts":
            out[name] = np.array(values, dtype=object)
        elif name == "exposed":
            out[name] = np.array(values, dtype=bool)
        else:
            out[name] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return out


class ParquetExporter:
    suffixes = (".parquet", ".pq")

    @staticmethod
    def write(doc: dict[str, Any], path: Path) -> list[Path]:
        import duckdb

        bars_table = _table(doc)  # noqa: F841 - read by duckdb's replacement scan below
        extra = strategy_paths(doc, path, path.suffix)
        tables = strategy_tables(doc) if extra else {}
        with atomic_paths([path, *extra.values()]) as temps:
            con = duckdb.connect()
            try:
                con.execute("SET TimeZone = 'UTC'")
                con.execute("COPY (SELECT * REPLACE (CAST(symbol AS VARCHAR) AS symbol, "
                            "CAST(interval AS VARCHAR) AS interval, "
                            "CAST(ts AS TIMESTAMPTZ_NS) AS ts) FROM bars_table) "
                            "TO ? (FORMAT parquet)", [str(temps[0])])
                for name, tmp in zip(extra, temps[1:], strict=True):
                    columns, rows = tables[name]
                    table = _strategy_table(columns, rows)
                    con.register("strategy_table", table)
                    casts = ", ".join(
                        f"CAST({c} AS VARCHAR) AS {c}" if c in ("symbol", "side")
                        else f"CAST({c} AS TIMESTAMPTZ_NS) AS {c}" if c == "ts" or c.endswith("_ts")
                        else c for c in columns)
                    con.execute(f"COPY (SELECT {casts} FROM strategy_table) "
                                "TO ? (FORMAT parquet)", [str(tmp)])
                    con.unregister("strategy_table")
            finally:
                con.close()
        return [path, *extra.values()]


@hookimpl
def register_exporters(register):
    register("parquet", ParquetExporter(), description="all bars in one Parquet file")
