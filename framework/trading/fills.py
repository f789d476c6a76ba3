"""The fill rule: where an order fills against one base bar (pure functions).

When: an order submitted at T (the close of the bar the strategy was handling) fills on the
symbol's first base bar that STARTS at or after T, never on a bar that started before T.

The price path inside one base bar: the open comes first; after it, the bar's low and high
in an unknown order; the close last. From that:

- market: the open.
- limit buy: when low <= limit, at min(open, limit); limit sell: when high >= limit, at
  max(open, limit). A bar opening through the limit fills at the (better) open.
- stop buy: when high >= stop, at max(open, stop); stop sell: when low <= stop, at
  min(open, stop). A gap through the stop fills at the (worse) open.
- stop-limit: the stop triggers as above at the trigger price t. On the trigger bar it fills
  only when that is certain: at t when t is within the limit (buy: t <= limit), or, when
  the trigger was the open, at the limit when the rest of the bar reaches it. Otherwise it
  rests as a limit order from the next bar on (it is `triggered`).
- bracket children on their entry's own bar: the path after the entry price P is taken as
  P, then the whole range of the bar. The protective stop is live for all of it (the
  adverse move may come after the entry); the take-profit only when P was the open (else
  the favourable extreme may have come before the entry). When a stop and a take-profit
  of one bracket are both touched in one bar, the stop fills first (conservative).

Every price returned lies within [low, high] of its bar. NaN means "no fill on this bar".
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from mismartera.trading.orders import Order, OrderType, Side

NO_FILL = math.nan


def limit_price(side: Side, limit: float, first: float, high: float, low: float) -> float:
    """A limit order's price on a bar whose path starts at `first`, or NaN."""
    if side is Side.BUY:
        return min(first, limit) if low <= limit else NO_FILL
    return max(first, limit) if high >= limit else NO_FILL


def stop_price(side: Side, stop: float, first: float, high: float, low: float) -> float:
    """A stop order's trigger (= fill) price on a bar whose path starts at `first`, or NaN."""
    if side is Side.BUY:
        return max(first, stop) if high >= stop else NO_FILL
    return min(first, stop) if low <= stop else NO_FILL


def stop_limit_price(
    side: Side, stop: float, limit: float, first: float, high: float, low: float
) -> tuple[float, bool]:
    """(price or NaN, triggered) for an untriggered stop-limit order on one bar."""
    t = stop_price(side, stop, first, high, low)
    if math.isnan(t):
        return NO_FILL, False
    if (t <= limit) if side is Side.BUY else (t >= limit):
        return t, True
    if t == first:
        return limit_price(side, limit, first, high, low), True
    return NO_FILL, True


def match(order: Order, first: float, high: float, low: float, *, limits: bool = True) -> float:
    """The price `order` fills at on a bar whose path starts at `first`, or NaN.

    `first` is the bar's open, or, for a bracket child on its entry's bar, the entry price.

    Sets `order.triggered` when a stop-limit triggers. `limits=False` keeps limit-type
    orders from filling (a take-profit on its entry's bar after an entry not at the open).
    """
    kind = order.type
    if kind is OrderType.MARKET:
        return first
    if kind is OrderType.STOP:
        return stop_price(order.side, order.stop, first, high, low)
    if not limits:
        return NO_FILL
    if kind is OrderType.LIMIT or order.triggered:
        return limit_price(order.side, order.limit, first, high, low)
    side, stop, limit = order.side, order.stop, order.limit
    price, order.triggered = stop_limit_price(side, stop, limit, first, high, low)
    return price


def touches(
    order: Order, high: npt.NDArray[np.float64], low: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    """Per bar: could `order` fill or trigger there? (Vectorised pre-scan; never misses.)"""
    kind = order.type
    if kind is OrderType.MARKET:
        return np.ones(len(high), dtype=np.bool_)
    if kind is OrderType.LIMIT or (kind is OrderType.STOP_LIMIT and order.triggered):
        return low <= order.limit if order.side is Side.BUY else high >= order.limit
    return high >= order.stop if order.side is Side.BUY else low <= order.stop
