"""BarLoader: the coordinator's road to the data source.

Today's raw bars of a symbol, fetched `prefetch_days` trading days at a time, and the
trailing historical window of a symbol, where each held day is reused as the window moves
(only a day not yet held is fetched, aggregated and, when first read, gap-checked).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from mismartera.bars import Bars
from mismartera.calendar import TimeManager
from mismartera.ext.aggregate import aggregate_bars
from mismartera.ext.gaps import classify
from mismartera.intervals import Interval
from mismartera.session.data import SessionData, SymbolSessionData
from mismartera.sources import DataSource


class BarLoader:
    """Fetches bars for the coordinator. Operational state only: bars prefetched for
    coming days and the local-midnight bounds of days already seen."""

    def __init__(self, source: DataSource, calendar: TimeManager, prefetch_days: int = 1) -> None:
        self.source = source
        self.calendar = calendar
        self.prefetch_days = prefetch_days
        self.days: list[datetime.date] = []  # the run's trading days (prefetch windows)
        self._prefetched: dict[datetime.date, dict[str, Bars]] = {}  # day -> symbol -> bars
        self._midnights: dict[datetime.date, tuple[int, int]] = {}
        self._windows: dict[tuple[datetime.date, int], tuple[list, dict]] = {}
        # today's bars come from the source (a backtest), so the first history fetch takes
        # today's prefetch window along; False when a feed brings them (live)
        self.queue_from_source = True

    def forget_until(self, day: datetime.date) -> None:
        """Drop prefetched bars of `day` and earlier (a new day starts)."""
        for d in [d for d in self._prefetched if d <= day]:
            del self._prefetched[d]

    def day_bounds(self, day: datetime.date) -> tuple[int, int]:
        """[local midnight, next local midnight) of `day`, as ns."""
        bounds = self._midnights.get(day)
        if bounds is None:
            bounds = self._midnights[day] = (
                self.calendar.local_ns(day, 0, 0),
                self.calendar.local_ns(day + datetime.timedelta(days=1), 0, 0))
        return bounds

    def fetch_days(self, symbol: str, interval: Interval, days: Sequence[datetime.date]) -> dict:
        """Raw source bars of `days` (consecutive trading days) in one call, split per day."""
        start, _ = self.day_bounds(days[0])
        _, end = self.day_bounds(days[-1])
        bars = self.source.bars(symbol, interval, start, end)
        bounds = np.array([self.day_bounds(d)[0] for d in days] + [end], dtype=np.int64)
        cuts = np.searchsorted(bars.ts, bounds, side="left")
        return {d: bars.slice(int(cuts[k]), int(cuts[k + 1])) for k, d in enumerate(days)}

    def day_bars(self, symbol: str, interval: Interval, day: datetime.date) -> Bars:
        """Today's raw bars, fetched `prefetch_days` trading days at a time."""
        held = self._prefetched.get(day)
        if held is None or symbol not in held:
            self._fetch(symbol, interval, [], day)
            held = self._prefetched[day]
        return held.pop(symbol)

    def _fetch(self, symbol: str, interval: Interval, history: list[datetime.date],
               day: datetime.date | None) -> dict[datetime.date, Bars]:
        """The raw bars of the `history` days (consecutive trading days), and, when `day`
        is given, of the prefetch window from `day` on (kept for `day_bars`), in one call."""
        window: list[datetime.date] = []
        if day is not None:
            i = self.days.index(day) if day in self.days else -1
            window = self.days[i:i + self.prefetch_days] if i >= 0 else [day]
        fetched = self.fetch_days(symbol, interval, history + window)
        for d in window:
            self._prefetched.setdefault(d, {})[symbol] = fetched.pop(d)
        return fetched

    def load_history(self, symbol_data: SymbolSessionData, day: datetime.date, n: int,
                     seed: int = 0) -> SeedHistory | None:
        """The `n` trading days before `day` into the symbol's historical data: reuse the
        days already held, fetch the rest (contiguous runs in one call each; the run that
        ends the day before `day` brings today's prefetch window along).

        With `seed` > n, the `seed` days before `day` are fetched in the same calls and
        returned as a `SeedHistory` (what indicators are seeded with at their first
        appearance); only the last `n` of them are kept."""
        hist = symbol_data.historical
        wanted = max(n, seed)
        if wanted == 0:
            hist.clear()
            return None
        days, sessions = self._window(day, wanted)
        held = hist.day_bars
        for d in [d for d in held if d not in days]:
            del held[d]
            hist.day_quality.pop(d, None)
        missing = [d for d in days if d not in held]
        runs: list[list[datetime.date]] = []  # contiguous missing days: one fetch each
        for d in missing:
            if runs and days.index(d) == days.index(runs[-1][-1]) + 1:
                runs[-1].append(d)
            else:
                runs.append([d])
        for run in runs:
            # the run that ends just before `day` comes with today's prefetch window
            today = day if (self.queue_from_source and run[-1] == days[-1]
                            and symbol_data.symbol not in self._prefetched.get(day, ())) else None
            for d, raw in self._fetch(symbol_data.symbol, symbol_data.base_interval, run,
                                      today).items():
                held[d] = self.day_record(symbol_data, raw, d)
        names = list(symbol_data.bars)
        seeds = SeedHistory(days, *_stacked(held, days, names)) if seed > n else None
        kept = days[len(days) - n:] if n else []
        for d in days[:len(days) - n]:
            del held[d]
            hist.day_quality.pop(d, None)
        hist.days = list(kept)
        hist.sessions = {d: sessions[d] for d in kept}
        hist.bars, hist.day_index = _stacked(held, kept, names)
        return seeds

    def _window(self, day: datetime.date, n: int) -> tuple[list[datetime.date], dict]:
        """The `n` trading days before `day` and their sessions, worked out once a day for
        every symbol."""
        window = self._windows.get((day, n))
        if window is None:
            days = self.calendar.trading_days_before(day, n)
            self._windows = {k: v for k, v in self._windows.items() if k[0] == day}
            window = self._windows[(day, n)] = (days, {d: self.calendar.session(d)
                                                       for d in days})
        return window

    @staticmethod
    def keep_day(session_data: SessionData, day: datetime.date) -> None:
        """The day's session bars of every loaded symbol become a historical day for the
        next session, with no second fetch."""
        for symbol_data in session_data:
            if symbol_data.is_loaded:
                symbol_data.historical.day_bars[day] = {
                    name: iv.bars() for name, iv in symbol_data.bars.items()}

    def day_record(self, symbol_data: SymbolSessionData, raw: Bars,
                    day: datetime.date) -> dict[str, Bars]:
        """A fetched historical day: its in-session base bars and every derived interval."""
        hours = self.calendar.session(day)
        if hours is None:
            raise ValueError(f"{day} is not a {self.calendar.exchange} trading day")
        open_ns, close_ns = hours
        base = symbol_data.base_interval
        opens, closes = np.array([open_ns], np.int64), np.array([close_ns], np.int64)
        mask = classify(raw.ts, opens, closes, base.ns, *raw[1:])[0]
        bars = raw if mask.all() else raw.take(mask)
        return {name: bars if not iv.derived else
                Bars(*aggregate_bars(*bars, opens, closes, iv.interval.ns))
                for name, iv in symbol_data.bars.items()}


class SeedHistory(NamedTuple):
    """Trailing days of bars (per interval, one `Bars` and a day index, as in
    `HistoricalData`) that indicators are seeded with at their first appearance."""

    days: list[datetime.date]
    bars: dict[str, Bars]
    day_index: dict[str, np.ndarray]


def _stacked(held: dict[datetime.date, dict[str, Bars]], days: list[datetime.date],
             names: list[str]) -> tuple[dict[str, Bars], dict[str, np.ndarray]]:
    """Per interval, the bars of `days` in one `Bars`, and the row where each day starts
    (plus one past the last row)."""
    bars, index = {}, {}
    for name in names:
        parts = [held[d][name] for d in days]
        bars[name] = Bars.concat(parts)
        index[name] = np.cumsum([0] + [len(p.ts) for p in parts], dtype=np.int64)
    return bars, index
