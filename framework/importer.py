"""Read bar files (CSV, gzipped CSV, Parquet) into validated `Bars`.

The formats are the contract's (`data import`): a header; column names matched
case-insensitively; the time in `timestamp`, `datetime`, `date`, or `date` + `time`
(Parquet may also name it `ts`); then `open, high, low, close, volume`; other columns are
ignored. A stamp with a UTC offset is honoured; a naive one is read in `tz`.

Stamps are read by DuckDB's TIMESTAMPTZ cast: ISO-8601 dates (`2024-01-03`) and date-times
(`2024-01-03 09:30`, `2024-01-03T09:30:00.5-05:00`, `...Z`, or a zone name after the time),
to the microsecond.

Every row is checked: a valid stamp, finite numbers, `low <= min(open, close)`,
`max(open, close) <= high`, `volume >= 0`, stamps strictly increasing and on the interval's
grid in `tz` wall time (multiples of the interval from midnight; of 30 minutes for longer
intervals, so session-anchored 1h bars at 09:30 pass). A `1d` bar's stamp is replaced by its
session's open (`session_open_of(date)`); a date that is not a session is an error. One bad
row rejects the file: `DataError("FILE:LINE: reason")`, the header being line 1 (Parquet
names the row instead).

Speed: a file is parsed and typed by DuckDB's CSV reader in one vectorised query (no Python
per row). Only when that query fails, or a check finds a bad row, is the file read again by
an exact Python pass, which knows line numbers and the text of each field; it converts with
the same SQL, so both passes accept and reject exactly the same rows.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import re
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from mismartera.bars import Bars
from mismartera.errors import DataError
from mismartera.intervals import Interval

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    import duckdb

__all__ = [
    "EXPECTED_COLUMNS",
    "file_kind",
    "infer_interval",
    "parquet_symbols",
    "read_bars",
    "read_bars_file",
]

NS = 1_000_000_000
DAY_NS = 86_400 * NS
ALIGN_MAX_NS = 30 * 60 * NS
VALUE_NAMES = ("open", "high", "low", "close", "volume")
TIME_NAMES = ("timestamp", "datetime", "date")
COLUMNS = "timestamp|datetime|date(+time), open, high, low, close, volume"
EXPECTED_COLUMNS = f"expected {COLUMNS}"
PARQUET_SUFFIXES = (".parquet", ".pq")
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 1 << 16
_SLOW_CHUNK = 100_000
_EPOCH_DATE = date(1970, 1, 1)

_NUMERIC_TYPES = re.compile(
    r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT"
    r"|FLOAT|DOUBLE|DECIMAL.*)$"
)
_TIMESTAMP_TYPES = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS")

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B8 = npt.NDArray[np.bool_]
SessionOpenOf = Callable[[date], "int | None"]


# ---------------------------------------------------------------------------- public API


def file_kind(path: str | Path) -> str:
    """"parquet" for .parquet/.pq files, else "csv" (gzip is recognised by content)."""
    return "parquet" if Path(path).suffix.lower() in PARQUET_SUFFIXES else "csv"


def read_bars_file(
    path: str | Path,
    interval: Interval | str,
    tz: ZoneInfo,
    session_open_of: SessionOpenOf | None = None,
    *,
    symbol: str | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> Bars:
    """The bars of one CSV (plain or gzip) or Parquet file, every row validated.

    `session_open_of(date) -> open_ns | None` is needed for `1d`/`1w` bars. `symbol` picks
    that symbol's rows from a Parquet file with a `symbol` column. `on_progress(fraction)` is
    called from time to time while a large file is parsed. Raises DataError naming the file,
    line (or row) and reason."""
    return read_bars(
        path, tz, Interval.parse(interval), session_open_of, symbol=symbol, on_progress=on_progress
    )[0]


def read_bars(
    path: str | Path,
    tz: ZoneInfo,
    interval: Interval | None = None,
    session_open_of: SessionOpenOf | None = None,
    *,
    symbol: str | None = None,
    on_progress: Callable[[float], None] | None = None,
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
    with _Reader(path, tz, symbol) as reader:
        return reader.read(interval, session_open_of, on_progress)


def infer_interval(path: str | Path, tz: ZoneInfo, *, symbol: str | None = None) -> Interval:
    """The interval of a bar file: `1d` when every stamp is a date alone or stamps are at
    least 20 hours apart, else the smallest spacing between consecutive stamps, which must
    be a supported intraday interval. DataError when it cannot be told."""
    with _Reader(Path(path), tz, symbol) as reader:
        typed = reader.fast()
        if typed is None:
            typed = reader.slow_typed()
        return _infer(typed, reader.path)


def parquet_symbols(path: str | Path) -> list[str] | None:
    """The distinct symbols (upper-cased) of a Parquet file's `symbol` column, or None when it
    has no such column."""
    path = Path(path)
    con = _connection()
    try:
        names = _parquet_schema(con, path)
        col = next((n for n, _ in names if n.strip().lower() == "symbol"), None)
        if col is None:
            return None
        rows = con.execute(
            f"SELECT DISTINCT upper(trim(CAST({_quote(col)} AS VARCHAR))) FROM read_parquet(?) "
            "WHERE " + _quote(col) + " IS NOT NULL ORDER BY 1",
            [str(path)],
        ).fetchall()
        return [r[0] for r in rows if r[0]]
    finally:
        con.close()


# ---------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class _Layout:
    """Where the needed columns are: positions in the header / Parquet schema."""

    names: tuple[str, ...]
    stamp: tuple[int, ...]  # one column, or date + time
    values: dict[str, int]
    symbol: int | None = None

    @property
    def stamp_label(self) -> str:
        return " + ".join(f"'{self.names[i]}'" for i in self.stamp)

    def stamp_noun(self) -> str:
        if len(self.stamp) == 2:
            return f"a date and time in columns {self.stamp_label}"
        name = self.names[self.stamp[0]].strip().lower()
        return f"a {'date' if name == 'date' else 'timestamp'} in column {self.stamp_label}"


def _layout(names: list[str], where: str, *, parquet: bool = False) -> _Layout:
    lower = [n.strip().strip('"').strip().lower() for n in names]
    index: dict[str, int] = {}
    for i, n in enumerate(lower):
        if n in index and n in (*TIME_NAMES, *VALUE_NAMES, "time", "ts", "symbol"):
            raise DataError(f"{where}: column '{n}' appears twice in the header")
        index.setdefault(n, i)
    time_names = ("ts", *TIME_NAMES) if parquet else TIME_NAMES
    found = [n for n in time_names if n in index]
    known = set(found) | {n for n in (*VALUE_NAMES, "time") if n in index}
    if not known:
        shown = ", ".join(f"'{n}'" for n in names[:8]) or "none"
        raise DataError(f"{where}: no known column in the header (found {shown}): "
                        f"{EXPECTED_COLUMNS}")
    if not found:
        raise DataError(f"{where}: no time column: {EXPECTED_COLUMNS}")
    first = found[0]
    stamp: tuple[int, ...] = (index[first],)
    if first == "date" and "time" in index:
        stamp = (index["date"], index["time"])
    missing = [n for n in VALUE_NAMES if n not in index]
    if missing:
        raise DataError(f"{where}: column '{missing[0]}' missing: {EXPECTED_COLUMNS}")
    symbol = index.get("symbol") if parquet else None
    return _Layout(tuple(names), stamp, {n: index[n] for n in VALUE_NAMES}, symbol)


# ---------------------------------------------------------------------------- typed rows


@dataclass
class _Typed:
    """Typed columns of a block of rows, before any bar-level check."""

    ts: I64  # ns UTC (0 where the stamp is missing or invalid)
    local: I64  # wall time in tz, as ns since 1970-01-01 00:00 wall time
    stamp_null: B8
    stamp_ok: B8
    date_only: B8
    values: dict[str, F64]  # NaN where missing or not a number
    nulls: dict[str, B8]
    bad: dict[str, B8]  # present but not a number

    def __len__(self) -> int:
        return len(self.ts)


def _stamp_sql(layout: _Layout, types: list[str] | None) -> tuple[str, str]:
    """SQL over columns c0..cN for (the stamp as TIMESTAMPTZ, "the stamp is a date alone")."""
    cols = [f"c{i}" for i in layout.stamp]
    typ = types[layout.stamp[0]] if types is not None else "VARCHAR"
    if len(cols) == 2:
        text = f"(trim(CAST({cols[0]} AS VARCHAR)) || ' ' || trim(CAST({cols[1]} AS VARCHAR)))"
        typ = "VARCHAR"
    else:
        text = cols[0]
    if typ == "VARCHAR":
        return f"TRY_CAST({text} AS TIMESTAMPTZ)", f"coalesce(NOT contains({text}, ':'), false)"
    if typ in _TIMESTAMP_TYPES or typ.startswith("TIMESTAMP WITH TIME ZONE") or typ == "DATE":
        return f"CAST({text} AS TIMESTAMPTZ)", "true" if typ == "DATE" else "false"
    # integers: ns since the epoch, UTC (the `ts` column of our own exports)
    return (
        f"(TIMESTAMPTZ '1970-01-01 00:00:00+00' + to_microseconds(CAST({text} AS BIGINT) // 1000))",
        "false",
    )


def _is_integer_type(typ: str) -> bool:
    return bool(_NUMERIC_TYPES.match(typ)) and "DECIMAL" not in typ and typ not in (
        "FLOAT",
        "DOUBLE",
    )


def _typed_sql(
    src: str, layout: _Layout, types: list[str] | None, *, exact: bool, extra: str = ""
) -> str:
    """The query typing every row. `exact` adds the flags the error messages need (a missing
    field apart from one that is not a number); both variants accept the same rows."""
    t, date_only = _stamp_sql(layout, types)
    ts = "epoch_ns(t_)"
    if types is not None and len(layout.stamp) == 1 and _is_integer_type(types[layout.stamp[0]]):
        ts = f"CASE WHEN t_ IS NULL THEN NULL ELSE CAST(c{layout.stamp[0]} AS BIGINT) END"
    parts = [f"{ts} AS ts", f"{date_only} AS date_only"]
    if exact:
        null = " OR ".join(f"c{i} IS NULL" for i in layout.stamp)
        parts.append(f"({null}) AS stamp_null")
    for name, i in layout.values.items():
        c = f"c{i}"
        parts.append(f"TRY_CAST({c} AS DOUBLE) AS v_{name}")
        if exact:
            parts.append(f"({c} IS NULL) AS n_{name}")
    return f"SELECT {', '.join(parts)}{extra} FROM (SELECT *, {t} AS t_ FROM {src})"


def _to_typed(got: dict[str, Any], tz: ZoneInfo) -> _Typed:
    """Typed columns from a fetched query; a NULL stamp or number marks the field bad."""

    def plain(name: str, dtype: Any, fill: Any) -> tuple[Any, B8]:
        a = got[name]
        mask = np.ma.getmaskarray(a) if isinstance(a, np.ma.MaskedArray) else None
        if mask is not None:
            a = a.filled(fill)
        a = np.ascontiguousarray(a, dtype=dtype)
        return a, (np.zeros(len(a), np.bool_) if mask is None else mask)

    ts, ts_bad = plain("ts", np.int64, 0)
    date_only, _ = plain("date_only", np.bool_, False)
    stamp_null = plain("stamp_null", np.bool_, False)[0] if "stamp_null" in got else ts_bad
    values: dict[str, F64] = {}
    nulls: dict[str, B8] = {}
    bad: dict[str, B8] = {}
    for n in VALUE_NAMES:
        values[n], missing = plain(f"v_{n}", np.float64, np.nan)
        if f"n_{n}" in got:
            nulls[n] = plain(f"n_{n}", np.bool_, False)[0]
            bad[n] = missing & ~nulls[n]
        else:
            nulls[n], bad[n] = missing, np.zeros(len(ts), np.bool_)
    return _Typed(
        ts=ts,
        local=ts + _utc_offsets(ts, ~ts_bad, tz),
        stamp_null=stamp_null,
        stamp_ok=~ts_bad,
        date_only=date_only & ~ts_bad,
        values=values,
        nulls=nulls,
        bad=bad,
    )


def _utc_offsets(ts: I64, valid: B8, tz: ZoneInfo) -> I64:
    """The UTC offset (ns) of `tz` at each instant. The zone is asked only at the start of
    each UTC day holding a stamp (and of the day after); a day whose offset changes gets its
    change instant by bisection to the second, then one `searchsorted` places every stamp."""
    out = np.zeros(len(ts), np.int64)
    if not valid.any():
        return out
    days = (ts[valid] // DAY_NS) if not valid.all() else ts // DAY_NS
    change = np.empty(len(days), np.bool_)
    change[0] = True
    np.not_equal(days[1:], days[:-1], out=change[1:])
    uniq = np.unique(days[change])
    sample = np.union1d(uniq, uniq + 1).tolist()
    offs = [_offset_s(d * 86_400, tz) for d in sample]
    edges: list[int] = []
    values = [offs[0]]
    for k in range(len(sample) - 1):
        if offs[k] == offs[k + 1]:
            continue
        lo, hi = sample[k] * 86_400, sample[k + 1] * 86_400  # offset(lo) != offset(hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _offset_s(mid, tz) == offs[k]:
                lo = mid
            else:
                hi = mid
        edges.append(hi * NS)
        values.append(offs[k + 1])
    if not edges:
        out[valid] = values[0] * NS
        return out
    idx = np.searchsorted(np.array(edges, np.int64), ts, side="right")
    out = np.array(values, np.int64)[idx] * NS
    out[~valid] = 0
    return out


def _offset_s(second: int, tz: ZoneInfo) -> int:
    try:
        off = datetime.fromtimestamp(second, UTC).astimezone(tz).utcoffset()
    except (OverflowError, OSError, ValueError):
        return 0
    return 0 if off is None else off.days * 86_400 + off.seconds


def _concat_typed(parts: list[_Typed]) -> _Typed:
    return _Typed(
        ts=np.concatenate([p.ts for p in parts]),
        local=np.concatenate([p.local for p in parts]),
        stamp_null=np.concatenate([p.stamp_null for p in parts]),
        stamp_ok=np.concatenate([p.stamp_ok for p in parts]),
        date_only=np.concatenate([p.date_only for p in parts]),
        values={n: np.concatenate([p.values[n] for p in parts]) for n in VALUE_NAMES},
        nulls={n: np.concatenate([p.nulls[n] for p in parts]) for n in VALUE_NAMES},
        bad={n: np.concatenate([p.bad[n] for p in parts]) for n in VALUE_NAMES},
    )


# ---------------------------------------------------------------------------- checks


@dataclass
class _Problem:
    index: int  # row within the checked block
    reason: Callable[[dict[str, str | None]], str]  # from the row's raw field texts


@dataclass
class _Context:
    interval: Interval
    tz: ZoneInfo
    layout: _Layout
    session_open_of: SessionOpenOf | None
    opens: dict[int, int | None]  # local day number -> session open (cache)


def _check(
    typed: _Typed, ctx: _Context, prev_ts: int | None
) -> tuple[Bars | None, _Problem | None]:
    """Validate a block (rows after one whose final ts was `prev_ts`): its bars, or the
    first bad row and why."""
    n = len(typed)
    v = typed.values
    o, h, lo, c, vol = (v[k] for k in VALUE_NAMES)
    checks: list[tuple[B8, Callable[[int, dict[str, str | None]], str]]] = []
    layout = ctx.layout

    def raw_stamp(raw: dict[str, str | None]) -> str:
        return " ".join((raw.get(f"c{i}") or "").strip() for i in layout.stamp)

    checks.append((typed.stamp_null, lambda i, raw: (
        f"missing value in {'columns' if len(layout.stamp) == 2 else 'column'} "
        f"{layout.stamp_label}")))
    checks.append((~typed.stamp_ok, lambda i, raw: (
        f"'{raw_stamp(raw)}' is not {layout.stamp_noun()}: expected ISO-8601 such as "
        "2024-01-03 09:30:00 or 2024-01-03T09:30:00-05:00")))
    for name in VALUE_NAMES:
        with np.errstate(invalid="ignore"):
            not_finite = ~np.isfinite(v[name]) & ~typed.nulls[name] & ~typed.bad[name]
        checks += [
            (typed.nulls[name], _missing_reason(name)),
            (typed.bad[name], _not_number_reason(name, f"c{layout.values[name]}")),
            (not_finite, _not_finite_reason(name, v[name])),
        ]
    with np.errstate(invalid="ignore"):
        checks += [
            (h < lo, lambda i, raw: f"high {float(h[i])!r} is below low {float(lo[i])!r}"),
            (o > h, lambda i, raw: f"open {float(o[i])!r} is above high {float(h[i])!r}"),
            (o < lo, lambda i, raw: f"open {float(o[i])!r} is below low {float(lo[i])!r}"),
            (c > h, lambda i, raw: f"close {float(c[i])!r} is above high {float(h[i])!r}"),
            (c < lo, lambda i, raw: f"close {float(c[i])!r} is below low {float(lo[i])!r}"),
            (vol < 0, lambda i, raw: f"volume {float(vol[i])!r} is negative"),
        ]
    iv = ctx.interval
    if iv.is_intraday:
        checks.append((typed.date_only, lambda i, raw: (
            f"'{raw_stamp(raw)}' has no time of day: {iv.name} bars need a timestamp "
            "(timestamp, datetime or date + time columns)")))
        ts = typed.ts
        align = min(iv.ns, ALIGN_MAX_NS)
        align_name = iv.name if iv.ns <= ALIGN_MAX_NS else "30m"
        checks.append(((typed.local % align) != 0, lambda i, raw: (
            f"timestamp {raw_stamp(raw)} is not on the {iv.name} grid: expected a multiple of "
            f"{align_name} from midnight, {ctx.tz.key} time")))
    else:
        ts, not_session, odd_time = _session_stamps(typed, ctx)
        checks.append((not_session, lambda i, raw: (
            f"{_local_date(typed.local[i])} is not a trading session of the exchange")))
        checks.append((odd_time, lambda i, raw: (
            f"{iv.name} bar timestamp {raw_stamp(raw)} is neither midnight nor its "
            "session's open")))
    if n:
        before = np.empty(n, np.int64)
        before[1:] = ts[:-1]
        before[0] = prev_ts if prev_ts is not None else np.iinfo(np.int64).min
        checks.append((ts <= before, lambda i, raw: (
            f"timestamp {raw_stamp(raw)} is not after the previous row's (a duplicate)"
            if ts[i] == before[i]
            else f"timestamp {raw_stamp(raw)} is not after the previous row's "
            f"({_fmt_local(int(before[i]), ctx.tz)})")))
    any_bad = np.zeros(n, np.bool_)
    for mask, _ in checks:
        any_bad |= mask
    if not any_bad.any():
        return Bars.from_arrays(ts, o, h, lo, c, vol), None
    first = int(np.argmax(any_bad))
    why = next(fn for mask, fn in checks if mask[first])
    return None, _Problem(first, functools.partial(why, first))


_Reason = Callable[[int, dict[str, "str | None"]], str]


def _missing_reason(name: str) -> _Reason:
    return lambda i, raw: f"missing value in column '{name}'"


def _not_number_reason(name: str, col: str) -> _Reason:
    return lambda i, raw: f"'{(raw.get(col) or '').strip()}' is not a number in column '{name}'"


def _not_finite_reason(name: str, values: F64) -> _Reason:
    return lambda i, raw: f"{name} {float(values[i])!r} is not a finite number"


def _session_stamps(typed: _Typed, ctx: _Context) -> tuple[I64, B8, B8]:
    """For daily bars: each row's session open, rows whose local date is no session, rows
    whose time is neither local midnight nor the session open (rows without a valid stamp
    are left to the stamp checks)."""
    assert ctx.session_open_of is not None
    ok = typed.stamp_ok
    days = np.where(ok, typed.local // DAY_NS, 0)
    tod = typed.local - days * DAY_NS
    uniq, inverse = np.unique(days, return_inverse=True)
    opens = np.zeros(len(uniq), np.int64)
    missing = np.zeros(len(uniq), np.bool_)
    valid_days = set(days[ok].tolist())
    for k, day in enumerate(uniq.tolist()):
        if day not in valid_days:
            continue
        if day not in ctx.opens:
            ctx.opens[day] = ctx.session_open_of(_EPOCH_DATE + timedelta(days=day))
        got = ctx.opens[day]
        missing[k] = got is None
        opens[k] = 0 if got is None else got
    ts = opens[inverse]
    not_session = missing[inverse] & ok
    odd_time = (tod != 0) & (typed.ts != ts) & ok & ~not_session
    return np.ascontiguousarray(ts), not_session, odd_time


def _local_date(local_ns: int) -> date:
    return _EPOCH_DATE + timedelta(days=int(local_ns) // DAY_NS)


def _fmt_local(ts_ns: int, tz: ZoneInfo) -> str:
    seconds, frac = divmod(int(ts_ns), NS)
    dt = datetime.fromtimestamp(seconds, UTC).astimezone(tz)
    if frac:
        dt = dt.replace(microsecond=frac // 1000)
    return dt.isoformat()


def _infer(typed: _Typed, path: Path) -> Interval:
    good = typed.stamp_ok & ~typed.stamp_null
    if good.any() and typed.date_only[good].all():
        return Interval.parse("1d")
    ts = typed.ts[good]
    steps = np.diff(ts)
    steps = steps[steps > 0]
    if len(steps) == 0:
        raise DataError(
            f"{path}: cannot infer the bar interval from fewer than two increasing stamps: "
            "give the interval"
        )
    step = int(steps.min())
    if step >= 20 * 3600 * NS:
        return Interval.parse("1d")
    for name in Interval.SUPPORTED:
        iv = Interval.parse(name)
        if iv.is_intraday and iv.ns == step:
            return iv
    raise DataError(
        f"{path}: cannot infer the bar interval: the smallest spacing between stamps, "
        f"{step / NS:g} s, is not a supported interval: give the interval"
    )


# ---------------------------------------------------------------------------- reader


class _Reader:
    """One file being read: the fast vectorised pass and the exact fallback."""

    def __init__(self, path: Path, tz: ZoneInfo, symbol: str | None) -> None:
        import duckdb

        self.path = path
        self.tz = tz
        self.symbol = symbol.strip().upper() if symbol else None
        self.kind = file_kind(path)
        self.con: duckdb.DuckDBPyConnection = _connection()
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
        self.layout: _Layout
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

    def __enter__(self) -> _Reader:
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
            raise DataError(f"{path}: file is empty: expected a header line ({COLUMNS})")
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
                        f"({EXPECTED_COLUMNS})"
                    )
        self.layout = _layout(names, f"{path}:1")
        if not rest.strip() and len(head) < _SNIFF_BYTES:
            raise DataError(f"{path}: no data rows after the header")

    def _init_parquet(self) -> None:
        schema = _parquet_schema(self.con, self.path)
        names = [n for n, _ in schema]
        self.types = [t for _, t in schema]
        self.layout = _layout(names, str(self.path), parquet=True)
        for name, i in self.layout.values.items():
            if not _NUMERIC_TYPES.match(self.types[i]):
                raise DataError(
                    f"{self.path}: column '{names[i]}' has type {self.types[i]}: expected a "
                    f"number for {name}"
                )
        for i in self.layout.stamp:
            t = self.types[i]
            ok = (
                t == "VARCHAR"
                or t == "DATE"
                or t in _TIMESTAMP_TYPES
                or t.startswith("TIMESTAMP WITH TIME ZONE")
                or (len(self.layout.stamp) == 1 and _NUMERIC_TYPES.match(t)
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
            f"{_quote(n)} AS c{i}" for i, n in enumerate(self.layout.names)
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

    def fast(self, on_progress: Callable[[float], None] | None = None) -> _Typed | None:
        """All rows typed by one query, or None when DuckDB rejects the file."""
        import duckdb

        if self.kind == "parquet":
            src, params = self._parquet_src()
            sql = _typed_sql(src, self.layout, self.types, exact=True, extra=", row_")
        else:
            src, params = self._csv_src(), [str(self.path)]
            sql = _typed_sql(src, self.layout, None, exact=False)
        try:
            got = _run(self.con, sql, params, on_progress)
        except duckdb.Error as exc:
            if self.kind == "parquet":
                text = str(exc).splitlines()[0]
                raise DataError(f"{self.path}: cannot read the Parquet file: {text}") from None
            self.fast_error = str(exc).splitlines()[0]
            return None
        typed = _to_typed(got, self.tz)
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

    def _chunks(self) -> Iterator[tuple[list[int], dict[str, np.ndarray], _Typed]]:
        """Blocks of rows: their line numbers, raw field texts and typed columns."""
        needed = sorted({*self.layout.stamp, *self.layout.values.values()})
        lines: list[int] = []
        rows: list[list[str]] = []

        def flush() -> tuple[list[int], dict[str, np.ndarray], _Typed]:
            cols = {
                f"c{i}": np.array([r[i] if r[i] != "" else None for r in rows], dtype=object)
                for i in needed
            }
            self.con.register("rows_", cols)
            try:
                got = self.con.execute(
                    _typed_sql("rows_", self.layout, None, exact=True)
                ).fetchnumpy()
            finally:
                self.con.unregister("rows_")
            return lines, cols, _to_typed(got, self.tz)

        for line, fields in self._rows():
            lines.append(line)
            rows.append(fields)
            if len(rows) >= _SLOW_CHUNK:
                yield flush()
                lines, rows = [], []
        if rows:
            yield flush()

    def slow_typed(self) -> _Typed:
        parts = [typed for _, _, typed in self._chunks()]
        if not parts:
            raise DataError(f"{self.path}: no data rows after the header")
        return _concat_typed(parts)

    def slow(self, ctx: _Context) -> Bars:
        """The exact pass: validates block by block and names the first bad line."""
        parts: list[Bars] = []
        prev: int | None = None
        for lines, cols, typed in self._chunks():
            bars, problem = _check(typed, ctx, prev)
            if problem is not None:
                i = problem.index
                raw = {k: (None if a[i] is None else str(a[i])) for k, a in cols.items()}
                raise DataError(f"{self.path}:{lines[i]}: {problem.reason(raw)}")
            assert bars is not None
            parts.append(bars)
            prev = int(bars.ts[-1])
        if not parts:
            raise DataError(f"{self.path}: no data rows after the header")
        # (when DuckDB's reader refused what this pass accepts, this pass is right)
        return Bars.concat(parts)

    # -------------------------------------------------------------- reading

    def read(
        self,
        interval: Interval | None,
        session_open_of: SessionOpenOf | None,
        on_progress: Callable[[float], None] | None,
    ) -> tuple[Bars, Interval]:
        typed = self.fast(on_progress)
        if interval is None:
            source = typed if typed is not None else self.slow_typed()
            interval = _infer(source, self.path)
        if not interval.is_intraday and session_open_of is None:
            raise DataError(
                f"{self.path}: {interval} bars need the exchange calendar to place each bar at "
                "its session's open"
            )
        ctx = _Context(interval, self.tz, self.layout, session_open_of, {})
        if typed is not None:
            bars, problem = _check(typed, ctx, None)
            if problem is None:
                assert bars is not None
                return bars, interval
            if self.kind == "parquet":
                i = problem.index
                raise DataError(f"{self.path}: row {int(self.rows[i]) + 1}: "
                                f"{problem.reason(self._parquet_raw(int(self.rows[i])))}")
        return self.slow(ctx), interval

    def _parquet_raw(self, row: int) -> dict[str, str | None]:
        cols = ", ".join(
            f"CAST({_quote(n)} AS VARCHAR) AS c{i}" for i, n in enumerate(self.layout.names)
        )
        got = self.con.execute(
            f"SELECT {cols} FROM read_parquet(?, file_row_number=true) WHERE file_row_number = ?",
            [str(self.path), row],
        ).fetchall()
        if not got:
            return {}
        return {f"c{i}": v for i, v in enumerate(got[0])}


# ---------------------------------------------------------------------------- helpers


_SHARED: list[duckdb.DuckDBPyConnection] = []
_SHARED_LOCK = threading.Lock()


def _connection() -> duckdb.DuckDBPyConnection:
    """A fresh connection (cursor) to one in-memory database shared by all readers: opening a
    database costs tens of milliseconds, a cursor almost nothing."""
    import duckdb

    with _SHARED_LOCK:
        if not _SHARED:
            _SHARED.append(duckdb.connect(":memory:"))
        return _SHARED[0].cursor()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _parquet_schema(con: duckdb.DuckDBPyConnection, path: Path) -> list[tuple[str, str]]:
    import duckdb

    if not path.exists():
        raise DataError(f"{path}: no such file")
    try:
        rows = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    except duckdb.Error as exc:
        text = str(exc).splitlines()[0]
        raise DataError(f"{path}: not a readable Parquet file ({text})") from None
    return [(str(r[0]), str(r[1]).upper()) for r in rows]


def _open_binary(path: Path, gz: bool) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if gz else path.open("rb")  # type: ignore[return-value]


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


def _run(
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
