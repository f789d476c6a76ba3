"""`gap_fade`: bet that an opening gap closes, on the symbols a scanner added.

Meant to run with the `gap` scanner (docs/scanners.md), which adds the symbols that opened
beyond a threshold from the previous close while the session runs. The symbols the session
had before its first session (the configured list) are left alone (`added_only`). At the
first closed bar of its interval that the strategy sees for a symbol in a session:

    gap = today's open / previous session's last close - 1   (in percent)
    gap >  min_gap and close above the previous close  ->  sell `qty` short
    gap < -min_gap and close below the previous close  ->  buy `qty`

each as a bracket: the take-profit at the previous close (the gap closed), the stop
`stop_pct` percent beyond this bar's close. A gap that already closed is not traded. The
position is closed `flat_minutes` before the session close (`ctx.session_close_ns`, so an
early close is respected). The previous close is the last bar of `ctx.history(symbol,
interval)`: the session needs `trailing_days >= 1`.
"""

from __future__ import annotations

from typing import ClassVar

from mismartera.bars import Bar
from mismartera.plugins.strategies._base import IntervalStrategy, positive
from mismartera.plugins.strategies.opening_range import MINUTE_NS, flatten
from mismartera.trading.strategy import StrategyContext


class GapFade(IntervalStrategy):
    """Fade the opening gap of symbols added mid-session (e.g. by the gap scanner)."""

    name = "gap_fade"
    default_interval: ClassVar[str] = "1m"

    min_gap: float = 2.0
    qty: int = 100
    stop_pct: float = 2.0
    flat_minutes: int = 5
    added_only: bool = True

    def validate(self) -> None:
        if self.min_gap < 0:
            raise ValueError(f"min_gap must be >= 0, got {self.min_gap}")
        if not 0 < self.stop_pct < 100:
            raise ValueError(f"stop_pct must be in (0, 100), got {self.stop_pct}")
        if self.flat_minutes < 1:
            raise ValueError(f"flat_minutes must be >= 1, got {self.flat_minutes}")
        positive("qty", self.qty)

    def on_start(self, ctx: StrategyContext) -> None:
        self._configured = frozenset(ctx.symbols()) if self.added_only else frozenset()

    def on_session_start(self, ctx: StrategyContext) -> None:
        self._seen: set[str] = set()
        self._flat: set[str] = set()

    def gap(self, ctx: StrategyContext, symbol: str) -> tuple[float, float] | None:
        """(today's open, the previous session's last close), or None without either."""
        today = ctx.bars(symbol, self.bar_interval)
        before = ctx.history(symbol, self.bar_interval)
        if not len(today.ts) or not len(before.ts) or not before.close[-1] > 0:
            return None
        return float(today.open[0]), float(before.close[-1])

    def on_bar(self, ctx: StrategyContext, symbol: str, interval: str, bar: Bar) -> None:
        if symbol in self._configured:
            return
        if ctx.now_ns >= ctx.session_close_ns - self.flat_minutes * MINUTE_NS:
            if symbol not in self._flat:
                flatten(ctx, symbol)
                self._flat.add(symbol)
            return
        if symbol in self._seen:
            return
        self._seen.add(symbol)
        prices = self.gap(ctx, symbol)
        if prices is None or ctx.position(symbol) != 0 or ctx.pending(symbol):
            return
        opened, previous = prices
        move = (opened / previous - 1) * 100
        step = self.stop_pct / 100
        if move > self.min_gap and bar.close > previous:
            ctx.sell(symbol, self.qty, stop_loss=bar.close * (1 + step), take_profit=previous)
        elif move < -self.min_gap and bar.close < previous:
            ctx.buy(symbol, self.qty, stop_loss=bar.close * (1 - step), take_profit=previous)
