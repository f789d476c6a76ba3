"""Session indicators: the `IndicatorManager`, and the indicator protocol it runs.

An indicator is a plain class (subclass `mismartera.Indicator`) with class attributes that
describe it and one method that computes it. Pick the method that suits the computation:

    update(window) -> float            streaming: called once per closed bar of the
                                       indicator's interval, `window` holding the last bars
    compute(bars) -> array             batch: every bar since the indicator started, one
                                       value per bar (causal: value i uses bars 0..i only)
    update_many(bars) -> array         stateful batch continuation: only the new bars, in
                                       order, each exactly once
    kernel() -> (kernel, fields)       compiled: a streaming kernel of
                                       `mismartera.ext.kernels` over bar fields, advanced
                                       in compiled code (the built-ins use it)

Multi-output indicators list their `outputs` and return a tuple (one float, or one array,
per output). The `IndicatorManager` builds each configured indicator for every symbol, seeds
it once from the history before the run's first session (its `lookback`: warm-up plus the
unstable period of a recursive indicator; see `indicators.lookback`), carries its state from
one session to the next, updates it whenever its interval closes bars (derived intervals
included; see `indicators.symbol_set.SymbolIndicators`) and keeps its value, `ready` flag and this
session's per-bar history in `SymbolSessionData.indicators[spec.key]`. An indicator that raises
is disabled for that symbol and its error recorded; the session goes on. See
docs/indicators.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mismartera.errors import ConfigError
from mismartera.intervals import Interval
from mismartera.session.indicators.lookback import kernel_unstable
from mismartera.session.indicators.protocol import Indicator, Window, style_of
from mismartera.session.indicators.resolved import Resolved, build_indicator
from mismartera.session.indicators.state import (
    IndicatorState,
    KernelState,
    Series,
    drive,
)
from mismartera.session.indicators.symbol_set import SymbolIndicators

if TYPE_CHECKING:
    import datetime

    from mismartera.calendar import TimeManager
    from mismartera.config import IndicatorSpec, SessionConfig
    from mismartera.plugin_manager import PluginManager
    from mismartera.session.data import SessionData, SymbolSessionData
    from mismartera.session.loader import SeedHistory


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
        self._resolved: list[Resolved] | None = None
        self._follow = False  # intraday historical indicators follow the last closed bar
        self._days_needed = 0  # history days every session needs
        self._seed_days = 0  # history days before the anchor that seeding needs
        self.anchor: datetime.date | None = None  # the first session of the run

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
        self._resolved = [self._resolve(spec, self._where(i, spec))
                          for i, spec in enumerate(self.config.indicators)]
        self._needs()

    def _resolve(self, spec: IndicatorSpec, at: str) -> Resolved:
        """`spec` resolved against the plugin registry, its parameters checked."""
        cls = self.plugins.get("indicator", spec.name, key=at).obj
        probe = build_indicator(cls, spec.interval, spec.params, at, spec.name)
        r = Resolved(spec, cls, cls.resolve_params(spec.params), probe)
        r.seed_days = 0 if cls.per_session else self._days_for(spec.interval, r.lookback)
        return r

    def _needs(self) -> None:
        """How much history the indicators need: at a first appearance, every seed; every
        session, the windows `update` indicators read and the lookback of `compute` ones
        (they keep no state), and the historical indicators' periods."""
        resolved = self._resolved or []
        self._seed_days = max((r.seed_days for r in resolved), default=0)
        days = [r.seed_days if r.style == "compute" else self._days_for(r.spec.interval, r.window)
                for r in resolved if r.style in ("update", "compute") and r.seed_days]
        self._follow = any(h.granularity == "intraday" for h in self.config.historical_indicators)
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

    def _specs(self) -> list[Resolved]:
        if self._resolved is None:
            self.validate()
        assert self._resolved is not None
        return self._resolved

    @property
    def specs(self) -> list[Resolved]:
        """The validated indicator specs, with their history needs."""
        return self._specs()

    @property
    def wants_bars(self) -> bool:
        """Whether `on_bars` has anything to do: session indicators, or intraday historical
        indicators that follow the last closed base bar."""
        self._specs()
        return bool(self._resolved) or self._follow

    def intervals_watched(self) -> frozenset[str] | None:
        """The intervals whose closed bars `on_bars` has work for (None: every interval:
        intraday historical indicators follow the base)."""
        if self._follow:
            return None
        return frozenset(r.spec.interval.name for r in self._specs())

    def history_days_needed(self) -> int:
        """Trailing trading days of history the indicators need every session (the windows
        of `update` indicators, the lookback of `compute` ones, historical periods)."""
        self._specs()
        return self._days_needed

    def seed_days(self, symbol_data: SymbolSessionData, day: datetime.date) -> int:
        """Trailing trading days of history a symbol's indicators are seeded with for the
        session of `day`: at their first appearance, their seeds before the anchor (the
        run's first session) and every day since, so that a symbol added later ends with
        the record of one that was there from the start; 0 once they run."""
        specs = self._specs()
        run = symbol_data.indicator_set
        if not self._seed_days or (isinstance(run, SymbolIndicators) and run.specs is specs
                                   and run.seeded):
            return 0
        since = 0
        if self.anchor is not None and self.anchor < day:
            since = len(self.calendar.trading_days(self.anchor, day)) - 1
        return self._seed_days + since

    # --- added while the session runs -----------------------------------------------------

    def resolve(self, spec: str | IndicatorSpec, at: str = "add_indicator") -> Resolved:
        """An indicator to add to the running session (`spec`: "sma:period=20@5m" or an
        `IndicatorSpec`) resolved and checked as at start-up: a known indicator, valid
        parameters, an interval that is one of the streams, not running already; else a
        one-line UserError."""
        from mismartera.config import IndicatorSpec

        if not isinstance(spec, IndicatorSpec):
            if not isinstance(spec, str):
                raise ConfigError(f"{at}: expected an indicator spec such as sma:period=20@5m, "
                                  f"got {spec!r}")
            spec = IndicatorSpec.parse(spec.strip())
        at = f"{at} {spec.to_spec()}"
        if spec.interval not in self.config.intervals:
            streams = ", ".join(iv.name for iv in self.config.intervals)
            raise ConfigError(f"{at}: indicator {spec.key} runs on {spec.interval}, which is "
                              f"not one of the streams ({streams})")
        if any(r.key == spec.key for r in self._specs()):
            raise ConfigError(f"{at}: indicator {spec.key} is running already")
        return self._resolve(spec, at)

    def add(self, r: Resolved) -> bool:
        """Make `r` (from `resolve`) one of the session's indicators; False when one with
        its key runs already. Every symbol's running set takes it with `add_to_symbol`."""
        specs = self._specs()
        if any(o.key == r.key for o in specs):
            return False
        specs.append(r)  # in place: the running sets share the list
        self._needs()
        return True

    def added_seed_days(self, r: Resolved, day: datetime.date) -> int:
        """Trailing trading days an indicator added during the session of `day` is seeded
        with: its seed before the anchor and every day since, as a symbol added then gets."""
        if r.seed_days <= 0:
            return 0
        since = 0
        if self.anchor is not None and self.anchor < day:
            since = len(self.calendar.trading_days(self.anchor, day)) - 1
        return r.seed_days + since

    def add_to_symbol(self, session_data: SessionData, symbol_data: SymbolSessionData,
                      r: Resolved, seed: SeedHistory | None, history_changed: bool) -> None:
        """Start the added indicator `r` on a symbol whose indicators run: seeded exactly as
        at its first appearance from `seed` (default: the symbol's historical bars) and the
        run's anchor, then caught up over today's closed bars. `history_changed`: the
        trailing history grew for it (its historical indicators are computed again)."""
        run = symbol_data.indicator_set
        if not isinstance(run, SymbolIndicators) or run.specs is not self._specs():
            return  # built with every spec at the symbol's next session
        run.add(r, symbol_data, self.anchor, seed)
        symbol_data.indicators = run.states
        if history_changed and self.config.historical_indicators:
            from mismartera.session.indicators.historical import compute_all

            compute_all(self.config.historical_indicators, session_data, symbol_data,
                        self.calendar)
            if self._follow:
                from mismartera.session.indicators.historical import follow_clock

                follow_clock(symbol_data)

    # --- per day ---------------------------------------------------------------------------

    def setup(self, session_date: datetime.date) -> None:
        pass

    def teardown(self) -> None:
        pass

    # --- per symbol ------------------------------------------------------------------------

    def prepare(self, session_data: SessionData, symbol_data: SymbolSessionData,
                seed: SeedHistory | None = None) -> None:
        """Start the session of the symbol's indicators: build them and seed them from
        `seed` (default: the symbol's historical bars) at their first appearance, or carry
        them on; compute its historical indicators."""
        specs = self._specs()
        run = symbol_data.indicator_set
        if not isinstance(run, SymbolIndicators) or run.specs is not specs:
            run = symbol_data.indicator_set = SymbolIndicators(specs, symbol_data)
        run.start_session(symbol_data, self.anchor, seed)
        symbol_data.indicators = run.states
        if self.config.historical_indicators:
            from mismartera.session.indicators.historical import compute_all

            compute_all(self.config.historical_indicators, session_data, symbol_data,
                        self.calendar)

    def rebuild_symbol(self, session_data: SessionData, symbol_data: SymbolSessionData) -> None:
        """Recompute a symbol's indicators over today's bars as they are now (after a
        repair rewrote them): built anew and seeded as at the start of the session when
        they first appeared today or a seed was given (`keep_seed`: seeded at the anchor,
        then fed every day since — exactly the carried state), else from their last
        `lookback` held bars before today (the carried state only when the held history
        covers the lookback), then fed every closed bar of the session."""
        specs = self._specs()
        old = symbol_data.indicator_set
        origin = old.origin if isinstance(old, SymbolIndicators) and old.specs is specs else None
        anchor, seed = origin if origin is not None else (None, None)
        run = symbol_data.indicator_set = SymbolIndicators(specs, symbol_data)
        run.start_session(symbol_data, anchor, seed)
        symbol_data.indicators = run.states
        items = sorted(symbol_data.bars.items(), key=lambda kv: kv[1].derived)
        changed = [(name, len(iv.data)) for name, iv in items if len(iv.data)]
        if changed:
            self.on_bars(symbol_data, changed)

    def rebuild_seed_days(self, symbol_data: SymbolSessionData, day: datetime.date) -> int:
        """Trailing trading days of history an exact `rebuild_symbol` in the session of `day`
        needs: 0 when the symbol's indicators hold their seed (they first appeared today) or
        need none, else their seed before the anchor and every day since (as a symbol added
        now gets); give them with `keep_seed` before the rebuild."""
        specs = self._specs()
        run = symbol_data.indicator_set
        need = max((r.seed_days for r in specs), default=0)
        if (not need or not isinstance(run, SymbolIndicators) or run.specs is not specs
                or run.origin is not None):
            return 0
        since = 0
        if self.anchor is not None and self.anchor < day:
            since = len(self.calendar.trading_days(self.anchor, day)) - 1
        return need + since

    def keep_seed(self, symbol_data: SymbolSessionData, seed: SeedHistory | None) -> None:
        """Keep `seed` (fetched for `rebuild_seed_days`) as what a rebuild of the symbol's
        indicators starts from: seeded at the anchor, then fed every bar since, so that a
        repair in a later session gives the state the indicators carried into it."""
        run = symbol_data.indicator_set
        if seed is not None and isinstance(run, SymbolIndicators) and run.origin is None:
            run.origin = (self.anchor, seed)

    def on_bars(self, symbol_data: SymbolSessionData, changed: list[tuple[str, int]]) -> None:
        """Update every indicator whose interval closed bars: `changed` lists (interval
        name, number of new closed bars), the new bars being the last ones of its ring."""
        run = symbol_data.indicator_set
        if run is not None:
            run.on_bars(symbol_data, changed)
        if self._follow and any(name == symbol_data.base_interval.name for name, _ in changed):
            from mismartera.session.indicators.historical import follow_clock

            follow_clock(symbol_data)


__all__ = ["Indicator", "IndicatorManager", "IndicatorState", "KernelState", "Series", "Window",
           "build_indicator", "drive", "kernel_unstable", "style_of"]
