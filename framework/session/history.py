"""The trailing sessions before the current one (`HistoricalData`) and the gap runs
(`GapInfo`) that quality reports, for the session and for history alike."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mismartera.bars import Bars
from mismartera.ext.gaps import find_gaps
from mismartera.intervals import Interval


@dataclass(frozen=True)
class GapInfo:
    """A maximal run of missing bucket starts: `start` and `end` are the first and last missing
    bucket starts (ns), `bar_count` the number of missing bars."""

    start: int
    end: int
    bar_count: int


@dataclass
class HistoricalData:
    """Trailing sessions before the current one: per interval, the bars of those days in one
    columnar `Bars` with a day index, plus the historical indicators computed from them."""

    days: list[datetime.date] = field(default_factory=list)
    # every held day's in-session bars per interval, and its quality per interval
    # (expected, missing, gaps): a new day is the only new work when the window moves
    day_bars: dict[datetime.date, dict[str, Bars]] = field(default_factory=dict)
    day_quality: dict[datetime.date, dict[str, tuple[int, int, list[GapInfo]]]] = field(
        default_factory=dict)
    bars: dict[str, Bars] = field(default_factory=dict)
    # interval -> row offset of each day in `bars` (len(days) + 1 entries)
    day_index: dict[str, np.ndarray] = field(default_factory=dict)
    sessions: dict[datetime.date, tuple[int, int]] = field(default_factory=dict)
    indicators: dict[str, dict[str, Any]] = field(default_factory=dict)
    _summary: tuple[dict[str, float], dict[str, list[GapInfo]]] | None = field(
        default=None, repr=False)

    @property
    def quality(self) -> dict[str, float]:
        """Interval -> quality of the held days, worked out when first read."""
        return self._summarise()[0]

    @property
    def gaps(self) -> dict[str, list[GapInfo]]:
        """Interval -> gap runs of the held days, worked out when first read."""
        return self._summarise()[1]

    def forget_quality(self) -> None:
        """The days changed: work quality and gaps out again when next read."""
        self._summary = None

    def _summarise(self) -> tuple[dict[str, float], dict[str, list[GapInfo]]]:
        if self._summary is None:
            quality: dict[str, float] = {}
            gaps: dict[str, list[GapInfo]] = {}
            if self.days:
                for name in self.bars:
                    quality[name], gaps[name] = self._interval_quality(name)
            self._summary = quality, gaps
        return self._summary

    def _interval_quality(self, name: str) -> tuple[float, list[GapInfo]]:
        """Quality and gaps of one interval over the held days; each day's once."""
        step = Interval.parse(name).ns
        expected = missing = 0
        runs: list[GapInfo] = []
        for d in self.days:
            per_day = self.day_quality.setdefault(d, {})
            if name not in per_day:
                open_ns, close_ns = self.sessions[d]
                starts, ends, counts = find_gaps(self.day_bars[d][name].ts,
                                                 np.array([open_ns], np.int64),
                                                 np.array([close_ns], np.int64), step)
                per_day[name] = (-(-(close_ns - open_ns) // step), int(counts.sum()),
                                 [GapInfo(int(a), int(b), int(c))
                                  for a, b, c in zip(starts, ends, counts, strict=True)])
            day_expected, day_missing, day_gaps = per_day[name]
            expected += day_expected
            missing += day_missing
            runs += day_gaps
        return (100.0 * (expected - missing) / expected if expected else 100.0), runs

    def day(self, interval: str, d: datetime.date) -> Bars:
        """The bars of one historical day at one interval."""
        i = self.days.index(d)
        offsets = self.day_index[interval]
        return self.bars[interval].slice(int(offsets[i]), int(offsets[i + 1]))

    def clear(self) -> None:
        self.days.clear()
        self.day_bars.clear()
        self.day_quality.clear()
        self.bars.clear()
        self.day_index.clear()
        self.sessions.clear()
        self.indicators.clear()
        self._summary = None
