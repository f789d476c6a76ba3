"""DataQualityManager: gaps and quality per symbol and interval, throttled by session time."""

from __future__ import annotations

import numpy as np

from mismartera.ext.gaps import find_gaps
from mismartera.session.data import GapInfo, SessionData, SymbolSessionData


class DataQualityManager:
    """Updates `quality` and `gaps` of every interval of every symbol in SessionData.

    Operational state only: the session time of the last update (for throttling)."""

    def __init__(self, interval_s: float = 60.0) -> None:
        self.interval_ns = int(interval_s * 1e9)
        self._last: int | None = None

    def setup(self, session_date) -> None:
        self._last = None

    def teardown(self) -> None:
        self._last = None

    def update(self, session_data: SessionData, now_ns: int, force: bool = False) -> bool:
        """Take quality as of `now_ns` if `interval_s` of session time passed since the last
        update (or `force`). Returns True when it ran."""
        if not force and self._last is not None and now_ns - self._last < self.interval_ns:
            return False
        self._last = now_ns
        for symbol_data in session_data:
            symbol_data.quality_clock.now = now_ns
        return True

    @staticmethod
    def update_symbol(session_data: SessionData, symbol_data: SymbolSessionData,
                      now_ns: int) -> None:
        """Take the symbol's quality as of `now_ns` afresh (worked out when read)."""
        symbol_data.take_quality(now_ns)

    @staticmethod
    def historical(symbol_data: SymbolSessionData) -> None:
        """Quality and gaps of the trailing historical days, per interval; each day's are
        worked out once and kept while the day stays in the window."""
        hist = symbol_data.historical
        for name, interval_data in symbol_data.bars.items():
            step = interval_data.interval.ns
            expected = missing = 0
            gaps: list[GapInfo] = []
            for d in hist.days:
                per_day = hist.day_quality.setdefault(d, {})
                if name not in per_day:
                    open_ns, close_ns = hist.sessions[d]
                    ts = hist.day_bars[d][name].ts
                    starts, ends, counts = find_gaps(ts, np.array([open_ns], np.int64),
                                                     np.array([close_ns], np.int64), step)
                    per_day[name] = (-(-(close_ns - open_ns) // step), int(counts.sum()),
                                     [GapInfo(int(a), int(b), int(c))
                                      for a, b, c in zip(starts, ends, counts, strict=True)])
                day_expected, day_missing, day_gaps = per_day[name]
                expected += day_expected
                missing += day_missing
                gaps += day_gaps
            if hist.days:
                hist.gaps[name] = gaps
                hist.quality[name] = 100.0 * (expected - missing) / expected if expected else 100.0
