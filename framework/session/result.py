"""`RunResult`: the whole run in Python, what `run_backtest` returns.

Each day is collected at the day's end (`RunCollector.day_end`, wired into the coordinator's
`on_day_end`): every symbol's bars of each stream interval, the session indicators' values
beside them, and each interval's quality and gaps. The columns are numpy arrays in dicts
(`Columns`, whose `to_pandas()` builds a DataFrame when pandas is installed); timestamps are
UTC `datetime64[ns]` bar starts, as in `StrategyResult`. A long run does not stay in memory:
once the held columns pass `spill_bytes` they are written to Parquet files (through duckdb)
under a temporary directory, read back on demand and removed with the result (`close()`,
or when it is garbage-collected).

Everything else — `result["SPY"]`, `result.strategy`, `result.metrics`, iteration — is the
last day's SessionData (`result.session_data`).
"""

from __future__ import annotations

import datetime
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mismartera.bars import COLUMNS
from mismartera.session.data import SessionData, SymbolSessionData
from mismartera.session.indicators.state import indicator_arrays

DEFAULT_SPILL_BYTES = 256 * 2**20
"""Columns held in memory before they go to Parquet files (256 MiB)."""

_IND = "ind:"  # prefix of an indicator column in a stored (symbol, interval) chunk
_TIME_COLUMNS = ("ts", "start", "end")


class Columns(dict[str, np.ndarray]):
    """Named numpy columns of one length; `pandas.DataFrame(columns)` works as well."""

    def to_pandas(self, tz: str | None = None, index: str | None = "ts"):
        """A pandas DataFrame (pandas is imported only here); times are UTC, converted to
        `tz` when given; `index` (default `ts`, when present) becomes the index."""
        import pandas as pd

        frame = pd.DataFrame({k: v for k, v in self.items()})
        for name in _TIME_COLUMNS:
            if name in frame.columns:
                stamps = pd.to_datetime(frame[name], utc=True)
                frame[name] = stamps.dt.tz_convert(tz) if tz else stamps
        if index is not None and index in frame.columns:
            frame = frame.set_index(index)
        return frame

    @property
    def rows(self) -> int:
        """How many rows."""
        return len(next(iter(self.values()))) if self else 0


