"""Cost models: commission, slippage, a volume-participation cap and short borrow cost.

`CostModel` is the protocol; its methods default to "no cost", so a model subclasses it and
overrides only what it charges. `combine` joins several models into one.
"""

from __future__ import annotations

import math
from typing import Protocol

from mismartera.trading.orders import Order, Side


class CostModel(Protocol):
    """What the broker asks of its costs, per fill, per bar and per session."""

    def commission(self, order: Order, qty: float, price: float) -> float:
        """Commission for filling `qty` of `order` at `price` (the order before this fill)."""
        return 0.0

    def slip(self, side: Side, price: float, high: float, low: float) -> float:
        """The price actually obtained for a fill at `price` on a bar spanning [low, high]."""
        return price

    def capacity(self, volume: float) -> float:
        """The most a bar of `volume` can fill, over all orders of its symbol."""
        return math.inf

    def borrow(self, short_value: float, sessions_per_year: int) -> float:
        """Borrow cost for one session of holding a short position worth `short_value`."""
        return 0.0


class Commission(CostModel):
    """Per share plus a fraction of the notional, with a minimum per order.

    The minimum applies to the order as a whole: its partial fills together pay at least
    `minimum`, charged on the first fill and deducted from the later ones."""

    def __init__(self, per_share: float = 0.0, rate: float = 0.0, minimum: float = 0.0) -> None:
        for name, value in (("per_share", per_share), ("rate", rate), ("minimum", minimum)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"commission {name} must be a number >= 0, got {value!r}")
        self.per_share, self.rate, self.minimum = per_share, rate, minimum

    def commission(self, order: Order, qty: float, price: float) -> float:
        before = self._variable(order.filled_qty, order.filled_qty * order.avg_price)
        after = before + self._variable(qty, qty * price)
        paid = max(self.minimum, before) if order.filled_qty > 0 else 0.0
        return max(self.minimum, after) - paid

    def _variable(self, qty: float, notional: float) -> float:
        return self.per_share * qty + self.rate * notional if qty > 0 else 0.0


class Slippage(CostModel):
    """Buys pay `bps` basis points more, sells receive `bps` less, within the bar's range."""

    def __init__(self, bps: float) -> None:
        if not (math.isfinite(bps) and bps >= 0):
            raise ValueError(f"slippage must be a number of basis points >= 0, got {bps!r}")
        self.bps = bps

    def slip(self, side: Side, price: float, high: float, low: float) -> float:
        if side is Side.BUY:
            return min(high, price * (1.0 + self.bps / 1e4))
        return max(low, price * (1.0 - self.bps / 1e4))


class VolumeCap(CostModel):
    """Fill at most `fraction` of a bar's volume; the rest stays pending (partial fills)."""

    def __init__(self, fraction: float) -> None:
        if not (math.isfinite(fraction) and 0 < fraction <= 1):
            raise ValueError(f"the volume fraction must be in (0, 1], got {fraction!r}")
        self.fraction = fraction

    def capacity(self, volume: float) -> float:
        return self.fraction * volume


class Borrow(CostModel):
    """Short positions pay `annual_rate` of their market value a year, per session."""

    def __init__(self, annual_rate: float) -> None:
        if not (math.isfinite(annual_rate) and annual_rate >= 0):
            raise ValueError(f"the borrow rate must be a number >= 0, got {annual_rate!r}")
        self.annual_rate = annual_rate

    def borrow(self, short_value: float, sessions_per_year: int) -> float:
        return short_value * self.annual_rate / sessions_per_year


class Combined(CostModel):
    """Several models as one: costs add up, slippages apply in turn, the smallest cap wins.

    Each question goes only to the models that override it (the others answer "no cost")."""

    def __init__(self, models: tuple[CostModel, ...]) -> None:
        self.models = models

        def overriding(name: str) -> tuple[CostModel, ...]:
            default = getattr(CostModel, name)
            return tuple(m for m in models
                         if getattr(getattr(m, name, None), "__func__", None) is not default)

        self._commission = overriding("commission")
        self._slip = overriding("slip")
        self._capacity = overriding("capacity")
        self._borrow = overriding("borrow")

    def commission(self, order: Order, qty: float, price: float) -> float:
        total = 0.0
        for m in self._commission:
            total += m.commission(order, qty, price)
        return total

    def slip(self, side: Side, price: float, high: float, low: float) -> float:
        for m in self._slip:
            price = m.slip(side, price, high, low)
        return price

    def capacity(self, volume: float) -> float:
        if not self._capacity:
            return math.inf
        return min(m.capacity(volume) for m in self._capacity)

    def borrow(self, short_value: float, sessions_per_year: int) -> float:
        total = 0.0
        for m in self._borrow:
            total += m.borrow(short_value, sessions_per_year)
        return total


def combine(*models: CostModel) -> CostModel:
    """One model charging what all of `models` charge (no model: no costs)."""
    return models[0] if len(models) == 1 else Combined(models)
