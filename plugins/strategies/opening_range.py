"""`opening_range_breakout`: trade the break of the first minutes' range, flat by the close.

The range is the high and low of the bars that start in the first `minutes` minutes after
the session open (`ctx.session_open_ns`). After it, at each closed bar of the strategy's
interval, once per symbol and session:

    close > range high   ->  buy `qty`, with a protective stop at the range low
    close < range low    ->  sell `qty` short, with a protective stop at the range high
                             (`direction` = "long" or "short" keeps one side only)

At `flat_minutes` before the session close the pending orders are cancelled and the
position is closed at the market. The close is `ctx.session_close_ns`, so an early close
(13:00) moves both: the position is flat by 12:55 on such a day with the defaults.
"""

from __future__ import annotations

from typing import ClassVar

from mismartera.bars import Bar
from mismartera.plugins.strategies._base import IntervalStrategy, positive
from mismartera.trading.strategy import StrategyContext

MINUTE_NS = 60 * 10**9
DIRECTIONS = ("both", "long", "short")


def flatten(ctx: StrategyContext, symbol: str) -> None:
    """Cancel the symbol's pending orders and close its position at the market."""
    for order in ctx.pending(symbol):
        ctx.cancel(order)
    if ctx.position(symbol) != 0:
        ctx.close_position(symbol)


class OpeningRangeBreakout(IntervalStrategy):
    """Break of the opening range, stop at its other side, flat before the close."""

    name = "opening_range_breakout"
    default_interval: ClassVar[str] = "1m"

    minutes: int = 30
    qty: int = 100
    direction: str = "both"
    flat_minutes: int = 5

    def validate(self) -> None:
        if self.minutes < 1:
            raise ValueError(f"minutes must be >= 1, got {self.minutes}")
        if self.flat_minutes < 1:
            raise ValueError(f"flat_minutes must be >= 1, got {self.flat_minutes}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, "
                             f"got {self.direction!r}")
        positive("qty", self.qty)

    def on_session_start(self, ctx: StrategyContext) -> None:
        self._range: dict[str, tuple[float, float] | None] = {}
        self._traded: set[str] = set()
        self._flat: set[str] = set()

    def opening_range(self, ctx: StrategyContext, symbol: str) -> tuple[float, float] | None:
        """(high, low) of today's bars that start in the first `minutes`; None without
        any, or before the range is complete."""
        end = ctx.session_open_ns + self.minutes * MINUTE_NS
        if ctx.now_ns < end:
            return None
        if symbol not in self._range:
            bars = ctx.bars(symbol, self.bar_interval)
            inside = (bars.ts >= ctx.session_open_ns) & (bars.ts < end)
            self._range[symbol] = (float(bars.high[inside].max()), float(bars.low[inside].min())
                                   ) if inside.any() else None
        return self._range[symbol]

    def on_bar(self, ctx: StrategyContext, symbol: str, interval: str, bar: Bar) -> None:
        if ctx.now_ns >= ctx.session_close_ns - self.flat_minutes * MINUTE_NS:
            if symbol not in self._flat:
                flatten(ctx, symbol)
                self._flat.add(symbol)
            return
        if symbol in self._traded:
            return
        hit = self.opening_range(ctx, symbol)
        if hit is None:
            return
        high, low = hit
        if bar.close > high and self.direction != "short":
            ctx.buy(symbol, self.qty, stop_loss=low)
        elif bar.close < low and self.direction != "long":
            ctx.sell(symbol, self.qty, stop_loss=high)
        else:
            return
        self._traded.add(symbol)
