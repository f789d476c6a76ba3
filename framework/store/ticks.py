"""The trades and quotes half of `BarStore`: tables `ticks(symbol, ts, price, size)` and
`quotes(symbol, ts, bid, bid_size, ask, ask_size)`, written and read as whole spans of
records (ticks have no key: several may share a stamp). `BarStore` takes these methods from
`TickTables`, which uses its connection, lock and transactions."""

from __future__ import annotations

from contextlib import AbstractContextManager, suppress
from typing import TYPE_CHECKING, Any

import numpy as np

from mismartera.errors import DataError
from mismartera.store.schema import I64_MAX, I64_MIN, WriteResult, bulk, iso
from mismartera.symbols import check_symbol
from mismartera.ticks import COLUMNS as TICK_COLUMNS
from mismartera.ticks import TickSeries, check_kind

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    import duckdb

__all__ = ["TickTables"]


class TickTables:
    """Trades (`kind="ticks"`) and quotes of a `BarStore`."""

    _con: duckdb.DuckDBPyConnection | None
    _lock: AbstractContextManager[Any]

    if TYPE_CHECKING:
        def _connect(self) -> duckdb.DuckDBPyConnection: ...

        def transaction(self) -> AbstractContextManager[Any]: ...

    def _has_table(self, kind: str) -> bool:
        assert self._con is not None
        return bool(self._con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [kind]).fetchall())

    def write_ticks(self, symbol: str, records: TickSeries, replace: bool = False, *,
                    tz: ZoneInfo | None = None) -> WriteResult:
        """Store `records` (trades or quotes, in time order) of `symbol` in one transaction.

        Ticks have no key (several may share a stamp), so a write covers the time span from
        its first to its last stamp: when the store already holds exactly these records
        there, nothing changes (re-importing is idempotent, all of them count as
        unchanged); other stored records in the span are a DataError unless `replace`, which
        puts these in their place. On any error nothing changes."""
        sym = check_symbol(symbol, "BarStore.write_ticks", DataError)
        kind = records.kind
        n = len(records)
        if n == 0:
            return WriteResult(0, 0)
        if n > 1 and not bool(np.all(records.ts[1:] >= records.ts[:-1])):
            raise ValueError("records passed to BarStore.write_ticks must be in time order")
        cols = TICK_COLUMNS[kind]
        lo, hi = int(records.ts[0]), int(records.ts[-1])
        with self._lock, self.transaction():
            con = self._connect()
            stored = self._query_ticks(sym, kind, lo, hi + 1)
            if stored == records:
                return WriteResult(0, n)
            if len(stored) and not replace:
                raise DataError(
                    f"{sym} {kind} from {iso(lo, tz)} to {iso(hi, tz)}: the store holds "
                    f"{len(stored)} other {kind} in that span: use --replace to overwrite"
                )
            con.execute(f"DELETE FROM {kind} WHERE symbol = ? AND ts BETWEEN ? AND ?",
                        [sym, lo, hi])
            incoming = {"ts": records.ts, **records.values}
            con.register("incoming", incoming)
            try:
                with bulk(con, n):
                    con.execute(f"INSERT INTO {kind} SELECT ?, ts, {', '.join(cols)} "
                                "FROM incoming", [sym])
            finally:
                with suppress(Exception):  # fails only in an aborted transaction
                    con.unregister("incoming")
        return WriteResult(n, 0, len(stored))

    def read_ticks(self, symbol: str, kind: str, start_ns: int, end_ns: int) -> TickSeries:
        """Trades (`kind="ticks"`) or quotes of `symbol` with start_ns <= ts < end_ns, in
        time order (records sharing a stamp in the order they were written)."""
        check_kind(kind)
        sym = str(symbol).strip().upper()
        start_ns, end_ns = max(int(start_ns), I64_MIN), min(int(end_ns), I64_MAX)
        with self._lock:
            if self._con is None or end_ns <= start_ns or not self._has_table(kind):
                return TickSeries.empty(kind)
            return self._query_ticks(sym, kind, start_ns, end_ns)

    def _query_ticks(self, sym: str, kind: str, lo: int, hi: int) -> TickSeries:
        assert self._con is not None
        cols = TICK_COLUMNS[kind]
        got = self._con.execute(
            f"SELECT ts, {', '.join(cols)} FROM {kind} WHERE symbol = ? AND ts >= ? AND ts < ? "
            "ORDER BY ts, rowid",
            [sym, lo, hi],
        ).fetchnumpy()
        return TickSeries(kind, got["ts"], {c: got[c] for c in cols})

    def tick_summary(self, kind: str) -> list[tuple[str, int, int, int]]:
        """(symbol, first_ts, last_ts, count) of every symbol with stored `kind` records."""
        check_kind(kind)
        with self._lock:
            if self._con is None or not self._has_table(kind):
                return []
            rows = self._con.execute(
                f"SELECT symbol, min(ts), max(ts), count(*) FROM {kind} GROUP BY symbol "
                "ORDER BY symbol").fetchall()
        return [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows]
