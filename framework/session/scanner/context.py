"""What a scan sees, without look-ahead: `ClosedBarsSource` wraps the data source and answers
only with bars closed by `now_ns`; `DayCache` (backtest only) reads each symbol's bars of the
whole local day once and serves slices of them; `ScanContext` bundles the source view, the
session's times and data, and the entry's universe, with helpers for per-session bars.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from mismartera.bars import Bars
from mismartera.ext.gaps import classify
from mismartera.intervals import Interval

if TYPE_CHECKING:
    from mismartera.calendar import TimeManager
    from mismartera.session.data import SessionData
    from mismartera.sources import DataSource

_WEEK_NS = 7 * 86_400 * 1_000_000_000


# --- what a scan sees ---------------------------------------------------------------------


class DayCache:
    """Backtest only: each symbol's bars of the whole local day (midnight to midnight), read
    from the source once and served in slices, so scanners that run every minute over a large
    universe do not ask the source again each time. `ClosedBarsSource` still cuts every
    answer at `now`; in a live session there is no cache (the source's day is still growing).
    """

    def __init__(self, source: DataSource, day_start: int, day_end: int, open_ns: int,
                 close_ns: int) -> None:
        self.source = source
        self.day_start, self.day_end = day_start, day_end
        self.open_ns, self.close_ns = open_ns, close_ns
        self._raw: dict[tuple[str, int], Bars] = {}
        self._session: dict[tuple[str, int], Bars] = {}

    def covers(self, start_ns: int, end_ns: int) -> bool:
        return self.day_start <= start_ns and end_ns <= self.day_end

    def raw(self, symbol: str, interval: Interval) -> Bars:
        key = (symbol, interval.ns)
        bars = self._raw.get(key)
        if bars is None:
            bars = self.source.bars(symbol, interval, self.day_start, self.day_end)
            if len(bars.ts) and (bars.ts[0] < self.day_start or bars.ts[-1] >= self.day_end):
                bars = bars.between(self.day_start, self.day_end)
            self._raw[key] = bars = _frozen(bars)
        return bars

    def session(self, symbol: str, interval: Interval) -> Bars:
        """The day's bars the session would accept (see `ScanContext.session_bars`)."""
        key = (symbol, interval.ns)
        bars = self._session.get(key)
        if bars is None:
            bars = _accepted(self.raw(symbol, interval), [self.open_ns], [self.close_ns],
                             interval)
            self._session[key] = bars = _frozen(bars)
        return bars


def _frozen(bars: Bars) -> Bars:
    """Read-only views of the columns: what the cache hands out cannot be changed."""
    views = []
    for column in bars.columns:
        view = column.view()
        view.flags.writeable = False
        views.append(view)
    return Bars._make(views)


def _accepted(raw: Bars, opens: npt.ArrayLike, closes: npt.ArrayLike,
              interval: Interval) -> Bars:
    """The bars inside the sessions that are valid, aligned and not repeated."""
    if not len(raw.ts):
        return raw
    mask = classify(raw.ts, np.asarray(opens, dtype=np.int64),
                    np.asarray(closes, dtype=np.int64), interval.ns, *raw[1:])[0]
    return raw if mask.all() else raw.take(mask)


class ClosedBarsSource:
    """A read-only view of a data source that answers only with bars closed by `now_ns`:
    an intraday bar `ts` is seen once `ts + interval <= now_ns`; a `1d` bar once its session
    has closed (bars of earlier days always); a `1w` bar once its week has ended."""

    def __init__(self, source: DataSource, now_ns: int, calendar: TimeManager,
                 close_ns: int, day_cache: DayCache | None = None) -> None:
        self._source = source
        self.name: str = getattr(source, "name", type(source).__name__)
        self.now_ns = int(now_ns)
        self._calendar = calendar
        self._close_ns = int(close_ns)
        self._cache = day_cache

    def symbols(self) -> list[str]:
        return list(self._source.symbols())

    def intervals(self, symbol: str) -> list[Interval]:
        return list(self._source.intervals(symbol))

    def limit(self, interval: Interval) -> int:
        """Bars of `interval` with `ts < limit` have closed by now."""
        if interval.is_intraday:
            return self.now_ns - interval.ns + 1
        today = self._calendar.date_of(self.now_ns)
        midnight = self._calendar.local_ns(today, 0, 0)
        if interval.name == "1d":
            if self.now_ns >= self._close_ns:
                return self._calendar.local_ns(today + datetime.timedelta(days=1), 0, 0)
            return midnight
        return midnight - _WEEK_NS + 1

    def bars(self, symbol: str, interval: Interval | str, start_ns: int, end_ns: int) -> Bars:
        """Bars of `symbol` with `start_ns <= ts < end_ns` that have closed by now."""
        iv = interval if isinstance(interval, Interval) else Interval.parse(interval)
        start, end = int(start_ns), min(int(end_ns), self.limit(iv))
        if end <= start:
            return Bars.empty()
        cache = self._cache
        if cache is not None and iv.is_intraday and cache.covers(start, end):
            return cache.raw(symbol, iv).between(start, end)
        bars = self._source.bars(symbol, iv, start, end)
        if len(bars.ts) and (bars.ts[-1] >= end or bars.ts[0] < start_ns):
            bars = bars.between(int(start_ns), end)  # a source that answers too much
        return bars


@dataclass(frozen=True)
class ScanContext:
    """What a scan sees. Read `session_data`, never change it: ask through the ScanResult.

    `source` returns only bars closed by `now_ns` (no look-ahead); `universe` is the entry's
    `universe` or every symbol the source has; `added` the symbols this `[[scanners]]` entry
    added that are still in the session."""

    scanner: str
    date: datetime.date
    now_ns: int
    open_ns: int
    close_ns: int
    calendar: TimeManager
    source: ClosedBarsSource
    session_data: SessionData
    universe: tuple[str, ...]
    added: frozenset[str] = frozenset()
    _intervals: dict[str, Interval | None] = field(default_factory=dict, repr=False)

    def in_session(self, symbol: str) -> bool:
        """True when `symbol` is registered in the session."""
        return symbol in self.session_data

    def interval(self, symbol: str) -> Interval | None:
        """The smallest intraday interval the source has for `symbol` (None if none)."""
        if symbol not in self._intervals:
            have = [i for i in self.source.intervals(symbol) if i.is_intraday]
            self._intervals[symbol] = min(have) if have else None
        return self._intervals[symbol]

    def bars(self, symbol: str, start_ns: int, end_ns: int,
             interval: Interval | None = None) -> Bars:
        """Raw source bars of `symbol` (at `interval`, default `self.interval(symbol)`) with
        `start_ns <= ts < end_ns`, closed by now."""
        iv = interval or self.interval(symbol)
        if iv is None:
            return Bars.empty()
        return self.source.bars(symbol, iv, start_ns, end_ns)

    def session_bars(self, symbol: str, days: Sequence[datetime.date],
                     interval: Interval | None = None) -> list[Bars]:
        """Per trading day of `days` (ascending), the bars of `symbol` inside that session
        `[open, close)` that are valid, aligned to the open's grid and not repeated — what the
        session itself would accept — and closed by now. One source call for all the days."""
        iv = interval or self.interval(symbol)
        if iv is None or not iv.is_intraday or not days:
            return [Bars.empty() for _ in days]
        sessions = []
        for d in days:
            hours = self.calendar.session(d)
            if hours is None:
                raise ValueError(f"{d} is not a {self.calendar.exchange} trading day")
            sessions.append(hours)
        opens = np.array([s[0] for s in sessions], dtype=np.int64)
        closes = np.array([s[1] for s in sessions], dtype=np.int64)
        raw = _accepted(self.source.bars(symbol, iv, int(opens[0]), int(closes[-1])), opens,
                        closes, iv)
        cuts = np.searchsorted(raw.ts, opens, side="left")
        ends = np.searchsorted(raw.ts, closes, side="left")
        return [raw.slice(int(a), int(b)) for a, b in zip(cuts, ends, strict=True)]

    def today_bars(self, symbol: str, start_ns: int | None = None, end_ns: int | None = None,
                   interval: Interval | None = None) -> Bars:
        """Today's session bars of `symbol` with `start_ns <= ts < end_ns` (default: the
        whole session), filtered like `session_bars`, closed by now."""
        iv = interval or self.interval(symbol)
        start = self.open_ns if start_ns is None else max(int(start_ns), self.open_ns)
        end = self.close_ns if end_ns is None else min(int(end_ns), self.close_ns)
        if iv is None or not iv.is_intraday or end <= start:
            return Bars.empty()
        cache = self.source._cache
        if cache is not None:
            end = min(end, self.source.limit(iv))
            return cache.session(symbol, iv).between(start, end) if start < end else Bars.empty()
        return _accepted(self.source.bars(symbol, iv, start, end), [self.open_ns],
                         [self.close_ns], iv)

