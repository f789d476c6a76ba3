"""Portfolio: cash and positions, round-trip trades, the equity curve across symbols."""

from __future__ import annotations

import numpy as np
import pytest

from mismartera.trading import broker as broker_module
from mismartera.trading.broker import SimulatedBroker
from mismartera.trading.costs import Borrow, Commission, combine
from mismartera.trading.orders import Fill, Order, Side
from mismartera.trading.portfolio import OPEN_NS, Portfolio
from tests.trading.cases import Chunk

M = 60_000_000_000
T0 = 1_704_205_800_000_000_000


def fill(side: str, qty: float, price: float, ts: int = 0, costs: float = 0.0, seq: int = 0):
    return Fill(seq, "X", Side(side), qty, price, ts, costs)


def test_scaling_in_averages_and_a_partial_exit_is_one_trade_record() -> None:
    p = Portfolio(10_000.0)
    p.apply(fill("buy", 10, 100.0, ts=1, costs=1.0), 2)
    p.apply(fill("buy", 30, 104.0, ts=3, costs=3.0), 4)
    p.apply(fill("sell", 20, 110.0, ts=5, costs=2.0, seq=7), 6)
    pos = p.position("X")
    assert (pos.qty, pos.avg_price) == (20.0, 103.0)
    assert p.realized == pytest.approx(20 * 7.0)
    closed, still_open = p.trade_dicts()
    assert closed == {
        "symbol": "X", "side": "long", "qty": 20.0, "entry_ts": 1, "entry_price": 103.0,
        "exit_ts": 5, "exit_price": 110.0, "pnl": pytest.approx(140.0 - 4.0), "costs": 4.0,
        "entry_quality": None, "exit_quality": None,
    }  # fmt: skip
    assert (still_open["qty"], still_open["costs"], still_open["exit_price"]) == (20.0, 2.0, None)


def test_a_flip_closes_the_long_and_opens_a_short() -> None:
    p = Portfolio(0.0)
    p.apply(fill("buy", 10, 100.0, ts=1), 2)
    p.apply(fill("sell", 25, 90.0, ts=3, costs=5.0), 4)
    p.mark("X", np.array([4]), np.array([80.0]))
    long, short = p.trade_dicts()
    assert (long["side"], long["qty"], long["pnl"]) == ("long", 10.0, pytest.approx(-100.0 - 2.0))
    assert (short["side"], short["qty"], short["entry_price"]) == ("short", 15.0, 90.0)
    assert short["pnl"] == pytest.approx(15 * 10.0 - 3.0)  # open: valued at the last close
    assert p.position("X").qty == -15.0
    assert p.equity == pytest.approx(p.cash_start + p.realized + p.unrealized - p.costs)


def test_trades_table_is_columnar_with_open_exits_marked() -> None:
    p = Portfolio(0.0)
    p.apply(fill("sell", 5, 10.0, ts=1), 2)
    table = p.trades()
    assert table["exit_ts"].dtype == np.int64 and table["exit_ts"][0] == OPEN_NS
    assert table["side"].tolist() == ["short"] and np.isnan(table["exit_price"][0])


def test_borrow_is_charged_per_session_on_the_short_value_and_belongs_to_the_trade() -> None:
    b = SimulatedBroker(Portfolio(10_000.0), M, combine(Borrow(0.252)))
    b.submit(Order("X", "sell", 10), T0)
    b.on_bar("X", T0, 100, 101, 99, 100, 1000)
    b.end_session(T0 + 390 * M)
    assert b.portfolio.cash == pytest.approx(10_000.0 + 1000.0 - 1.0)  # 0.1% of 1000
    (trade,) = b.portfolio.trade_dicts()
    assert trade["costs"] == pytest.approx(1.0)
    assert b.portfolio.daily_equity()[1].tolist() == pytest.approx([9_999.0])


def interleaved_and_by_symbol(chunked: bool):
    """Two symbols with orders on both, fed bar by bar (interleaved) or symbol by symbol."""
    rng = np.random.default_rng(7)
    n = 50
    data = {}
    for sym in ("A", "B"):
        close = 100 + np.cumsum(rng.normal(0, 1, n))
        o = np.concatenate(([100.0], close[:-1]))
        data[sym] = Chunk(T0 + np.arange(n) * M, o, np.maximum(o, close) + 0.5,
                          np.minimum(o, close) - 0.5, close, np.full(n, 1e3))  # fmt: skip
    b = SimulatedBroker(Portfolio(1_000.0), M, Commission(per_share=0.01))
    for sym, side in (("A", "buy"), ("B", "sell")):
        b.submit(Order(sym, side, 10), T0 + 5 * M)
        b.submit(Order(sym, "sell" if side == "buy" else "buy", 4), T0 + 30 * M)
    if chunked:
        for sym in ("A", "B"):
            b.on_bars(sym, data[sym])
    else:
        for i in range(n):
            for sym in ("A", "B"):
                b.on_bar(sym, *(float(col[i]) for col in data[sym]))
    return b, data


def test_the_equity_curve_does_not_depend_on_the_order_symbols_are_fed_in() -> None:
    (one, data), (many, _) = interleaved_and_by_symbol(False), interleaved_and_by_symbol(True)
    ts, equity, exposed = one.portfolio.equity_curve()
    ts2, equity2, exposed2 = many.portfolio.equity_curve()
    np.testing.assert_array_equal(ts, ts2)
    np.testing.assert_allclose(equity, equity2, rtol=1e-12)
    np.testing.assert_array_equal(exposed, exposed2)
    i = 40  # after both symbols' fills: cash + sum of position x close
    cash = (1_000.0 - 10 * data["A"].open[5] + 10 * data["B"].open[5]
            + 4 * data["A"].open[30] - 4 * data["B"].open[30] - 0.28)  # fmt: skip
    expected = cash + 6 * data["A"].close[i] - 6 * data["B"].close[i]
    assert equity[i] == pytest.approx(expected, rel=1e-12)
    assert exposed[:5].tolist() == [False] * 5 and exposed[5:].all()


def test_no_per_bar_matching_when_no_pending_order_can_fill(monkeypatch) -> None:
    calls = []
    real = broker_module.match
    monkeypatch.setattr(broker_module, "match", lambda *a, **k: calls.append(1) or real(*a, **k))
    n = 10_000
    close = np.full(n, 100.0)
    chunk = Chunk(T0 + np.arange(n) * M, close, close + 1, close - 1, close, np.full(n, 1e3))
    b = SimulatedBroker(Portfolio(1_000.0), M)
    b.submit(Order("X", "buy", 1, "limit", limit=50.0, tif="gtc"), T0)  # never reached
    b.on_bars("X", chunk)
    assert calls == []
    b.submit(Order("X", "buy", 1), T0 + n * M)
    b.on_bars("X", chunk._replace(ts=chunk.ts + n * M))
    assert len(calls) == 2  # one bar matched: the market order and the resting limit
    ts, equity, _ = b.portfolio.equity_curve()
    assert len(ts) == 2 * n and equity[-1] == pytest.approx(1_000.0)
