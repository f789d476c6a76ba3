"""`sma_cross`: long when the fast SMA of closes crosses above the slow one, flat on the
opposite cross.

At each closed bar of its interval, with F and S the fast and slow SMA at that bar and F'
and S' at the interval's previous bar (yesterday's last bar for today's first: indicators
run on across sessions):

    flat and F > S and F' <= S'   ->  buy `qty` at the market (fills at the next base
                                      bar's open)
    long and F < S and F' >= S'   ->  sell the whole position at the market

Nothing happens while a value is not ready (NaN). One position per symbol at most.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mismartera.bars import Bar
from mismartera.intervals import Interval
from mismartera.plugins.strategies._base import IntervalStrategy, positive
from mismartera.trading.strategy import StrategyContext


class SmaCross(IntervalStrategy):
    """Long on the fast SMA crossing above the slow one, flat on the cross back."""

    name = "sma_cross"

    fast: int = 10
    slow: int = 30
    qty: int = 100

    def validate(self) -> None:
        if self.fast < 1:
            raise ValueError(f"fast must be >= 1, got {self.fast}")
        if self.slow <= self.fast:
            raise ValueError(f"slow must be > fast, got fast={self.fast} and slow={self.slow}")
        positive("qty", self.qty)

    def __init__(self, interval: Interval | str | None = None, **params: Any) -> None:
        super().__init__(interval, **params)
        self.fast_spec = self.spec("sma", period=self.fast)
        self.slow_spec = self.spec("sma", period=self.slow)

    def indicators(self) -> Sequence[str]:
        return (self.fast_spec, self.slow_spec)

    def on_bar(self, ctx: StrategyContext, symbol: str, interval: str, bar: Bar) -> None:
        fast, slow = ctx.indicator(symbol, self.fast_spec), ctx.indicator(symbol, self.slow_spec)
        if fast > slow:  # comparisons with NaN (not ready) are False
            if ctx.position(symbol) == 0 and not ctx.pending(symbol) and self.crossed(
                    ctx, symbol, above=True):
                ctx.buy(symbol, self.qty)
        elif fast < slow:
            held = ctx.position(symbol)
            if held > 0 and self.crossed(ctx, symbol, above=False):
                ctx.sell(symbol, held)

    def crossed(self, ctx: StrategyContext, symbol: str, *, above: bool) -> bool:
        """Whether the previous bar had the fast SMA at or below (`above`) the slow one, or
        at or above it."""
        fast = ctx.indicator(symbol, self.fast_spec, ago=1)
        slow = ctx.indicator(symbol, self.slow_spec, ago=1)
        return fast <= slow if above else fast >= slow
