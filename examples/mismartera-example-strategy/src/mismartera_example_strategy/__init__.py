"""ema_trend: long while the close is above its EMA, flat below. A template for strategy
plugins: one class with typed parameters, the indicators it reads, one callback, one
registration hook."""

from __future__ import annotations

from mismartera import Strategy, hookimpl


class EmaTrend(Strategy):
    """Long `qty` when the close crosses above its EMA, flat when it crosses below."""

    period: int = 20  # parameters: --strategy ema_trend:period=50,qty=10@5m
    qty: int = 100

    def validate(self) -> None:
        if self.period < 2:
            raise ValueError(f"period must be >= 2, got {self.period}")
        if self.qty <= 0:
            raise ValueError(f"qty must be > 0, got {self.qty}")

    @property
    def ema(self) -> str:
        interval = self.interval.name if self.interval is not None else "5m"
        return f"ema:period={self.period}@{interval}"

    @property
    def intervals(self):
        return (self.interval.name if self.interval is not None else "5m",)

    def indicators(self):
        return (self.ema,)

    def on_bar(self, ctx, symbol, interval, bar):
        ema = ctx.indicator(symbol, self.ema)
        if ema != ema:  # NaN: not ready yet
            return
        held = ctx.position(symbol)
        if held == 0 and bar.close > ema and not ctx.pending(symbol):
            ctx.buy(symbol, self.qty)  # fills at the next base bar's open
        elif held > 0 and bar.close < ema:
            ctx.sell(symbol, held)


@hookimpl
def register_strategies(register):
    register("ema_trend", EmaTrend, description="long above the EMA of closes (example)")
