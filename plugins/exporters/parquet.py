"""The `parquet` exporter: every bar of the snapshot in one Parquet file (through duckdb)
with columns symbol, interval, derived, ts (`timestamp[ns, tz=UTC]`), open, high, low,
close, volume, then one float64 column per session indicator (NaN until it is ready, and on
the rows of other intervals). When a strategy ran, `out/day.trades.parquet` (one row per
trade, times `timestamp[ns, tz=UTC]`) and `out/day.equity.parquet` (ts, equity, exposed)
come with it, and when trades or quotes were streamed `out/day.ticks.parquet` /
`out/day.quotes.parquet` (symbol, ts, then price, size / bid, bid_size, ask, ask_size)."""

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


def tick_tables(doc: dict[str, Any]) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The trades and quotes of every symbol that has them, one table per kind (symbol, ts,
    then the kind's columns), in symbol order."""
    out: dict[str, tuple[list[str], list[list[Any]]]] = {}
    for kind in ("ticks", "quotes"):
        blocks = [(sym, s[kind]) for sym, s in doc["symbols"].items() if kind in s]
        if blocks:
            columns = ["symbol", *blocks[0][1]["columns"]]
            out[kind] = (columns, [[sym, *row] for sym, b in blocks for row in b["data"]])
    return out


def _tick_table(columns: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    import numpy as np

    return {name: np.array([row[j] for row in rows],
                           dtype=object if name in ("symbol", "ts") else np.float64)
            for j, name in enumerate(columns)}


class ParquetExporter:
    suffixes = (".parquet", ".pq")

    @staticmethod
    def write(doc: dict[str, Any], path: Path) -> list[Path]:
        import duckdb

        bars_table = _table(doc)  # noqa: F841 - read by duckdb's replacement scan below
        extra = strategy_paths(doc, path, path.suffix)
        tables = strategy_tables(doc) if extra else {}
        ticks = tick_tables(doc)
        stem = path.name[: -len(path.suffix)] if path.suffix else path.name
        extra.update({kind: path.with_name(f"{stem}.{kind}{path.suffix}") for kind in ticks})
        tables.update(ticks)
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
                    table = (_tick_table(columns, rows) if name in ticks
                             else _strategy_table(columns, rows))
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
