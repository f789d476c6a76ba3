"""DataProcessor: base bars into SessionData, and derived bars closed from them."""

from __future__ import annotations

from mismartera.bars import Bars
from mismartera.session.data import SymbolSessionData


class DataProcessor:
    """Appends base bars and closes derived bars with each interval's streaming aggregator.

    Stateless between calls: the aggregators live in each `BarIntervalData`, so the
    processor never holds a symbol list of its own."""

    def setup(self, session_date) -> None:  # noqa: ARG002 - component protocol
        pass

    def teardown(self) -> None:
        pass

    def deliver(self, symbol_data: SymbolSessionData, bars: Bars, now_ns: int) -> list[tuple[str, int]]:
        """Add closed base `bars` (already filtered to the session) and close every derived
        bar whose bucket ended by `now_ns`. Returns (interval name, new closed bar count) for
        each interval that got bars, base first."""
        changed: list[tuple[str, int]] = []
        n = len(bars.ts)
        if n:
            base = symbol_data.base
            base.data.extend(*bars)
            base.tracker.add_many(bars.ts)
            base.updated = True
            symbol_data.metrics.add(bars)
            symbol_data.metrics.last_update = int(bars.ts[-1]) + symbol_data.base_interval.ns
            changed.append((base.interval.name, n))
        for interval_data in symbol_data.bars.values():
            agg = interval_data.aggregator
            if agg is None:
                continue
            closed = agg.feed(*bars) if n else 0
            closed += agg.close_until(now_ns)
            if closed:
                out = agg.pop_closed()
                interval_data.data.extend(*out)
                interval_data.tracker.add_many(out[0])
                interval_data.updated = True
                changed.append((interval_data.interval.name, closed))
        return changed
