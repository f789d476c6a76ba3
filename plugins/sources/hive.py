"""A hive-partitioned Parquet dataset, the layout a cluster shares through object storage:
`ROOT/symbol=SPY/year=2020/1m.parquet` (`mismartera data export-dataset` writes it).

Read through DuckDB (`read_parquet(..., hive_partitioning=true)`), lazily and by partition:
`bars(symbol, interval, start, end)` lists `ROOT/symbol=<SYMBOL>/year=*/` only and reads only
the files of the years (exchange-local) that `[start, end)` covers, each (symbol, year,
interval) once per source. So a sweep worker running SPY over 2020 touches the SPY 2020 files
and no others. `ROOT` may be a local folder or any URL DuckDB reads (`s3://`, `gs://`,
`https://`: DuckDB's httpfs extension, credentials from its secrets or the environment).

Files: columns `ts` (integer ns since the epoch, UTC, or a timestamp; a naive one is read in
option `tz`, default the exchange's zone), `open, high, low, close, volume`; years are the
exchange's. A file's interval
is its name (`1m.parquet`, `1m-part0.parquet`), else option `interval`. Rows are checked: a
finite bar with `low <= min(open, close)`, `max(open, close) <= high`, `volume >= 0`, a stamp
in the file's year partition, stamps unique per (symbol, interval).
"""

from __future__ import annotations

import re
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from mismartera.bars import Bars
from mismartera.errors import ConfigError, DataError
from mismartera.intervals import Interval

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    import duckdb

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")
_PART = re.compile(r"/symbol=([^/]+)/year=(\d{4})/([^/]+)$")
_VALUES = ("open", "high", "low", "close", "volume")
_STAMPS = ("ts", "timestamp", "datetime")


def is_url(path: str) -> bool:
    """`s3://...`, `gs://...`, `https://...`: a location DuckDB reads, not a local path."""
    return bool(_URL.match(path))


def is_hive_root(path: str) -> bool:
    """A URL, or a local folder holding `symbol=...` folders."""
    if is_url(path):
        return True
    from pathlib import Path

    root = Path(path)
    return root.is_dir() and any(p.is_dir() and p.name.startswith("symbol=")
                                 for p in root.iterdir())


def year_of(ts_ns: int, tz: ZoneInfo) -> int:
    """The year of the instant `ts_ns` in `tz`."""
    return datetime.fromtimestamp(ts_ns / 1e9, tz).year


