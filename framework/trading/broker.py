"""SimulatedBroker: pending orders per symbol, filled against base bars as they arrive.

For each base bar of a symbol, in time order: the pending orders submitted at or before the
bar's start are matched against it in sequence order (the fill rule is in `fills`), then
the portfolio is marked at the bar's close. A chunk of bars is marked in one call (the
portfolio knows the position at each close from the fills), and only the bars where a
pending order may fill (a vectorised pre-scan decides) are visited one by one.

Bracket children share their entry's submit time and come right after it in sequence, so
on the bar the entry completes they are matched in the same pass (stop before take-profit).
With `allow_short=False` a sell larger than the position it would close is rejected when it
would fill. Cash is not checked (no margin model): it may go negative.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt

from mismartera.trading.costs import CostModel, combine
from mismartera.trading.fills import match, touches
from mismartera.trading.orders import (
    QTY_EPS,
    Fill,
    Order,
    OrderState,
    OrderType,
    Side,
    TimeInForce,
)
from mismartera.trading.portfolio import Portfolio

if TYPE_CHECKING:
    from mismartera.bars import Bars

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
PENDING = OrderState.PENDING


Quality = float | F64 | Callable[[int], float] | None
"""The data quality fills record: one value, one per bar, or a function of the bar's position."""


class _Columns(NamedTuple):
    """One bar in the columns of `Bars` (what `on_bar` hands to the chunk path)."""

    ts: I64
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64


