"""Timestamp parsing for bar files: the SQL that reads a stamp column, and local wall time.

A stamp is read by DuckDB's TIMESTAMPTZ cast: ISO-8601 text (an offset or zone honoured, a
naive stamp read in the connection's time zone), a DATE or TIMESTAMP column, or integer
nanoseconds since the epoch (the `ts` column of our own exports). `utc_offsets` turns the
resulting UTC instants into the file's wall time, vectorised, for the grid and date checks.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from mismartera.intervals import NS

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from mismartera.importer.layout import Layout

DAY_NS = 86_400 * NS

NUMERIC_TYPES = re.compile(
    r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT"
    r"|FLOAT|DOUBLE|DECIMAL.*)$"
)
TIMESTAMP_TYPES = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS")

# a time followed by an offset, a zone name or Z: the stamp is not naive
_ZONED = r"(:\d\d(\.\d*)?\s*([+-]\d{1,2}(:?\d\d)?|[A-Za-z][A-Za-z0-9_/+-]*)|[zZ])\s*$"

I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]


def stamp_sql(layout: Layout, types: list[str] | None) -> tuple[str, str, str]:
    """SQL over columns c0..cN for (the stamp as TIMESTAMPTZ, "the stamp is a date alone",
    the wall time of a naive stamp in microseconds, NULL for one with a zone or offset)."""
    cols = [f"c{i}" for i in layout.stamp]
    typ = types[layout.stamp[0]] if types is not None else "VARCHAR"
    if len(cols) == 2:
        text = f"(trim(CAST({cols[0]} AS VARCHAR)) || ' ' || trim(CAST({cols[1]} AS VARCHAR)))"
        typ = "VARCHAR"
    else:
        text = cols[0]
    if typ == "VARCHAR":
        wall = (f"CASE WHEN regexp_matches({text}, '{_ZONED}') THEN NULL "
                f"ELSE epoch_us(TRY_CAST({text} AS TIMESTAMP)) END")
        return (f"TRY_CAST({text} AS TIMESTAMPTZ)",
                f"coalesce(NOT contains({text}, ':'), false)", wall)
    if typ in TIMESTAMP_TYPES:
        return f"CAST({text} AS TIMESTAMPTZ)", "false", f"epoch_us(CAST({text} AS TIMESTAMP))"
    if typ.startswith("TIMESTAMP WITH TIME ZONE") or typ == "DATE":
        return f"CAST({text} AS TIMESTAMPTZ)", "true" if typ == "DATE" else "false", "NULL"
    # integers: ns since the epoch, UTC (the `ts` column of our own exports)
    return (
        f"(TIMESTAMPTZ '1970-01-01 00:00:00+00' + to_microseconds(CAST({text} AS BIGINT) // 1000))",
        "false",
        "NULL",
    )


def is_integer_type(typ: str) -> bool:
    """True for DuckDB's integer column types (a stamp of ns since the epoch)."""
    return bool(NUMERIC_TYPES.match(typ)) and "DECIMAL" not in typ and typ not in (
        "FLOAT",
        "DOUBLE",
    )


def utc_offsets(ts: I64, valid: B8, tz: ZoneInfo) -> I64:
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
