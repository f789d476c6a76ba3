"""The store's tables and what the bar and tick halves of `BarStore` share: the schema SQL
and its version, the int64 stamp bounds, `WriteResult`, stamps as ISO text for messages,
and the bulk-insert settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from mismartera.intervals import NS

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    import duckdb

SCHEMA_VERSION = "1"
BULK_ROWS = 100_000
I64_MIN, I64_MAX = -(2**63), 2**63 - 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS bars (
    symbol VARCHAR NOT NULL,
    "interval" VARCHAR NOT NULL,
    ts BIGINT NOT NULL,
    open DOUBLE NOT NULL,
    high DOUBLE NOT NULL,
    low DOUBLE NOT NULL,
    close DOUBLE NOT NULL,
    volume DOUBLE NOT NULL
);
CREATE TABLE IF NOT EXISTS ticks (
    symbol VARCHAR NOT NULL, ts BIGINT NOT NULL, price DOUBLE NOT NULL, size DOUBLE NOT NULL
);
CREATE TABLE IF NOT EXISTS quotes (
    symbol VARCHAR NOT NULL, ts BIGINT NOT NULL, bid DOUBLE NOT NULL,
    bid_size DOUBLE NOT NULL, ask DOUBLE NOT NULL, ask_size DOUBLE NOT NULL
);
CREATE TABLE IF NOT EXISTS mismartera_meta (key VARCHAR NOT NULL, value VARCHAR NOT NULL);
"""
VALUES = "open, high, low, close, volume"
SELECT = f"SELECT ts, {VALUES} FROM bars"


class WriteResult(NamedTuple):
    """What one `write()` did: bars newly stored, bars already stored with the same values,
    and (with replace=True) stored bars whose values were overwritten."""

    inserted: int
    unchanged: int
    replaced: int = 0

    def __add__(self, other: object) -> WriteResult:
        if not isinstance(other, WriteResult):
            return NotImplemented
        return WriteResult(*(a + b for a, b in zip(self, other, strict=True)))


def iso(ts_ns: int, tz: ZoneInfo | None) -> str:
    seconds, frac = divmod(int(ts_ns), NS)
    dt = datetime.fromtimestamp(seconds, tz or UTC)
    text = dt.isoformat()
    if frac:
        text = dt.replace(microsecond=frac // 1000).isoformat()
    return text


@contextmanager
def bulk(con: duckdb.DuckDBPyConnection, rows: int) -> Iterator[None]:
    """For a large insert, let DuckDB use every core and write row groups in any order (reads
    sort what they fetch); small queries stay on one thread, where they are quickest."""
    if rows < BULK_ROWS:
        yield
        return
    con.execute(f"SET threads = {max(1, os.cpu_count() or 1)}")
    con.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        with suppress(Exception):  # fails only in an aborted transaction
            con.execute("SET threads = 1")
            con.execute("SET preserve_insertion_order = true")
