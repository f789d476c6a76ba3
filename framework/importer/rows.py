"""Typed rows of a bar file: one DuckDB query types every field, `Typed` holds the result.

`typed_sql` builds the query over columns c0..cN (of a CSV reader, a Parquet file or a block
of raw text fields), `to_typed` turns its fetched columns into `Typed` numpy arrays (stamps in
ns UTC and in local wall time, values as float64, and masks of missing or malformed fields),
before any bar-level check. Both the fast and the exact pass of the reader use the same SQL,
so they accept and reject exactly the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mismartera.importer.dst import resolve
from mismartera.importer.stamps import is_integer_type, stamp_sql, utc_offsets

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from mismartera.importer.layout import Layout

# the instants an int64 of ns since the epoch holds (DuckDB refuses to convert others)
_IN_RANGE = ("t_ > TIMESTAMPTZ '1677-09-21 00:12:44+00' "
             "AND t_ < TIMESTAMPTZ '2262-04-11 23:47:16+00'")
STAMP_RANGE = "from 1677-09-22 to 2262-04-11"

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B8 = npt.NDArray[np.bool_]


@dataclass
class Typed:
    """Typed columns of a block of rows, before any bar-level check."""

    ts: I64  # ns UTC (0 where the stamp is missing or invalid)
    local: I64  # wall time in tz, as ns since 1970-01-01 00:00 wall time
    stamp_null: B8
    stamp_ok: B8
    far: B8  # a valid stamp outside the range of int64 ns
    dst_gap: B8  # a naive stamp the clocks skip at a DST change
    dst_twice: B8  # a naive stamp the clocks pass twice
    date_only: B8
    values: dict[str, F64]  # NaN where missing or not a number
    nulls: dict[str, B8]
    bad: dict[str, B8]  # present but not a number

    def __len__(self) -> int:
        return len(self.ts)


def typed_sql(
    src: str, layout: Layout, types: list[str] | None, *, exact: bool, extra: str = ""
) -> str:
    """The query typing every row. `exact` adds the flags the error messages need (a missing
    field apart from one that is not a number); both variants accept the same rows."""
    t, date_only, wall = stamp_sql(layout, types)
    ts = f"CASE WHEN {_IN_RANGE} THEN epoch_ns(t_) END"
    if types is not None and len(layout.stamp) == 1 and is_integer_type(types[layout.stamp[0]]):
        ts = f"CASE WHEN t_ IS NULL THEN NULL ELSE CAST(c{layout.stamp[0]} AS BIGINT) END"
    far = f"coalesce(NOT ({_IN_RANGE}), false)"
    parts = [f"{ts} AS ts", f"{date_only} AS date_only", f"{far} AS far", f"{wall} AS wall"]
    if exact:
        null = " OR ".join(f"c{i} IS NULL" for i in layout.stamp)
        parts.append(f"({null}) AS stamp_null")
    for name, i in layout.values.items():
        c = f"c{i}"
        parts.append(f"TRY_CAST({c} AS DOUBLE) AS v_{name}")
        if exact:
            parts.append(f"({c} IS NULL) AS n_{name}")
    return f"SELECT {', '.join(parts)}{extra} FROM (SELECT *, {t} AS t_ FROM {src})"


def to_typed(got: dict[str, Any], tz: ZoneInfo, dst: str = "refuse") -> Typed:
    """Typed columns from a fetched query; a NULL stamp or number marks the field bad; naive
    stamps at a DST change resolved by the `dst` policy (see `import_dst`)."""

    def plain(name: str, dtype: Any, fill: Any) -> tuple[Any, B8]:
        a = got[name]
        mask = np.ma.getmaskarray(a) if isinstance(a, np.ma.MaskedArray) else None
        if mask is not None:
            a = a.filled(fill)
        a = np.ascontiguousarray(a, dtype=dtype)
        return a, (np.zeros(len(a), np.bool_) if mask is None else mask)

    ts, ts_bad = plain("ts", np.int64, 0)
    date_only, _ = plain("date_only", np.bool_, False)
    far, _ = plain("far", np.bool_, False)
    wall, no_wall = plain("wall", np.int64, 0)
    naive = ~no_wall & ~ts_bad & ~date_only
    ts, dst_gap, dst_twice = resolve(ts, wall * 1000, naive, tz, dst)
    stamp_null = plain("stamp_null", np.bool_, False)[0] if "stamp_null" in got else ts_bad
    values: dict[str, F64] = {}
    nulls: dict[str, B8] = {}
    bad: dict[str, B8] = {}
    for n in [k[2:] for k in got if k.startswith("v_")]:
        values[n], missing = plain(f"v_{n}", np.float64, np.nan)
        if f"n_{n}" in got:
            nulls[n] = plain(f"n_{n}", np.bool_, False)[0]
            bad[n] = missing & ~nulls[n]
        else:
            nulls[n], bad[n] = missing, np.zeros(len(ts), np.bool_)
    return Typed(
        ts=ts,
        local=ts + utc_offsets(ts, ~ts_bad, tz),
        stamp_null=stamp_null,
        stamp_ok=~ts_bad,
        far=far,
        dst_gap=dst_gap,
        dst_twice=dst_twice,
        date_only=date_only & ~ts_bad,
        values=values,
        nulls=nulls,
        bad=bad,
    )


def concat_typed(parts: list[Typed]) -> Typed:
    """The blocks of rows `parts`, one after the other."""
    return Typed(
        ts=np.concatenate([p.ts for p in parts]),
        local=np.concatenate([p.local for p in parts]),
        stamp_null=np.concatenate([p.stamp_null for p in parts]),
        stamp_ok=np.concatenate([p.stamp_ok for p in parts]),
        far=np.concatenate([p.far for p in parts]),
        dst_gap=np.concatenate([p.dst_gap for p in parts]),
        dst_twice=np.concatenate([p.dst_twice for p in parts]),
        date_only=np.concatenate([p.date_only for p in parts]),
        values={n: np.concatenate([p.values[n] for p in parts]) for n in parts[0].values},
        nulls={n: np.concatenate([p.nulls[n] for p in parts]) for n in parts[0].values},
        bad={n: np.concatenate([p.bad[n] for p in parts]) for n in parts[0].values},
    )
