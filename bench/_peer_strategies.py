"""`sma_cross` as a backtesting.py and a backtrader strategy class, its parameters (fast, slow,
qty) class parameters, at module level: a peer's optimiser (`Backtest.optimize`,
`Cerebro.optstrategy`) varies them and pickles the class to its worker processes by name.
Imports both peers: bench/_peers.py loads it only when they run (fill settings there).
"""

from __future__ import annotations

import backtrader as bt
from _peers import _sma
from backtesting import Strategy


class BacktestingSmaCross(Strategy):
    """sma_cross for backtesting.py: long on the fast SMA crossing above the slow one."""

    fast = 10
    slow = 30
    qty = 100

    def init(self):
        self.f = self.I(_sma, self.data.Close, self.fast, name="fast")
        self.s = self.I(_sma, self.data.Close, self.slow, name="slow")

    def next(self):
        f, s = self.f[-1], self.s[-1]
        if f > s:
            if not self.position and self.f[-2] <= self.s[-2]:
                self.buy(size=self.qty)
        elif f < s and self.position.is_long and self.f[-2] >= self.s[-2]:
            self.position.close()


class BacktraderSmaCross(bt.Strategy):
    """sma_cross for backtrader; with `fills` (a list) and `ns` (the bars' start times) it
    appends (ts, signed qty, price) of each fill."""

    params = (("fast", 10), ("slow", 30), ("qty", 100), ("fills", None), ("ns", None))

    def __init__(self):
        self.f = bt.indicators.SMA(self.data.close, period=self.p.fast)
        self.s = bt.indicators.SMA(self.data.close, period=self.p.slow)

    def next(self):
        f, s = self.f[0], self.s[0]
        if f > s:
            if not self.position and self.f[-1] <= self.s[-1]:
                self.buy(size=self.p.qty)
        elif f < s and self.position.size > 0 and self.f[-1] >= self.s[-1]:
            self.close()

    def notify_order(self, order):
        if self.p.fills is not None and order.status == order.Completed:
            # the bar it filled on: backtrader's clock is at that bar now
            self.p.fills.append((int(self.p.ns[len(self.data) - 1]),
                                 float(order.executed.size), float(order.executed.price)))


class ClosedTrades(bt.Analyzer):
    """The number of closed trades of a run (what an optimisation run reports back)."""

    def start(self):
        self.count = 0

    def notify_trade(self, trade):
        if trade.isclosed:
            self.count += 1

    def get_analysis(self):
        return self.count
