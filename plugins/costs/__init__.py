"""Built-in cost models: `commission`, `slippage`, `volume_cap` and `borrow`, the classes of
`mismartera.trading.costs`, registered like a third-party plugin's (`register_cost_models`).
The session's `[broker]` keys build them; see docs/trading.md."""
