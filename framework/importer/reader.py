"""Reading one CSV (plain or gzip) or Parquet bar file: the fast pass and the exact pass.

`Reader` checks the header (or Parquet schema) when opened. Its fast pass types every row
with one vectorised DuckDB query (CSV reader or `read_parquet`); when that query fails, or
a check finds a bad row in a CSV file, the exact pass reads the file again with Python's
csv module, block by block, and names the first bad line with the text of its fields (a
Parquet file names the row instead).
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mismartera.bars import Bars
from mismartera.errors import DataError
from mismartera.importer.checks import Context, SessionOpenOf, check_rows, infer_from_stamps
from mismartera.importer.db import connection, parquet_schema, quote, run_query
from mismartera.importer.layout import Layout, expected_columns, match_columns
from mismartera.importer.rows import Typed, concat_typed, to_typed, typed_sql
from mismartera.importer.stamps import NUMERIC_TYPES, TIMESTAMP_TYPES
from mismartera.intervals import Interval
from mismartera.ticks import TickSeries

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    import duckdb

PARQUET_SUFFIXES = (".parquet", ".pq")
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 1 << 16
_SLOW_CHUNK = 100_000


def file_kind(path: str | Path) -> str:
    """"parquet" for .parquet/.pq files, else "csv" (gzip is recognised by content)."""
    return "parquet" if Path(path).suffix.lower() in PARQUET_SUFFIXES else "csv"


class Reader:
    """One file being read: the fast vectorised pass and the exact fallback."""

    def __init__(
        self, path: Path, tz: ZoneInfo, symbol: str | None, dst: str = "refuse",
        kind: str = "bars",
    ) -> None:
        import duckdb

        self.path = path
        self.tz = tz
        self.records = kind  # bars, ticks or quotes
        self.dst = dst
        self.symbol = symbol.strip().upper() if symbol else None
        self.kind = file_kind(path)
        self.con: duckdb.DuckDBPyConnection = connection()
        key = getattr(tz, "key", None) or str(tz)
        try:
            if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", key):
                raise DataError(f"unknown time zone {key!r}")
            self.con.execute(f"SET TimeZone = '{key}'")
        except duckdb.Error:
            self.con.close()
            raise DataError(f"unknown time zone {key!r}") from None
        except BaseException:
            self.con.close()
            raise
        self.gzip = False
        self.layout: Layout
        self.types: list[str] | None = None
        self.fast_error: str | None = None
        try:
            if self.kind == "parquet":
                self._init_parquet()
            else:
                self._init_csv()
        except BaseException:
            self.con.close()
            raise

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.con.close()

    # -------------------------------------------------------------- headers

    def _init_csv(self) -> None:
        path = self.path
        with path.open("rb") as f:
            head = f.read(_SNIFF_BYTES)
        if head[:2] == _GZIP_MAGIC:
            self.gzip = True
            try:
                with gzip.open(path, "rb") as g:
                    head = g.read(_SNIFF_BYTES)
            except (OSError, EOFError, zlib.error) as exc:
                if not head:
                    raise DataError(f"{path}: corrupt gzip data ({exc})") from None
                # a truncated stream still yields what precedes the damage
                head = _gunzip_prefix(path)
                if not head:
                    raise DataError(f"{path}: corrupt gzip data ({exc})") from None
        if not head.strip():
            raise DataError(f"{path}: file is empty: expected a header line "
                            f"({self._columns()})")
        first, _, rest = head.partition(b"\n")
        if b"\0" in first:
            raise DataError(f"{path}: not a CSV text file (binary data)")
        try:
            line = first.decode("utf-8-sig").rstrip("\r")
        except UnicodeDecodeError:
            raise DataError(f"{path}: not a CSV text file (the header is not UTF-8)") from None
        if len(first) == len(head) and len(head) == _SNIFF_BYTES:
            raise DataError(f"{path}:1: header line too long: not a bar CSV file")
        if any(ch < " " and ch != "\t" for ch in line):
            raise DataError(f"{path}: not a CSV text file (control characters in the header)")
        names = next(csv.reader([line]))
        if len(names) == 1:
            for sep in (";", "\t", "|"):
                if sep in line:
                    shown = "tab" if sep == "\t" else f"'{sep}'"
                    raise DataError(
                        f"{path}:1: columns are separated by {shown}: expected ',' "
                        f"({expected_columns(self.records)})"
                    )
        self.layout = match_columns(names, f"{path}:1", kind=self.records)
        if not rest.strip() and len(head) < _SNIFF_BYTES:
            raise DataError(f"{path}: no data rows after the header")

    def _init_parquet(self) -> None:
        schema = parquet_schema(self.con, self.path)
        names = [n for n, _ in schema]
        self.types = [t for _, t in schema]
        self.layout = match_columns(names, str(self.path), parquet=True, kind=self.records)
        for name, i in self.layout.values.items():
            if not NUMERIC_TYPES.match(self.types[i]):
                raise DataError(
                    f"{self.path}: column '{names[i]}' has type {self.types[i]}: expected a "
                    f"number for {name}"
                )
        for i in self.layout.stamp:
            t = self.types[i]
            ok = (
                t == "VARCHAR"
                or t == "DATE"
                or t in TIMESTAMP_TYPES
                or t.startswith("TIMESTAMP WITH TIME ZONE")
                or (len(self.layout.stamp) == 1 and NUMERIC_TYPES.match(t)
                    and "DECIMAL" not in t and t not in ("FLOAT", "DOUBLE"))
            )
            if not ok:
                raise DataError(
                    f"{self.path}: column '{names[i]}' has type {t}: expected a timestamp, a "
                    "date, ISO-8601 text or integer nanoseconds since the epoch"
                )
        if self.layout.symbol is None and self.symbol is not None:
            self.symbol = None  # no symbol column: the file is one symbol's

    # -------------------------------------------------------------- sources

    def _parquet_src(self) -> tuple[str, list[Any]]:
        cols = ", ".join(
            f"{quote(n)} AS c{i}" for i, n in enumerate(self.layout.names)
        )
        where, params = "", [str(self.path)]
        if self.layout.symbol is not None and self.symbol is not None:
            where = f" WHERE upper(trim(CAST(c{self.layout.symbol} AS VARCHAR))) = ?"
            params.append(self.symbol)
        src = (
            f"(SELECT {cols}, file_row_number AS row_ FROM read_parquet(?, file_row_number=true))"
            f"{where}"
        )
        return f"(SELECT * FROM {src})", params

    def _csv_src(self) -> str:
        n = len(self.layout.names)
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n)) + "}"
        comp = "gzip" if self.gzip else "none"
        return (
            "read_csv(?, header=true, delim=',', quote='\"', escape='\"', auto_detect=false, "
            f"columns={columns}, strict_mode=true, null_padding=false, compression='{comp}')"
        )

    # -------------------------------------------------------------- fast pass

    def fast(self, on_progress: Callable[[float], None] | None = None) -> Typed | None:
        """All rows typed by one query, or None when DuckDB rejects the file."""
        import duckdb

        if self.kind == "parquet":
            src, params = self._parquet_src()
            sql = typed_sql(src, self.layout, self.types, exact=True, extra=", row_")
        else:
            src, params = self._csv_src(), [str(self.path)]
            sql = typed_sql(src, self.layout, None, exact=False)
        try:
            got = run_query(self.con, sql, params, on_progress)
        except duckdb.Error as exc:
            if self.kind == "parquet":
                text = str(exc).splitlines()[0]
                raise DataError(f"{self.path}: cannot read the Parquet file: {text}") from None
            self.fast_error = str(exc).splitlines()[0]
            return None
        typed = to_typed(got, self.tz, self.dst)
        if self.kind == "parquet":
            self.rows = np.asarray(got["row_"], dtype=np.int64)
            if self.layout.symbol is not None and self.symbol is not None and not len(typed):
                raise DataError(f"{self.path}: no rows for symbol {self.symbol}")
        if not len(typed):
            raise DataError(f"{self.path}: no data rows after the header")
        return typed

    # -------------------------------------------------------------- exact pass

    def _rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line number, fields) of every non-blank data row; DataError on broken input."""
        path = self.path
        physical = [0]  # lines read so far

        def lines(raw: io.BufferedIOBase) -> Iterator[str]:
            for number, chunk in enumerate(raw, start=1):
                physical[0] = number
                try:
                    text = chunk.decode("utf-8")
                except UnicodeDecodeError:
                    raise DataError(f"{path}:{number}: not UTF-8 text") from None
                if "\0" in text:
                    raise DataError(f"{path}:{number}: binary data (a NUL byte)")
                yield text.removeprefix("\ufeff") if number == 1 else text

        try:
            with _open_binary(path, self.gzip) as raw:
                reader = csv.reader(lines(raw), strict=True)
                header = True
                while True:
                    first = physical[0] + 1
                    try:
                        fields = next(reader)
                    except StopIteration:
                        return
                    except csv.Error as exc:
                        reason = str(exc)
                        if "nul" in reason.lower():
                            reason = "binary data (a NUL byte)"
                        raise DataError(f"{path}:{physical[0]}: {reason}") from None
                    if header:
                        header = False
                        continue
                    if not fields or fields == [""]:
                        continue
                    if len(fields) != len(self.layout.names):
                        raise DataError(
                            f"{path}:{first}: expected {len(self.layout.names)} fields as in the "
                            f"header, found {len(fields)}"
                        )
                    yield first, fields
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(
                f"{path}: corrupt gzip data after line {physical[0]} ({exc})"
            ) from None

    def _chunks(self) -> Iterator[tuple[list[int], dict[str, np.ndarray], Typed]]:
        """Blocks of rows: their line numbers, raw field texts and typed columns."""
        needed = sorted({*self.layout.stamp, *self.layout.values.values()})
        lines: list[int] = []
        rows: list[list[str]] = []

        def flush() -> tuple[list[int], dict[str, np.ndarray], Typed]:
            cols = {
                f"c{i}": np.array([r[i] if r[i] != "" else None for r in rows], dtype=object)
                for i in needed
            }
            self.con.register("rows_", cols)
            try:
                got = self.con.execute(
                    typed_sql("rows_", self.layout, None, exact=True)
                ).fetchnumpy()
            finally:
                self.con.unregister("rows_")
            return lines, cols, to_typed(got, self.tz, self.dst)

        for line, fields in self._rows():
            lines.append(line)
            rows.append(fields)
            if len(rows) >= _SLOW_CHUNK:
                yield flush()
                lines, rows = [], []
        if rows:
            yield flush()

    def slow_typed(self) -> Typed:
        parts = [typed for _, _, typed in self._chunks()]
        if not parts:
            raise DataError(f"{self.path}: no data rows after the header")
        return concat_typed(parts)

    def _columns(self) -> str:
        return expected_columns(self.records).removeprefix("expected ")

    def slow(self, ctx: Context) -> Any:
        """The exact pass: validates block by block and names the first bad line."""
        parts: list[Any] = []
        prev: tuple[int, int] | None = None
        for lines, cols, typed in self._chunks():
            bars, problem = check_rows(typed, ctx, prev)
            if problem is not None:
                i = problem.index
                raw = {k: (None if a[i] is None else str(a[i])) for k, a in cols.items()}
                raise DataError(f"{self.path}:{lines[i]}: {problem.reason(raw)}")
            assert bars is not None
            parts.append(bars)
            prev = int(bars.ts[-1]), int(typed.local[-1])
        if not parts:
            raise DataError(f"{self.path}: no data rows after the header")
        # (when DuckDB's reader refused what this pass accepts, this pass is right)
        return type(parts[0]).concat(parts)

    def read_series(self) -> TickSeries:
        """The checked ticks or quotes of the file (a Reader opened with that kind)."""
        typed = self.fast()
        ctx = Context(None, self.tz, self.layout, None, {})
        out = self._validate(typed, ctx)
        assert isinstance(out, TickSeries)
        return out

    # -------------------------------------------------------------- reading

    def read(
        self,
        interval: Interval | None,
        session_open_of: SessionOpenOf | None,
        on_progress: Callable[[float], None] | None,
    ) -> tuple[Bars, Interval]:
        typed = self.fast(on_progress)
        if interval is None:
            try:
                interval = infer_from_stamps(
                    typed if typed is not None else self.slow_typed(), self.path
                )
            except DataError:
                # a bad row, when there is one, says more than "cannot infer"
                self._validate(typed, Context(None, self.tz, self.layout, None, {}))
                raise
        if not interval.is_intraday and session_open_of is None:
            raise DataError(
                f"{self.path}: {interval} bars need the exchange calendar to place each bar at "
                "its session's open"
            )
        ctx = Context(interval, self.tz, self.layout, session_open_of, {})
        return self._validate(typed, ctx), interval

    def _validate(self, typed: Typed | None, ctx: Context) -> Any:
        """The checked bars of the file (typed by the fast pass, or None when it failed);
        DataError naming the first bad line or row."""
        if typed is not None:
            bars, problem = check_rows(typed, ctx, None)
            if problem is None:
                assert bars is not None
                return bars
            if self.kind == "parquet":
                i = problem.index
                raise DataError(f"{self.path}: row {int(self.rows[i]) + 1}: "
                                f"{problem.reason(self._parquet_raw(int(self.rows[i])))}")
        return self.slow(ctx)

    def _parquet_raw(self, row: int) -> dict[str, str | None]:
        cols = ", ".join(
            f"CAST({quote(n)} AS VARCHAR) AS c{i}" for i, n in enumerate(self.layout.names)
        )
        got = self.con.execute(
            f"SELECT {cols} FROM read_parquet(?, file_row_number=true) WHERE file_row_number = ?",
            [str(self.path), row],
        ).fetchall()
        if not got:
            return {}
        return {f"c{i}": v for i, v in enumerate(got[0])}


def _open_binary(path: Path, gz: bool) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if gz else path.open("rb")


def _gunzip_prefix(path: Path) -> bytes:
    """As much decompressed text as a damaged gzip file yields."""
    out = bytearray()
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        with path.open("rb") as f:
            while len(out) < _SNIFF_BYTES and (chunk := f.read(1 << 14)):
                out += d.decompress(chunk)
    except zlib.error:
        pass
    return bytes(out[:_SNIFF_BYTES])
