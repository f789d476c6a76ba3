"""Code that reacts to a running session: strategies, recorders, notebooks.

An observer is any object with some of these methods (all optional):

    on_session_start(ctx)                       once per trading day, before streaming
    on_bar(ctx, symbol, interval, bar)          each closed bar, in time order
    on_clock(ctx, now_ns)                       after each clock step (and at `stop_times`)
    on_session_end(ctx)                         once per trading day, after the close
    on_end(ctx)                                 once, after the last trading day

`ctx` is a `SessionContext`: the session's data, the clock, and `add_symbol` /
`remove_symbol`, applied between two clock steps. An observer with `on_bar` makes the
coordinator step bar by bar (it is a moment something can observe); without one, a whole
session is handed to the kernels in one call. Set `intervals = ("5m",)` on an observer to
receive only those intervals' bars.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from mismartera.bars import Bar
    from mismartera.session.data import SessionData


class SessionHost(Protocol):
    """What a `SessionContext` needs of the session it reports on (the coordinator)."""

    @property
    def session_data(self) -> SessionData: ...

    @property
    def now_ns(self) -> int: ...

    def add_symbol(self, symbol: str) -> None: ...

    def remove_symbol(self, symbol: str) -> None: ...


class SessionContext:
    """What observers see: read SessionData, ask for symbol changes."""

    def __init__(self, coordinator: SessionHost) -> None:
        self._coordinator = coordinator

    @property
    def session_data(self) -> SessionData:
        return self._coordinator.session_data

    @property
    def now_ns(self) -> int:
        return self._coordinator.now_ns

    def add_symbol(self, symbol: str) -> None:
        """Add a symbol between two clock steps (historical, indicators, quality, queue)."""
        self._coordinator.add_symbol(symbol)

    def remove_symbol(self, symbol: str) -> None:
        self._coordinator.remove_symbol(symbol)

    def add_indicator(self, spec: str) -> str:
        """Add a session indicator ("sma:period=20@5m") between two clock steps, seeded as
        at start-up; checked at once (a one-line UserError). Its export key."""
        add = getattr(self._coordinator, "add_indicator", None)
        if add is None:
            raise TypeError(f"{type(self._coordinator).__name__} cannot add indicators")
        return str(add(spec))


Observer = object
"""An observer: any object with some of `on_session_start(ctx)`, `on_bar(ctx, symbol,
interval, bar)`, `on_clock(ctx, now_ns)` (after every clock step, the steps at the run's
`stop_times` included), `on_session_end(ctx)` and `intervals` (all optional, so any object
is one; `BarObserver` is the one with `on_bar`)."""


@runtime_checkable
class BarObserver(Protocol):
    """An observer that wants every closed bar (of `intervals`, when it sets them)."""

    def on_bar(self, ctx: SessionContext, symbol: str, interval: str, bar: Bar) -> None: ...


class Component(Protocol):
    """A per-day component of the pipeline (processor, indicators, quality, scanners): set
    up before each session day's first step, torn down after its close."""

    def setup(self, session_date: datetime.date) -> None: ...

    def teardown(self) -> None: ...
