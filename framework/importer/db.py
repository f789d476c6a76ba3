"""The importer's DuckDB plumbing: one shared in-memory database, Parquet schemas, queries.

Every reader takes a cursor of one process-wide in-memory database (opening a database
costs tens of milliseconds, a cursor almost nothing); `run_query` fetches a result as numpy
and can report DuckDB's progress meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mismartera.errors import DataError

if TYPE_CHECKING:
    import duckdb


_SHARED: list[duckdb.DuckDBPyConnection] = []
_SHARED_LOCK = threading.Lock()


def connection() -> duckdb.DuckDBPyConnection:
    """A fresh connection (cursor) to one in-memory database shared by all readers: opening a
    database costs tens of milliseconds, a cursor almost nothing."""
    import duckdb

    with _SHARED_LOCK:
        if not _SHARED:
            _SHARED.append(duckdb.connect(":memory:"))
        return _SHARED[0].cursor()


def quote(name: str) -> str:
    """A column name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def parquet_schema(con: duckdb.DuckDBPyConnection, path: Path) -> list[tuple[str, str]]:
    """(name, upper-cased DuckDB type) of every column of a Parquet file; DataError when
    it is missing or unreadable."""
    import duckdb

    if not path.exists():
        raise DataError(f"{path}: no such file")
    try:
        rows = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    except duckdb.Error as exc:
        text = str(exc).splitlines()[0]
        raise DataError(f"{path}: not a readable Parquet file ({text})") from None
    return [(str(r[0]), str(r[1]).upper()) for r in rows]


def run_query(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: list[Any],
    on_progress: Callable[[float], None] | None,
) -> dict[str, Any]:
    """Execute and fetch as numpy; with `on_progress`, report DuckDB's progress meanwhile."""
    if on_progress is None:
        return con.execute(sql, params).fetchnumpy()
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            result["got"] = con.execute(sql, params).fetchnumpy()
        except BaseException as exc:  # handed to the calling thread
            result["error"] = exc

    worker = threading.Thread(target=work, name="mismartera-import", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.1)
        try:
            pct = con.query_progress()
        except Exception:
            pct = -1.0
        if pct >= 0:
            on_progress(min(pct, 100.0) / 100.0)
    if "error" in result:
        raise result["error"]
    on_progress(1.0)
    return result["got"]
