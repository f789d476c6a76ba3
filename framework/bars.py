"""Columnar bars: one int64 `ts` array (bar start, ns since the epoch, UTC) and five float64
arrays. The only bar container passed between sources, the store and the session engine."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from mismartera.ext.pipeline import ClosedBar

Bar = ClosedBar
"""One closed bar, for per-bar callbacks."""

COLUMNS = ("ts", "open", "high", "low", "close", "volume")

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


class Bars(NamedTuple):
    """Bars in time order as six equal-length contiguous arrays."""

    ts: I64
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64

    @classmethod
    def empty(cls) -> Bars:
        return cls(np.empty(0, np.int64), *(np.empty(0, np.float64) for _ in range(5)))

    @classmethod
    def from_arrays(cls, ts, open, high, low, close, volume) -> Bars:
        """Coerce to contiguous int64/float64 arrays of one length; ValueError otherwise."""
        out = cls(
            np.ascontiguousarray(ts, dtype=np.int64),
            *(np.ascontiguousarray(a, dtype=np.float64) for a in (open, high, low, close, volume)),
        )
        n = len(out.ts)
        if any(len(a) != n for a in out):
            raise ValueError(f"bar columns differ in length: {[len(a) for a in out]}")
        return out

    def __len__(self) -> int:  # type: ignore[override]
        """The number of bars (not of columns)."""
        return len(self.ts)

    @property
    def count(self) -> int:
        return len(self.ts)

    def slice(self, start: int, stop: int) -> Bars:
        return Bars(*(a[start:stop] for a in self))

    def take(self, mask_or_index: npt.NDArray) -> Bars:
        return Bars(*(np.ascontiguousarray(a[mask_or_index]) for a in self))

    def between(self, start_ns: int, end_ns: int) -> Bars:
        """Bars with start_ns <= ts < end_ns (ts must be sorted)."""
        i, j = np.searchsorted(self.ts, [start_ns, end_ns], side="left")
        return self.slice(int(i), int(j))

    @classmethod
    def concat(cls, parts: list[Bars]) -> Bars:
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate(cols) for cols in zip(*parts, strict=True)))

    def valid_mask(self) -> npt.NDArray[np.bool_]:
        """Bars that are finite with low <= min(open, close), max(open, close) <= high and
        volume >= 0."""
        o, h, lo, c, v = self.open, self.high, self.low, self.close, self.volume
        with np.errstate(invalid="ignore"):
            finite = np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c)
            finite &= np.isfinite(v)
            return finite & (lo <= np.minimum(o, c)) & (np.maximum(o, c) <= h) & (v >= 0)

    def to_pandas(self, tz: str | None = None):
        """A pandas DataFrame indexed by bar start (pandas is imported only here)."""
        import pandas as pd

        index = pd.to_datetime(self.ts, unit="ns", utc=True)
        if tz:
            index = index.tz_convert(tz)
        return pd.DataFrame(
            {c: getattr(self, c) for c in COLUMNS[1:]}, index=pd.Index(index, name="ts")
        )


# `len(bars)` counts bars, so NamedTuple's own _make/_replace (which check len == 6) are
# replaced by versions that do not rely on it.
def _make(cls: type[Bars], iterable) -> Bars:
    columns = tuple(iterable)
    if len(columns) != len(COLUMNS):
        raise TypeError(f"Bars takes {len(COLUMNS)} columns, got {len(columns)}")
    return tuple.__new__(cls, columns)


def _replace(self: Bars, **changes) -> Bars:
    unknown = set(changes) - set(COLUMNS)
    if unknown:
        raise ValueError(f"Bars has no column {sorted(unknown)[0]!r}")
    columns = tuple(changes.get(c, v) for c, v in zip(COLUMNS, self, strict=True))
    return tuple.__new__(type(self), columns)


Bars._make = classmethod(_make)  # type: ignore[method-assign, assignment]
Bars._replace = _replace  # type: ignore[method-assign]
