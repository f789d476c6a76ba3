"""Reference simulation of a long-only strategy: bar by bar, order by order, no shortcuts.

`SimulatedBroker` (with `allow_short=False`) must produce exactly what `simulate` does for
plain orders (market, limit, stop, stop-limit; DAY or GTC): the same fills, order states,
equity at every bar close and equity at every session close. The price path inside a bar is
walked explicitly: the open first, then whatever of [low, high] the order needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

EPS = 1e-9

RefBar = tuple[int, float, float, float, float, float]  # ts, open, high, low, close, volume


@dataclass
class RefOrder:
    side: str  # "buy" | "sell"
    kind: str  # "market" | "limit" | "stop" | "stop_limit"
    qty: float
    limit: float = math.nan
    stop: float = math.nan
    tif: str = "day"
    seq: int = -1
    submitted: int = -1
    state: str = "pending"
    filled: float = 0.0
    notional: float = 0.0
    triggered: bool = False


@dataclass
class RefCosts:
    per_share: float = 0.0
    rate: float = 0.0
    minimum: float = 0.0
    bps: float = 0.0
    cap: float | None = None  # fraction of a bar's volume

    def order_fee(self, filled: float, notional: float) -> float:
        """What an order has paid in total after filling `filled` shares for `notional`."""
        if filled <= 0:
            return 0.0
        return max(self.minimum, self.per_share * filled + self.rate * notional)


@dataclass
class RefResult:
    fills: list[tuple[int, float, float, int, float]] = field(default_factory=list)
    marks: list[tuple[int, float]] = field(default_factory=list)  # (bar close, equity)
    daily: list[tuple[int, float]] = field(default_factory=list)  # (session close, equity)
    orders: list[RefOrder] = field(default_factory=list)
    cash: float = 0.0
    position: float = 0.0


def path_price(order: RefOrder, o: float, h: float, low: float) -> float | None:
    """Where the bar's path first offers `order` a fill (None: it does not)."""
    buy = order.side == "buy"
    if order.kind == "market":
        return o
    if order.kind == "stop" or (order.kind == "stop_limit" and not order.triggered):
        if buy:
            hit = o if o >= order.stop else (order.stop if h >= order.stop else None)
        else:
            hit = o if o <= order.stop else (order.stop if low <= order.stop else None)
        if hit is None or order.kind == "stop":
            return hit
        order.triggered = True
        if (buy and hit <= order.limit) or (not buy and hit >= order.limit):
            return hit  # the trigger price is already within the limit
        if hit != o:
            return None  # triggered mid-bar: whether the limit came after is unknown
        # triggered at the open: the rest of the bar may reach the limit
    if buy:
        return o if o <= order.limit else (order.limit if low <= order.limit else None)
    return o if o >= order.limit else (order.limit if h >= order.limit else None)


def simulate(
    sessions: list[tuple[int, list[tuple[RefBar, list[RefOrder]]]]],
    interval: int,
    cash: float,
    costs: RefCosts,
) -> RefResult:
    """Run `sessions` = [(close ns, [(bar, orders submitted at that bar's close)])]."""
    out = RefResult(cash=cash)
    pending: list[RefOrder] = []
    last_close = math.nan
    for close_ns, steps in sessions:
        for (ts, o, h, low, c, v), new_orders in steps:
            room = math.inf if costs.cap is None else costs.cap * v
            for order in pending:
                if order.state != "pending" or order.submitted > ts:
                    continue
                price = path_price(order, o, h, low)
                if price is None:
                    continue
                qty = min(order.qty - order.filled, room)
                if qty <= EPS:
                    continue
                if order.side == "sell" and order.qty - order.filled > out.position + EPS:
                    order.state = "rejected"
                    continue
                if order.side == "buy":
                    price = min(h, price * (1 + costs.bps / 1e4))
                    if order.kind in ("limit", "stop_limit"):
                        price = min(price, order.limit)
                else:
                    price = max(low, price * (1 - costs.bps / 1e4))
                    if order.kind in ("limit", "stop_limit"):
                        price = max(price, order.limit)
                paid = costs.order_fee(order.filled, order.notional)
                order.filled += qty
                order.notional += qty * price
                fee = costs.order_fee(order.filled, order.notional) - paid
                sign = 1 if order.side == "buy" else -1
                out.cash -= sign * qty * price + fee
                out.position += sign * qty
                room -= qty
                out.fills.append((order.seq, qty, price, ts, fee))
                if order.qty - order.filled <= EPS:
                    order.state = "filled"
            pending = [x for x in pending if x.state == "pending"]
            last_close = c
            out.marks.append((ts + interval, out.cash + out.position * c))
            for order in new_orders:
                order.seq = len(out.orders)
                order.submitted = ts + interval
                out.orders.append(order)
                pending.append(order)
        for order in pending:
            if order.tif == "day" and order.submitted < close_ns:
                order.state = "expired"
        pending = [x for x in pending if x.state == "pending"]
        value = out.position * last_close if out.position else 0.0
        out.daily.append((close_ns, out.cash + value))
    for order in pending:
        order.state = "cancelled"
    return out
