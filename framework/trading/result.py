"""What a strategy leaves on `SessionData.strategy`: its portfolio, trades, equity, orders and
statistics, as columns and as the JSON export's `strategy` section."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from mismartera.config import StrategySpec
from mismartera.trading.broker import SimulatedBroker
from mismartera.trading.portfolio import OPEN_NS, TRADE_COLUMNS, Portfolio
from mismartera.trading.stats import summary
from mismartera.trading.strategy import Strategy

if TYPE_CHECKING:
    from collections.abc import Callable


NAN = math.nan


class StrategyResult:
    """What a strategy did in a run, read from `SessionData.strategy`: `trades` and `equity`
    as columns (`pandas.DataFrame(result.trades)`), `stats`, `orders`, `errors`; the
    `portfolio` and `broker` themselves. Times in the columns are UTC `datetime64[ns]`
    (NaT for an open trade's exit)."""

    def __init__(self, spec: StrategySpec, strategy: Strategy, cash: float) -> None:
        self.name = spec.name
        self.interval = strategy.interval.name if strategy.interval is not None else None
        self.params = {k: getattr(strategy, k) for k in strategy.parameters()}
        self.strategy = strategy
        self.portfolio = Portfolio(cash)
        self.broker: SimulatedBroker | None = None
        self.errors: list[str] = []
        self.sessions_per_year = 252

    @property
    def cash_start(self) -> float:
        return self.portfolio.cash_start

    @property
    def equity_end(self) -> float:
        return self.portfolio.equity

    @property
    def orders(self) -> list[dict[str, object]]:
        """Every order with its state (after the run: final), by sequence."""
        return self.broker.orders() if self.broker is not None else []

    def trade_dicts(self) -> list[dict[str, object]]:
        """The trades as rows (times in ns; an open trade's exit None)."""
        return self.portfolio.trade_dicts()

    @property
    def trades(self) -> dict[str, np.ndarray]:
        """The trades as columns (TRADE_COLUMNS), times as UTC datetime64[ns]."""
        table = self.portfolio.trades()
        for name in ("entry_ts", "exit_ts"):
            ns = table[name]
            table[name] = np.where(ns == OPEN_NS, np.datetime64("NaT"),
                                   ns.astype("datetime64[ns]")).astype("datetime64[ns]")
        return table

    @property
    def equity(self) -> dict[str, np.ndarray]:
        """The equity at every base-bar close: `ts` (UTC datetime64[ns]), `equity`, `exposed`."""
        ts, equity, exposed = self.portfolio.equity_curve()
        return {"ts": ts.astype("datetime64[ns]"), "equity": equity, "exposed": exposed}

    @property
    def stats(self) -> dict[str, Any]:
        """The statistics of the run so far (see `mismartera.trading.stats`)."""
        return summary(self.portfolio, self.sessions_per_year)

    def to_doc(self, fmt: Callable[[int], str], fmt_many: Callable[[Any], list[str]]
               ) -> dict[str, Any]:
        """The export's `strategy` section: times ISO in the exchange zone."""
        trades = []
        for row in self.trade_dicts():
            row["entry_ts"] = fmt(row["entry_ts"])  # type: ignore[arg-type]
            if row["exit_ts"] is not None:
                row["exit_ts"] = fmt(row["exit_ts"])  # type: ignore[arg-type]
            trades.append({k: row[k] for k in TRADE_COLUMNS})
        orders = []
        for o in self.orders:
            submitted, closed = o.pop("submitted_ns"), o.pop("closed_ns")
            o["submitted_ts"] = fmt(submitted)  # type: ignore[arg-type]
            o["closed_ts"] = None if closed is None else fmt(closed)  # type: ignore[arg-type]
            orders.append(o)
        stats = {}
        for key, value in self.stats.items():
            if key.endswith("_ns"):
                key, value = key[:-3] + "_ts", None if value is None else fmt(value)
            stats[key] = value
        ts, equity, exposed = self.portfolio.equity_curve()
        days, daily = self.portfolio.daily_equity()
        return {
            "name": self.name,
            "interval": self.interval,
            "params": dict(self.params),
            "cash_start": self.cash_start,
            "equity_end": self.equity_end,
            "trades": trades,
            "orders": orders,
            "stats": stats,
            "equity": {"columns": ["ts", "equity", "exposed"],
                       "data": [[t, e, x] for t, e, x in zip(
                           fmt_many(ts), equity.tolist(), exposed.tolist(), strict=True)]},
            "daily_equity": {"columns": ["ts", "equity"],
                             "data": [[t, e] for t, e in zip(
                                 fmt_many(days), daily.tolist(), strict=True)]},
            "errors": list(self.errors),
        }

    def __repr__(self) -> str:
        n = len(self.portfolio.trades()["qty"])
        return (f"StrategyResult({self.name}, cash_start={self.cash_start:g}, "
                f"equity_end={self.equity_end:g}, trades={n})")


# --- the runner ----------------------------------------------------------------------------


__all__ = ["StrategyResult"]
