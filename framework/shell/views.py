"""Plain copies of a running session's state, taken under `SessionData.lock`.

The shell copies what it shows while holding the lock (cheap: counts, the last bar, quality,
gap totals, indicator values) and renders the copy afterwards, so the coordinator is never
held up by the terminal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mismartera.session.data import SessionData, SymbolSessionData


@dataclass(frozen=True)
class IntervalView:
    name: str
    base: str | None  # the interval it is derived from; None for the streamed base
    bars: int
    last_ts: int | None  # start of the newest closed bar
    last_close: float | None
    quality: float
    gap_count: int
    missing_bars: int
    # over the held historical days (None: no historical days)
    historical_quality: float | None = None
    historical_gap_count: int = 0
    historical_missing_bars: int = 0


@dataclass(frozen=True)
class IndicatorView:
    key: str
    value: Any  # a number, or {output: number} for indicators with several outputs
    ready: bool | None  # None when the indicator does not say
    error: str | None = None


@dataclass(frozen=True)
class SymbolView:
    symbol: str
    base_interval: str
    is_loaded: bool
    intervals: tuple[IntervalView, ...]
    indicators: tuple[IndicatorView, ...]
    historical_days: tuple[str, ...]
    historical_indicators: tuple[IndicatorView, ...]
    volume: float
    errors: tuple[str, ...]
    # trades / quotes held (None when the session streams none), and the last of each:
    # (ts, price, size) / (ts, bid, ask, bid_size, ask_size)
    tick_count: int | None = None
    last_tick: tuple[Any, ...] | None = None
    quote_count: int | None = None
    last_quote: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class SessionView:
    exchange: str
    mode: str
    date: str | None
    active: bool
    now_ns: int | None
    symbols: tuple[SymbolView, ...]


def _indicator(key: str, state: Any) -> IndicatorView:
    doc = state.to_dict() if hasattr(state, "to_dict") else state
    if isinstance(doc, dict):
        ready = doc.get("ready")
        value = doc["values"] if "values" in doc else doc.get("value")
        return IndicatorView(key, value, None if ready is None else bool(ready), doc.get("error"))
    return IndicatorView(key, doc, None)


def _symbol(s: SymbolSessionData) -> SymbolView:
    intervals = []
    for name, iv in s.stream_bars().items():
        n = len(iv.data)
        last = iv.data.last() if n else None
        gaps = iv.gaps
        hist_quality = s.historical.quality.get(name)
        hist_gaps = s.historical.gaps.get(name, [])
        intervals.append(IntervalView(
            name=name, base=iv.base.name if iv.base is not None else None, bars=n,
            last_ts=int(last[0]) if last else None, last_close=float(last[4]) if last else None,
            quality=float(iv.quality), gap_count=len(gaps),
            missing_bars=sum(g.bar_count for g in gaps),
            historical_quality=None if hist_quality is None else float(hist_quality),
            historical_gap_count=len(hist_gaps),
            historical_missing_bars=sum(g.bar_count for g in hist_gaps)))
    hist = s.historical
    return SymbolView(
        symbol=s.symbol, base_interval=s.base_interval.name, is_loaded=s.is_loaded,
        intervals=tuple(intervals),
        indicators=tuple(_indicator(k, v) for k, v in s.indicators.items()),
        historical_days=tuple(d.isoformat() for d in hist.days),
        historical_indicators=tuple(_indicator(k, v) for k, v in hist.indicators.items()),
        volume=float(s.metrics.volume), errors=tuple(s.errors),
        tick_count=len(s.ticks) if s.ticks or "ticks" in s.tick_queue else None,
        last_tick=tuple(s.ticks[-1]) if s.ticks else None,
        quote_count=len(s.quotes) if s.quotes or "quotes" in s.tick_queue else None,
        last_quote=tuple(s.quotes[-1]) if s.quotes else None)


def session_view(session_data: SessionData, symbols: list[str] | None = None) -> SessionView:
    """Copy what `data session` shows (all symbols, or those named) under the lock."""
    with session_data.lock:
        wanted = [session_data.get(sym) for sym in symbols] if symbols else list(session_data)
        return SessionView(
            exchange=session_data.exchange, mode=session_data.mode,
            date=session_data.date.isoformat() if session_data.date else None,
            active=session_data.active, now_ns=session_data.now_ns,
            symbols=tuple(_symbol(s) for s in wanted if s is not None))


def format_value(value: Any) -> str:
    """An indicator value for a table cell: floats to 4 decimals, mappings as k=v."""
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value).lower()
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:,.4f}"
    if isinstance(value, dict):
        return " ".join(f"{k}={format_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v) for v in value)
    return str(value)
