"""Historical indicators: a trailing statistic of one bar field over past sessions.

`trailing_avg`, `trailing_max` and `trailing_min` over a period (`10d` trading days, `52w`,
`3m`, `1y`: the exact window of trading days before the session, by calendar dates) of
`open`, `high`, `low`, `close` or `volume`:

- `granularity = "daily"`: one value per day, from the day's bar (the session aggregated
  like a `1d` bar: first open, highest high, lowest low, last close, total volume), e.g.
  the average daily volume over 10 days or the 52-week high.
- `granularity = "intraday"`: a profile over the time of day, bucket k being the base
  bars that start k base intervals after their session's open (the same clock time every
  day, across DST), the statistic taken over the days that have a bar there, e.g. the
  average volume at 10:05 over the last 10 days. Its `value` follows the session: the
  profile at the bucket of the last closed base bar.

Days without bars add nothing (no value is invented). Each is computed once per session
from the symbol's historical bars into `SymbolSessionData.historical.indicators[spec.key]`,
a dict in the export shape that also carries, in memory, the per-day values (`dates`,
`daily`) or the profile (`profile`, `counts`).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mismartera.bars import Bars
from mismartera.ext.aggregate import aggregate_bars
from mismartera.intervals import Interval

if TYPE_CHECKING:
    from mismartera.calendar import TimeManager
    from mismartera.config import HistoricalIndicatorSpec
    from mismartera.session.data import HistoricalData, SessionData, SymbolSessionData

DAY = Interval.parse("1d")


class HistoricalValue(dict):
    """One historical indicator's export entry (a plain dict in JSON) with its numbers.

    daily:    `dates` (days with data) and `daily` (their field values)
    intraday: `profile` (statistic per bucket, NaN where no day has a bar), `counts` (days
              with a bar per bucket), `base_ns` and `open_ns` (today's session open)
    """

    __slots__ = ("base_ns", "bucket", "counts", "daily", "dates", "label", "open_ns",
                 "profile")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dates: list[datetime.date] = []
        self.daily: npt.NDArray[np.float64] | None = None
        self.profile: npt.NDArray[np.float64] | None = None
        self.counts: npt.NDArray[np.int64] | None = None
        self.base_ns = 0
        self.open_ns = 0
        self.bucket = -1
        self.label: Any = None  # formats a bucket start (ns) for the export

    def at(self, ts_ns: int) -> float:
        """Intraday: the profile's value for the bucket holding `ts_ns` (NaN if none)."""
        if self.profile is None:
            raise ValueError(f"{self.get('name')} is a daily historical indicator")
        k = (ts_ns - self.open_ns) // self.base_ns
        return float(self.profile[k]) if 0 <= k < len(self.profile) else float("nan")

    def following(self, last_ts: int) -> HistoricalValue:
        """A copy whose `value` is the profile at the bucket of the base bar `last_ts`."""
        k = (last_ts - self.open_ns) // self.base_ns
        out = HistoricalValue(self)
        for name in self.__slots__:
            setattr(out, name, getattr(self, name))
        out.bucket = k
        value = float(self.profile[k]) if self.profile is not None and 0 <= k < len(
            self.profile) else float("nan")
        out["value"] = None if value != value else value
        start = self.open_ns + k * self.base_ns
        out["bucket"] = self.label(start) if self.label is not None else start
        return out


def _stat(name: str, values: npt.NDArray[np.float64]) -> float:
    if name == "trailing_avg":
        return float(np.mean(values))
    if name == "trailing_max":
        return float(np.max(values))
    return float(np.min(values))


def _window(hist: HistoricalData, base_name: str, days: list[datetime.date]
            ) -> tuple[list[datetime.date], Bars]:
    """The window's days that history holds (a suffix of `hist.days`) and their base bars."""
    held = set(hist.days)
    window = [d for d in days if d in held]
    bars = hist.bars.get(base_name)
    if not window or bars is None:
        return [], Bars.empty()
    first = hist.days.index(window[0])
    rows = hist.day_index[base_name]
    return window, bars.slice(int(rows[first]), int(rows[hist.days.index(window[-1]) + 1]))


def _sessions(hist: HistoricalData, days: list[datetime.date]) -> tuple[np.ndarray, np.ndarray]:
    opens = np.array([hist.sessions[d][0] for d in days], dtype=np.int64)
    closes = np.array([hist.sessions[d][1] for d in days], dtype=np.int64)
    return opens, closes


def daily(spec: HistoricalIndicatorSpec, hist: HistoricalData, base: Interval,
          days: list[datetime.date]) -> HistoricalValue:
    """The statistic over one value per day (the day's bar's field)."""
    window, bars = _window(hist, base.name, days)
    entry = _entry(spec, days)
    if not window:
        return entry
    opens, closes = _sessions(hist, window)
    if base.name == DAY.name:
        day_bars = bars
    else:
        day_bars = Bars(*aggregate_bars(*bars, opens, closes, DAY.ns))
    which = np.searchsorted(opens, day_bars.ts, side="right") - 1
    values = np.ascontiguousarray(getattr(day_bars, spec.field), dtype=np.float64)
    entry.dates = [window[int(i)] for i in which]
    entry.daily = values
    if len(values):
        entry["value"] = _stat(spec.name, values)
    entry["days"] = len(values)
    return entry


def intraday(spec: HistoricalIndicatorSpec, hist: HistoricalData, base: Interval,
             days: list[datetime.date], open_ns: int, label: Any = None) -> HistoricalValue:
    """The statistic per time-of-day bucket across the days; `value` follows the session."""
    window, bars = _window(hist, base.name, days)
    entry = _entry(spec, days)
    entry.base_ns, entry.open_ns, entry.label = base.ns, open_ns, label
    entry["bucket"] = None
    if window:
        opens, closes = _sessions(hist, window)
        length = int((-(-(closes - opens) // base.ns)).max())
        day = np.searchsorted(opens, bars.ts, side="right") - 1
        k = (bars.ts - opens[day]) // base.ns
        values = getattr(bars, spec.field)
        counts = np.bincount(k, minlength=length).astype(np.int64)
        if spec.name == "trailing_avg":
            with np.errstate(invalid="ignore", divide="ignore"):
                profile = np.bincount(k, weights=values, minlength=length) / counts
        else:
            fill, reduce = ((-np.inf, np.maximum) if spec.name == "trailing_max"
                            else (np.inf, np.minimum))
            profile = np.full(length, fill)
            reduce.at(profile, k, values)
        profile[counts == 0] = np.nan
        entry.profile, entry.counts = profile, counts
        entry["days"] = len(np.unique(day))
    else:
        entry.profile, entry.counts = np.empty(0), np.empty(0, np.int64)
    entry["profile_length"] = len(entry.profile)
    return entry


def _entry(spec: HistoricalIndicatorSpec, days: list[datetime.date]) -> HistoricalValue:
    return HistoricalValue({
        "name": spec.name, "field": spec.field, "period": str(spec.period),
        "granularity": spec.granularity, "value": None, "days": 0,
        "first_day": days[0].isoformat() if days else None,
        "last_day": days[-1].isoformat() if days else None,
    })


def compute_all(specs: Iterable[HistoricalIndicatorSpec], session_data: SessionData,
                symbol_data: SymbolSessionData, calendar: TimeManager) -> None:
    """Compute every historical indicator of one symbol for the current session."""
    hist = symbol_data.historical
    for spec in specs:
        try:
            today = session_data.today
            days = calendar.trading_days_in_period(today.date, spec.period)
            if spec.granularity == "daily":
                entry = daily(spec, hist, symbol_data.base_interval, days)
            else:
                entry = intraday(spec, hist, symbol_data.base_interval, days,
                                 today.open_ns, calendar.format_ts)
        except Exception as exc:
            lines = str(exc).strip().splitlines()
            reason = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
            message = f"{symbol_data.symbol}: historical indicator {spec.key} failed: {reason}"
            symbol_data.record_error(message)
            entry = _entry(spec, [])
            entry["error"] = message
        hist.indicators[spec.key] = entry
    follow_clock(symbol_data)


def follow_clock(symbol_data: SymbolSessionData) -> None:
    """Point each intraday historical indicator at the bucket of the last closed base bar
    (entries are replaced, never changed, so a snapshot taken earlier stays as it was)."""
    ring = symbol_data.base.data
    if not len(ring):
        return
    last = ring.ts_last
    indicators = symbol_data.historical.indicators
    for key, entry in indicators.items():
        if (isinstance(entry, HistoricalValue) and entry.profile is not None and entry.base_ns
                and (last - entry.open_ns) // entry.base_ns != entry.bucket):
            indicators[key] = entry.following(last)
