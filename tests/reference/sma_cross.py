"""Reference simulation of `sma_cross`: a plain loop over one symbol's bars of the
strategy's interval, no broker, no session.

The SMAs are exact window means (`math.fsum`); at the close of bar i, with F/S the fast and
slow SMA:

    flat and F[i] > S[i] and F[i-1] <= S[i-1]  ->  buy `qty` at bar i+1's open
    long and F[i] < S[i] and F[i-1] >= S[i-1]  ->  sell the position at bar i+1's open

A signal on the last bar never fills. The engine derives the bars from 1m base bars and
fills at the first base bar starting at or after the signal, whose open is bar i+1's open
and whose start is bar i+1's start, so the trades must be these, bar for bar.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


class RefTrade(NamedTuple):
    entry_ts: int  # bar start, ns UTC
    entry_price: float
    exit_ts: int | None  # None: still open at the end
    exit_price: float | None
    qty: float


def sma(close: np.ndarray, period: int) -> list[float]:
    """The mean of the last `period` closes (NaN before), each window summed exactly."""
    values = [float(x) for x in close]
    return [math.fsum(values[i + 1 - period:i + 1]) / period if i + 1 >= period else math.nan
            for i in range(len(values))]


def signals(close: np.ndarray, fast: int, slow: int) -> list[int]:
    """+1 where the fast SMA crossed above the slow one at this bar, -1 where it crossed
    below, 0 elsewhere."""
    f, s = sma(close, fast), sma(close, slow)
    out = [0] * len(f)
    for i in range(1, len(f)):
        if f[i] > s[i] and f[i - 1] <= s[i - 1]:
            out[i] = 1
        elif f[i] < s[i] and f[i - 1] >= s[i - 1]:
            out[i] = -1
    return out


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
