"""Read bar files (CSV, gzipped CSV, Parquet) into validated `Bars`.

The formats are the contract's (`data import`): a header; column names matched
case-insensitively; the time in `timestamp`, `datetime`, `date`, or `date` + `time`
(Parquet may also name it `ts`); then `open, high, low, close, volume`; other columns are
ignored. A stamp with a UTC offset is honoured; a naive one is read in `tz`, and one a DST
change skips or repeats is refused unless `dst` is `earliest` or `latest`. Without an
interval, it is inferred from the stamps (`infer_interval`).

Stamps are read by DuckDB's TIMESTAMPTZ cast: ISO-8601 dates (`2024-01-03`) and date-times
(`2024-01-03 09:30`, `2024-01-03T09:30:00.5-05:00`, `...Z`, or a zone name after the time),
to the microsecond.

Every row is checked: a valid stamp (1677-09-22..2262-04-11), finite numbers at most 1e15
in magnitude, `low <= min(open, close)`, `max(open, close) <= high`, `volume >= 0`, stamps
strictly increasing and on the interval's grid in `tz` wall time (multiples of the interval
from midnight; of 30 minutes for longer intervals, so session-anchored 1h bars at 09:30
pass), and within a day a multiple of the interval apart. A `1d` bar's stamp is replaced by its
session's open (`session_open_of(date)`); a date that is not a session is an error. One bad
row rejects the file: `DataError("FILE:LINE: reason")`, the header being line 1 (Parquet
names the row instead).

Speed: a file is parsed and typed by DuckDB's CSV reader in one vectorised query (no Python
per row). Only when that query fails, or a check finds a bad row, is the file read again by
an exact Python pass, which knows line numbers and the text of each field; it converts with
the same SQL, so both passes accept and reject exactly the same rows.

This module is the public API; the work is done by `import_layout` (header and column
matching), `import_stamps` (timestamp parsing), `import_rows` (typed rows),
`import_checks` (row validation and error location), `import_reader` (reading a CSV or
Parquet file) and `import_db` (the shared DuckDB connection).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mismartera.bars import Bars
from mismartera.errors import DataError
from mismartera.importer.checks import SessionOpenOf, infer_from_stamps
from mismartera.importer.db import connection, parquet_schema, quote
from mismartera.importer.layout import EXPECTED_COLUMNS
from mismartera.importer.reader import Reader, file_kind
from mismartera.intervals import Interval
from mismartera.ticks import TickSeries, check_kind

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

__all__ = [
    "EXPECTED_COLUMNS",
    "file_kind",
    "infer_interval",
    "parquet_symbols",
    "read_bars",
    "read_bars_file",
    "read_ticks",
]


def read_bars_file(
    path: str | Path,
    interval: Interval | str,
    tz: ZoneInfo,
    session_open_of: SessionOpenOf | None = None,
    *,
    symbol: str | None = None,
    on_progress: Callable[[float], None] | None = None,
    dst: str = "refuse",
) -> Bars:
    """The bars of one CSV (plain or gzip) or Parquet file, every row validated.

    `session_open_of(date) -> open_ns | None` is needed for `1d`/`1w` bars. `symbol` picks
    that symbol's rows from a Parquet file with a `symbol` column. `on_progress(fraction)` is
    called from time to time while a large file is parsed. `dst` says what a naive stamp at
    a daylight-saving change is: `refuse`d, or the `earliest` or `latest` instant it can
    mean. Raises DataError naming the file, line (or row) and reason."""
    return read_bars(path, tz, Interval.parse(interval), session_open_of, symbol=symbol,
                     on_progress=on_progress, dst=dst)[0]


def read_bars(
    path: str | Path,
    tz: ZoneInfo,
    interval: Interval | None = None,
    session_open_of: SessionOpenOf | None = None,
    *,
    symbol: str | None = None,
    on_progress: Callable[[float], None] | None = None,
    dst: str = "refuse",
) -> tuple[Bars, Interval]:
    """`read_bars_file`, with the interval inferred when not given (see `infer_interval`).
    Returns the bars and their interval."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a CSV or Parquet file")
    if interval is not None and not interval.is_intraday and session_open_of is None:
        raise ValueError(f"reading {interval} bars needs session_open_of")
    with Reader(path, tz, symbol, dst) as reader:
        return reader.read(interval, session_open_of, on_progress)


def read_ticks(
    path: str | Path,
    kind: str,
    tz: ZoneInfo,
    *,
    symbol: str | None = None,
    dst: str = "refuse",
) -> TickSeries:
    """The trades (`kind="ticks"`: `timestamp, price, size`) or quotes (`"quotes"`:
    `timestamp, bid, bid_size, ask, ask_size`) of one CSV (plain or gzip) or Parquet file,
    read and checked as bar files are (stamps, `--tz`, `dst`, a Parquet `symbol` column),
    each row also checked for prices above zero, sizes not negative and `bid <= ask`;
    stamps in time order, equal ones allowed. DataError naming the file and line (or row)."""
    check_kind(kind)
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a CSV or Parquet file")
    with Reader(path, tz, symbol, dst, kind=kind) as reader:
        return reader.read_series()


def infer_interval(path: str | Path, tz: ZoneInfo, *, symbol: str | None = None) -> Interval:
    """The interval of a bar file: the most common spacing between consecutive stamps of
    one local day (of tied ones the smallest, when the others are multiples of it), which
    must be a supported interval; `1d` when no two stamps share a day (`1w` when they are
    mostly 7 days apart). DataError when it cannot be told."""
    with Reader(Path(path), tz, symbol) as reader:
        typed = reader.fast()
        if typed is None:
            typed = reader.slow_typed()
        return infer_from_stamps(typed, reader.path)


def parquet_symbols(path: str | Path) -> list[str] | None:
    """The distinct symbols (upper-cased) of a Parquet file's `symbol` column, or None when it
    has no such column."""
    path = Path(path)
    con = connection()
    try:
        names = parquet_schema(con, path)
        col = next((n for n, _ in names if n.strip().lower() == "symbol"), None)
        if col is None:
            return None
        rows = con.execute(
            f"SELECT DISTINCT upper(trim(CAST({quote(col)} AS VARCHAR))) FROM read_parquet(?) "
            "WHERE " + quote(col) + " IS NOT NULL ORDER BY 1",
            [str(path)],
        ).fetchall()
        return [r[0] for r in rows if r[0]]
    finally:
        con.close()
