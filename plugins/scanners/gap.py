"""The `gap` scanner: symbols whose price today moved beyond a threshold from the previous
session's close.

Today's price is the OPEN of the first regular-session bar that has closed by now (so run
it once the first bar closed: `at = ["09:31"]` for 1m bars, or `every`). Before any session
bar has closed — e.g. at the open — it is the CLOSE of the last pre-market bar (local
midnight to the open) closed by now, when the source has extended-hours bars; with neither,
the symbol gets no verdict. The previous close is the close of the last valid bar inside the
previous trading day's session `[open, close)` (an early close is honoured; after-hours bars
are ignored); a symbol with no such bar gets no verdict.

    move % = (price - previous close) / previous close x 100
    qualifies: move > threshold (up), move < -threshold (down), |move| > threshold (both)

With `max_symbols = N` only the N largest |moves| qualify (ties by symbol). Qualifying
symbols not in the session are added, in that order. With `remove = true`, symbols this
entry added earlier that got a verdict and no longer qualify are removed.
"""

from __future__ import annotations

import datetime
from typing import ClassVar

import numpy as np

from mismartera import hookimpl
from mismartera.errors import ConfigError
from mismartera.session.scanner import Param, ScanContext, Scanner, ScanResult


class GapScanner(Scanner):
    """Open vs the previous session's close beyond `threshold` percent."""

    params: ClassVar[dict[str, Param]] = {
        "threshold": Param(2.0, float, minimum=0.0, help="percent move that qualifies"),
        "direction": Param("both", str, choices=("up", "down", "both"),
                           help="which moves qualify"),
        "max_symbols": Param(None, int, minimum=1, help="keep only the N largest moves"),
        "remove": Param(False, bool, help="remove symbols this scanner added that no longer "
                                          "qualify"),
    }

    threshold: float
    direction: str
    max_symbols: int | None
    remove: bool

    def __init__(self, **values) -> None:
        super().__init__(**values)
        self._previous: dict[str, float | None] = {}
        self._first_open: dict[str, float] = {}

    def setup(self, session_date: datetime.date) -> None:
        self._previous.clear()
        self._first_open.clear()

    def previous_close(self, ctx: ScanContext, symbol: str) -> float | None:
        """The close of the last bar inside the previous trading day's session (cached)."""
        if symbol not in self._previous:
            try:
                day = ctx.calendar.previous_trading_day(ctx.date)
            except ConfigError:  # before the calendar's first day
                self._previous[symbol] = None
                return None
            bars = ctx.session_bars(symbol, [day])[0]
            close = float(bars.close[-1]) if len(bars.ts) else None
            self._previous[symbol] = close if close is not None and close > 0 else None
        return self._previous[symbol]

    def price(self, ctx: ScanContext, symbol: str) -> float | None:
        """The first session bar's open, else the last pre-market close, else None."""
        hit = self._first_open.get(symbol)
        if hit is not None:
            return hit
        session = ctx.today_bars(symbol)
        if len(session.ts):
            self._first_open[symbol] = float(session.open[0])
            return self._first_open[symbol]
        midnight = ctx.calendar.local_ns(ctx.date, 0, 0)
        pre = ctx.bars(symbol, midnight, ctx.open_ns)
        if len(pre.ts):
            pre = pre.take(pre.valid_mask())
        return float(pre.close[-1]) if len(pre.ts) else None

    def moves(self, ctx: ScanContext) -> tuple[list[str], np.ndarray]:
        """The universe symbols that get a verdict, and their moves in percent."""
        symbols, prices, closes = [], [], []
        for symbol in ctx.universe:
            if ctx.interval(symbol) is None:
                continue
            previous = self.previous_close(ctx, symbol)
            if previous is None:
                continue
            price = self.price(ctx, symbol)
            if price is None:
                continue
            symbols.append(symbol)
            prices.append(price)
            closes.append(previous)
        p, c = np.array(prices, dtype=np.float64), np.array(closes, dtype=np.float64)
        return symbols, (p - c) / c * 100.0

    def scan(self, ctx: ScanContext) -> ScanResult:
        symbols, moves = self.moves(ctx)
        if self.direction == "up":
            hit = moves > self.threshold
        elif self.direction == "down":
            hit = moves < -self.threshold
        else:
            hit = np.abs(moves) > self.threshold
        idx = np.flatnonzero(hit)
        # largest |move| first, ties by symbol
        order = sorted(idx.tolist(), key=lambda i: (-abs(float(moves[i])), symbols[i]))
        if self.max_symbols is not None:
            order = order[: self.max_symbols]
        return ScanResult.of_picks(ctx, [symbols[i] for i in order], symbols, self.remove)


@hookimpl
def register_scanners(register) -> None:
    register("gap", GapScanner,
             description="open vs the previous session's close beyond a threshold (percent)")
