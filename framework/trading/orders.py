"""Orders: plain slotted objects with an explicit life cycle.

    pending --> filled | cancelled | expired | rejected

An order is created pending; `SimulatedBroker.submit` gives it its sequence number. It may
fill in several parts (`filled_qty` grows) and ends in exactly one final state. A bracket is
an entry with a stop-loss and a take-profit child: the children are inactive until the entry
has finished filling, then they work as one-cancels-other (a fill of one reduces the other by
the same quantity; the other is cancelled when nothing of it is left).
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import TypeVar


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"


class OrderState(StrEnum):
    PENDING = "pending"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"


E = TypeVar("E", bound=StrEnum)

QTY_EPS = 1e-9
"""Quantities closer than this to zero count as zero (float partial fills)."""


class Order:
    """One order. `seq` is -1 until submitted; prices are NaN where the type has none."""

    __slots__ = (
        "active",
        "avg_price",
        "children",
        "closed_ns",
        "costs",
        "filled_qty",
        "limit",
        "parent",
        "qty",
        "reason",
        "seq",
        "side",
        "state",
        "stop",
        "submitted_ns",
        "symbol",
        "tif",
        "triggered",
        "type",
    )

    def __init__(
        self,
        symbol: str,
        side: Side | str,
        qty: float,
        type: OrderType | str = OrderType.MARKET,
        *,
        limit: float | None = None,
        stop: float | None = None,
        tif: TimeInForce | str = TimeInForce.DAY,
    ) -> None:
        self.symbol = symbol
        self.side = _enum(Side, side, "side")
        self.type = _enum(OrderType, type, "order type")
        self.tif = _enum(TimeInForce, tif, "time in force")
        self.qty = _positive(qty, "qty")
        kind = self.type  # a str: its value
        self.limit = _price(limit, "limit") if kind.endswith("limit") else math.nan
        self.stop = _price(stop, "stop") if kind.startswith("stop") else math.nan
        if self.type in (OrderType.MARKET, OrderType.STOP) and limit is not None:
            raise ValueError(f"a {self.type} order takes no limit price, got {limit}")
        if self.type in (OrderType.MARKET, OrderType.LIMIT) and stop is not None:
            raise ValueError(f"a {self.type} order takes no stop price, got {stop}")
        self.seq = -1
        self.submitted_ns = -1
        self.state = OrderState.PENDING
        self.filled_qty = 0.0
        self.avg_price = math.nan
        self.costs = 0.0
        self.triggered = False
        self.active = True
        self.parent: Order | None = None
        self.children: tuple[Order, ...] = ()
        self.closed_ns = -1
        self.reason = ""

    @property
    def remaining(self) -> float:
        return self.qty - self.filled_qty

    @property
    def is_pending(self) -> bool:
        return self.state is OrderState.PENDING

    @property
    def sibling(self) -> Order | None:
        """The other child of the same bracket (one-cancels-other), if any."""
        if self.parent is None:
            return None
        return next((c for c in self.parent.children if c is not self), None)

    def record_fill(self, qty: float, price: float, costs: float) -> None:
        """Add one (partial) fill; the order is filled when nothing remains."""
        total = self.filled_qty + qty
        prior = self.avg_price * self.filled_qty if self.filled_qty else 0.0
        self.avg_price = (prior + price * qty) / total
        self.filled_qty = total
        self.costs += costs
        if self.remaining <= QTY_EPS:
            self.state = OrderState.FILLED

    def close(self, state: OrderState, ns: int, reason: str = "") -> None:
        """Move a pending order to a final state (a filled order keeps its state)."""
        if self.state is OrderState.PENDING:
            self.state = state
            self.reason = reason
        if self.closed_ns < 0:
            self.closed_ns = ns

    def to_dict(self) -> dict[str, object]:
        """The order as plain JSON-ready values (NaN prices become None)."""
        return {
            "seq": self.seq,
            "symbol": self.symbol,
            "side": self.side.value,
            "type": self.type.value,
            "qty": self.qty,
            "limit": _none_if_nan(self.limit),
            "stop": _none_if_nan(self.stop),
            "tif": self.tif.value,
            "submitted_ns": self.submitted_ns,
            "parent": None if self.parent is None else self.parent.seq,
            "state": self.state.value,
            "filled_qty": self.filled_qty,
            "avg_price": _none_if_nan(self.avg_price),
            "costs": self.costs,
            "closed_ns": None if self.closed_ns < 0 else self.closed_ns,
            "reason": self.reason,
        }

    def __repr__(self) -> str:
        return (
            f"Order(#{self.seq} {self.symbol} {self.side} {self.qty:g} {self.type}"
            f" limit={self.limit:g} stop={self.stop:g} {self.tif} {self.state})"
        )


def bracket(
    entry: Order,
    *,
    stop_loss: float | None = None,
    take_profit: float | None = None,
    tif: TimeInForce | str = TimeInForce.GTC,
) -> Order:
    """Attach a protective stop and/or a take-profit limit to `entry`; return `entry`.

    The children are on the opposite side, inactive until the entry has finished filling,
    and then sized to the entry's filled quantity. Submitting the entry submits them."""
    if entry.children or entry.parent is not None:
        raise ValueError(f"order {entry!r} is already part of a bracket")
    if stop_loss is None and take_profit is None:
        raise ValueError("a bracket needs a stop_loss, a take_profit or both")
    side = entry.side.opposite
    children = []
    if stop_loss is not None:
        children.append(
            Order(entry.symbol, side, entry.qty, OrderType.STOP, stop=stop_loss, tif=tif)
        )
    if take_profit is not None:
        children.append(
            Order(entry.symbol, side, entry.qty, OrderType.LIMIT, limit=take_profit, tif=tif)
        )
    for child in children:
        child.parent = entry
        child.active = False
    entry.children = tuple(children)
    return entry


def _enum(kind: type[E], value: E | str, what: str) -> E:
    try:  # a member or its value (members are strings): a dict look-up, no enum call
        member = kind._value2member_map_.get(value)
    except TypeError:  # unhashable
        member = None
    if member is not None:
        return member  # type: ignore[return-value]
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(m.value for m in kind)
        raise ValueError(f"{what} must be one of {choices}, got {value!r}") from None


def _positive(value: float, what: str) -> float:
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{what} must be a finite number greater than 0, got {value!r}")
    return number


def _price(value: float | None, what: str) -> float:
    if value is None:
        raise ValueError(f"this order type needs a {what} price")
    return _positive(value, f"the {what} price")


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else value


class Fill:
    """One (partial) fill: `ts` is the start of the base bar it happened in."""

    __slots__ = ("costs", "price", "qty", "quality", "seq", "side", "symbol", "ts")

    def __init__(
        self,
        seq: int,
        symbol: str,
        side: Side,
        qty: float,
        price: float,
        ts: int,
        costs: float = 0.0,
        quality: float = math.nan,
    ) -> None:
        self.seq, self.symbol, self.side = seq, symbol, side
        self.qty, self.price, self.ts, self.costs, self.quality = qty, price, ts, costs, quality

    def __repr__(self) -> str:
        what = f"{self.symbol} {self.side} {self.qty:g} @ {self.price:g}"
        return f"Fill(#{self.seq} {what} ts={self.ts})"
