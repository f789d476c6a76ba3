"""Hand-checked broker scenarios, one per behaviour that simulated brokers get wrong."""

from __future__ import annotations

import pytest

from mismartera.trading.broker import SimulatedBroker
from mismartera.trading.costs import Commission, Slippage, VolumeCap, combine
from mismartera.trading.orders import Order, OrderState, bracket
from mismartera.trading.portfolio import Portfolio

M = 60_000_000_000  # one-minute base bars
T0 = 1_704_205_800_000_000_000


def broker(*costs, allow_short: bool = True) -> SimulatedBroker:
    return SimulatedBroker(Portfolio(10_000.0), M, combine(*costs), allow_short=allow_short)


def bar(b: SimulatedBroker, i: int, o, h, low, c, v=1_000.0, symbol="X", quality=None):
    return b.on_bar(symbol, T0 + i * M, o, h, low, c, v, quality)


def test_an_order_from_a_coarser_bar_fills_on_the_next_base_bar_not_the_next_coarse_bar() -> None:
    # A 5m strategy's order at 09:35 fills in the 09:35 one-minute bar, from the base data.
    b = broker()
    for i in range(5):
        bar(b, i, 100, 101, 99, 100)
    b.submit(Order("X", "sell", 1, "stop", stop=99.5), T0 + 5 * M)
    (fill,) = bar(b, 5, 100, 100.2, 99.0, 99.2)
    assert (fill.ts, fill.price) == (T0 + 5 * M, 99.5)


def test_no_fill_on_a_bar_that_started_before_the_order() -> None:
    b = broker()
    b.submit(Order("X", "buy", 1), T0 + M)
    assert bar(b, 0, 100, 101, 99, 100) == []  # started at T0, before the submit
    (fill,) = bar(b, 1, 100.5, 101, 99, 100)
    assert (fill.ts, fill.price) == (T0 + M, 100.5)


def test_a_stop_gapped_through_fills_at_the_open() -> None:
    b = broker()
    b.submit(Order("X", "buy", 10), T0)
    bar(b, 0, 100, 101, 99, 100)
    b.submit(Order("X", "sell", 10, "stop", stop=98.0, tif="gtc"), T0 + M)
    (fill,) = bar(b, 1, 95.0, 96.0, 94.0, 95.5)
    assert fill.price == 95.0


def test_stop_and_take_profit_touched_in_one_bar_resolve_stop_first() -> None:
    b = broker()
    entry = b.submit(bracket(Order("X", "buy", 10), stop_loss=98.0, take_profit=103.0), T0)
    bar(b, 0, 100, 101, 99, 100)
    (fill,) = bar(b, 1, 100, 104, 97, 100)
    stop, take = entry.children
    assert (fill.seq, fill.price) == (stop.seq, 98.0)
    assert take.state is OrderState.CANCELLED and take.reason == "one-cancels-other"
    assert b.portfolio.position("X").qty == 0


def test_a_protective_stop_can_fill_on_its_entrys_bar() -> None:
    b = broker()
    entry = b.submit(bracket(Order("X", "buy", 10), stop_loss=98.0), T0)
    fills = bar(b, 0, 100, 100.5, 97.0, 97.5)
    assert [(f.seq, f.price) for f in fills] == [(entry.seq, 100.0), (entry.children[0].seq, 98.0)]
    (trade,) = b.portfolio.trade_dicts()
    assert (trade["entry_price"], trade["exit_price"], trade["pnl"]) == (100.0, 98.0, -20.0)


def test_a_take_profit_fills_on_the_entry_bar_only_after_an_entry_at_the_open() -> None:
    at_open = broker()
    at_open.submit(bracket(Order("X", "buy", 1), take_profit=101.0), T0)
    assert [f.price for f in bar(at_open, 0, 100, 102, 99, 100)] == [100.0, 101.0]
    # a limit entry at 99 came after the open: the high of 102 may have come before it
    below = broker()
    entry = below.submit(bracket(Order("X", "buy", 1, "limit", limit=99.0), take_profit=101.0), T0)
    assert [f.price for f in bar(below, 0, 100, 102, 98, 100)] == [99.0]
    assert [f.price for f in bar(below, 1, 100, 101.5, 99.5, 101)] == [101.0]
    assert entry.children[0].state is OrderState.FILLED


def test_a_gap_below_a_market_entrys_stop_closes_the_position_at_the_open() -> None:
    b = broker()
    b.submit(bracket(Order("X", "buy", 1), stop_loss=98.0), T0)
    assert [f.price for f in bar(b, 0, 95, 96, 94, 95)] == [95.0, 95.0]


