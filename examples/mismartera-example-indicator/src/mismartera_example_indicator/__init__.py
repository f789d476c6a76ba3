"""Momentum: the close minus the close `period` bars earlier. A template for indicator
plugins: one class with typed parameters, one method, one registration hook."""

from __future__ import annotations

from mismartera import Indicator, hookimpl


class Momentum(Indicator):
    """Close minus the close `period` bars ago."""

    period: int = 10  # a parameter: --indicator momentum:period=20@5m

    @property
    def warmup(self) -> int:
        return self.period + 1  # needs period + 1 closes before it is ready

    def validate(self) -> None:
        if self.period < 1:
            raise ValueError(f"period must be >= 1, got {self.period}")

    def update(self, window) -> float:
        # window holds the last `warmup` closed bars of the interval, oldest first
        return float(window.close[-1] - window.close[0])


@hookimpl
def register_indicators(register):
    register("momentum", Momentum, description="close minus the close n bars ago (example)")
