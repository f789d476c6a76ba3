"""An indicator added while the session runs (`SessionCoordinator.add_indicator`): every
loaded symbol gets it seeded as at start-up and caught up over today's closed bars. A
function over what it is given (the coordinator passes its parts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mismartera.errors import UserError

if TYPE_CHECKING:
    from mismartera.session.data import SessionData
    from mismartera.session.indicators import IndicatorManager
    from mismartera.session.indicators.resolved import Resolved
    from mismartera.session.loader import BarLoader
    from mismartera.session.metrics import PerformanceMetrics
    from mismartera.session.quality import DataQualityManager


def seed_added_indicator(resolved: Resolved, indicators: IndicatorManager, sd: SessionData,
                         loader: BarLoader, quality: DataQualityManager,
                         metrics: PerformanceMetrics, trailing_days: int) -> None:
    """Start `resolved` (already taken by `indicators.add`) on every loaded symbol: seeded
    from the run's anchor (the seed fetched as for a symbol added now, the trailing history
    grown to what the indicators need now) and caught up over today's closed bars. A
    symbol's failure is recorded on it; the others go on."""
    today = sd.day
    with sd.lock, metrics.timed("indicators"):
        for symbol_data in sd:
            if today is None or not symbol_data.is_loaded:
                continue  # built with the rest at the symbol's next session
            try:
                days = list(symbol_data.historical.days)
                n = max(trailing_days, indicators.history_days_needed())
                seed = loader.load_history(symbol_data, today.date, n,
                                           indicators.added_seed_days(resolved, today.date))
                grew = symbol_data.historical.days != days
                if grew:
                    quality.historical(symbol_data)
                indicators.add_to_symbol(sd, symbol_data, resolved, seed, grew)
            except UserError as exc:
                symbol_data.record_error(str(exc))
            except Exception as exc:
                symbol_data.record_error(f"{symbol_data.symbol}: {type(exc).__name__}: {exc}")
