"""What the built-in strategies share: a default interval and the spec strings of the
indicators they read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from mismartera.intervals import Interval
from mismartera.trading.strategy import Strategy


class IntervalStrategy(Strategy):
    """A strategy on one interval: the spec's (`sma_cross@15m`), else `default_interval`."""

    default_interval: ClassVar[str] = "5m"

    def __init__(self, interval: Interval | str | None = None, **params: Any) -> None:
        super().__init__(interval if interval is not None else self.default_interval, **params)

    @property
    def bar_interval(self) -> str:
        """The name of the interval the strategy trades on."""
        assert self.interval is not None
        return self.interval.name

    @property
    def intervals(self) -> Sequence[str]:
        return (self.bar_interval,)

    def spec(self, name: str, **params: Any) -> str:
        """An indicator spec on the strategy's interval: `sma:period=10@5m`."""
        shown = ",".join(f"{key}={value}" for key, value in params.items())
        return f"{name}{':' + shown if shown else ''}@{self.bar_interval}"


def positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")
