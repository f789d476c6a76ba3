"""The cost models of `mismartera.trading.costs` as plugins: `[broker] commission` builds
`commission`, `slippage_bps` builds `slippage`, `volume_cap` builds `volume_cap` and
`borrow_rate` builds `borrow`; `[broker] costs = {NAME = {...}}` builds any of them (or a
third-party model) by name."""

from __future__ import annotations

from mismartera import hookimpl
from mismartera.trading.costs import Borrow, Commission, Slippage, VolumeCap


@hookimpl
def register_cost_models(register):
    register("commission", Commission,
             description="per share plus a rate of the notional, with a minimum per order")
    register("slippage", Slippage, description="buys pay bps more, sells receive bps less")
    register("volume_cap", VolumeCap,
             description="fill at most a fraction of each bar's volume (partial fills)")
    register("borrow", Borrow, description="shorts pay an annual rate of their value per session")
