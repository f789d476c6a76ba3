"""`sma_cross` on NautilusTrader, run in an environment that has it (it pins pandas < 3,
so it usually lives in its own virtual environment):

    python bench/_nautilus_peer.py BARS.npz FAST SLOW QTY

BARS.npz holds one symbol's bars (ts = bar start in ns UTC, open, high, low, close,
volume). Prints one JSON line: {"bars", "seconds", "trades"}; seconds is the engine's run
alone. Settings: a netting cash account with ample cash, no fees, bar execution, a
`SimpleMovingAverage` pair and the same cross rule as bench/_peers.py. Each bar is stamped
at its close (Nautilus' convention); a market order submitted in `on_bar` fills at the
price the simulated exchange has then, which is that bar's close, not the next bar's open
(a latency model moves the fill to the next bar, but not to its open), so the prices
differ from the other peers' while the signals are the same: its trades start one bar
earlier, at the signal bar.
"""

from __future__ import annotations

import json
import sys
import time
from decimal import Decimal


def main(path: str, fast: int, slow: int, qty: float) -> dict:
    import numpy as np
    import pandas as pd
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig, StrategyConfig
    from nautilus_trader.indicators import SimpleMovingAverage
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.data import Bar, BarType
    from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
    from nautilus_trader.model.identifiers import TraderId, Venue
    from nautilus_trader.model.objects import Money, Quantity
    from nautilus_trader.persistence.wranglers import BarDataWrangler
    from nautilus_trader.test_kit.providers import TestInstrumentProvider
    from nautilus_trader.trading.strategy import Strategy

    raw = np.load(path)
    ts = raw["ts"].astype(np.int64)
    step = int(np.min(np.diff(ts))) if len(ts) > 1 else 300 * 10**9
    instrument = TestInstrumentProvider.equity(symbol="SYM", venue="XNAS")
    bar_type = BarType.from_str(f"SYM.XNAS-{step // 60_000_000_000}-MINUTE-LAST-EXTERNAL")
    frame = pd.DataFrame({"open": raw["open"], "high": raw["high"], "low": raw["low"],
                          "close": raw["close"], "volume": np.maximum(raw["volume"], 1.0)},
                         index=pd.to_datetime(ts + step, unit="ns", utc=True))
    bars = BarDataWrangler(bar_type, instrument).process(frame)
    start_of = {int(b.ts_event): int(t) for b, t in zip(bars, ts, strict=True)}
    fills: list[tuple[int, float, float]] = []

    class Config(StrategyConfig, frozen=True):
        fast: int
        slow: int

    class SmaCross(Strategy):
        def __init__(self, config: Config) -> None:
            super().__init__(config)
            self.f = SimpleMovingAverage(config.fast)
            self.s = SimpleMovingAverage(config.slow)
            self.prev: tuple[float, float] | None = None
            self.qty = Quantity.from_str(str(int(qty)))

        def on_start(self) -> None:
            self.register_indicator_for_bars(bar_type, self.f)
            self.register_indicator_for_bars(bar_type, self.s)
            self.subscribe_bars(bar_type)

        def on_bar(self, bar: Bar) -> None:
            if not (self.f.initialized and self.s.initialized):
                return
            f, s = self.f.value, self.s.value
            prev, self.prev = self.prev, (f, s)
            if prev is None:
                return
            flat = self.portfolio.is_flat(instrument.id)
            if f > s and prev[0] <= prev[1] and flat:
                self.submit_order(self.order_factory.market(instrument.id, OrderSide.BUY,
                                                            self.qty))
            elif f < s and prev[0] >= prev[1] and self.portfolio.is_net_long(instrument.id):
                self.close_all_positions(instrument.id)

        def on_order_filled(self, event) -> None:
            sign = 1.0 if event.order_side == OrderSide.BUY else -1.0
            fills.append((start_of.get(int(event.ts_event), int(event.ts_event) - step),
                          sign * float(event.last_qty), float(event.last_px)))

    engine = BacktestEngine(BacktestEngineConfig(trader_id=TraderId("BENCH-001"),
                                                 logging=LoggingConfig(log_level="ERROR")))
    engine.add_venue(Venue("XNAS"), oms_type=OmsType.NETTING, account_type=AccountType.MARGIN,
                     starting_balances=[Money(10**12, USD)], base_currency=USD,
                     default_leverage=Decimal(1), bar_execution=True)
    engine.add_instrument(instrument)
    engine.add_data(bars)
    engine.add_strategy(SmaCross(Config(fast=fast, slow=slow)))
    started = time.perf_counter()
    engine.run()
    seconds = time.perf_counter() - started
    engine.dispose()

    trades: list[list] = []
    entry: tuple[int, float, float] | None = None
    for t, q, p in fills:
        if q > 0:
            entry = (t, p, q)
        elif entry is not None:
            trades.append([entry[0], entry[1], t, p, entry[2]])
            entry = None
    if entry is not None:
        trades.append([entry[0], entry[1], None, None, entry[2]])
    return {"bars": len(ts), "seconds": seconds, "trades": trades}

if __name__ == "__main__":
    out = main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
    print(json.dumps(out))

