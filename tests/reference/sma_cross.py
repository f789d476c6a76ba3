"""Reference simulation of `sma_cross`: a plain loop over one symbol's bars of the
strategy's interval, no broker, no session.

The SMAs are exact: window means of the bars' float64 closes in rational arithmetic
(`fractions.Fraction`), compared exactly. At the close of bar i, with F/S the fast and slow
SMA:

    flat and F[i] > S[i] and F[i-1] <= S[i-1]  ->  buy `qty` at bar i+1's open
    long and F[i] < S[i] and F[i-1] >= S[i-1]  ->  sell the position at bar i+1's open

A signal on the last bar never fills. Float implementations (the engine's streaming window
sum, backtrader's `math.fsum`, TA-Lib's running total) round the means differently, so
where the exact F and S are equal, or within rounding of each other, each may see its own
cross: `ties` lists those bars, and a comparison is only meaningful on bars without any.
The engine derives the bars from 1m base bars and fills at the first base bar
starting at or after the signal, whose open is bar i+1's open and whose start is bar i+1's
start, so the trades must be these, bar for bar.
"""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

import numpy as np


class RefTrade(NamedTuple):
    entry_ts: int  # bar start, ns UTC
    entry_price: float
    exit_ts: int | None  # None: still open at the end
    exit_price: float | None
    qty: float


def sma(close: np.ndarray, period: int) -> list[Fraction | None]:
    """The exact mean of the last `period` closes (None before)."""
    values = [Fraction(float(x)) for x in close]
    out: list[Fraction | None] = [None] * len(values)
    total = sum(values[:period - 1], Fraction(0))
    for i in range(period - 1, len(values)):
        total += values[i]
        out[i] = total / period
        total -= values[i + 1 - period]
    return out


def signals(close: np.ndarray, fast: int, slow: int) -> list[int]:
    """+1 where the fast SMA crossed above the slow one at this bar, -1 where it crossed
    below, 0 elsewhere (and while the previous bar has no slow SMA)."""
    f, s = sma(close, fast), sma(close, slow)
    out = [0] * len(f)
    for i in range(slow, len(f)):
        if f[i] > s[i] and f[i - 1] <= s[i - 1]:
            out[i] = 1
        elif f[i] < s[i] and f[i - 1] >= s[i - 1]:
            out[i] = -1
    return out


def ties(close: np.ndarray, fast: int, slow: int, rel: float = 1e-12) -> list[int]:
    """Bars where the exact fast and slow SMAs are within `rel` (relative) of each other:
    float rounding may decide a cross there."""
    f, s = sma(close, fast), sma(close, slow)
    return [i for i in range(slow - 1, len(f))
            if abs(f[i] - s[i]) <= rel * abs(s[i])]  # type: ignore[operator]


def simulate(ts: np.ndarray, open_: np.ndarray, close: np.ndarray, fast: int, slow: int,
             qty: float) -> list[RefTrade]:
    """The trades of `sma_cross` on these bars, in entry order (an open one last)."""
    trades: list[RefTrade] = []
    held = 0.0
    entry: tuple[int, float] | None = None
    order = 0  # +1 buy / -1 sell waiting for the next bar's open
    for i, signal in enumerate(signals(close, fast, slow)):
        if order == 1:
            held, entry = qty, (int(ts[i]), float(open_[i]))
        elif order == -1 and entry is not None:
            trades.append(RefTrade(*entry, int(ts[i]), float(open_[i]), held))
            held, entry = 0.0, None
        order = 0
        if signal == 1 and held == 0:
            order = 1
        elif signal == -1 and held > 0:
            order = -1
    if entry is not None:
        trades.append(RefTrade(*entry, None, None, held))
    return trades
