"""SessionCoordinator: runs a session day after day through the phases of the design notes.

    0 validate   config and streams (stream vs generate, per symbol)
    1 teardown   from the second day: clear session bars (historical stays), tear down
    2 initialise register symbols -> historical bars -> indicators -> queues -> quality
    3 stream     a data-driven clock that never passes the close
    4 end        deactivate, record metrics; the last day's data stays for export

The clock advances in chunks up to the next moment anything can observe: a per-bar
observer, a requested stop time, a pending symbol operation, the close. Each chunk goes to
the kernels in one call per symbol and interval; with no observer a whole session is one
chunk. Chunking never changes the result (see tests/test_chunking.py).
"""

from __future__ import annotations

import datetime
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

import numpy as np

from mismartera.calendar import TimeManager
from mismartera.calendar.clocks import BacktestClock
from mismartera.config import IndicatorSpec, SessionConfig
from mismartera.errors import ConfigError, DataError, UserError
from mismartera.intervals import Interval
from mismartera.plugin_manager import PluginManager
from mismartera.session.data import REJECT_KINDS, SessionData, SessionDay, SymbolSessionData
from mismartera.session.indicators import IndicatorManager
from mismartera.session.indicators.added import seed_added_indicator
from mismartera.session.indicators.resolved import Resolved
from mismartera.session.loader import BarLoader
from mismartera.session.metrics import PerformanceMetrics
from mismartera.session.observers import (
    BarObserver,
    BarTargets,
    Component,
    Observer,
    SessionContext,
)
from mismartera.session.processor import DataProcessor
from mismartera.session.quality import DataQualityManager
from mismartera.session.scanner import ScannerManager
from mismartera.session.stepping import Stepper, next_stop
from mismartera.session.streams import all_symbols, stream_plan
from mismartera.session.ticks_feed import load_ticks, release_ticks
from mismartera.sources import DataSource
from mismartera.symbols import check_symbol
from mismartera.trading.runner import StrategyRunner