def _concat(chunks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Chunks joined row-wise; a column missing from a chunk is NaN there (an indicator
    added during the run)."""
    names = list(dict.fromkeys(name for chunk in chunks for name in chunk))
    out: dict[str, np.ndarray] = {}
    for name in names:
        parts = []
        for chunk in chunks:
            if name in chunk:
                parts.append(chunk[name])
            else:
                n = len(next(iter(chunk.values()))) if chunk else 0
                parts.append(np.full(n, np.nan))
        out[name] = np.concatenate(parts) if parts else np.empty(0)
    return out


class RunCollector:
    """Collects each day of a run at the day's end; spills to Parquet past `spill_bytes`
    (None: never; 0: every day)."""

    def __init__(self, spill_bytes: int | None = DEFAULT_SPILL_BYTES) -> None:
        self.spill_bytes = spill_bytes
        self.days: list[datetime.date] = []
        self._chunks: dict[tuple[str, str], list[dict[str, np.ndarray]]] = {}
        self._files: dict[tuple[str, str], list[Path]] = {}
        self._held = 0
        self._quality: list[tuple[Any, ...]] = []
        self._gaps: list[tuple[Any, ...]] = []
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._spills = 0

    # --- collecting ------------------------------------------------------------------------

    def day_end(self, coordinator: Any, day: datetime.date) -> None:
        """The coordinator's `on_day_end`: collect the day that just ended."""
        self.collect(coordinator.session_data)

    def collect(self, session_data: SessionData) -> None:
        with session_data.lock:
            day = session_data.today.date
            self.days.append(day)
            for s in session_data:
                for name, iv in s.stream_bars().items():
                    arrays = iv.data.arrays()
                    chunk = dict(zip(COLUMNS, arrays, strict=True))
                    for key, values in indicator_arrays(s.indicators, name, arrays[0]).items():
                        chunk[_IND + key] = values
                    self._chunks.setdefault((s.symbol, name), []).append(chunk)
                    self._held += sum(a.nbytes for a in chunk.values())
                    gaps = iv.gaps
                    self._quality.append((day, s.symbol, name, float(iv.quality), len(arrays[0]),
                                          len(gaps), sum(g.bar_count for g in gaps)))
                    self._gaps += [(day, s.symbol, name, g.start, g.end, g.bar_count)
                                   for g in gaps]
        if self.spill_bytes is not None and self._held > self.spill_bytes:
            self.spill()

    def spill(self) -> None:
        """Write the held columns to Parquet files under the temporary directory."""
        import duckdb

        if not self._chunks:
            return
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="mismartera-run-")
        con = duckdb.connect()
        try:
            for key, chunks in self._chunks.items():
                held = _concat(chunks)  # noqa: F841 - read by duckdb's replacement scan
                self._spills += 1
                path = Path(self._tmp.name) / f"{self._spills}.parquet"
                con.execute("COPY (SELECT * FROM held) TO ? (FORMAT parquet)", [str(path)])
                self._files.setdefault(key, []).append(path)
        finally:
            con.close()
        self._chunks.clear()
        self._held = 0

    @property
    def spilled(self) -> list[Path]:
        """The Parquet files written so far."""
        return [p for files in self._files.values() for p in files]

    def close(self) -> None:
        """Remove the temporary directory (the spilled columns are gone after this)."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self._files.clear()

    # --- reading ---------------------------------------------------------------------------

    def series(self) -> list[tuple[str, str]]:
        return list(dict.fromkeys([*self._files, *self._chunks]))

    def table(self, symbol: str, interval: str) -> dict[str, np.ndarray] | None:
        key = (symbol, interval)
        if key not in self._files and key not in self._chunks:
            return None
        parts: list[dict[str, np.ndarray]] = []
        if key in self._files:
            import duckdb

            con = duckdb.connect()
            try:
                for path in self._files[key]:
                    got = con.execute("SELECT * FROM read_parquet(?)", [str(path)]).fetchnumpy()
                    parts.append({k: _unmask(v) for k, v in got.items()})
            finally:
                con.close()
        parts += self._chunks.get(key, [])
        return _concat(parts)

    def quality_rows(self) -> list[tuple[Any, ...]]:
        return self._quality

    def gap_rows(self) -> list[tuple[Any, ...]]:
        return self._gaps


def _unmask(values: Any) -> np.ndarray:
    """A column read back from Parquet: duckdb stores NaN as NULL, which reads back masked."""
    if isinstance(values, np.ma.MaskedArray):
        return np.ma.filled(values.astype(np.float64), np.nan)
    return np.asarray(values)


def _stamps(ns: np.ndarray) -> np.ndarray:
    return np.asarray(ns, dtype=np.int64).astype("datetime64[ns]")


class RunResult:
    """The whole run: `bars(symbol, interval)`, `indicators(symbol, interval)`, `quality()`
    and `gaps()` span every day as `Columns`; anything else is the last day's SessionData
    (`result["SPY"]`, `result.strategy`, `result.metrics`, `for s in result`)."""

    def __init__(self, session_data: SessionData, collector: RunCollector) -> None:
        self.session_data = session_data
        self._collector = collector

    @property
    def days(self) -> list[datetime.date]:
        """The session days collected, in order."""
        return list(self._collector.days)

    def _resolve(self, symbol: str, interval: str | None) -> tuple[str, str]:
        sym = symbol.upper()
        keys = self._collector.series()
        if interval is None:
            names = [i for s, i in keys if s == sym]
            if not names:
                raise KeyError(f"no bars of {symbol} in this run")
            return sym, names[0]
        if (sym, interval) not in keys:
            have = ", ".join(f"{s}@{i}" for s, i in keys) or "none"
            raise KeyError(f"no bars of {symbol} at {interval} in this run (have: {have})")
        return sym, interval

    def bars(self, symbol: str, interval: str | None = None) -> Columns:
        """Every bar of the run: `ts` (UTC datetime64[ns] bar start), open, high, low, close,
        volume; `interval` defaults to the symbol's smallest stream."""
        table = self._collector.table(*self._resolve(symbol, interval))
        assert table is not None
        out = Columns({"ts": _stamps(table["ts"])})
        for name in COLUMNS[1:]:
            out[name] = table[name]
        return out

    def indicators(self, symbol: str, interval: str | None = None) -> Columns:
        """The session indicators of the interval beside its bars (one row per bar of
        `bars(symbol, interval)`): `ts`, then one float64 column per indicator key
        (`KEY.OUTPUT` for a multi-output one), NaN while not ready."""
        table = self._collector.table(*self._resolve(symbol, interval))
        assert table is not None
        out = Columns({"ts": _stamps(table["ts"])})
        for name, values in table.items():
            if name.startswith(_IND):
                out[name[len(_IND):]] = np.asarray(values, dtype=np.float64)
        return out

    def quality(self, symbol: str | None = None, interval: str | None = None) -> Columns:
        """One row per day, symbol and stream interval: `date`, `symbol`, `interval`,
        `quality` (percent at the day's end), `bars`, `gap_count`, `missing_bars`."""
        rows = [r for r in self._collector.quality_rows() if _wanted(r, symbol, interval)]
        names = ("date", "symbol", "interval", "quality", "bars", "gap_count", "missing_bars")
        kinds: tuple[Any, ...] = ("datetime64[D]", object, object, np.float64, np.int64,
                                  np.int64, np.int64)
        return _table(names, kinds, rows)

    def gaps(self, symbol: str | None = None, interval: str | None = None) -> Columns:
        """One row per run of missing bars: `date`, `symbol`, `interval`, `start` and `end`
        (the first and last missing bucket starts, UTC datetime64[ns]), `bar_count`."""
        rows = [r for r in self._collector.gap_rows() if _wanted(r, symbol, interval)]
        names = ("date", "symbol", "interval", "start", "end", "bar_count")
        kinds = ("datetime64[D]", object, object, "datetime64[ns]", "datetime64[ns]", np.int64)
        rows = [(*r[:3], np.datetime64(r[3], "ns"), np.datetime64(r[4], "ns"), r[5])
                for r in rows]
        return _table(names, kinds, rows)

    @property
    def spilled(self) -> list[Path]:
        """The Parquet files the run's columns were spilled to (empty when they fit)."""
        return self._collector.spilled

    def close(self) -> None:
        """Remove the spilled files (bars and indicators of spilled days are gone after)."""
        self._collector.close()

    def __enter__(self) -> RunResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the last day's SessionData --------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("session_data", "_collector"):
            raise AttributeError(name)
        return getattr(self.session_data, name)

    def __getitem__(self, symbol: str) -> Any:
        return self.session_data[symbol]

    def __iter__(self) -> Iterator[SymbolSessionData]:
        return iter(self.session_data)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self.session_data

    def __len__(self) -> int:
        return len(self.session_data)

    def __repr__(self) -> str:
        days = self._collector.days
        span = f"{days[0]}..{days[-1]}" if days else "no days"
        return (f"RunResult({span}, {len(days)} days, symbols="
                f"{sorted({s for s, _ in self._collector.series()})})")


def _wanted(row: tuple[Any, ...], symbol: str | None, interval: str | None) -> bool:
    return ((symbol is None or row[1] == symbol.upper())
            and (interval is None or row[2] == interval))


def _table(names: tuple[str, ...], kinds: tuple[Any, ...], rows: list[tuple[Any, ...]]
           ) -> Columns:
    out = Columns()
    for j, (name, kind) in enumerate(zip(names, kinds, strict=True)):
        values = [r[j] for r in rows]
        if kind == "datetime64[D]":
            out[name] = np.array(values, dtype="datetime64[D]")
        elif kind == np.float64:
            out[name] = np.array([math.nan if v is None else v for v in values], np.float64)
        else:
            out[name] = np.array(values, dtype=kind)
    return out
