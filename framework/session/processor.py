"""DataProcessor: base bars into SessionData, and derived bars closed from them."""

from __future__ import annotations

from mismartera.bars import Bars
from mismartera.session.data import SymbolSessionData


def changes(symbol_data: SymbolSessionData) -> list[tuple[str, int]]:
    """What the symbol's pipeline closed in its last call: (interval name, new bar count)
    for each interval that got bars, base first; marks those intervals `updated`."""
    changed: list[tuple[str, int]] = []
    for interval_data, n in zip(symbol_data.bars_in_pipeline_order,
                                symbol_data.pipeline.closed.tolist(), strict=False):
        if n:
            interval_data.updated = True
            changed.append((interval_data.name, n))
    return changed


class DataProcessor:
    """Delivers base bars and closes derived bars through each symbol's compiled pipeline
    (the aggregators, rings and gap trackers live in SessionData; the processor keeps no
    symbol state)."""

    def setup(self, session_date) -> None:  # component protocol
        pass

    def teardown(self) -> None:
        pass

    def advance(
        self, symbol_data: SymbolSessionData, now_ns: int
    ) -> tuple[int, list[tuple[str, int]]]:
        """Deliver the symbol's queued base bars closed by `now_ns` and close derived bars
        ended by then; returns (base bars delivered, changes)."""
        n = symbol_data.pipeline.advance(now_ns)
        return n, changes(symbol_data)

    def deliver(
        self, symbol_data: SymbolSessionData, bars: Bars, now_ns: int
    ) -> list[tuple[str, int]]:
        """Add closed base `bars` that did not come from the queue (already filtered to the
        session, in time order) and close every derived bar whose bucket ended by `now_ns`."""
        symbol_data.pipeline.feed(*bars, now_ns)
        return changes(symbol_data)