def test_children_wait_for_the_entry_and_go_when_it_never_fills() -> None:
    b = broker()
    entry = b.submit(bracket(Order("X", "buy", 1, "stop", stop=105.0), stop_loss=98.0), T0)
    assert bar(b, 0, 100, 101, 97, 100) == []  # the stop level is touched, the entry is not
    assert not entry.children[0].active
    b2 = broker()
    entry = b2.submit(bracket(Order("X", "buy", 1, "limit", limit=90.0), stop_loss=80.0), T0)
    assert b2.cancel(entry, T0) and entry.children[0].state is OrderState.CANCELLED


def test_a_partially_filled_entry_that_expires_is_protected_for_what_filled() -> None:
    b = broker(VolumeCap(0.5))
    entry = b.submit(bracket(Order("X", "buy", 100), stop_loss=95.0), T0)
    bar(b, 0, 100, 101, 99, 100, v=60)
    b.end_session(T0 + 30 * M)
    stop = entry.children[0]
    assert (entry.state, entry.filled_qty) == (OrderState.EXPIRED, 30.0)
    assert stop.active and stop.qty == 30.0 and stop.is_pending
    (fill,) = bar(b, 1440, 96, 97, 94, 95)
    assert (fill.qty, fill.price) == (30.0, 95.0)


def test_a_day_order_at_the_last_close_fills_at_the_next_open_then_expires() -> None:
    b = broker()
    close = T0 + 390 * M
    bar(b, 389, 100, 101, 99, 100)
    market = b.submit(Order("X", "buy", 1), close)
    limit = b.submit(Order("X", "buy", 1, "limit", limit=50.0), close)
    b.end_session(close)
    assert market.is_pending and limit.is_pending
    next_open = T0 + 1440 * M
    (fill,) = b.on_bar("X", next_open, 101, 102, 100, 101, 1000)
    assert (fill.seq, fill.price) == (market.seq, 101.0)
    b.end_session(close + 1440 * M)
    assert limit.state is OrderState.EXPIRED


def test_a_gtc_order_survives_the_session_end() -> None:
    b = broker()
    order = b.submit(Order("X", "buy", 1, "limit", limit=50.0, tif="gtc"), T0)
    b.end_session(T0 + 390 * M)
    assert order.is_pending
    b.finish(T0 + 400 * M)
    assert (order.state, order.reason) == (OrderState.CANCELLED, "end of run")


def test_slippage_never_leaves_the_bar_nor_passes_a_limit() -> None:
    b = broker(Slippage(100))  # 1%
    b.submit(Order("X", "buy", 1), T0)
    b.submit(Order("X", "buy", 1, "limit", limit=100.2), T0)
    fills = bar(b, 0, 100, 100.5, 99.5, 100)
    assert [f.price for f in fills] == [100.5, 100.2]  # clamped to the high, then the limit


def test_the_commission_minimum_is_per_order_not_per_partial_fill() -> None:
    b = broker(Commission(per_share=0.005, minimum=1.0), VolumeCap(0.1))
    order = b.submit(Order("X", "buy", 300, tif="gtc"), T0)
    costs = [f.costs for i in range(3) for f in bar(b, i, 100, 101, 99, 100, v=1000)]
    assert costs == pytest.approx([1.0, 0.0, 0.5])  # 300 x 0.005 = 1.50, not 3 x 1.00
    assert order.costs == pytest.approx(1.5) and order.state is OrderState.FILLED


def test_a_bar_without_volume_fills_nothing_under_a_participation_cap() -> None:
    b = broker(VolumeCap(0.5))
    b.submit(Order("X", "buy", 10, tif="gtc"), T0)
    assert bar(b, 0, 100, 101, 99, 100, v=0) == []
    assert [f.qty for f in bar(b, 1, 100, 101, 99, 100, v=100)] == [10.0]


def test_long_only_rejects_a_sell_that_would_open_a_short() -> None:
    b = broker(allow_short=False)
    order = b.submit(Order("X", "sell", 1), T0)
    assert bar(b, 0, 100, 101, 99, 100) == []
    assert (order.state, order.reason) == (OrderState.REJECTED, "would open a short position")


def test_fills_record_the_bar_quality_and_trades_carry_it() -> None:
    b = broker()
    b.submit(Order("X", "buy", 1), T0)
    (fill,) = bar(b, 0, 100, 101, 99, 100, quality=97.5)
    assert fill.quality == 97.5
    (trade,) = b.portfolio.trade_dicts()
    assert (trade["entry_quality"], trade["exit_ts"], trade["exit_quality"]) == (97.5, None, None)


def test_a_symbol_without_orders_is_marked_without_matching() -> None:
    b = broker()
    b.submit(Order("Y", "buy", 1), T0)  # another symbol's order is no reason to look at X
    bar(b, 0, 100, 101, 99, 100)
    assert b.pending("Y") and b.portfolio.equity == 10_000.0
