"""`rsi_reversion`: buy a dip, sell the recovery.

At each closed bar of its interval, with R the RSI at that bar and R' at the previous one:

    flat and R < lower <= R'   ->  buy `qty` at the market, with a protective stop
                                   `stop_pct` percent below this bar's close (a bracket)
    long and R > upper         ->  cancel the stop and sell the whole position

The stop (GTC) closes the trade on its own when the dip goes on; `stop_pct = 0` trades
without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mismartera.bars import Bar
from mismartera.intervals import Interval
from mismartera.plugins.strategies._base import IntervalStrategy, positive
from mismartera.trading.strategy import StrategyContext


class RsiReversion(IntervalStrategy):
    """Buy when the RSI crosses below `lower`; exit above `upper` or on the stop."""

    name = "rsi_reversion"

    period: int = 14
    lower: float = 30.0
    upper: float = 70.0
    stop_pct: float = 2.0
    qty: int = 100

    def validate(self) -> None:
        if self.period < 2:
            raise ValueError(f"period must be >= 2, got {self.period}")
        if not 0 < self.lower < self.upper < 100:
            raise ValueError("bands must satisfy 0 < lower < upper < 100, got "
                             f"lower={self.lower} and upper={self.upper}")
        if not 0 <= self.stop_pct < 100:
            raise ValueError(f"stop_pct must be in [0, 100), got {self.stop_pct}")
        positive("qty", self.qty)

    def __init__(self, interval: Interval | str | None = None, **params: Any) -> None:
        super().__init__(interval, **params)
        self.rsi_spec = self.spec("rsi", period=self.period)

    def indicators(self) -> Sequence[str]:
        return (self.rsi_spec,)

    def on_bar(self, ctx: StrategyContext, symbol: str, interval: str, bar: Bar) -> None:
        rsi = ctx.indicator(symbol, self.rsi_spec)
        if rsi != rsi:  # not ready
            return
        held = ctx.position(symbol)
        if held > 0:
            if rsi > self.upper:
                for order in ctx.pending(symbol):
                    ctx.cancel(order)
                ctx.sell(symbol, held)
            return
        if held == 0 and rsi < self.lower and not ctx.pending(symbol):
            before = ctx.indicator(symbol, self.rsi_spec, ago=1)
            if before >= self.lower:  # False for NaN
                stop = bar.close * (1 - self.stop_pct / 100) if self.stop_pct else None
                ctx.buy(symbol, self.qty, stop_loss=stop)
