"""Orders: validation in one sentence, the life cycle, brackets."""

from __future__ import annotations

import math

import pytest

from mismartera.trading.orders import Order, OrderState, OrderType, Side, TimeInForce, bracket


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"qty": 0}, "qty must be a finite number greater than 0, got 0"),
        ({"qty": math.nan}, "qty must be a finite number greater than 0"),
        ({"side": "hold"}, "side must be one of buy, sell, got 'hold'"),
        ({"type": "iceberg"}, "order type must be one of market, limit, stop, stop_limit"),
        ({"tif": "ioc"}, "time in force must be one of day, gtc, got 'ioc'"),
        ({"type": "limit"}, "this order type needs a limit price"),
        ({"type": "stop_limit", "limit": 1.0}, "this order type needs a stop price"),
        ({"type": "stop", "stop": -1.0}, "the stop price must be a finite number greater than 0"),
        ({"limit": 1.0}, "a market order takes no limit price, got 1.0"),
        ({"type": "limit", "limit": 1.0, "stop": 2.0}, "a limit order takes no stop price"),
    ],
)
def test_invalid_orders_are_one_sentence(kwargs, message) -> None:
    args = {"symbol": "X", "side": "buy", "qty": 1.0, **kwargs}
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")) as err:
        Order(**args)
    assert "\n" not in str(err.value)


def test_a_new_order_is_pending_without_a_sequence() -> None:
    order = Order("X", "sell", 5, "stop_limit", stop=9.0, limit=8.5, tif="gtc")
    assert (order.side, order.type, order.tif) == (Side.SELL, OrderType.STOP_LIMIT, TimeInForce.GTC)
    assert (order.seq, order.state, order.remaining, order.stop, order.limit) == (
        -1,
        OrderState.PENDING,
        5.0,
        9.0,
        8.5,
    )


def test_partial_fills_average_and_finish_the_order() -> None:
    order = Order("X", "buy", 10)
    order.record_fill(4, 10.0, 1.0)
    assert order.is_pending and order.remaining == 6
    order.record_fill(6, 11.0, 0.5)
    assert order.state is OrderState.FILLED
    assert (order.avg_price, order.costs) == (pytest.approx(10.6), 1.5)


def test_a_final_state_is_final() -> None:
    order = Order("X", "buy", 1)
    order.close(OrderState.CANCELLED, 5, "cancelled")
    order.close(OrderState.EXPIRED, 9, "late")
    assert (order.state, order.closed_ns, order.reason) == (OrderState.CANCELLED, 5, "cancelled")


def test_a_bracket_has_inactive_opposite_children() -> None:
    entry = bracket(Order("X", "buy", 3, "limit", limit=10.0), stop_loss=9.0, take_profit=12.0)
    stop, take = entry.children
    assert (stop.side, stop.type, stop.stop, stop.tif) == (Side.SELL, OrderType.STOP, 9.0, "gtc")
    assert (take.side, take.type, take.limit) == (Side.SELL, OrderType.LIMIT, 12.0)
    assert not stop.active and stop.parent is entry and stop.sibling is take
    assert take.sibling is stop and entry.sibling is None


def test_a_bracket_needs_a_child_and_is_made_once() -> None:
    with pytest.raises(ValueError, match="a bracket needs a stop_loss, a take_profit or both"):
        bracket(Order("X", "buy", 1))
    entry = bracket(Order("X", "buy", 1), stop_loss=1.0)
    with pytest.raises(ValueError, match="is already part of a bracket"):
        bracket(entry, take_profit=2.0)


def test_to_dict_is_json_ready() -> None:
    entry = bracket(Order("X", "buy", 2), take_profit=12.0)
    row = entry.children[0].to_dict()
    assert row == {
        "seq": -1, "symbol": "X", "side": "sell", "type": "limit", "qty": 2.0, "limit": 12.0,
        "stop": None, "tif": "gtc", "submitted_ns": -1, "parent": -1, "state": "pending",
        "filled_qty": 0.0, "avg_price": None, "costs": 0.0, "closed_ns": None, "reason": "",
    }  # fmt: skip
