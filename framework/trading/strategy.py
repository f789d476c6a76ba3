"""The strategy protocol: the `Strategy` base class and the `StrategyContext` it trades
through.

A strategy is a plain class with typed parameters (annotated class attributes, as
indicators have), the intervals whose closed bars it wants, the indicators it reads, and
callbacks. The session calls `on_bar` once per closed bar of each declared interval of each
symbol, after every base bar closing at that moment has been delivered and matched against
the pending orders; orders submitted from a callback wait for the symbol's next base bar.
Exported as `mismartera.Strategy`; see docs/strategies.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from mismartera.intervals import Interval
from mismartera.params import Parametrized

if TYPE_CHECKING:
    import datetime

    from mismartera.bars import Bar, Bars
    from mismartera.trading.orders import Order

RESERVED = frozenset({
    "name", "description", "interval", "intervals", "indicators", "parameters",
    "resolve_params", "describe_params", "validate", "on_start", "on_session_start",
    "on_bar", "on_session_end", "on_end",
})
"""Names a parameter may not take: they are the protocol's own attributes."""


class StrategyContext(Protocol):
    """What a strategy reads and does, handed to every callback. Reads see closed bars
    only; orders carry the current time and fill on the symbol's next base bar."""

    @property
    def now_ns(self) -> int:
        """The session clock: the close time of the bars being handled."""

    @property
    def session_date(self) -> datetime.date: ...

    @property
    def session_open_ns(self) -> int: ...

    @property
    def session_close_ns(self) -> int:
        """Today's close (an early close shows here)."""

    def symbols(self) -> list[str]:
        """The session's symbols, in registration order."""

    def bars(self, symbol: str, interval: str, count: int | None = None) -> Bars:
        """Today's closed bars of `symbol` at `interval` (the last `count` of them)."""

    def history(self, symbol: str, interval: str) -> Bars:
        """The symbol's bars of the trailing historical days at `interval`."""

    def indicator(self, symbol: str, spec: str, ago: int = 0, output: str | None = None
                  ) -> float:
        """An indicator's value `ago` bars of its interval back (0: the last closed bar; 1:
        the one before, which may be yesterday's last), for `output` (default: the first);
        NaN while not ready. `spec` is a spec (`sma:period=10@5m`) or an export key."""

    def quality(self, symbol: str, interval: str) -> float:
        """Today's data quality of the interval so far, in percent."""

    def gaps_today(self, symbol: str, interval: str) -> int:
        """Missing bars of the interval today so far."""

    def position(self, symbol: str) -> float:
        """Shares held: positive long, negative short, 0 flat."""

    @property
    def cash(self) -> float: ...

    @property
    def equity(self) -> float:
        """Cash plus positions marked at their last base-bar close."""

    def pending(self, symbol: str | None = None) -> list[Order]:
        """Orders not yet filled, cancelled or expired (of one symbol, or all)."""

    def buy(self, symbol: str, qty: float, *, limit: float | None = None,
            stop: float | None = None, tif: str = "day", stop_loss: float | None = None,
            take_profit: float | None = None) -> Order:
        """Submit a buy: market, or limit / stop / stop-limit when prices are given; with
        `stop_loss` or `take_profit`, a bracket (the exits one-cancels-other)."""

    def sell(self, symbol: str, qty: float, *, limit: float | None = None,
             stop: float | None = None, tif: str = "day", stop_loss: float | None = None,
             take_profit: float | None = None) -> Order:
        """Submit a sell (mirrors `buy`; selling more than held goes short)."""

    def submit(self, order: Order) -> Order:
        """Submit an order built with `mismartera.trading.orders`."""

    def cancel(self, order: Order) -> bool:
        """Cancel a pending order; False when it was no longer pending."""

    def close_position(self, symbol: str) -> Order | None:
        """A market order that flattens the position (None when flat)."""

    def add_symbol(self, symbol: str) -> None:
        """Add a symbol to the session (applied before the next step of the clock)."""

    def remove_symbol(self, symbol: str) -> None:
        """Remove a symbol from the session (its pending orders are cancelled)."""


class Strategy(Parametrized):
    """Base class of strategies: subclass it, declare parameters, the intervals and the
    indicators it reads, and implement the callbacks it needs.

    Parameters are annotated class attributes with a default (`fast: int = 10`), checked
    and set on the instance as indicators' are. The session builds one instance per run as
    `cls(interval, **params)`; `self.interval` is the interval given with the spec
    (`sma_cross@5m`), or None.

        intervals    the intervals whose closed bars `on_bar` receives (default: the
                     spec's interval, else the symbols' base interval)
        indicators() indicator specs the strategy reads (`sma:period=10@5m`); the session
                     computes them for every symbol, like configured indicators
    """

    _reserved = RESERVED
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    interval: Interval | None

    def __init__(self, interval: Interval | str | None = None, **params: Any) -> None:
        self.interval = Interval.parse(interval) if interval is not None else None
        for key, value in self.resolve_params(params).items():
            setattr(self, key, value)
        self.validate()

    @property
    def intervals(self) -> Sequence[str]:
        """Intervals whose closed bars `on_bar` receives; empty: the base interval."""
        return (self.interval.name,) if self.interval is not None else ()

    def indicators(self) -> Sequence[str]:
        """Indicator specs the strategy reads through `ctx.indicator`."""
        return ()

    def validate(self) -> None:
        """Raise ValueError (a short reason) when the parameters cannot be used."""

    def on_start(self, ctx: StrategyContext) -> None:
        """Once, before the first session."""

    def on_session_start(self, ctx: StrategyContext) -> None:
        """At every session open, before its first bar."""

    def on_bar(self, ctx: StrategyContext, symbol: str, interval: str, bar: Bar) -> None:
        """A bar of `interval` closed for `symbol` (`bar.ts` is its start)."""

    def on_session_end(self, ctx: StrategyContext) -> None:
        """At every session close, after its last bar."""

    def on_end(self, ctx: StrategyContext) -> None:
        """Once, after the last session (orders still pending are then cancelled)."""

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={getattr(self, k, None)!r}" for k in self.parameters())
        at = f"@{self.interval}" if self.interval is not None else ""
        return f"{type(self).__name__}{at}({shown})"


__all__ = ["RESERVED", "Strategy", "StrategyContext"]
