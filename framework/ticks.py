"""Trades (ticks) and quotes as columns: the one container the importer, the store, the
sources and the exports share.

A `TickSeries` is one kind of record in time order (equal stamps allowed: several trades may
share a nanosecond): `ts` int64 ns UTC and one float64 array per column, `price, size` for
`ticks` and `bid, bid_size, ask, ask_size` for `quotes` (the order of the import files).
`SymbolSessionData.ticks` / `.quotes` hold tuples instead, `(ts, price, size)` and
`(ts, bid, ask, bid_size, ask_size)` (the live sources' order); `records()` gives them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["COLUMNS", "KINDS", "TUPLE_COLUMNS", "TickSeries", "check_kind"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

KINDS = ("ticks", "quotes")
COLUMNS: dict[str, tuple[str, ...]] = {
    "ticks": ("price", "size"),
    "quotes": ("bid", "bid_size", "ask", "ask_size"),
}
# the order of SymbolSessionData's tuples (after ts)
TUPLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "ticks": ("price", "size"),
    "quotes": ("bid", "ask", "bid_size", "ask_size"),
}


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}: expected ticks or quotes")
    return kind


class TickSeries:
    """`kind` records: `ts` and the kind's columns, in time order."""

    __slots__ = ("kind", "ts", "values")

    def __init__(self, kind: str, ts: Any, values: dict[str, Any]) -> None:
        self.kind = check_kind(kind)
        self.ts: I64 = np.ascontiguousarray(ts, dtype=np.int64)
        self.values: dict[str, F64] = {
            c: np.ascontiguousarray(values[c], dtype=np.float64) for c in COLUMNS[kind]
        }
        for c, a in self.values.items():
            if len(a) != len(self.ts):
                raise ValueError(f"column {c} has {len(a)} values for {len(self.ts)} stamps")

    @classmethod
    def empty(cls, kind: str) -> TickSeries:
        return cls(kind, np.empty(0, np.int64), {c: np.empty(0) for c in COLUMNS[kind]})

    @classmethod
    def concat(cls, parts: Sequence[TickSeries]) -> TickSeries:
        kind = parts[0].kind
        return cls(kind, np.concatenate([p.ts for p in parts]),
                   {c: np.concatenate([p.values[c] for p in parts]) for c in COLUMNS[kind]})

    @classmethod
    def from_records(cls, kind: str, records: Iterable[Sequence[float]]) -> TickSeries:
        """From SymbolSessionData-order tuples `(ts, ...)`."""
        rows = list(records)
        if not rows:
            return cls.empty(kind)
        ts = np.array([int(r[0]) for r in rows], np.int64)
        cols = TUPLE_COLUMNS[kind]
        return cls(kind, ts, {c: np.array([float(r[k + 1]) for r in rows])
                              for k, c in enumerate(cols)})

    def __len__(self) -> int:
        return len(self.ts)

    def __repr__(self) -> str:
        return f"TickSeries({self.kind!r}, {len(self)} records)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TickSeries):
            return NotImplemented
        return (self.kind == other.kind and np.array_equal(self.ts, other.ts)
                and all(np.array_equal(self.values[c], other.values[c], equal_nan=True)
                        for c in COLUMNS[self.kind]))

    __hash__ = None  # type: ignore[assignment]

    def columns(self) -> tuple[str, ...]:
        return COLUMNS[self.kind]

    def take(self, index: Any) -> TickSeries:
        return TickSeries(self.kind, self.ts[index], {c: a[index] for c, a in self.values.items()})

    def between(self, start_ns: int, end_ns: int) -> TickSeries:
        """Records with start_ns <= ts < end_ns."""
        lo = int(np.searchsorted(self.ts, start_ns, side="left"))
        hi = int(np.searchsorted(self.ts, end_ns, side="left"))
        return self.take(slice(lo, hi))

    def to_bars(self, interval_ns: int) -> tuple[I64, F64, F64, F64, F64, F64]:
        """Trades as OHLCV bars of `interval_ns` (1s, 1m: buckets on the UTC grid, which is
        the exchange's wall-time grid for any zone offset of whole minutes): ts the bucket
        start, open the first price, high / low the extremes, close the last price, volume
        the sum of sizes. A bucket without trades yields no bar. Columns for `Bars`."""
        if self.kind != "ticks":
            raise ValueError("bars are built from trades (ticks), not quotes")
        ts, price, size = self.ts, self.values["price"], self.values["size"]
        if not len(ts):
            e = np.empty(0)
            return np.empty(0, np.int64), e, e.copy(), e.copy(), e.copy(), e.copy()
        bucket = ts - ts % int(interval_ns)
        starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
        ends = np.r_[starts[1:], len(ts)] - 1
        return (np.ascontiguousarray(bucket[starts]), price[starts],
                np.maximum.reduceat(price, starts), np.minimum.reduceat(price, starts),
                price[ends], np.add.reduceat(size, starts))

    def records(self) -> list[tuple[Any, ...]]:
        """SymbolSessionData-order tuples: `(ts, price, size)`, `(ts, bid, ask, bid_size,
        ask_size)`."""
        cols = [self.values[c].tolist() for c in TUPLE_COLUMNS[self.kind]]
        return list(zip(self.ts.tolist(), *cols, strict=True))