class HiveDataset:
    """Bars from `ROOT/symbol=SYM/year=YYYY/<interval>.parquet`, read by partition."""

    name = "parquet"

    def __init__(self, root: str, tz: ZoneInfo, interval: Interval | None = None,
                 naive_tz: ZoneInfo | None = None) -> None:
        self.root = root.rstrip("/")
        self.tz = tz  # the exchange's: years are its
        self.naive_tz = naive_tz or tz
        self.interval = interval
        self._lock = threading.RLock()
        self._files: dict[str, dict[tuple[str, int], list[str]]] = {}
        self._years: dict[tuple[str, str, int], Bars] = {}
        self._db: duckdb.DuckDBPyConnection | None = None

    def __repr__(self) -> str:
        return f"HiveDataset({self.root!r})"

    # ------------------------------------------------------------------ listing

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor on this source's in-memory DuckDB (opened on first use)."""
        import duckdb

        with self._lock:
            if self._db is None:
                self._db = duckdb.connect(":memory:")
            return self._db.cursor()

    def _glob(self, pattern: str) -> list[str]:
        con = self._cursor()
        try:
            return sorted(r[0].replace("\\", "/")
                          for r in con.execute("SELECT file FROM glob(?)", [pattern]).fetchall())
        finally:
            con.close()

    def symbols(self) -> list[str]:
        found = {m[1].upper() for f in self._glob(f"{self.root}/symbol=*/year=*/*.parquet")
                 if (m := _PART.search(f))}
        return sorted(found)

    def files(self, symbol: str) -> dict[tuple[str, int], list[str]]:
        """(interval name, year) -> the files of `symbol` (its folder only is listed)."""
        sym = str(symbol).strip().upper()
        with self._lock:
            hit = self._files.get(sym)
            if hit is None:
                hit = {}
                for f in self._glob(f"{self.root}/symbol={sym}/year=*/*.parquet"):
                    m = _PART.search(f)
                    if m is not None:
                        key = (self._interval_of(f, m[3]).name, int(m[2]))
                        hit.setdefault(key, []).append(f)
                self._files[sym] = hit
            return hit

    def _interval_of(self, path: str, name: str) -> Interval:
        stem = re.split(r"[-_.]", name, maxsplit=1)[0]
        if stem.lower() in Interval.SUPPORTED:
            return Interval.parse(stem)
        if self.interval is not None:
            return self.interval
        raise ConfigError(f"parquet source: {path}: name the file after its interval "
                          f"(e.g. 1m.parquet) or give the source option 'interval'")

    # ------------------------------------------------------------------ DataSource

    def intervals(self, symbol: str) -> list[Interval]:
        return sorted({Interval.parse(name) for name, _ in self.files(symbol)})

    def bars(self, symbol: str, interval: Interval, start_ns: int, end_ns: int) -> Bars:
        """Bars with start_ns <= ts < end_ns, from the year partitions that range covers."""
        sym = str(symbol).strip().upper()
        name = Interval.parse(interval).name
        if end_ns <= start_ns:
            return Bars.empty()
        files = self.files(sym)
        first, last = year_of(int(start_ns), self.tz), year_of(int(end_ns) - 1, self.tz)
        parts = [self._year(sym, name, y, files[(name, y)])
                 for y in range(first, last + 1) if (name, y) in files]
        return Bars.concat([p for p in parts if len(p)]).between(int(start_ns), int(end_ns))

    def _year(self, symbol: str, interval: str, year: int, files: list[str]) -> Bars:
        with self._lock:
            hit = self._years.get((symbol, interval, year))
            if hit is None:
                hit = self._years[(symbol, interval, year)] = self._read(files, year)
            return hit

    def _read(self, files: list[str], year: int) -> Bars:
        import duckdb

        con = self._cursor()
        try:
            key = getattr(self.naive_tz, "key", None) or str(self.naive_tz)
            con.execute(f"SET TimeZone = '{key}'")
            stamp = _stamp_sql(con, files[0])
            src = "read_parquet(?, hive_partitioning=true, filename=true, file_row_number=true)"
            got = con.execute(
                f"SELECT {stamp} AS ts, {', '.join(_VALUES)}, filename, file_row_number "
                f"FROM {src} ORDER BY ts, filename", [files]
            ).fetchnumpy()
        except duckdb.Error as exc:
            raise DataError(f"parquet source: {str(exc).splitlines()[0]}") from None
        finally:
            con.close()
        return _checked(got, year, self.tz)


def _stamp_sql(con: duckdb.DuckDBPyConnection, path: str) -> str:
    """SQL giving a file's stamp column as int64 ns UTC."""
    schema = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()
    types = {str(n).lower(): str(t) for n, t, *_ in schema}
    missing = [v for v in _VALUES if v not in types]
    col = next((c for c in _STAMPS if c in types), None)
    if missing or col is None:
        what = missing[0] if missing else "ts"
        raise DataError(f"{path}: no column {what!r}: expected ts, open, high, low, close, "
                        "volume")
    t = types[col]
    if t in ("BIGINT", "HUGEINT", "UBIGINT", "INTEGER"):
        return f"CAST({col} AS BIGINT)"
    if t.startswith("TIMESTAMP"):
        return f"epoch_ns(CAST({col} AS TIMESTAMPTZ))"
    raise DataError(f"{path}: column {col!r} has type {t}: expected integer ns since the epoch "
                    "or a timestamp")


def _checked(got: dict[str, Any], year: int, tz: ZoneInfo) -> Bars:
    """The bars of one year partition, or a DataError naming the first bad row's file."""

    def plain(a: Any, fill: Any) -> np.ndarray:
        return a.filled(fill) if isinstance(a, np.ma.MaskedArray) else np.asarray(a)

    ts = plain(got["ts"], 0).astype(np.int64)
    bars = Bars.from_arrays(ts, *(plain(got[v], np.nan) for v in _VALUES))
    bad = ~bars.valid_mask() | np.ma.getmaskarray(got["ts"])
    why = "a missing stamp, a value not finite or a bar with low above open/close, high " \
          "below them or a negative volume"
    if len(ts) and not bad.any():
        lo, hi = year_of(int(ts[0]), tz), year_of(int(ts[-1]), tz)
        if lo != year or hi != year:
            bad = np.array([year_of(int(t), tz) != year for t in ts])
            why = f"a bar outside its partition year={year}"
    if not bad.any():
        dup = np.flatnonzero(ts[1:] == ts[:-1])
        if not len(dup):
            return bars
        bad = np.zeros(len(ts), np.bool_)
        bad[dup + 1] = True
        why = "a stamp held twice"
    i = int(np.argmax(bad))
    raise DataError(f"{got['filename'][i]}: row {int(got['file_row_number'][i]) + 1}: {why}")
