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
import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from mismartera.bars import Bar

if TYPE_CHECKING:
    from mismartera.intervals import Interval
    from mismartera.session.data import SessionData, SymbolSessionData


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


class BarTargets:
    """The per-bar callbacks of the `BarObserver`s, per symbol and interval (built once,
    cached), and the hand-out of closed bars to them. `streamed()`: the configured intervals
    (an internal base has no targets)."""

    def __init__(self, context: SessionContext, observers: list[BarObserver],
                 streamed: Callable[[], Iterable[Interval]]) -> None:
        self._context, self._observers, self._streamed = context, observers, streamed
        self._cache: dict[tuple[str, str], list[Any]] = {}

    def __call__(self, symbol: str, interval: str) -> list[Any]:
        """The per-bar callbacks that want `symbol`'s bars of `interval` (an observer may
        name the intervals it wants in `intervals`); an internal base has none."""
        key = (symbol, interval)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if all(interval != i.name for i in self._streamed()):
            targets = []
        else:
            targets = [functools.partial(o.on_bar, self._context, symbol, interval)
                       for o in self._observers
                       if (wanted := getattr(o, "intervals", None)) is None or interval in wanted]
        self._cache[key] = targets
        return targets

    def dispatch(self, symbol_data: SymbolSessionData, changed: list[tuple[str, int]]) -> None:
        """Hand each bar `changed` names (interval, count of new bars) to its callbacks."""
        for interval, n in changed:
            targets = self(symbol_data.symbol, interval)
            if not targets:
                continue
            arrays = symbol_data.bars[interval].data.arrays(n)
            for row in zip(*arrays, strict=True):
                bar = Bar(int(row[0]), *map(float, row[1:]))
                for target in targets:
                    target(bar)
