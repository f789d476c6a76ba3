"""A configured indicator: `build_indicator` instantiates an indicator class for a spec (or
says in one sentence what is wrong with it), and `Resolved` is the validated spec the
`IndicatorManager` and each symbol's `SymbolIndicators` run."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mismartera.errors import ConfigError, PluginError
from mismartera.ext.indicator_bank import KernelBank
from mismartera.intervals import Interval
from mismartera.session.indicators.lookback import lookback
from mismartera.session.indicators.protocol import Indicator, style_of
from mismartera.session.indicators.state import add_kernel

if TYPE_CHECKING:
    from mismartera.config import IndicatorSpec


def build_indicator(cls: type, interval: Interval | str, params: Mapping[str, Any],
                    at: str, name: str) -> Indicator:
    """Instantiate an indicator class for a spec; ConfigError naming `at` (where the spec
    was given), the parameter and the valid parameters with their defaults."""
    if not (isinstance(cls, type) and issubclass(cls, Indicator)):
        raise PluginError(f"{at}: indicator {name!r} is not a mismartera.Indicator subclass "
                          f"(got {cls!r})")
    if not style_of(cls):
        raise PluginError(f"{at}: indicator {name!r} implements none of update, compute, "
                          "update_many or kernel")
    valid = f"valid parameters: {cls.describe_params()}"
    declared = cls.parameters()
    for key in params:
        if key not in declared:
            raise ConfigError(f"{at}: indicator {name!r} has no parameter {key!r}; {valid}")
    try:
        indicator = cls(interval, **params)
        warmup = indicator.warmup
        if not isinstance(warmup, numbers.Integral) or isinstance(warmup, bool) or warmup < 1:
            raise ValueError(f"warmup must be a whole number >= 1, got {warmup!r}")
    except ValueError as exc:
        raise ConfigError(f"{at}: bad parameters for indicator {name!r}: {exc}; {valid}") from None
    except Exception as exc:
        raise PluginError(f"{at}: indicator {name!r} raised {type(exc).__name__} when built: "
                          f"{exc}") from None
    if style_of(cls) == "kernel":
        try:
            add_kernel(KernelBank(), "", indicator, {})
        except Exception as exc:
            raise PluginError(f"{at}: indicator {name!r}: {exc}") from None
    try:
        lookback(indicator)
    except ValueError as exc:
        raise PluginError(f"{at}: indicator {name!r}: {exc}") from None
    return indicator


class Resolved:
    """A validated indicator spec: its class, how it runs (`style_of`), resolved
    parameters and history needs: `warmup`, the `lookback` it is seeded with, the `window`
    an `update` one reads, and `seed_days`, the trading days that hold `lookback` bars
    (0: never seeded)."""

    __slots__ = ("cls", "key", "lookback", "params", "seed_days", "spec", "style", "warmup",
                 "window")

    def __init__(self, spec: IndicatorSpec, cls: type[Indicator], params: dict[str, Any],
                 probe: Indicator, seed_days: int = 0) -> None:
        self.spec, self.cls, self.params = spec, cls, params
        self.key = spec.key
        self.style = style_of(cls)
        self.warmup = int(probe.warmup)
        self.window = self.warmup if probe.window is None else max(1, int(probe.window))
        self.lookback = lookback(probe)
        self.seed_days = seed_days
