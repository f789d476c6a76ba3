"""Cost models, alone and combined."""

from __future__ import annotations

import math

import pytest

from mismartera.trading.costs import Borrow, Commission, Slippage, VolumeCap, combine
from mismartera.trading.orders import Order, Side


def test_commission_per_share_and_rate_with_a_minimum() -> None:
    model = Commission(per_share=0.01, rate=0.001, minimum=2.0)
    order = Order("X", "buy", 100)
    assert model.commission(order, 100, 50.0) == pytest.approx(1.0 + 5.0)
    assert Commission(minimum=2.0).commission(order, 100, 50.0) == 2.0


def test_commission_minimum_counts_the_orders_earlier_fills() -> None:
    model = Commission(per_share=0.01, minimum=1.0)
    order = Order("X", "buy", 300)
    first = model.commission(order, 50, 10.0)
    order.record_fill(50, 10.0, first)
    second = model.commission(order, 100, 10.0)
    order.record_fill(100, 10.0, second)
    third = model.commission(order, 150, 10.0)
    assert (first, second, third) == pytest.approx((1.0, 0.5, 1.5))


@pytest.mark.parametrize(
    ("side", "price", "expected"),
    [(Side.BUY, 100.0, 100.1), (Side.SELL, 100.0, 99.9), (Side.BUY, 100.5, 100.55)],
)
def test_slippage_in_basis_points_within_the_bar(side, price, expected) -> None:
    assert Slippage(10).slip(side, price, 100.55, 99.0) == pytest.approx(expected)
    assert Slippage(1000).slip(side, price, 100.55, 99.0) in (100.55, 99.0)


def test_volume_cap_and_borrow() -> None:
    assert VolumeCap(0.25).capacity(1000.0) == 250.0
    assert Borrow(0.0252).borrow(10_000.0, 252) == pytest.approx(1.0)


def test_combined_models_add_up_chain_and_take_the_smallest_cap() -> None:
    model = combine(Commission(per_share=0.01), Commission(minimum=1.0), Slippage(10),
                    Slippage(10), VolumeCap(0.5), VolumeCap(0.1), Borrow(0.252))  # fmt: skip
    assert model.commission(Order("X", "buy", 10), 10, 10.0) == pytest.approx(1.1)
    assert model.slip(Side.BUY, 100.0, 200.0, 50.0) == pytest.approx(100.0 * 1.001**2)
    assert model.capacity(1000.0) == 100.0
    assert model.borrow(1000.0, 252) == pytest.approx(1.0)
    none = combine()
    assert none.commission(Order("X", "buy", 1), 1, 1.0) == 0.0
    assert none.capacity(0.0) == math.inf and none.slip(Side.BUY, 5.0, 6.0, 4.0) == 5.0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Commission(per_share=-1), "commission per_share must be a number >= 0"),
        (lambda: Slippage(math.inf), "slippage must be a number of basis points >= 0"),
        (lambda: VolumeCap(0), r"the volume fraction must be in \(0, 1\], got 0"),
        (lambda: Borrow(-0.1), "the borrow rate must be a number >= 0"),
    ],
)
def test_invalid_parameters_are_one_sentence(make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make()
