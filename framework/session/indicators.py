"""Session indicators: the `IndicatorManager`, and the indicator protocol it runs.

An indicator is a plain class (subclass `mismartera.Indicator`) with class attributes that
describe it and one method that computes it. Pick the method that suits the computation:

    update(window) -> float            streaming: called once per closed bar of the
                                       indicator's interval, `window` holding the last bars
    compute(bars) -> array             batch: every bar since the indicator started, one
                                       value per bar (causal: value i uses bars 0..i only)
    update_many(bars) -> array         stateful batch continuation: only the new bars, in
                                       order, each exactly once (the built-ins use it)

Multi-output indicators list their `outputs` and return a tuple (one float, or one array,
per output). The `IndicatorManager` builds each configured indicator for every symbol,
re-seeds it each session with the last `warmup` historical bars of its interval (so it is
ready at the open when history allows), updates it whenever its interval closes bars (derived
intervals included) and keeps its value, `ready` flag and per-bar history in
`SymbolSessionData.indicators[spec.key]`. An indicator that raises is disabled for that
symbol and its error recorded; the session goes on. See docs/indicators.md.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mismartera.bars import Bars
from mismartera.errors import ConfigError, PluginError
from mismartera.intervals import Interval
from mismartera.session.indicator_protocol import Indicator, Window, style_of
from mismartera.session.indicator_state import IndicatorState, Series, drive

if TYPE_CHECKING:
    import datetime

    from mismartera.calendar import TimeManager
    from mismartera.config import IndicatorSpec, SessionConfig
    from mismartera.plugin_manager import PluginManager
    from mismartera.session.data import SessionData, SymbolSessionData


# ---- configuration -----------------------------------------------------------------------------


def build_indicator(cls: type, interval: Interval | str, params: Mapping[str, Any],
                    at: str, name: str) -> Indicator:
    """Instantiate an indicator class for a spec; ConfigError naming `at` (where the spec
    was given), the parameter and the valid parameters with their defaults."""
    if not (isinstance(cls, type) and issubclass(cls, Indicator)):
        raise PluginError(f"{at}: indicator {name!r} is not a mismartera.Indicator subclass "
                          f"(got {cls!r})")
    if not style_of(cls):
        raise PluginError(f"{at}: indicator {name!r} implements none of update, compute "
                          "or update_many")
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
    return indicator


class _Resolved:
    """A validated indicator spec: its class, resolved parameters and warm-up needs."""

    __slots__ = ("cls", "key", "params", "seed_days", "spec", "warmup")

    def __init__(self, spec: IndicatorSpec, cls: type[Indicator], params: dict[str, Any],
                 warmup: int, seed_days: int) -> None:
        self.spec, self.cls, self.params = spec, cls, params
        self.key = spec.key
        self.warmup, self.seed_days = warmup, seed_days


# ---- the manager -------------------------------------------------------------------------------


class IndicatorManager:
    """Builds each configured indicator per symbol and updates it as its interval closes
    bars; computes the historical indicators once per session.

    Operational state only (the validated specs); every indicator's state lives in its
    symbol's `SymbolSessionData`."""

    def __init__(self, config: SessionConfig, plugins: PluginManager,
                 calendar: TimeManager | None = None) -> None:
        self.config = config
        self.plugins = plugins
        self._calendar = calendar
        self._resolved: list[_Resolved] | None = None
        self._series_seed: dict[str, tuple[int, int]] = {}  # interval -> (days, bars) of the
        # seed of its window series (the largest any window-based indicator needs)
        self._follow = False  # intraday historical indicators follow the last closed bar
        self._days_needed = 0

    @property
    def calendar(self) -> TimeManager:
        if self._calendar is None:
            from mismartera.calendar import TimeManager

            self._calendar = TimeManager(self.config.exchange)
        return self._calendar

    # --- phase 0 ---------------------------------------------------------------------------

    def _where(self, i: int, spec: IndicatorSpec) -> str:
        if self.config.provenance.get("indicators") == "flag":
            return f"--indicator {spec.to_spec()}"
        return f"{self.config.where('indicators')}[{i}]"

    def validate(self) -> None:
        """Resolve every indicator against the plugin registry, check its parameters and
        the historical indicator specs; work out how much history they need."""
        resolved = []
        for i, spec in enumerate(self.config.indicators):
            at = self._where(i, spec)
            cls = self.plugins.get("indicator", spec.name, key=at).obj
            probe = build_indicator(cls, spec.interval, spec.params, at, spec.name)
            params = cls.resolve_params(spec.params)
            seed_days = 0 if cls.per_session else self._days_for(spec.interval, probe.warmup)
            resolved.append(_Resolved(spec, cls, params, int(probe.warmup), seed_days))
        self._resolved = resolved
        self._series_seed = {}
        for r in resolved:
            if style_of(r.cls) in ("update", "compute") and r.seed_days:
                days, bars = self._series_seed.get(r.spec.interval.name, (0, 0))
                self._series_seed[r.spec.interval.name] = (max(days, r.seed_days),
                                                           max(bars, r.warmup))
        self._follow = any(h.granularity == "intraday" for h in self.config.historical_indicators)
        days = [r.seed_days for r in resolved]
        first = self.config.start
        for i, hspec in enumerate(self.config.historical_indicators):
            days.append(hspec.period.approx_trading_days())
            if first is not None:
                try:
                    self.calendar.trading_days_in_period(first, hspec.period)
                except ConfigError as exc:
                    raise ConfigError(f"{self.config.where('historical_indicators')}[{i}]: "
                                      f"{exc}") from None
        self._days_needed = max(days, default=0)

    def _days_for(self, interval: Interval, warmup: int) -> int:
        """Whole trading days that hold at least `warmup` bars of `interval`."""
        if not interval.is_intraday:
            return warmup
        return -(-warmup // self._min_bars(interval))

    def _min_bars(self, interval: Interval) -> int:
        """Bars of `interval` in the shortest session around the run (an early close)."""
        import datetime as dt

        cal = self.calendar
        end = self.config.end or self.config.start or dt.date.today()
        end = min(max(end, cal.first_date), cal.last_date)
        start = max(cal.first_date, (self.config.start or end) - dt.timedelta(days=731))
        table = cal.sessions(start, end)
        if len(table) == 0:
            return 1
        shortest = int((table.closes - table.opens).min())
        return max(1, -(-shortest // interval.ns))

    def _specs(self) -> list[_Resolved]:
        if self._resolved is None:
            self.validate()
        assert self._resolved is not None
        return self._resolved

    @property
    def wants_bars(self) -> bool:
        """Whether `on_bars` has anything to do: session indicators, or intraday historical
        indicators that follow the last closed base bar."""
        self._specs()
        return bool(self._resolved) or self._follow

    def history_days_needed(self) -> int:
        """Trailing trading days of history the indicators need (seeding and periods)."""
        self._specs()
        return self._days_needed

    # --- per day ---------------------------------------------------------------------------

    def setup(self, session_date: datetime.date) -> None:
        pass

    def teardown(self) -> None:
        pass

    # --- per symbol ------------------------------------------------------------------------

    def prepare(self, session_data: SessionData, symbol_data: SymbolSessionData) -> None:
        """Build the symbol's indicators (or restart yesterday's) and seed them from its
        historical bars; compute its historical indicators."""
        before = symbol_data.indicators
        states: dict[str, IndicatorState] = {}
        series: dict[str, Series] = {}
        seeds: dict[tuple[str, int, int], Window] = {}
        for r in self._specs():
            state = self._state_for(r, symbol_data, before.get(r.key))
            if state.error is None:
                self._seed(r, state, symbol_data, series, seeds)
            if state.error is not None:
                symbol_data.record_error(state.error)
            states[r.key] = state
        symbol_data.indicators = states
        if self.config.historical_indicators:
            from mismartera.session.historical_indicators import compute_all

            compute_all(self.config.historical_indicators, session_data, symbol_data,
                        self.calendar)

    @staticmethod
    def _state_for(r: _Resolved, symbol_data: SymbolSessionData, old: Any) -> IndicatorState:
        """Yesterday's state of this indicator restarted, or a new one; a state holding the
        error when the indicator cannot be built."""
        if (isinstance(old, IndicatorState) and old.error is None and old.indicator is not None
                and type(old.indicator) is r.cls and old.interval == r.spec.interval.name):
            try:
                old.restart()
                return old
            except Exception as exc:
                old.fail(exc, symbol_data.symbol)
                return old
        try:
            indicator = r.cls(r.spec.interval, **r.spec.params)
        except Exception as exc:
            state = IndicatorState(r.key, r.spec.name, None, r.params, cls=r.cls,
                                   interval=r.spec.interval.name)
            state.fail(exc, symbol_data.symbol)
            return state
        return IndicatorState(r.key, r.spec.name, indicator, r.params)

    def _seed(self, r: _Resolved, state: IndicatorState, symbol_data: SymbolSessionData,
              series: dict[str, Series], seeds: dict[tuple[str, int, int], Window]) -> None:
        """Feed the last `warmup` bars of the indicator's interval from the trailing
        `r.seed_days` historical days; window-based indicators share one series per
        interval."""
        name = r.spec.interval.name
        hist = symbol_data.historical
        interval_data = symbol_data.bars.get(name)
        if interval_data is not None:
            state.follow(interval_data.data)
        wanted = (name, r.seed_days, r.warmup)
        seed = seeds.get(wanted)
        if seed is None:
            seed = seeds[wanted] = _seed_bars(hist, *wanted)
        k = len(seed)
        try:
            if state.needs_series:
                if name not in series:
                    capacity = interval_data.data.capacity if interval_data is not None else 64
                    series[name] = Series(_seed_bars(hist, name, *self._series_seed.get(
                        name, (0, 0))), capacity)
                s = series[name]
                state.attach(s, s.seed_len - k)
                if k:
                    state.feed(Window(*s.views, lo=state.start, hi=s.seed_len), record=False)
            elif k:
                state.feed(seed, record=False)
        except Exception as exc:
            state.fail(exc, symbol_data.symbol)

    def on_bars(self, symbol_data: SymbolSessionData, changed: list[tuple[str, int]]) -> None:
        """Update every indicator whose interval closed bars: `changed` lists (interval
        name, number of new closed bars), the new bars being the last ones of its ring."""
        states = symbol_data.indicators
        if states:
            for name, n in changed:
                new = ring = None
                for state in states.values():
                    if state.interval != name or state.error is not None:
                        continue
                    if new is None:
                        ring = symbol_data.bars[name].data
                        new = Window(*ring.arrays(n, copy=False))
                    try:
                        if state.series is not None:
                            state.series.sync(ring)
                        state.feed(new)
                    except Exception as exc:
                        symbol_data.record_error(state.fail(exc, symbol_data.symbol))
        if self._follow and any(name == symbol_data.base_interval.name for name, _ in changed):
            from mismartera.session.historical_indicators import follow_clock

            follow_clock(symbol_data)


def _seed_bars(hist: Any, name: str, days: int, count: int) -> Window:
    """The last `count` historical bars at interval `name` within the last `days` days."""
    bars = hist.bars.get(name)
    if days <= 0 or count <= 0 or bars is None or not hist.days:
        return _EMPTY
    end = len(bars.ts)
    first = int(hist.day_index[name][max(0, len(hist.days) - days)])
    return Window(*bars, lo=max(first, end - count), hi=end)


_EMPTY = Window.of(Bars.empty())


__all__ = ["Indicator", "IndicatorManager", "IndicatorState", "Series", "Window", "build_indicator",
           "drive", "style_of"]
