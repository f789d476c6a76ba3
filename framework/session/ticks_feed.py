"""Trades and quotes of a backtest (`[streams] ticks` / `quotes`): each symbol's queue is
filled when its session loads and released into `.ticks` / `.quotes` as the clock reaches
the records. Functions over what they are given; the coordinator calls them."""

from __future__ import annotations

from mismartera.config import SessionConfig
from mismartera.session.data import SessionData, SymbolSessionData
from mismartera.sources import DataSource, TickHistorySource


def load_ticks(symbol_data: SymbolSessionData, config: SessionConfig, source: DataSource,
               session_data: SessionData, now_ns: int) -> None:
    """Today's trades and quotes (`[streams] ticks` / `quotes`) into the symbol's tick
    queue, released as the clock reaches them (those up to `now_ns` at once)."""
    kinds = [k for k in ("ticks", "quotes") if getattr(config, k)]
    if not kinds:
        return
    today = session_data.today
    if not isinstance(source, TickHistorySource):
        symbol_data.record_error(f"{symbol_data.symbol}: source {source.name} has no "
                                 f"{' or '.join(kinds)}")
        return
    for kind in kinds:
        records = source.tick_records(symbol_data.symbol, kind, today.open_ns, today.close_ns)
        symbol_data.queue_ticks(records)
    symbol_data.release_ticks(now_ns)


def release_ticks(session_data: SessionData, t: int) -> None:
    """The queued trades and quotes the clock has reached (`t`), into `.ticks` / `.quotes`."""
    for symbol_data in session_data:
        if symbol_data.tick_queue:
            symbol_data.release_ticks(t)
