"""Slow, obviously-correct pure-Python versions of `mismartera.ext.kernels`.

Plain lists and loops; every windowed value is recomputed from its window (sums with
`math.fsum`, standard deviations with `statistics.pstdev`, which computes exactly and rounds
once). The recursive indicators follow their textbook definitions in TA-Lib's variant:

- EMA: alpha = 2 / (period + 1), seeded with the mean of the first `period` values.
- RSI: Wilder's averages of gains and losses over the first `period` changes, then
  avg = (avg * (period - 1) + value) / period; RSI = 100 * gain / (gain + loss), 0 when
  both averages are 0.
- ATR: true range = max(high - low, |high - previous close|, |low - previous close|) from
  the second bar; the first ATR is the mean of the first `period` true ranges, then Wilder.
- MACD: both EMAs start at index slow - 1 (the fast one seeded on the `fast` values ending
  there); signal = EMA of the line; every output NaN before index slow + signal - 2.

Every function returns lists of floats, NaN where the kernel has no value yet.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

NAN = float("nan")


def _windows(x: Sequence[float], period: int):
    """(index, window) for every index whose window of `period` values is complete."""
    for i in range(period - 1, len(x)):
        yield i, [float(v) for v in x[i - period + 1 : i + 1]]


def rolling_sum(x: Sequence[float], period: int) -> list[float]:
    out = [NAN] * len(x)
    for i, w in _windows(x, period):
        out[i] = math.fsum(w)
    return out


def sma(x: Sequence[float], period: int) -> list[float]:
    out = [NAN] * len(x)
    for i, w in _windows(x, period):
        out[i] = math.fsum(w) / period
    return out


def rolling_std(x: Sequence[float], period: int) -> list[float]:
    """Population standard deviation of each window."""
    out = [NAN] * len(x)
    for i, w in _windows(x, period):
        out[i] = statistics.pstdev(w)
    return out


def rolling_max(x: Sequence[float], period: int) -> list[float]:
    out = [NAN] * len(x)
    for i, w in _windows(x, period):
        out[i] = NAN if any(math.isnan(v) for v in w) else max(w)
    return out


def rolling_min(x: Sequence[float], period: int) -> list[float]:
    out = [NAN] * len(x)
    for i, w in _windows(x, period):
        out[i] = NAN if any(math.isnan(v) for v in w) else min(w)
    return out


def ema(x: Sequence[float], period: int) -> list[float]:
    out = [NAN] * len(x)
    if len(x) < period:
        return out
    alpha = 2.0 / (period + 1)
    value = sum(float(v) for v in x[:period]) / period
    out[period - 1] = value
    for i in range(period, len(x)):
        value = value + alpha * (float(x[i]) - value)
        out[i] = value
    return out


def _wilder(values: Sequence[float], period: int) -> list[float]:
    """Wilder's average of `values`: NaN for the first period - 1, then the mean of the
    first `period`, then avg = (avg * (period - 1) + value) / period."""
    out = [NAN] * len(values)
    if len(values) < period:
        return out
    avg = sum(values[:period]) / period
    out[period - 1] = avg
    for i in range(period, len(values)):
        avg = (avg * (period - 1) + values[i]) / period
        out[i] = avg
    return out


def rsi(close: Sequence[float], period: int = 14) -> list[float]:
    changes = [float(close[i]) - float(close[i - 1]) for i in range(1, len(close))]
    gains = _wilder([max(d, 0.0) for d in changes], period)
    losses = _wilder([max(-d, 0.0) for d in changes], period)
    out = [NAN] * len(close)
    for i in range(period, len(close)):
        gain, loss = gains[i - 1], losses[i - 1]
        out[i] = 0.0 if gain + loss == 0.0 else 100.0 * gain / (gain + loss)
    return out


def true_range(high: float, low: float, prev_close: float) -> float:
    return max(high - low, abs(high - prev_close), abs(low - prev_close))


def atr(
    high: Sequence[float], low: Sequence[float], close: Sequence[float], period: int = 14
) -> list[float]:
    ranges = [
        true_range(float(high[i]), float(low[i]), float(close[i - 1])) for i in range(1, len(close))
    ]
    return [NAN, *_wilder(ranges, period)][: len(close)]


def vwap(
    high: Sequence[float],
    low: Sequence[float],
    close: Sequence[float],
    volume: Sequence[float],
    session_ids: Sequence[int],
) -> list[float]:
    """sum(typical * volume) / sum(volume) since the first bar of the bar's session."""
    out = []
    start = 0
    for i in range(len(close)):
        if i > 0 and session_ids[i] != session_ids[i - 1]:
            start = i
        bars = range(start, i + 1)
        typical = [(float(high[j]) + float(low[j]) + float(close[j])) / 3.0 for j in bars]
        volumes = [float(volume[j]) for j in bars]
        total = math.fsum(volumes)
        weighted = math.fsum(t * v for t, v in zip(typical, volumes, strict=True))
        out.append(NAN if total == 0.0 else weighted / total)
    return out


def macd(
    x: Sequence[float], fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[list[float], list[float], list[float]]:
    n = len(x)
    line = [NAN] * n
    sig = [NAN] * n
    hist = [NAN] * n
    if n < slow:
        return line, sig, hist
    slow_ema = ema(x, slow)
    fast_ema = [NAN] * (slow - fast) + ema(x[slow - fast :], fast)
    raw = [fast_ema[i] - slow_ema[i] for i in range(slow - 1, n)]
    raw_signal = ema(raw, signal)
    for j in range(signal - 1, len(raw)):
        i = slow - 1 + j
        line[i] = raw[j]
        sig[i] = raw_signal[j]
        hist[i] = raw[j] - raw_signal[j]
    return line, sig, hist


def bbands(
    x: Sequence[float], period: int = 20, nbdev_up: float = 2.0, nbdev_dn: float = 2.0
) -> tuple[list[float], list[float], list[float]]:
    middle = sma(x, period)
    std = rolling_std(x, period)
    upper = [m + nbdev_up * s for m, s in zip(middle, std, strict=True)]
    lower = [m - nbdev_dn * s for m, s in zip(middle, std, strict=True)]
    return upper, middle, lower
