"""Built-in strategies: `sma_cross`, `rsi_reversion`, `opening_range_breakout` and
`gap_fade`.

Each is a `mismartera.Strategy` subclass in its own module; `builtin` registers them all
through `register_strategies`, the road a third-party strategy takes (docs/strategies.md).
"""
