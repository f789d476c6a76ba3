"""The embedded bar store: one DuckDB file holding every imported bar.

Table `bars(symbol, interval, ts, open, high, low, close, volume)`, one row per
(symbol, interval, ts) with `ts` the bar start in int64 ns UTC. Every query uses bound
parameters; bars come in and go out as numpy columns (a registered relation in, `fetchnumpy`
out), never row by row in Python.

Uniqueness of (symbol, interval, ts) is kept by `write()` itself, inside its transaction,
rather than by a DuckDB PRIMARY KEY: the key's index made bulk inserts three times slower
(it cost the import its 1M rows/s) and bought nothing that `write()`'s own check does not
already guarantee (DuckDB lets one process at a time open a file for writing).

A series read forward (each read starting where its previous one ended or later, as a
backtest walks day by day) is read ahead: the query fetches `readahead` (32 days by default)
and the next reads are served from memory, one query per month of bars instead of one per
day. Random access queries exactly what is asked. The cache holds at most about 4M bars (least
recently used series go first), and any write through this object clears what it touches.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from mismartera.bars import COLUMNS, Bars
from mismartera.errors import DataError
from mismartera.intervals import NS, Interval
from mismartera.store import file as store_file
from mismartera.store.schema import I64_MAX as _I64_MAX
from mismartera.store.schema import I64_MIN as _I64_MIN
from mismartera.store.schema import SCHEMA as _SCHEMA
from mismartera.store.schema import SCHEMA_VERSION, WriteResult
from mismartera.store.schema import SELECT as _SELECT
from mismartera.store.schema import VALUES as _VALUES
from mismartera.store.schema import bulk as _bulk
from mismartera.store.schema import iso as _iso
from mismartera.store.ticks import TickTables
from mismartera.symbols import check_symbol

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    import duckdb

__all__ = ["BarStore", "SeriesSummary", "WriteResult", "default_store_path"]

DAY_NS = 86_400 * NS
READAHEAD_NS = 32 * DAY_NS
MEMORY = ":memory:"
_CACHE_ROWS = 4_000_000  # about 190 MB of bars across all series


def default_store_path() -> Path:
    """`$MISMARTERA_HOME/bars.duckdb`, with MISMARTERA_HOME defaulting to `~/.mismartera`."""
    home = os.environ.get("MISMARTERA_HOME") or "~/.mismartera"
    return Path(home).expanduser() / "bars.duckdb"


class SeriesSummary(NamedTuple):
    """One (symbol, interval) series in the store."""

    symbol: str
    interval: str
    first_ts: int
    last_ts: int
    bar_count: int


class BarStore(TickTables):
    """Bars in a DuckDB file, keyed by (symbol, interval, ts).

    `read_only=True` opens the file for reading (several processes may read at once); a
    store that does not exist yet reads as empty and is created, with its folder, by the
    first write. The path ":memory:" gives a store in memory (for tests). Use as a context
    manager or call `close()`."""

    def __init__(
        self,
        path: str | Path | None = None,
        read_only: bool = False,
        *,
        readahead_ns: int = READAHEAD_NS,
        lock_wait_s: float | None = None,
    ) -> None:
        self.in_memory = str(path) == MEMORY
        self.path = Path(path).expanduser() if path is not None else default_store_path()
        if not self.in_memory:
            store_file.check_path(self.path, str(self.path.parent) if path is None else None)
        self.read_only = read_only
        self.readahead_ns = int(readahead_ns)
        self.lock_wait_s = lock_wait_s
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.RLock()
        self._tx_depth = 0
        self._cache: OrderedDict[tuple[str, str], tuple[int, int, Bars]] = OrderedDict()
        self._cached_rows = 0
        self._last_end: dict[tuple[str, str], int] = {}
        if self.in_memory or self.path.exists():
            self._connect()

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        return f"BarStore({str(self.path)!r}, {mode})"

    # ------------------------------------------------------------------ connection

    def _connect(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        if self._con is not None:
            return self._con
        if self.in_memory:
            con = duckdb.connect(MEMORY)
        else:
            if self.path.exists():
                store_file.check_whole(self.path)
            elif not self.read_only:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            con = store_file.connect(self.path, self.read_only, self.lock_wait_s)
        try:
            if not self.read_only:
                con.execute(_SCHEMA)
                if not con.execute("SELECT 1 FROM mismartera_meta WHERE key = 'schema'").fetchall():
                    con.execute(
                        "INSERT INTO mismartera_meta VALUES ('schema', ?)", [SCHEMA_VERSION]
                    )
            tables = {
                r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
            }
            if "bars" not in tables:
                raise DataError(f"{self.path} is a DuckDB file but not a mismartera store")
            con.execute("SET threads = 1")  # small queries: thread hand-offs cost more
        except duckdb.Error as exc:
            con.close()
            raise store_file.meaning(exc, self.path, opening=True) from None
        except BaseException:
            con.close()
            raise
        self._con = con
        return con

    @contextmanager
    def _sentences(self) -> Iterator[None]:
        """DuckDB errors that mean a damaged file or a full disk, as one sentence."""
        import duckdb

        try:
            yield
        except duckdb.Error as exc:
            told = store_file.meaning(exc, self.path)
            if told is exc:
                raise
            raise told from None

    def close(self) -> None:
        """Close the file (idempotent)."""
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None
            self._forget()

    def __enter__(self) -> BarStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _writable(self) -> duckdb.DuckDBPyConnection:
        if self.read_only:
            raise DataError(f"store {self.path} is open read-only")
        return self._connect()

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[BarStore]:
        """Group several writes into one transaction: all of them land, or (on any exception
        inside the block) none does. Nested blocks join the outer transaction."""
        with self._lock:
            con = self._writable()
            outer = self._tx_depth == 0
            if not outer:
                self._tx_depth += 1
                try:
                    yield self
                finally:
                    self._tx_depth -= 1
                return
            with self._sentences():
                con.execute("BEGIN TRANSACTION")
                self._tx_depth += 1
                try:
                    yield self
                except BaseException:
                    self._tx_depth -= 1
                    with suppress(Exception):  # the error in flight says why
                        con.execute("ROLLBACK")
                    self._forget()
                    raise
                self._tx_depth -= 1
                try:
                    con.execute("COMMIT")
                except BaseException:
                    self._forget()
                    raise

    # ------------------------------------------------------------------ writing

    def write(
        self,
        symbol: str,
        interval: Interval | str,
        bars: Bars,
        replace: bool = False,
        *,
        tz: ZoneInfo | None = None,
    ) -> WriteResult:
        """Store valid `bars` (sorted, unique stamps) for (symbol, interval) in one transaction.

        Bars already stored with identical values count as unchanged. A stored bar with other
        values is a DataError naming the symbol, interval and first conflicting stamp (ISO in
        `tz`, else UTC) unless `replace`, which overwrites it. On any error nothing changes."""
        sym = check_symbol(symbol, "BarStore.write", DataError)
        name = Interval.parse(interval).name
        bars = Bars.from_arrays(*bars)
        n = len(bars)
        if n == 0:
            return WriteResult(0, 0)
        if n > 1 and not bool(np.all(bars.ts[1:] > bars.ts[:-1])):
            raise ValueError("bars passed to BarStore.write must have strictly increasing ts")
        valid = bars.valid_mask()
        if not valid.all():
            i = int(np.argmin(valid))
            raise ValueError(
                f"bars passed to BarStore.write must be valid; bar {i} is not: "
                f"{_ohlcv(a[i] for a in bars[1:])}"
            )
        incoming = {c: a for c, a in zip(COLUMNS, bars, strict=True)}
        lo, hi = int(bars.ts[0]), int(bars.ts[-1])
        key = [sym, name, lo, hi]
        with self._lock, self.transaction():
            con = self._connect()
            con.register("incoming", incoming)
            try:
                existing, conflicts, first_conflict = con.execute(
                    f"""
                    SELECT count(*),
                           count(*) FILTER (WHERE (b.open, b.high, b.low, b.close, b.volume)
                               IS DISTINCT FROM (i.open, i.high, i.low, i.close, i.volume)),
                           min(i.ts) FILTER (WHERE (b.open, b.high, b.low, b.close, b.volume)
                               IS DISTINCT FROM (i.open, i.high, i.low, i.close, i.volume))
                    FROM incoming i
                    JOIN (SELECT ts, {_VALUES} FROM bars
                          WHERE symbol = ? AND "interval" = ? AND ts BETWEEN ? AND ?) b
                      ON b.ts = i.ts
                    """,
                    key,
                ).fetchall()[0]
                if conflicts and not replace:
                    old = con.execute(
                        f"{_SELECT} WHERE symbol = ? AND \"interval\" = ? AND ts = ?",
                        [sym, name, first_conflict],
                    ).fetchall()[0]
                    i = int(np.searchsorted(bars.ts, first_conflict))
                    new = tuple(float(a[i]) for a in bars[1:])
                    raise DataError(
                        f"{sym} {name} bar at {_iso(first_conflict, tz)} is already stored with "
                        f"other values (stored {_ohlcv(old[1:])}, new {_ohlcv(new)}; "
                        f"{conflicts} conflicting bar{'s' if conflicts != 1 else ''}): "
                        "use --replace to overwrite"
                    )
                if conflicts:
                    con.execute(
                        """DELETE FROM bars WHERE symbol = ? AND "interval" = ?
                           AND ts BETWEEN ? AND ? AND ts IN (SELECT ts FROM incoming)""",
                        key,
                    )
                    con.execute(
                        f"""INSERT INTO bars SELECT ?, ?, ts, {_VALUES} FROM incoming""",
                        [sym, name],
                    )
                elif existing:
                    con.execute(
                        """INSERT INTO bars SELECT ?, ?, i.ts, i.open, i.high, i.low, i.close,
                               i.volume
                           FROM incoming i ANTI JOIN
                               (SELECT ts FROM bars WHERE symbol = ? AND "interval" = ?
                                AND ts BETWEEN ? AND ?) b ON b.ts = i.ts""",
                        [sym, name, *key],
                    )
                else:
                    with _bulk(con, n):
                        con.execute(
                            f"INSERT INTO bars SELECT ?, ?, ts, {_VALUES} FROM incoming",
                            [sym, name],
                        )
            finally:
                with suppress(Exception):  # fails only in an aborted transaction
                    con.unregister("incoming")
            self._forget((sym, name))
        return WriteResult(n - existing, existing - conflicts, conflicts)

    # ------------------------------------------------------------------ reading

    def read(self, symbol: str, interval: Interval | str, start_ns: int, end_ns: int) -> Bars:
        """Bars of (symbol, interval) with start_ns <= ts < end_ns, in time order."""
        sym = str(symbol).strip().upper()
        name = Interval.parse(interval).name
        start_ns, end_ns = max(int(start_ns), _I64_MIN), min(int(end_ns), _I64_MAX)
        if end_ns <= start_ns:
            return Bars.empty()
        key = (sym, name)
        with self._lock:
            if self._con is None:
                return Bars.empty()
            hit = self._cache.get(key)
            if hit is not None and hit[0] <= start_ns and end_ns <= hit[1]:
                self._cache.move_to_end(key)
                return hit[2].between(start_ns, end_ns)
            # read ahead only when walking forward: right after this series' previous read
            previous_end = self._last_end.get(key)
            self._last_end[key] = end_ns
            walking = previous_end is not None and previous_end <= start_ns
            if self.readahead_ns <= 0 or self._tx_depth or not walking:
                return self._query(sym, name, start_ns, end_ns)
            hi = max(end_ns, min(start_ns + self.readahead_ns, _I64_MAX))
            out = self._query(sym, name, start_ns, hi)
            old = self._cache.pop(key, None)
            self._cached_rows += len(out) - (len(old[2]) if old else 0)
            self._cache[key] = (start_ns, hi, out)
            while self._cached_rows > _CACHE_ROWS and len(self._cache) > 1:
                self._cached_rows -= len(self._cache.popitem(last=False)[1][2])
            return out.between(start_ns, end_ns)

    def _forget(self, key: tuple[str, str] | None = None) -> None:
        """Drop cached bars: of one series, or all."""
        if key is None:
            self._cache.clear()
            self._cached_rows = 0
        elif (old := self._cache.pop(key, None)) is not None:
            self._cached_rows -= len(old[2])

    def _query(self, sym: str, name: str, lo: int, hi: int) -> Bars:
        con = self._con
        assert con is not None
        got = con.execute(
            f'{_SELECT} WHERE symbol = ? AND "interval" = ? AND ts >= ? AND ts < ?',
            [sym, name, lo, hi],
        ).fetchnumpy()
        out = Bars.from_arrays(*(got[c] for c in COLUMNS))
        ts = out.ts
        if len(ts) > 1 and not bool(np.all(ts[1:] > ts[:-1])):  # rows not in insertion order
            out = out.take(np.argsort(ts, kind="stable"))
        return out

    def symbols(self) -> list[str]:
        """Every symbol with at least one bar, sorted."""
        return sorted({s.symbol for s in self.summary()})

    def intervals(self, symbol: str) -> list[Interval]:
        """The intervals stored for `symbol`, smallest first."""
        sym = str(symbol).strip().upper()
        return sorted(Interval.parse(s.interval) for s in self.summary() if s.symbol == sym)

    def summary(self) -> list[SeriesSummary]:
        """(symbol, interval, first_ts, last_ts, count) of every stored series, sorted by
        symbol then interval length."""
        with self._lock:
            if self._con is None:
                return []
            rows = self._con.execute(
                'SELECT symbol, "interval", min(ts), max(ts), count(*) FROM bars '
                'GROUP BY symbol, "interval"'
            ).fetchall()
        out = [SeriesSummary(r[0], r[1], int(r[2]), int(r[3]), int(r[4])) for r in rows]
        return sorted(out, key=lambda s: (s.symbol, _interval_ns(s.interval), s.interval))

    def checksum(self) -> str:
        """A SHA-256 digest of the whole table's contents (independent of insertion order):
        equal digests mean equal stores."""
        h = hashlib.sha256(b"mismartera.bars/1\0")
        with self._lock:
            for s in sorted(self.summary(), key=lambda s: (s.symbol, s.interval)):
                assert self._con is not None
                got = self._con.execute(
                    f'{_SELECT} WHERE symbol = ? AND "interval" = ? ORDER BY ts',
                    [s.symbol, s.interval],
                ).fetchnumpy()
                h.update(f"{s.symbol}\0{s.interval}\0{s.bar_count}\0".encode())
                for c in COLUMNS:
                    h.update(np.ascontiguousarray(got[c]).tobytes())
        return h.hexdigest()

    def count(self) -> int:
        """Number of stored bars."""
        return sum(s.bar_count for s in self.summary())


def _interval_ns(name: str) -> int:
    try:
        return Interval.parse(name).ns
    except Exception:
        return 1 << 62


def _ohlcv(values: Any) -> str:
    return "/".join(f"{float(v):g}" for v in values)