class SimulatedBroker:
    """Fills orders for one run whose symbols share the base interval `interval_ns`."""

    def __init__(
        self,
        portfolio: Portfolio,
        interval_ns: int,
        costs: CostModel | None = None,
        *,
        allow_short: bool = True,
        sessions_per_year: int = 252,
    ) -> None:
        if interval_ns <= 0:
            raise ValueError(f"the base interval must be a positive ns count, got {interval_ns}")
        self.portfolio = portfolio
        self.interval_ns = int(interval_ns)
        self.costs = costs if costs is not None else combine()
        self.allow_short = allow_short
        self.sessions_per_year = sessions_per_year
        self._books: dict[str, list[Order]] = {}
        self._log: list[Order] = []

    def submit(self, order: Order, submitted_ns: int) -> Order:
        """Accept `order` (and its bracket children) at `submitted_ns`; it gets a sequence."""
        if order.seq >= 0 or not order.is_pending:
            raise ValueError(f"order {order!r} was already submitted")
        if order.parent is not None:
            raise ValueError("a bracket child is submitted with its entry, not on its own")
        book = self._books.setdefault(order.symbol, [])
        for o in (order, *order.children):
            o.seq = len(self._log)
            o.submitted_ns = int(submitted_ns)
            self._log.append(o)
            book.append(o)
        return order

    def cancel(self, order: Order, ns: int) -> bool:
        """Cancel a pending order at `ns`; False when it had already reached a final state."""
        if not order.is_pending:
            return False
        order.close(OrderState.CANCELLED, ns, "cancelled")
        self._entry_done(order, ns)
        return True

    def pending(self, symbol: str) -> list[Order]:
        """`symbol`'s pending orders (inactive bracket children included), in sequence."""
        return [o for o in self._books.get(symbol, ()) if o.is_pending]

    def on_bar(
        self,
        symbol: str,
        ts: int,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        quality: float | None = None,
    ) -> list[Fill]:
        """Fill what is due on one base bar starting at `ts`, then mark its close."""
        prices = (np.array([x], dtype=np.float64) for x in (open, high, low, close, volume))
        return self._run(symbol, _Columns(np.array([ts], dtype=np.int64), *prices), quality)

    def on_bars(self, symbol: str, bars: Bars, quality: Quality = None, *, mark: bool = True
                ) -> list[Fill]:
        """`on_bar` for a chunk of consecutive base bars (not spanning a session end);
        `quality` is one value for the chunk, one per bar, or a function of the bar's
        position in the chunk (what its fills record; asked only for bars that fill).
        `mark=False`: fill only; the caller marks the closes itself (`Portfolio.mark`), so
        the chunk may be a short-lived view."""
        return self._run(symbol, bars, quality, mark)

    def end_session(self, close_ns: int) -> None:
        """Expire DAY orders that could have filled this session, charge borrow, mark equity.

        A DAY order submitted at the close itself (after the session's last bar) lives on
        into the next session, where it can first fill."""
        for symbol, book in self._books.items():
            for order in book:
                expiring = order.tif is TimeInForce.DAY and order.submitted_ns < close_ns
                if order.is_pending and order.active and expiring:
                    order.close(OrderState.EXPIRED, close_ns, "day order expired")
                    self._entry_done(order, close_ns)
            self._prune(symbol)
        for symbol, pos in sorted(self.portfolio.positions.items()):
            if pos.qty < 0:
                fee = self.costs.borrow(-pos.value, self.sessions_per_year)
                if fee:
                    self.portfolio.charge(symbol, fee, close_ns)
        self.portfolio.close_session(close_ns)

    def finish(self, ns: int) -> None:
        """End the run at `ns`: every order still pending is cancelled."""
        for book in self._books.values():
            for order in book:
                if order.is_pending:
                    order.close(OrderState.CANCELLED, ns, "end of run")
        self._books.clear()

    def orders(self) -> list[dict[str, object]]:
        """Every submitted order with its current (after `finish`: final) state, by sequence."""
        return [o.to_dict() for o in self._log]

    def _run(self, symbol: str, bars: Bars | _Columns, quality: Quality, mark: bool = True
             ) -> list[Fill]:
        ts = bars.ts
        n = len(ts)
        fills: list[Fill] = []
        i = 0 if self._books.get(symbol) else n  # nothing pending: nothing can fill
        while i < n:
            j = self._next_event(symbol, ts, bars.high, bars.low, i)
            if j == n:
                break
            if quality is None:
                q = math.nan
            elif callable(quality):
                q = float(quality(j))
            else:
                q = float(quality[j] if np.ndim(quality) else quality)  # type: ignore[index]
            fills += self._fill_bar(symbol, int(ts[j]), float(bars.open[j]), float(bars.high[j]),
                                    float(bars.low[j]), float(bars.volume[j]), q)
            i = j + 1 if self._books.get(symbol) else n
        if mark and n:
            self.portfolio.mark(symbol, ts + self.interval_ns, bars.close)
        return fills

    def _next_event(self, symbol: str, ts: I64, high: F64, low: F64, start: int) -> int:
        """The first bar at or after `start` where an active pending order may fill."""
        best = len(ts)
        for order in self._books.get(symbol, ()):
            if order.state is not PENDING or not order.active:
                continue
            first = start + int(ts[start:best].searchsorted(order.submitted_ns))  # left
            if first >= best:
                continue
            if order.type is OrderType.MARKET:  # fills on the first bar it may
                best = first
                continue
            hits = np.flatnonzero(touches(order, high[first:best], low[first:best]))
            if len(hits):
                best = first + int(hits[0])
        return best

    def _fill_bar(
        self, symbol: str, ts: int, open: float, high: float, low: float, volume: float,
        quality: float,
    ) -> list[Fill]:  # fmt: skip
        fills = []
        capacity = self.costs.capacity(volume)
        path_start: dict[Order, float] = {}  # children activated on this bar: the entry price
        for order in list(self._books.get(symbol, ())):
            if order.state is not PENDING or not order.active or order.submitted_ns > ts:
                continue
            first = path_start.get(order, open)
            price = match(order, first, high, low, limits=first == open)
            qty = min(order.remaining, capacity)
            if math.isnan(price) or qty <= QTY_EPS:
                continue
            if not self.allow_short and order.side is Side.SELL:
                held = self.portfolio.position(symbol).qty
                if order.remaining > held + QTY_EPS:
                    order.close(OrderState.REJECTED, ts, "would open a short position")
                    self._entry_done(order, ts)
                    continue
            fill = self._fill(order, qty, price, ts, high, low, quality)
            fills.append(fill)
            capacity -= qty
            if order.children and not order.is_pending:
                self._activate_children(order)
                path_start.update(dict.fromkeys(order.children, price))
            if order.parent is not None:
                self._reduce_sibling(order, qty, ts)
        self._prune(symbol)
        return fills

    def _fill(
        self, order: Order, qty: float, price: float, ts: int, high: float, low: float,
        quality: float,
    ) -> Fill:  # fmt: skip
        price = self.costs.slip(order.side, price, high, low)
        if order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            price = min(price, order.limit) if order.side is Side.BUY else max(price, order.limit)
        costs = self.costs.commission(order, qty, price)
        order.record_fill(qty, price, costs)
        if not order.is_pending:
            order.closed_ns = ts
        fill = Fill(order.seq, order.symbol, order.side, qty, price, ts, costs, quality)
        self.portfolio.apply(fill, ts + self.interval_ns)
        return fill

    def _entry_done(self, order: Order, ns: int) -> None:
        """An entry stopped short of filling: its children protect what did fill, if any."""
        if not order.children:
            return
        if order.filled_qty > QTY_EPS:
            self._activate_children(order)
        else:
            for child in order.children:
                child.close(OrderState.CANCELLED, ns, "entry did not fill")

    @staticmethod
    def _activate_children(entry: Order) -> None:
        for child in entry.children:
            if child.is_pending:
                child.qty = entry.filled_qty
                child.active = True

    @staticmethod
    def _reduce_sibling(order: Order, qty: float, ts: int) -> None:
        """One-cancels-other: the sibling shrinks by each fill and goes when nothing is left."""
        sibling = order.sibling
        if sibling is not None and sibling.is_pending:
            if sibling.remaining - qty <= QTY_EPS:
                sibling.close(OrderState.CANCELLED, ts, "one-cancels-other")
            else:
                sibling.qty -= qty

    def _prune(self, symbol: str) -> None:
        book = self._books.get(symbol)
        if book is not None:
            self._books[symbol] = [o for o in book if o.state is PENDING]