class SessionCoordinator:
    """Drives one backtest (or live session) over the configured days.

    Thread safety: `add_symbol`, `remove_symbol` and `stop` may be called from any thread;
    they take effect between two clock steps. Everything else runs on the coordinator's
    thread. Other threads read `session_data` under its lock.
    """

    def __init__(
        self,
        config: SessionConfig,
        *,
        plugins: PluginManager | None = None,
        source: DataSource | None = None,
        calendar: TimeManager | None = None,
        observers: Iterable[Observer] = (),
        stop_times: Iterable[int] = (),
    ) -> None:
        config = config.validate()
        self.plugins = plugins if plugins is not None else PluginManager()
        self.calendar = (calendar or TimeManager(config.exchange)).load()  # bad codes fail here
        self.trader: StrategyRunner | None = None
        if config.strategy is not None:  # its intervals and indicators join the session's
            self.trader = StrategyRunner(self, config, self.plugins, self.calendar)
            config = self.trader.config.validate()
        self.config = config
        self.source = source if source is not None else self._make_source()
        self.session_data: SessionData = SessionData(config.exchange, config.mode)
        self.metrics: PerformanceMetrics = PerformanceMetrics()
        self.session_data.metrics = self.metrics
        self.session_data.strategy = self.trader.result if self.trader is not None else None
        self.processor = DataProcessor()
        self.quality: DataQualityManager = DataQualityManager(config.quality_interval_s)
        self.indicators: IndicatorManager = IndicatorManager(config, self.plugins)
        self.scanners = ScannerManager(config, self.plugins, self.calendar, self.source)
        self.observers = [*([self.trader] if self.trader is not None else []), *observers]
        self.context = SessionContext(self)
        self._bar_observers: list[BarObserver] = [
            o for o in self.observers if isinstance(o, BarObserver)]
        self._targets = BarTargets(self.context, self._bar_observers, lambda: self.config.intervals)
        self._steps: Stepper | None = None
        # intervals observers named: their bars are handed out at their bucket ends even
        # when the base bar that ends a bucket is missing (stepping alone would wait for
        # the next base bar of any symbol)
        self._observed: list[Interval] = sorted({Interval.parse(i) for o in self._bar_observers
                                 for i in (getattr(o, "intervals", None) or ())})
        self._stop_times = np.unique(np.asarray(list(stop_times), dtype=np.int64))
        self._pending: deque[tuple[str, Any]] = deque()
        self._pending_lock = threading.Lock()
        self._stop = threading.Event()
        # raised (from any thread) when a symbol operation or a stop waits for the clock:
        # the compiled bar-by-bar loop checks it after every step
        self._interrupt = np.zeros(1, np.uint8)
        self.loader = BarLoader(self.source, self.calendar, config.prefetch_days)
        self._capacity: dict[Interval, int] = {}
        self.clock: BacktestClock | None = None
        self.days: list[datetime.date] = []
        # the symbols of the first session: the configured list, or with `all` every symbol
        # the source has that builds the streams (resolved in phase 0)
        self.symbols: tuple[str, ...] = config.symbols

    # --- public, thread-safe ---------------------------------------------------------------

    def add_symbol(self, symbol: str) -> None:
        """Ask for `symbol` to be added between two clock steps."""
        with self._pending_lock:
            self._pending.append(("add", check_symbol(symbol, "add_symbol")))
            self._interrupt[0] = 1

    def remove_symbol(self, symbol: str) -> None:
        """Ask for `symbol` to be removed between two clock steps."""
        with self._pending_lock:
            self._pending.append(("remove", check_symbol(symbol, "remove_symbol")))
            self._interrupt[0] = 1

    def add_indicator(self, spec: str | IndicatorSpec) -> str:
        """Ask for a session indicator ("sma:period=20@5m" or an `IndicatorSpec`) to be
        added between two clock steps, for every symbol, seeded exactly as at start-up (its
        record equals that of a run that had it from the start). Checked at once: a
        one-line UserError for an unknown name, bad parameters, an interval that is not
        one of the streams, one running already. Returns its export key."""
        resolved = self.indicators.resolve(spec)
        with self._pending_lock:
            self._pending.append(("indicator", resolved))
            self._interrupt[0] = 1
        return resolved.key

    def stop(self) -> None:
        """End the run after the current clock step (the day still ends cleanly)."""
        self._stop.set()
        self._interrupt[0] = 1

    @property
    def components(self) -> tuple[Component, ...]:
        """The per-day components, in pipeline order."""
        return (self.processor, self.indicators, self.quality, self.scanners)

    @property
    def now_ns(self) -> int:
        return self.clock.now if self.clock is not None else 0

    # --- the run ---------------------------------------------------------------------------

    def run(self, on_day_end=None) -> SessionData:
        """Run every trading day from start to end; returns the SessionData of the last day.

        `on_day_end(coordinator, day)` is called after each day (exports, progress). A
        backtest that ran to its end without a single bar of any symbol raises DataError."""
        started = time.perf_counter()
        self._validate()
        for i, day in enumerate(self.days):
            if self._stop.is_set():
                break
            if i:
                self._teardown()
            self.metrics.day_begin(day)
            self._initialise(day)
            self.metrics.session_start()
            with self.metrics.timed("session"):
                self._stream()
            self._end(day)
            self.metrics.day_end()
            if on_day_end is not None:
                on_day_end(self, day)
        for observer in self.observers:
            if hasattr(observer, "on_end"):
                observer.on_end(self.context)
        self.metrics.run_s = time.perf_counter() - started
        if self.config.mode == "backtest" and not self._stop.is_set() and not self.has_bars:
            raise self._no_bars()
        return self.session_data

    @property
    def has_bars(self) -> bool:
        """Whether any symbol has had a bar in any session so far."""
        return self.metrics.bars_processed > 0

    def _no_bars(self) -> DataError:
        return self.metrics.no_bars_error(self.days, self.session_data.symbols() or self.symbols,
                                          self.source.name, self.config.exchange)

    # phase 0 ------------------------------------------------------------------------------

    def _make_source(self) -> DataSource:
        cfg = self.config
        return self.plugins.make_source(cfg.source, cfg.source_options, exchange=cfg.exchange,
                                        key="[data] source")

    def _validate(self) -> None:
        cfg = self.config
        if cfg.start is None or cfg.end is None:  # validate() asks a backtest for both
            raise ConfigError(f"{cfg.origin}: a session needs a start and an end date")
        self.days = self.loader.days = self.calendar.trading_days(cfg.start, cfg.end)
        if not self.days:
            raise ConfigError(f"{cfg.origin}: no {cfg.exchange} trading day between "
                              f"{cfg.start} and {cfg.end}")
        table = self.calendar.sessions(self.days[0], self.days[-1])
        longest = int((table.closes - table.opens).max())
        self._capacity = {i: -(-longest // i.ns) + 1 if i.is_intraday else 1
                          for i in map(Interval.parse, Interval.SUPPORTED)}
        self.indicators.validate()
        self.indicators.anchor = self.days[0]
        self.scanners.validate()
        if cfg.all_symbols:
            self.symbols = all_symbols(cfg, self.source)

    # phase 1 ------------------------------------------------------------------------------

    def _teardown(self) -> None:
        for component in self.components:
            component.teardown()
        self.loader.forget_until(self.session_data.today.date)

    # phase 2 ------------------------------------------------------------------------------

    def _session_day(self, day: datetime.date) -> SessionDay:
        """The session on `day` (one of the run's trading days)."""
        session = self.calendar.session(day)
        if session is None:
            raise RuntimeError(f"{day} is not a {self.config.exchange} trading day")
        return SessionDay(day, int(session[0]), int(session[1]))

    def _initialise(self, day: datetime.date) -> None:
        sd = self.session_data
        today = self._session_day(day)
        open_ns, close_ns = today.open_ns, today.close_ns
        with sd.lock:
            sd.day, sd.now_ns = today, open_ns
            sd.errors.clear()  # a day's snapshot carries that day's errors
            self.clock = BacktestClock(open_ns, limit=close_ns)
            for component in self.components:
                component.setup(day)
            if sd.trading_days == 0:
                for symbol in self.symbols:
                    self._register(symbol)
            for symbol_data in sd:
                symbol_data.start_session(open_ns, close_ns)
                self._load(symbol_data, day)
            if sd.trading_days == 0 and len(sd) and not any(s.is_loaded for s in sd):
                raise DataError("no symbol could be loaded: "
                                + "; ".join(e for s in sd for e in s.errors))
            sd.active = True
            sd.trading_days += 1
        self._notify("session_started", session_data=sd, session_date=day)
        for observer in self.observers:
            if hasattr(observer, "on_session_start"):
                observer.on_session_start(self.context)

    def _register(self, symbol: str) -> SymbolSessionData:
        """Register a symbol with its bar structure (phase 0 per symbol, then phase 2 step 1)."""
        requested = list(self.config.intervals)
        try:
            base = stream_plan(symbol, requested, self.source.intervals(symbol), self.source.name)
            error = None
        except UserError as exc:
            base, error = min(requested), str(exc)
        symbol_data = SymbolSessionData(symbol, base, requested, self._capacity)
        symbol_data.stream_error = error  # recorded with each session's errors
        self.session_data.register(symbol_data)
        self._notify("symbol_added", session_data=self.session_data, symbol=symbol)
        return symbol_data

    def _load(self, symbol_data: SymbolSessionData, day: datetime.date) -> None:
        """Historical bars, indicators, today's queue, historical quality for one symbol."""
        symbol_data.is_loaded = False
        if not symbol_data.streamable:
            return  # phase 0 found nothing to stream for this symbol
        timings, clock = self.metrics.timings_s, time.perf_counter
        try:
            # (timed inline: three context managers per symbol-day cost more than the work)
            start = clock()
            n = max(self.config.trailing_days, self.indicators.history_days_needed())
            seed = self.loader.load_history(symbol_data, day, n,
                                            self.indicators.seed_days(symbol_data, day))
            loaded = clock()
            timings["historical_load"] = timings.get("historical_load", 0.0) + loaded - start
            self.indicators.prepare(self.session_data, symbol_data, seed)
            prepared = clock()
            timings["indicators"] = timings.get("indicators", 0.0) + prepared - loaded
            try:
                self._load_queue(symbol_data, day)
            finally:
                timings["queue_load"] = timings.get("queue_load", 0.0) + clock() - prepared
            self.quality.historical(symbol_data)
            symbol_data.is_loaded = True
        except UserError as exc:
            symbol_data.record_error(str(exc))
        except Exception as exc:
            symbol_data.record_error(f"{symbol_data.symbol}: {type(exc).__name__}: {exc}")

    def _load_queue(self, symbol_data: SymbolSessionData, day: datetime.date) -> None:
        """Today's base bars into the symbol's queue; the rest skipped and counted."""
        sd = self.session_data
        raw = self.loader.day_bars(symbol_data.symbol, symbol_data.base_interval, day)
        today = sd.today
        rejected = symbol_data.pipeline.load(*raw, today.open_ns, today.close_ns)
        if any(rejected):
            counts = {k: v for k, v in zip(REJECT_KINDS, rejected, strict=True) if v}
            symbol_data.rejected.update(counts)
            self.metrics.rejected.update(counts)
        self.metrics.bars_read += len(raw.ts)
        if symbol_data.pipeline.size == 0:
            symbol_data.record_error(f"{symbol_data.symbol}: no {symbol_data.base_interval} bars "
                                     f"in the {day} session")
        load_ticks(symbol_data, self.config, self.source, sd, self.now_ns)

    # phase 3 ------------------------------------------------------------------------------

    def _stream(self) -> None:
        sd, clock = self.session_data, self.clock
        assert clock is not None  # set by _initialise
        close = sd.today.close_ns
        paced = self.config.speed > 0
        stepped = bool(self._bar_observers) and not paced
        wall0, sim0 = time.monotonic_ns(), clock.now
        self._run_scanners(clock.now)  # scanners due at (or before) the open
        while not self._stop.is_set():
            self._apply_pending()
            if clock.now >= close:
                break
            target = next_stop(clock.now, close, self.scanners.next_time(clock.now),
                               self._stop_times, self.session_data, fine=paced)
            if paced:
                delay = wall0 + (target - sim0) / self.config.speed - time.monotonic_ns()
                if delay > 0:
                    self._stop.wait(delay / 1e9)
            elif stepped:
                done, last = self._step_bars(target)
                if not done:
                    continue  # interrupted before `target`: apply what was asked, then go on
                if last == target:  # stepped onto `target`: everything ending by then is out
                    with sd.lock:
                        release_ticks(self.session_data, target)
                    self._run_scanners(target)
                    continue
                self._flush_steps()
            self._advance(target)
            if self._steps is not None:  # (_advance counted what it delivered)
                self._steps.counted()
            self._run_scanners(target)
        self._flush_steps()
        self._steps = None
        self._apply_pending()

    def _step_bars(self, until: int) -> tuple[bool, int | None]:
        """Bar by bar up to `until` in compiled code, calling observers for each closed bar
        (and indicators at each step). (False when interrupted before `until`, the time of
        the last step or None)."""
        return self._stepper().step(until, self.now_ns, self._interrupt)

    def _stepper(self) -> Stepper:
        """What `step_until` needs for the loaded symbols, built once per session and set of
        symbols (a session with stops at every 5m bucket end calls it 78 times a day)."""
        sd = self.session_data
        symbols = tuple(s for s in sd if s.is_loaded)
        steps = self._steps
        if steps is not None and steps.clock is self.clock and steps.symbols == symbols:
            return steps
        self._flush_steps()
        assert self.clock is not None
        steps = self._steps = Stepper(symbols, sd, self.clock, self.quality, self.indicators,
                                      self.metrics.timings_s, self._targets, self._observed)
        return steps

    def _flush_steps(self) -> None:
        """Count what the stepped symbols delivered and derived since the last count."""
        if self._steps is not None:
            self._steps.flush(self.metrics)

    def _run_scanners(self, now: int) -> None:
        """After each clock step: the scanners due, then observers' `on_clock(ctx, now)`
        (periodic exports; the clock stops at `stop_times`)."""
        for op, symbol in self.scanners.run_due(now, self.session_data):
            (self.add_symbol if op == "add" else self.remove_symbol)(symbol)
        for observer in self.observers:
            if hasattr(observer, "on_clock"):
                observer.on_clock(self.context, now)

    def _advance(self, t: int) -> None:
        """Move the clock to `t`: deliver base bars closed by then, close derived bars,
        update indicators, quality (throttled) and observers."""
        sd, clock = self.session_data, self.clock
        assert clock is not None  # set by _initialise
        observed: list[tuple[SymbolSessionData, list[tuple[str, int]]]] = []
        with sd.lock:
            for symbol_data in sd:
                if not symbol_data.is_loaded:
                    continue
                changed = self._deliver(symbol_data, t)
                if changed and self._bar_observers:
                    observed.append((symbol_data, changed))
            sd.now_ns = t
            clock.advance_to(t)
            release_ticks(self.session_data, t)
            if t < sd.today.close_ns:  # at the close, phase 4 computes the final quality
                self.quality.update(sd, t)
        for symbol_data, changed in observed:
            self._dispatch(symbol_data, changed)

    def _deliver(self, symbol_data: SymbolSessionData, t: int) -> list[tuple[str, int]]:
        n, changed = self.processor.advance(symbol_data, t)
        metrics = self.metrics
        metrics.bars_processed += n
        if changed:
            base = symbol_data.base_interval.name
            metrics.bars_derived += sum(n for name, n in changed if name != base)
            if self.indicators.wants_bars:
                start = time.perf_counter()
                try:
                    self.indicators.on_bars(symbol_data, changed)
                finally:
                    metrics.timings_s["indicators"] = (metrics.timings_s.get("indicators", 0.0)
                                                       + time.perf_counter() - start)
        return changed

    def _dispatch(self, symbol_data: SymbolSessionData, changed: list[tuple[str, int]]) -> None:
        self._targets.dispatch(symbol_data, changed)

    def _apply_pending(self) -> None:
        """Symbol operations requested since the last step, in the order asked."""
        while True:
            with self._pending_lock:
                if not self._pending:
                    self._interrupt[0] = 1 if self._stop.is_set() else 0
                    return
                op, symbol = self._pending.popleft()
            sd = self.session_data
            if op == "indicator":
                self._add_indicator(symbol)
            elif op == "add" and symbol not in sd:
                with sd.lock:
                    symbol_data = self._register(symbol)
                    today = sd.day
                    if today is not None:
                        symbol_data.start_session(today.open_ns, today.close_ns)
                        self._load(symbol_data, today.date)
                        if symbol_data.is_loaded:  # catch up to the clock
                            self._deliver(symbol_data, self.now_ns)
                            self.quality.update_symbol(sd, symbol_data, self.now_ns)
            elif op == "remove":
                if self.trader is not None and symbol in sd:
                    self.trader.before_remove(symbol)
                removed = sd.remove(symbol)
                if removed is not None:
                    self.metrics.bars_dropped += removed.pipeline.size - removed.pipeline.pos
                    self._notify("symbol_removed", session_data=sd, symbol=symbol)

    def _add_indicator(self, resolved: Resolved) -> None:
        """An indicator added to the session (see `seed_added_indicator`)."""
        if not self.indicators.add(resolved):
            return
        self._flush_steps()
        self._steps = None  # the intervals watched may have changed
        seed_added_indicator(resolved, self.indicators, self.session_data, self.loader,
                             self.quality, self.metrics, self.config.trailing_days)

    # phase 4 ------------------------------------------------------------------------------

    def _end(self, day: datetime.date) -> None:
        sd = self.session_data
        with sd.lock:
            if sd.day is not None:  # a stopped session is not scored past its clock
                self.quality.update(sd, min(self.now_ns, sd.day.close_ns), force=True)
            sd.active = False
            self.metrics.trading_days += 1
            self.metrics.count_iterations(
                [s.base.data.arrays(copy=False)[0] for s in sd if s.is_loaded])
            if (max(self.config.trailing_days, self.indicators.history_days_needed())
                    and sd.day is not None and self.now_ns >= sd.day.close_ns):
                self.loader.keep_day(sd, day)  # (a stopped session is incomplete)
        self._notify("session_ended", session_data=sd, session_date=day)
        for observer in self.observers:
            if hasattr(observer, "on_session_end"):
                observer.on_session_end(self.context)

    # --- plugins ---------------------------------------------------------------------------

    def _notify(self, hook: str, **kwargs: Any) -> None:
        for provenance, exc in self.plugins.notify(hook, **kwargs):
            self.session_data.errors.append(
                f"plugin {provenance} raised in {hook}: {type(exc).__name__}: {exc}")
