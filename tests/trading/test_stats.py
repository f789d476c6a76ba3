"""Statistics against empyrical (the oracle), and the trade and exposure figures."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.trading.broker import SimulatedBroker
from mismartera.trading.orders import Order
from mismartera.trading.portfolio import Portfolio
from mismartera.trading.stats import max_drawdown, return_stats, summary, trade_stats

ep = pytest.importorskip("empyrical")

DAY = 86_400_000_000_000


# at least a millionth or none: smaller ones make the ratios rounding noise in both
daily_return = st.one_of(st.just(0.0), st.floats(1e-6, 0.2), st.floats(-0.2, -1e-6))


def close_to(mine, theirs, abs_tol: float = 1e-9) -> bool:
    if mine is None:
        return not math.isfinite(theirs)
    return mine == pytest.approx(theirs, rel=1e-9, abs=abs_tol)


def ratio_tolerance(r: np.ndarray, sessions_per_year: int, name: str) -> float:
    """The absolute tolerance of a mean-over-spread ratio: ours reads the returns back from
    equity levels (`E_i / E_(i-1) - 1`), empyrical takes them as given, so each return may
    differ by a few 1e-16 and the mean by as much; divided by a tiny spread, that is more than
    1e-9 (returns [1e-6, -1e-6]: sortino 0.0 against -1.2e-9)."""
    spread = (float(np.std(r, ddof=1)) if name == "sharpe"
              else math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2))))
    return 1e-9 + math.sqrt(sessions_per_year) * 1e-14 / spread if spread > 0 else 1e-9


@given(
    returns=st.lists(daily_return, min_size=2, max_size=300),
    sessions_per_year=st.sampled_from([252, 250, 12]),
)
def test_return_statistics_match_empyrical(returns, sessions_per_year) -> None:
    equity = 1_000.0 * np.cumprod(1 + np.asarray(returns))
    r = np.diff(np.concatenate(([1_000.0], equity))) / np.concatenate(([1_000.0], equity[:-1]))
    ts = np.arange(1, len(r) + 1, dtype=np.int64) * DAY
    got = return_stats(ts, equity, 1_000.0, sessions_per_year)
    a = {"annualization": sessions_per_year}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        expected = {
            "total_return": ep.cum_returns_final(r),
            "cagr": ep.annual_return(r, **a),
            "volatility": ep.annual_volatility(r, **a),
            "sharpe": ep.sharpe_ratio(r, **a),
            "sortino": ep.sortino_ratio(r, **a),
            "max_drawdown": -ep.max_drawdown(r),
            "calmar": ep.calmar_ratio(r, **a),
        }
    for name, theirs in expected.items():
        if name in ("sharpe", "volatility") and np.std(r) < 1e-12:
            continue  # no variation: a ratio of rounding noise
        tol = ratio_tolerance(r, sessions_per_year, name) if name in ("sharpe", "sortino") else 1e-9
        assert close_to(got[name], theirs, tol), (name, got[name], theirs)


def test_max_drawdown_is_positive_with_its_peak_and_trough_sessions() -> None:
    ts = np.array([1, 2, 3, 4, 5], dtype=np.int64) * DAY
    equity = np.array([110.0, 120.0, 90.0, 96.0, 130.0])
    assert max_drawdown(ts, equity, 100.0) == (pytest.approx(0.25), 2 * DAY, 3 * DAY)
    assert max_drawdown(ts[:1], np.array([80.0]), 100.0) == (pytest.approx(0.2), None, DAY)
    assert max_drawdown(ts[:2], equity[:2], 100.0) == (0.0, None, None)


def test_undefined_statistics_are_none() -> None:
    empty = return_stats(np.empty(0, np.int64), np.empty(0), 100.0)
    assert set(empty.values()) == {None}
    flat = return_stats(np.array([DAY, 2 * DAY]), np.array([100.0, 100.0]), 100.0)
    assert (flat["total_return"], flat["max_drawdown"], flat["calmar"], flat["sortino"]) == (
        0.0,
        0.0,
        None,
        None,
    )


def test_trade_statistics() -> None:
    got = trade_stats(np.array([10.0, -5.0, 20.0, -5.0]))
    assert got == {"win_rate": 0.5, "profit_factor": 3.0, "trades": 4, "avg_trade": 5.0}
    assert trade_stats(np.array([1.0]))["profit_factor"] is None  # no loss: infinite
    assert trade_stats(np.empty(0)) == {
        "win_rate": None,
        "profit_factor": None,
        "trades": 0,
        "avg_trade": None,
    }


def test_summary_of_a_run() -> None:
    m = 60_000_000_000
    b = SimulatedBroker(Portfolio(1_000.0), m)
    b.on_bar("X", 0, 10, 10, 10, 10, 100)
    b.submit(Order("X", "buy", 10), m)
    b.on_bar("X", m, 10, 11, 10, 11, 100)
    b.submit(Order("X", "sell", 10), 2 * m)
    b.on_bar("X", 2 * m, 12, 12, 12, 12, 100)
    b.on_bar("X", 3 * m, 12, 12, 12, 12, 100)
    b.end_session(DAY)
    b.finish(DAY)
    stats = summary(b.portfolio)
    assert stats["total_return"] == pytest.approx(0.02)
    assert (stats["trades"], stats["avg_trade"], stats["win_rate"]) == (1, 20.0, 1.0)
    assert stats["exposure"] == 0.25  # held over one of four bar closes
