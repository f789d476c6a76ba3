"""Rich tables for the shell: one per symbol for `data session`, a grid for `system status`.

Everything here works on the plain copies of `mismartera.shell.views`, never on live
session objects, and shows times in the exchange's zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from mismartera.calendar import TimeManager
from mismartera.shell.views import IndicatorView, SessionView, SymbolView, format_value


def local_time(calendar: TimeManager, ts_ns: int | None, with_date: bool = False) -> str:
    """`HH:MM:SS` (or `YYYY-MM-DD HH:MM:SS TZ`) in the exchange's zone; "-" for None."""
    if ts_ns is None:
        return "-"
    dt = calendar.to_local(ts_ns)
    return dt.strftime("%Y-%m-%d %H:%M:%S %Z") if with_date else dt.strftime("%H:%M")


def _seconds(calendar: TimeManager, ts_ns: int) -> str:
    """`HH:MM:SS.fff` in the exchange's zone (a trade's or quote's time)."""
    return calendar.to_local(int(ts_ns)).strftime("%H:%M:%S.%f")[:-3]


def _indicator_rows(table: Table, kind: str, items: Iterable[IndicatorView]) -> None:
    for ind in items:
        if ind.error:
            table.add_row(kind, Text(ind.key), Text(f"error: {ind.error}", style="red"))
            continue
        ready = "" if ind.ready is None else (" (ready)" if ind.ready else " (warming up)")
        table.add_row(kind, Text(ind.key), Text(format_value(ind.value) + ready))


def _gaps(count: int, missing: int) -> str:
    return "0" if not count else f"{count} ({missing} bars)"


def symbol_table(view: SymbolView, calendar: TimeManager) -> Group:
    """The bars of one symbol per interval (today's quality and gaps, then those of the held
    historical days), then its indicators and errors."""
    state = "loaded" if view.is_loaded else "NOT loaded"
    hist = (f"{len(view.historical_days)} historical days ({view.historical_days[0]}.."
            f"{view.historical_days[-1]})" if view.historical_days else "no historical days")
    table = Table(title=Text(f"{view.symbol} — base {view.base_interval}, {state}, {hist}"),
                  title_justify="left", expand=False)
    table.add_column("interval")
    table.add_column("from")
    table.add_column("bars", justify="right")
    table.add_column("last bar", justify="right")
    table.add_column("close", justify="right")
    table.add_column("quality", justify="right")
    table.add_column("gaps", justify="right")
    table.add_column("historical", justify="right")
    for iv in view.intervals:
        close = "-" if iv.last_close is None else f"{iv.last_close:,.4f}"
        gaps = _gaps(iv.gap_count, iv.missing_bars)
        hist = "-"
        if iv.historical_quality is not None:
            hist = (f"{iv.historical_quality:.2f}%, gaps "
                    f"{_gaps(iv.historical_gap_count, iv.historical_missing_bars)}")
        table.add_row(iv.name, iv.base or "stream", str(iv.bars),
                      local_time(calendar, iv.last_ts), close, f"{iv.quality:.2f}%", gaps, hist)
    parts: list[Any] = [table]
    if view.indicators or view.historical_indicators:
        indicators = Table(show_header=True, box=None, padding=(0, 2, 0, 0))
        indicators.add_column("indicators")
        indicators.add_column("name")
        indicators.add_column("value")
        _indicator_rows(indicators, "session", view.indicators)
        _indicator_rows(indicators, "historical", view.historical_indicators)
        parts.append(indicators)
    else:
        parts.append(Text("indicators: none"))
    if view.tick_count is not None:
        last = view.last_tick
        parts.append(Text(f"ticks: {view.tick_count}" + (
            "" if last is None else
            f", last {last[1]:,.4f} x {last[2]:g} at {_seconds(calendar, last[0])}")))
    if view.quote_count is not None:
        q = view.last_quote
        parts.append(Text(f"quotes: {view.quote_count}" + (
            "" if q is None else
            f", last {q[1]:,.4f} x {q[3]:g} / {q[2]:,.4f} x {q[4]:g} at "
            f"{_seconds(calendar, q[0])}")))
    for error in view.errors:
        parts.append(Text(f"error: {error}", style="red"))
    return Group(*parts)


def session_tables(view: SessionView, calendar: TimeManager) -> Group:
    """`data session`: a heading line, then one table per symbol."""
    when = "-"
    if view.date and view.now_ns is not None:
        when = calendar.to_local(view.now_ns).strftime("%H:%M:%S %Z")
    state = "active" if view.active else "not active"
    n = len(view.symbols)
    head = Text(f"{view.mode} session {view.date or '-'} ({state}), clock {when}, "
                f"{n} symbol{'s' if n != 1 else ''}")
    return Group(head, *(symbol_table(s, calendar) for s in view.symbols))


def key_values(rows: Iterable[tuple[str, str]]) -> Table:
    """A two-column grid: name, value (used by `system status`)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for key, value in rows:
        grid.add_row(key, Text(value))
    return grid
