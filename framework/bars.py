"""Columnar bars: one int64 `ts` array (bar start, ns since the epoch, UTC) and five float64
arrays. The only bar container passed between sources, the store and the session engine."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple, Self

import numpy as np
import numpy.typing as npt

from mismartera.ext.pipeline import ClosedBar

Bar = ClosedBar
"""One closed bar, for per-bar callbacks."""

COLUMNS = ("ts", "open", "high", "low", "close", "volume")

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Columns = tuple[I64, F64, F64, F64, F64, F64]
"""The six columns of `Bars`, in `COLUMNS` order."""


class _Columns(NamedTuple):
    ts: I64
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64


class Bars(_Columns):
    """Bars in time order as six equal-length contiguous arrays.

    A named tuple of its six *columns*: iterating, indexing and unpacking give columns
    (`ts, o, h, lo, c, v = bars`, `bars[1:]`, `kernel(*bars)`), in `COLUMNS` order; the
    `columns` property is the same tuple, typed. `len(bars)` alone counts *bars* (rows),
    not columns; `_make` and `_replace` are redefined so that they do not rely on it.
    """

    __slots__ = ()

    @classmethod
    def empty(cls) -> Bars:
        return cls(np.empty(0, np.int64), *(np.empty(0, np.float64) for _ in range(5)))

    @classmethod
    def from_arrays(
        cls,
        ts: npt.ArrayLike,
        open: npt.ArrayLike,
        high: npt.ArrayLike,
        low: npt.ArrayLike,
        close: npt.ArrayLike,
        volume: npt.ArrayLike,
    ) -> Bars:
        """Coerce to contiguous int64/float64 arrays of one length; ValueError otherwise."""

        def f64(a: npt.ArrayLike) -> F64:
            return np.ascontiguousarray(a, dtype=np.float64)

        out = cls(np.ascontiguousarray(ts, dtype=np.int64), f64(open), f64(high), f64(low),
                  f64(close), f64(volume))
        n = len(out.ts)
        if any(len(a) != n for a in out.columns):
            raise ValueError(f"bar columns differ in length: {[len(a) for a in out.columns]}")
        return out

    # mypy gives NamedTuple's synthesized `_make` a signature generic over a type variable
    # (`[_NT] (type[_NT], ...) -> _NT`) that no classmethod override can repeat.
    @classmethod
    def _make(cls, iterable: Iterable[Any]) -> Self:  # type: ignore[override]
        """Bars from six columns (NamedTuple's own `_make` checks `len() == 6`)."""
        columns = tuple(iterable)
        if len(columns) != len(COLUMNS):
            raise TypeError(f"Bars takes {len(COLUMNS)} columns, got {len(columns)}")
        return tuple.__new__(cls, columns)

    def _replace(self, **changes: Any) -> Self:
        """A copy with the named columns replaced (NamedTuple's own checks `len() == 6`)."""
        unknown = set(changes) - set(COLUMNS)
        if unknown:
            raise ValueError(f"Bars has no column {sorted(unknown)[0]!r}")
        return type(self)._make(changes.get(c, v) for c, v in zip(COLUMNS, self, strict=True))

    def __len__(self) -> int:
        """The number of bars (not of columns)."""
        return len(self.ts)

    @property
    def columns(self) -> Columns:
        """The six columns in `COLUMNS` order (what iterating over the bars gives)."""
        return self.ts, self.open, self.high, self.low, self.close, self.volume

    def slice(self, start: int, stop: int) -> Bars:
        return self._make(a[start:stop] for a in self.columns)

    def take(self, mask_or_index: npt.NDArray[Any]) -> Bars:
        return self._make(np.ascontiguousarray(a[mask_or_index]) for a in self.columns)

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
        return cls._make(
            np.concatenate(cols) for cols in zip(*(p.columns for p in parts), strict=True)
        )

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

