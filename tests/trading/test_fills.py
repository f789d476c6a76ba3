"""The fill rule on one bar: prices by order type, gaps, stop-limits, the bracket path."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.trading.fills import limit_price, match, stop_limit_price, stop_price, touches
from mismartera.trading.orders import Order, Side

BUY, SELL = Side.BUY, Side.SELL


@pytest.mark.parametrize(
    ("side", "limit", "bar", "expected"),
    [
        (BUY, 99.0, (100.0, 101.0, 98.0), 99.0),  # reached inside the bar: at the limit
        (BUY, 101.0, (100.0, 101.0, 98.0), 100.0),  # opened through it: the better open
        (BUY, 97.0, (100.0, 101.0, 98.0), math.nan),
        (SELL, 100.5, (100.0, 101.0, 98.0), 100.5),
        (SELL, 99.0, (100.0, 101.0, 98.0), 100.0),
        (SELL, 102.0, (100.0, 101.0, 98.0), math.nan),
    ],
)
def test_limit_price(side, limit, bar, expected) -> None:
    assert limit_price(side, limit, *bar) == pytest.approx(expected, nan_ok=True)


@pytest.mark.parametrize(
    ("side", "stop", "bar", "expected"),
    [
        (BUY, 100.5, (100.0, 101.0, 98.0), 100.5),
        (BUY, 99.0, (100.0, 101.0, 98.0), 100.0),  # gapped through: the (worse) open
        (BUY, 102.0, (100.0, 101.0, 98.0), math.nan),
        (SELL, 99.0, (100.0, 101.0, 98.0), 99.0),
        (SELL, 105.0, (100.0, 101.0, 98.0), 100.0),  # gapped through: the open
        (SELL, 97.0, (100.0, 101.0, 98.0), math.nan),
    ],
)
def test_stop_price(side, stop, bar, expected) -> None:
    assert stop_price(side, stop, *bar) == pytest.approx(expected, nan_ok=True)


def test_stop_limit_fills_at_the_trigger_when_within_the_limit() -> None:
    assert stop_limit_price(BUY, 100.5, 101.0, 100.0, 102.0, 99.0) == (100.5, True)


def test_stop_limit_gapped_past_its_limit_fills_only_if_the_bar_comes_back() -> None:
    # opened at 103, above the buy limit of 101: triggered at the open, filled at 101 when
    # the rest of the bar trades down to it, else left resting as a limit order
    assert stop_limit_price(BUY, 100.0, 101.0, 103.0, 104.0, 100.5) == (101.0, True)
    assert stop_limit_price(BUY, 100.0, 101.0, 103.0, 104.0, 102.0)[1] is True
    assert math.isnan(stop_limit_price(BUY, 100.0, 101.0, 103.0, 104.0, 102.0)[0])


def test_stop_limit_triggered_mid_bar_beyond_its_limit_waits_for_the_next_bar() -> None:
    # sell stop 99 triggers on the way down; its limit 99.5 is above the trigger, and
    # whether the bar came back up after the trigger is unknown: no fill on this bar
    price, triggered = stop_limit_price(SELL, 99.0, 99.5, 100.0, 101.0, 98.0)
    assert math.isnan(price) and triggered
    order = Order("X", "sell", 1, "stop_limit", stop=99.0, limit=99.5)
    assert math.isnan(match(order, 100.0, 101.0, 98.0)) and order.triggered
    assert match(order, 99.0, 99.8, 98.0) == 99.5  # a resting limit on the next bar


def test_take_profit_is_held_back_when_the_path_did_not_start_at_the_open() -> None:
    take_profit = Order("X", "sell", 1, "limit", limit=101.0)
    assert math.isnan(match(take_profit, 99.0, 102.0, 98.0, limits=False))
    stop_loss = Order("X", "sell", 1, "stop", stop=98.5)
    assert match(stop_loss, 99.0, 102.0, 98.0, limits=False) == 98.5


prices = st.floats(1.0, 1000.0, allow_nan=False)


@st.composite
def bars(draw):
    o, c, a, b = (draw(prices) for _ in range(4))
    return o, max(o, c, a), min(o, c, b)


@given(bar=bars(), level=prices, other=prices, side=st.sampled_from([BUY, SELL]))
def test_every_price_lies_within_the_bar(bar, level, other, side) -> None:
    o, h, low = bar
    found = [
        limit_price(side, level, o, h, low),
        stop_price(side, level, o, h, low),
        stop_limit_price(side, level, other, o, h, low)[0],
    ]
    for price in found:
        assert math.isnan(price) or low <= price <= h


@given(bar=bars(), level=prices, side=st.sampled_from([BUY, SELL]))
def test_the_prescan_never_misses_a_fill(bar, level, side) -> None:
    o, h, low = bar
    for kind, prices_ in (("limit", {"limit": level}), ("stop", {"stop": level})):
        order = Order("X", side, 1, kind, **prices_)
        hit = touches(order, np.array([h]), np.array([low]))[0]
        assert hit == (not math.isnan(match(order, o, h, low)))
