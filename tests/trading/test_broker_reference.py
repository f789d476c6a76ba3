"""The broker against the slow reference simulation, on random bars and order streams."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given

from tests.reference.trading import simulate
from tests.trading.cases import MINUTE, Run, run_broker, runs


def reference(run: Run):
    return simulate(copy.deepcopy(run.sessions), MINUTE, run.cash, run.costs)


@pytest.mark.parametrize("chunked", [False, True], ids=["bar-by-bar", "chunked"])
@given(run=runs())
def test_broker_equals_reference(run: Run, chunked: bool) -> None:
    ref = reference(run)
    got = run_broker(run, chunked=chunked)
    fills = [(f.seq, f.qty, f.price, f.ts, f.costs) for f in got.fills]
    assert len(fills) == len(ref.fills)
    for mine, theirs in zip(fills, ref.fills, strict=True):
        assert mine[0] == theirs[0] and mine[3] == theirs[3]
        assert mine[1:3] == pytest.approx(theirs[1:3], rel=1e-12)
        assert mine[4] == pytest.approx(theirs[4], rel=1e-9, abs=1e-12)
    assert [o.state.value for o in got.orders] == [o.state for o in ref.orders]
    assert [o.filled_qty for o in got.orders] == pytest.approx([o.filled for o in ref.orders])
    portfolio = got.broker.portfolio
    ts, equity, _ = portfolio.equity_curve()
    assert ts.tolist() == [t for t, _ in ref.marks]
    np.testing.assert_allclose(equity, [e for _, e in ref.marks], rtol=1e-9)
    daily_ts, daily = portfolio.daily_equity()
    assert daily_ts.tolist() == [t for t, _ in ref.daily]
    np.testing.assert_allclose(daily, [e for _, e in ref.daily], rtol=1e-9)
    assert portfolio.cash == pytest.approx(ref.cash, rel=1e-9)
    assert portfolio.position("SPY").qty == pytest.approx(ref.position, abs=1e-9)


@given(run=runs())
def test_chunked_equals_bar_by_bar(run: Run) -> None:
    one, many = run_broker(run), run_broker(run, chunked=True)
    assert one.broker.orders() == many.broker.orders()
    assert one.broker.portfolio.trade_dicts() == many.broker.portfolio.trade_dicts()
    for a, b in zip(
        one.broker.portfolio.equity_curve(), many.broker.portfolio.equity_curve(), strict=True
    ):
        np.testing.assert_array_equal(a, b)


@given(run=runs())
def test_marking_a_whole_day_at_its_close_equals_marking_each_chunk(run: Run) -> None:
    """What a running session does: chunks that only fill, one mark per symbol-day."""
    one, day = run_broker(run), run_broker(run, chunked=True, day_marks=True)
    assert one.broker.orders() == day.broker.orders()
    assert one.broker.portfolio.trade_dicts() == day.broker.portfolio.trade_dicts()
    for a, b in zip(
        one.broker.portfolio.equity_curve(), day.broker.portfolio.equity_curve(), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(one.broker.portfolio.daily_equity()[1],
                                  day.broker.portfolio.daily_equity()[1])


@given(run=runs())
def test_two_runs_are_identical(run: Run) -> None:
    first, second = run_broker(run, chunked=True), run_broker(run, chunked=True)
    assert first.broker.orders() == second.broker.orders()
    assert first.broker.portfolio.trade_dicts() == second.broker.portfolio.trade_dicts()
    np.testing.assert_array_equal(
        first.broker.portfolio.equity_curve()[1], second.broker.portfolio.equity_curve()[1]
    )
