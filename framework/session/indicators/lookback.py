"""How much history an indicator is seeded with at its first appearance.

A windowed indicator (SMA, Bollinger bands, ...) depends on its last `warmup` bars only. A
recursive one (EMA, RSI, ATR, MACD) depends on every bar it ever saw, with a weight that
decays geometrically: seeded with `warmup + unstable` bars, where `unstable` is the number
of bars after which the weight of where it started is below `SEED_TOLERANCE`, its value
equals the one over the whole series far within 1e-6 relative. When history is shorter,
the seed is all of it, and the value equals the one over the whole available series.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from mismartera.ext import kernels
from mismartera.session.indicators.protocol import Indicator, style_of

SEED_TOLERANCE = 1e-10
"""The weight left of an indicator's starting point after its `unstable` bars."""


def decay_bars(factor: float) -> int:
    """Bars after which a start-up error shrinking by `factor` per bar is below
    `SEED_TOLERANCE` (0 for a factor of 0: no memory)."""
    if factor <= 0.0:
        return 0
    return math.ceil(math.log(SEED_TOLERANCE) / math.log(factor))


def kernel_unstable(kernel: Any) -> int:
    """The unstable period of a streaming kernel of `mismartera.ext.kernels`: EMA decays by
    1 - 2 / (period + 1) per bar, Wilder's RSI and ATR by 1 - 1 / period; MACD adds its slow
    EMA's and its signal EMA's; the windowed kernels have none."""
    if isinstance(kernel, kernels.EMA):
        return decay_bars(1.0 - kernel.alpha)
    if isinstance(kernel, kernels.RSI | kernels.ATR):
        return decay_bars(1.0 - 1.0 / kernel.period)
    if isinstance(kernel, kernels.MACD):
        return (decay_bars(1.0 - 2.0 / (kernel.slow + 1))
                + decay_bars(1.0 - 2.0 / (kernel.signal + 1)))
    return 0


def kernel_of(indicator: Indicator) -> tuple[Any, tuple[str, ...]]:
    """A compiled indicator's `kernel()`, checked: (a kernel with the indicator's outputs,
    the bar fields it reads). TypeError otherwise."""
    made = indicator.kernel()
    kernel, fields = made if isinstance(made, tuple) and len(made) == 2 else (made, ())
    if not isinstance(kernel, kernels.Stream):
        raise TypeError("kernel() must return (a kernel of mismartera.ext.kernels, fields), "
                        f"got {made!r}")
    outputs = type(indicator).outputs
    if len(kernel.outputs) != len(outputs):
        raise TypeError(f"kernel() gave {kernel!r} with {len(kernel.outputs)} outputs, but the "
                        f"indicator has {len(outputs)} ({', '.join(outputs)})")
    return kernel, tuple(fields)


def lookback(indicator: Indicator, kernel: Any = None) -> int:
    """The bars an indicator is seeded with at its first appearance: `warmup + unstable`
    (and at least the `window` an `update` indicator reads). `kernel`: a compiled
    indicator's kernel, when already made. ValueError for a bad `unstable`."""
    unstable = indicator.unstable
    style = style_of(type(indicator))
    if unstable is None:
        if style == "kernel":
            unstable = kernel_unstable(kernel_of(indicator)[0] if kernel is None else kernel)
        else:
            unstable = 0
    if not isinstance(unstable, numbers.Integral) or isinstance(unstable, bool) or unstable < 0:
        raise ValueError(f"unstable must be a whole number >= 0, got {unstable!r}")
    bars = int(indicator.warmup) + int(unstable)
    if style == "update" and indicator.window is not None:
        bars = max(bars, int(indicator.window))
    return bars


__all__ = ["SEED_TOLERANCE", "decay_bars", "kernel_of", "kernel_unstable", "lookback"]
