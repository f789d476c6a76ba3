"""Registers the built-in strategies (`register_strategies`), like a third-party plugin."""

from __future__ import annotations

from mismartera import hookimpl
from mismartera.plugins.strategies.gap_fade import GapFade
from mismartera.plugins.strategies.opening_range import OpeningRangeBreakout
from mismartera.plugins.strategies.rsi_reversion import RsiReversion
from mismartera.plugins.strategies.sma_cross import SmaCross

BUILTINS = (SmaCross, RsiReversion, OpeningRangeBreakout, GapFade)


@hookimpl
def register_strategies(register) -> None:
    for cls in BUILTINS:
        register(cls.name, cls, description=(cls.__doc__ or "").strip().splitlines()[0])
