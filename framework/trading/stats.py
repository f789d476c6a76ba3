"""Statistics of a run, from daily equity (the session-close marks) and the trades.

Daily returns r_i = E_i / E_(i-1) - 1 over n sessions, with E_0 the starting cash; A is the
number of sessions per year (252 by default, or the calendar's):

- total_return  E_n / E_0 - 1
- cagr          (E_n / E_0) ** (A / n) - 1
- volatility    std(r, ddof=1) * sqrt(A)
- sharpe        mean(r) / std(r, ddof=1) * sqrt(A)                (risk-free rate 0)
- sortino       mean(r) * sqrt(A) / sqrt(mean(min(r, 0) ** 2))
- max_drawdown  the largest fall from a running peak, as a POSITIVE fraction of the peak
                (0.25: equity fell to 75% of its peak); the starting cash counts as a peak.
                `max_drawdown_peak_ns` / `_trough_ns`: the session closes where it started
                and bottomed (peak None when the peak was the starting cash)
- calmar        cagr / max_drawdown
- win_rate      closed trades with pnl > 0 / closed trades
- profit_factor sum of winning pnl / -sum of losing pnl
- exposure      the fraction of equity marks (base-bar closes) with any position held
- trades        the number of closed trades; avg_trade their mean pnl (net of costs)

These match empyrical's definitions (sign of max drawdown aside). A value that is undefined
(no trades, no variation, no drawdown, an infinite profit factor) is None, so the result is
JSON-ready.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from mismartera.trading.portfolio import OPEN_NS, Portfolio

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

Stats = dict[str, float | int | None]

RETURN_KEYS = (
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "max_drawdown_peak_ns",
    "max_drawdown_trough_ns",
    "calmar",
)


def daily_returns(equity: F64, start: float) -> F64:
    """Session-to-session returns, the first one from the starting cash."""
    levels = np.concatenate(([start], np.asarray(equity, dtype=np.float64)))
    return levels[1:] / levels[:-1] - 1.0


def max_drawdown(ts: I64, equity: F64, start: float) -> tuple[float, int | None, int | None]:
    """(largest fall from a running peak as a positive fraction, peak ns, trough ns)."""
    levels = np.concatenate(([start], np.asarray(equity, dtype=np.float64)))
    peaks = np.maximum.accumulate(levels)
    falls = 1.0 - levels / peaks
    trough = int(np.argmax(falls))
    if falls[trough] <= 0:
        return 0.0, None, None
    peak = int(np.flatnonzero(levels[: trough + 1] == peaks[trough])[-1])
    return float(falls[trough]), None if peak == 0 else int(ts[peak - 1]), int(ts[trough - 1])


def return_stats(ts: I64, equity: F64, start: float, sessions_per_year: int = 252) -> Stats:
    """The statistics of the daily equity curve (see the module docstring)."""
    n = len(equity)
    if n == 0:
        return dict.fromkeys(RETURN_KEYS)
    r = daily_returns(equity, start)
    growth = float(equity[-1]) / start
    cagr = growth ** (sessions_per_year / n) - 1.0 if growth > 0 else -1.0
    root = math.sqrt(sessions_per_year)
    std = float(np.std(r, ddof=1)) if n > 1 else math.nan
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    drawdown, peak_ns, trough_ns = max_drawdown(ts, equity, start)
    return {
        "total_return": growth - 1.0,
        "cagr": cagr,
        "volatility": _finite(std * root),
        "sharpe": _ratio(float(np.mean(r)) * root, std),
        "sortino": _ratio(float(np.mean(r)) * root, downside),
        "max_drawdown": drawdown,
        "max_drawdown_peak_ns": peak_ns,
        "max_drawdown_trough_ns": trough_ns,
        "calmar": _ratio(cagr, drawdown),
    }


def trade_stats(pnl: F64) -> Stats:
    """win_rate, profit_factor, trades and avg_trade of closed trades' net pnl."""
    pnl = np.asarray(pnl, dtype=np.float64)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    return {
        "win_rate": len(wins) / len(pnl) if len(pnl) else None,
        "profit_factor": _ratio(float(wins.sum()), -float(losses.sum())) if len(pnl) else None,
        "trades": len(pnl),
        "avg_trade": float(pnl.mean()) if len(pnl) else None,
    }


def summary(portfolio: Portfolio, sessions_per_year: int = 252,
            curve: tuple[I64, F64, npt.NDArray[np.bool_]] | None = None) -> Stats:
    """Every statistic of a finished run; `curve` is the portfolio's `equity_curve()` when
    the caller has computed it already (it is the costly part)."""
    ts, equity = portfolio.daily_equity()
    trades = portfolio.trades()
    _, _, exposed = curve if curve is not None else portfolio.equity_curve()
    return {
        **return_stats(ts, equity, portfolio.cash_start, sessions_per_year),
        **trade_stats(trades["pnl"][trades["exit_ts"] != OPEN_NS]),
        "exposure": float(exposed.mean()) if len(exposed) else None,
    }


STAT_ROWS = (("total return", "total_return", "pct"), ("CAGR", "cagr", "pct"),
             ("volatility", "volatility", "pct"), ("Sharpe", "sharpe", "num"),
             ("Sortino", "sortino", "num"), ("max drawdown", "max_drawdown", "pct"),
             ("Calmar", "calmar", "num"), ("trades (closed)", "trades", "int"),
             ("win rate", "win_rate", "pct"), ("profit factor", "profit_factor", "num"),
             ("average trade", "avg_trade", "money"), ("exposure", "exposure", "pct"))
"""(label, statistic, kind) of the statistics tables (the summary, the report)."""


def format_stat(value: float | int | None, kind: str) -> str:
    """A statistic as the tables show it: "-" when undefined; `kind` pct, int, money or num."""
    if value is None:
        return "-"
    if kind == "pct":
        return f"{value * 100:,.2f}%"
    if kind == "int":
        return f"{value:,}"
    if kind == "money":
        return f"{value:,.2f}"
    return f"{value:,.3f}"


def _ratio(num: float, den: float) -> float | None:
    return _finite(num / den) if den > 0 else None


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
