"""Properties of the broker on random bars and order streams with brackets and shorts."""

from __future__ import annotations

import math

import pytest
from hypothesis import given

from mismartera.trading.orders import OrderState
from tests.trading.cases import MINUTE, Run, bracket_runs, run_broker


def bars_by_ts(run: Run) -> dict[int, tuple]:
    return {bar[0]: bar for _, steps in run.sessions for bar, _ in steps}


@pytest.mark.parametrize("chunked", [False, True], ids=["bar-by-bar", "chunked"])
@given(run=bracket_runs())
def test_equity_is_cash_plus_positions_at_every_mark(run: Run, chunked: bool) -> None:
    got = run_broker(run, chunked=chunked)
    portfolio = got.broker.portfolio
    ts, equity, exposed = portfolio.equity_curve()
    assert ts.tolist() == [start + MINUTE for start in sorted(bars_by_ts(run))]
    at = dict(zip(ts.tolist(), equity.tolist(), strict=True))
    for close, expected in got.marks:
        assert at[close] == pytest.approx(expected, rel=1e-9)
    assert portfolio.equity == pytest.approx(
        portfolio.cash_start + portfolio.realized + portfolio.unrealized - portfolio.costs,
        rel=1e-9,
    )
    trades = portfolio.trades()
    assert trades["pnl"].sum() == pytest.approx(portfolio.equity - portfolio.cash_start, abs=1e-6)
    assert exposed[-1] == (portfolio.position("SPY").qty != 0)


@given(run=bracket_runs())
def test_fills_lie_in_their_bar_and_never_before_the_submit(run: Run) -> None:
    got = run_broker(run, chunked=True)
    bars = bars_by_ts(run)
    submitted = {o.seq: o.submitted_ns for o in got.all_orders}
    for fill in got.fills:
        _, _, high, low, _, _ = bars[fill.ts]
        assert low <= fill.price <= high
        assert fill.ts >= submitted[fill.seq]


@given(run=bracket_runs())
def test_partial_fills_add_up_to_the_order(run: Run) -> None:
    got = run_broker(run, chunked=True)
    filled: dict[int, float] = {}
    for fill in got.fills:
        filled[fill.seq] = filled.get(fill.seq, 0.0) + fill.qty
    for order in got.all_orders:
        assert filled.get(order.seq, 0.0) == pytest.approx(order.filled_qty, abs=1e-9)
        if order.state is OrderState.FILLED:
            assert order.filled_qty == pytest.approx(order.qty, abs=1e-9)
        assert order.state is not OrderState.PENDING  # finish() ends every order


@given(run=bracket_runs())
def test_bracket_children_only_after_their_entry_and_one_cancels_other(run: Run) -> None:
    got = run_broker(run, chunked=True)
    first_fill: dict[int, int] = {}
    for fill in got.fills:
        first_fill.setdefault(fill.seq, fill.ts)
    for entry in got.orders:
        for child in entry.children:
            if child.seq in first_fill:
                assert entry.seq in first_fill
                assert first_fill[child.seq] >= first_fill[entry.seq]
        if len(entry.children) == 2:
            stop, take = entry.children
            both = stop.filled_qty + take.filled_qty
            assert both <= entry.filled_qty + 1e-9


@given(run=bracket_runs())
def test_orders_log_is_json_ready_and_in_sequence(run: Run) -> None:
    got = run_broker(run, chunked=True)
    log = got.broker.orders()
    assert [row["seq"] for row in log] == list(range(len(log)))
    for row in log:
        assert row["state"] in ("filled", "cancelled", "expired", "rejected")
        for value in row.values():
            assert not (isinstance(value, float) and math.isnan(value))


@given(run=bracket_runs())
def test_a_take_profit_never_fills_in_a_bar_that_touched_its_stop(run: Run) -> None:
    got = run_broker(run, chunked=True)
    bars = bars_by_ts(run)
    take_profits = {
        entry.children[1].seq: entry.children[0].stop
        for entry in got.orders
        if len(entry.children) == 2
    }
    for fill in got.fills:
        if fill.seq in take_profits:
            _, _, _, low, _, _ = bars[fill.ts]
            assert low > take_profits[fill.seq]  # long brackets: a sell stop below
