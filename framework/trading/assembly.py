"""Building a run's strategy from the session config: the strategy itself, the intervals and
indicators it adds to the session, its cost models, and the sessions per year its
statistics are annualised by."""

from __future__ import annotations

import datetime
import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from mismartera.config import IndicatorSpec, SessionConfig
from mismartera.errors import ConfigError, PluginError
from mismartera.intervals import Interval
from mismartera.trading.costs import CostModel, combine
from mismartera.trading.strategy import Strategy

if TYPE_CHECKING:

    from mismartera.calendar import TimeManager
    from mismartera.config import BrokerSpec
    from mismartera.plugin_manager import PluginManager

NAN = math.nan


# --- building -------------------------------------------------------------------------------


def build_strategy(config: SessionConfig, plugins: PluginManager) -> Strategy:
    """The configured strategy's instance; errors name where it was given."""
    spec = config.strategy
    assert spec is not None
    at = config.where("strategy")
    cls = plugins.get("strategy", spec.name, key=at).obj
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise PluginError(f"{at}: strategy {spec.name!r} is not a mismartera.Strategy subclass "
                          f"(got {cls!r})")
    valid = f"valid parameters: {cls.describe_params()}"
    for key in spec.params:
        if key not in cls.parameters():
            raise ConfigError(f"{at}: strategy {spec.name!r} has no parameter {key!r}; {valid}")
    try:
        return cls(spec.interval, **spec.params)
    except ValueError as exc:
        raise ConfigError(f"{at}: bad parameters for strategy {spec.name!r}: {exc}; "
                          f"{valid}") from None
    except Exception as exc:
        raise PluginError(f"{at}: strategy {spec.name!r} raised {type(exc).__name__} when "
                          f"built: {exc}") from None


def strategy_needs(config: SessionConfig, strategy: Strategy, plugins: PluginManager
                   ) -> tuple[tuple[str, ...], SessionConfig]:
    """The intervals the strategy's `on_bar` receives, and the config with what it needs
    added: those intervals and its indicators' as streams, its indicators (those not
    configured already, by export key) as session indicators."""
    spec = config.strategy
    assert spec is not None
    at = f"{config.where('strategy')}: strategy {spec.name!r}"
    try:
        wanted = [Interval.parse(i) for i in strategy.intervals] or [min(config.intervals)]
        specs = [s if isinstance(s, IndicatorSpec) else IndicatorSpec.parse(s)
                 for s in strategy.indicators()]
    except ConfigError as exc:
        raise ConfigError(f"{at}: {exc}") from None
    except Exception as exc:
        raise PluginError(f"{at} raised {type(exc).__name__} declaring its intervals or "
                          f"indicators: {exc}") from None
    for s in specs:
        plugins.get("indicator", s.name, key=f"{at} indicator {s.to_spec()}")
    keys = {s.key for s in config.indicators}
    extra = tuple(dict.fromkeys(s for s in specs if s.key not in keys))
    intervals = tuple(sorted({*config.intervals, *wanted, *(s.interval for s in extra)}))
    changed = replace(config, intervals=intervals, indicators=config.indicators + extra)
    return tuple(i.name for i in wanted), changed


def build_costs(spec: BrokerSpec, plugins: PluginManager, where: str) -> CostModel:
    """The broker's cost models, built through the `cost_model` registry."""

    def make(name: str, key: str, **params: Any) -> CostModel:
        cls = plugins.get("cost_model", name, key=key).obj
        try:
            return cls(**params)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{key}: cost model {name!r}: {exc}") from None

    models = []
    c = spec.commission
    if not c.free:
        models.append(make("commission", f"{where} commission", per_share=c.per_share,
                           rate=c.rate, minimum=c.minimum))
    if spec.slippage_bps:
        models.append(make("slippage", f"{where} slippage_bps", bps=spec.slippage_bps))
    if spec.volume_cap is not None:
        models.append(make("volume_cap", f"{where} volume_cap", fraction=spec.volume_cap))
    if spec.borrow_rate:
        models.append(make("borrow", f"{where} borrow_rate", annual_rate=spec.borrow_rate))
    for name, params in spec.costs.items():
        models.append(make(name, f"{where} costs {name}", **params))
    return combine(*models)


def sessions_per_year(calendar: TimeManager, day: datetime.date | None) -> int:
    """The calendar's sessions in the year of `day` (252 without one)."""
    if day is None:
        return 252
    try:
        n = len(calendar.trading_days(datetime.date(day.year, 1, 1),
                                      datetime.date(day.year, 12, 31)))
    except Exception:
        return 252
    return n or 252


# --- the result ----------------------------------------------------------------------------


__all__ = ["build_costs", "build_strategy", "sessions_per_year", "strategy_needs"]
