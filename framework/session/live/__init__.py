"""Live mode: sources push bars (and ticks, quotes) from their own threads; the coordinator
thread runs the same per-step pipeline as a backtest on a session clock.

    source thread(s) --sink--> Inbound (deque + Condition) --drain--> coordinator thread:
        deliver base bars in time order per symbol (late ones -> `gapfill.insert_bars`),
        close derived bars whose bucket ended, indicators, live gap filling, quality
        (throttled), observers; stop at the close; then phase 4 as in a backtest.

A live run covers `[session] start..end` (the sessions a `replay` source plays; `start`
alone is that one session, neither is today's), session after session as a backtest: at each
close phase 4 (the day's exports), then teardown and the next trading day's initialise, with
indicators and history carried across; each session subscribes anew and closes its
subscriptions at its close, and has a clock of its own. The session clock comes from the
source when it offers one (`session_clock(open_ns, close_ns, speed)`, which the `replay`
source implements: replay time = start + (wall - wall0) x speed, or a simulated clock for
speed 0), else it is the wall clock (`WallClock`, a `mismartera.calendar.LiveClock`).

Clocks have two sides: the coordinator waits for its next wake-up with `wait(target,
inbound)` (woken early when something arrives); a source thread paces itself with
`sleep_until(t, cancel)`. `SimulatedClock` moves only when the coordinator advances it and
then waits until every attached source thread has caught up, so a replay runs as fast as
the machine allows and is deterministic.

The pieces live beside this module and are re-exported here: the clocks in
`mismartera.session.live.clocks`, the inbound queue and the sorting of arrived bars in
`mismartera.session.live.inbound`.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from mismartera.bars import Bars
from mismartera.calendar import TimeManager
from mismartera.config import IndicatorSpec, SessionConfig
from mismartera.errors import ConfigError, DataError, UserError
from mismartera.plugin_manager import PluginManager
from mismartera.session.coordinator import SessionCoordinator
from mismartera.session.data import SymbolSessionData
from mismartera.session.live.clocks import (
    NS,
    ClockedSource,
    ScaledClock,
    SessionClock,
    SimulatedClock,
    WallClock,
)
from mismartera.session.live.gapfill import GapFiller, insert_bars
from mismartera.session.live.inbound import (
    Arrivals,
    Inbound,
    deliver_arrivals,
    insert_sorted,
    late_threshold,
    sort_arrivals,
)
from mismartera.sources import (
    DataSource,
    LiveDataSource,
    LiveSubscription,
    Quote,
    QuoteSource,
    Tick,
    TickSource,
)
from mismartera.ticks import TickSeries

__all__ = [
    "NS",
    "Arrivals",
    "ClockedSource",
    "Inbound",
    "LiveSessionCoordinator",
    "ScaledClock",
    "SessionClock",
    "SimulatedClock",
    "WallClock",
    "deliver_arrivals",
    "late_threshold",
    "live_days",
    "live_range",
    "sort_arrivals",
]


def live_range(config: SessionConfig, calendar: TimeManager,
               now_ns: int | None = None) -> tuple[datetime.date, datetime.date]:
    """The first and last dates a live run covers: `[session] start..end`; `start` (or `end`)
    alone is that one day; neither is today's session in the exchange's zone."""
    first = config.start or config.end
    if first is None:
        first = calendar.date_of(time.time_ns() if now_ns is None else now_ns)
    return first, config.end or first


def live_days(config: SessionConfig, calendar: TimeManager,
              now_ns: int | None = None) -> tuple[datetime.date, datetime.date]:
    """The first and last trading days of a live run (`live_range` narrowed to its trading
    days; the range itself when it has none)."""
    first, last = live_range(config, calendar, now_ns)
    try:
        days = calendar.trading_days(first, last) if first <= last else []
    except UserError:  # outside the calendar's range: phase 0 says so
        days = []
    return (days[0], days[-1]) if days else (first, last)


class LiveSessionCoordinator(SessionCoordinator):
    """Runs live sessions (`mode = "live"`), one per trading day of `start..end`: bars
    pushed by the source's subscription, the per-step pipeline of a backtest, live gap
    filling, stop at each close.

    `gap_filler` (default `GapFiller()`) re-requests missing base bars; `close_grace_s`
    (session seconds; default the clock's: 2 s live, 50 ms of wall time for a replay, 0
    simulated) is how long after a bucket's end its derived bar waits for a late base bar
    before it closes without it. `add_symbol`, `remove_symbol` and `stop` are thread-safe
    and take effect at the next step."""

    def __init__(
        self,
        config: SessionConfig,
        *,
        plugins: PluginManager | None = None,
        source: DataSource | None = None,
        calendar: TimeManager | None = None,
        observers: Iterable[Any] = (),
        stop_times: Iterable[int] = (),
        gap_filler: GapFiller | None = None,
        close_grace_s: float | None = None,
    ) -> None:
        super().__init__(config, plugins=plugins, source=source, calendar=calendar,
                         observers=observers, stop_times=stop_times)
        self.inbound = Inbound()
        cfg = self.config
        if gap_filler is None:  # `[live]` keys, once SessionConfig has them
            gap_filler = GapFiller(delay_s=cfg.gapfill_delay_s,
                                   retries=cfg.gapfill_retries,
                                   backoff=cfg.gapfill_backoff)
        self.gap_filler = gap_filler
        self.session_data.mode = "live"
        self.loader.queue_from_source = False  # today's bars arrive from the feed
        self.clock: Any = None
        if close_grace_s is None:
            close_grace_s = cfg.close_grace_s
        self._close_grace_s = close_grace_s
        self._grace = 0
        self._now = 0
        self._inbox: dict[str, list[Bars]] = {}
        self._refetched: dict[str, set[int]] = {}  # symbol -> stamps the gap filler brought
        self._subscriptions: list[LiveSubscription] = []
        self._streaming = False
        self._repair_observers = [o for o in self.observers if hasattr(o, "on_repair")]
        self.late_bars = 0  # base bars inserted out of order (late feed and gap fills)
        self.dropped = 0  # pushed items of symbols not in the session
        self.refetched = 0  # feed bars that came after the gap filler had fetched them
        self.metrics.gap_fill = self.gap_fill_counts

    # --- public ----------------------------------------------------------------------------

    @property
    def now_ns(self) -> int:
        """Session time of the current (or last) step; never past the close."""
        return self._now

    @property
    def components(self) -> tuple[Any, ...]:
        return (*super().components, self.gap_filler)

    def gap_fill_counts(self) -> dict[str, int]:
        """The run's gap-filling counters (the export's `metrics.gap_fill`): requests made,
        missing bars filled and exhausted, late bars inserted (late feed bars and filled
        ones), re-fetched feed bars dropped, pushed data of unknown symbols dropped."""
        filler = self.gap_filler
        return {"requests": filler.requests, "filled": filler.filled,
                "exhausted": filler.exhausted, "late_bars": self.late_bars,
                "refetched": self.refetched, "dropped": self.dropped}

    def add_symbol(self, symbol: str) -> None:
        super().add_symbol(symbol)
        self.inbound.poke()

    def remove_symbol(self, symbol: str) -> None:
        super().remove_symbol(symbol)
        self.inbound.poke()

    def add_indicator(self, spec: str | IndicatorSpec) -> str:
        key = super().add_indicator(spec)
        self.inbound.poke()
        return key

    def stop(self) -> None:
        super().stop()
        self.inbound.poke()

    # --- phase 0 ---------------------------------------------------------------------------

    def _validate(self) -> None:
        cfg = self.config
        first, last = live_range(cfg, self.calendar)
        where = cfg.where("start") if cfg.start or cfg.end else "live session"
        if first == last and not self.calendar.is_trading_day(first):
            raise ConfigError(f"{where}: {first} is not a trading day on {cfg.exchange} (a live "
                              f"session runs today's session, or [session] start..end)")
        if not self.calendar.trading_days(first, last):
            raise ConfigError(f"{where}: no {cfg.exchange} trading day between {first} and "
                              f"{last}")
        if not isinstance(self.source, LiveDataSource):
            raise ConfigError(f"{cfg.where('source')}: source {self.source.name!r} cannot stream "
                              f"live (it has no subscribe()); use a live source or 'replay'")
        self.config = dataclasses.replace(cfg, start=first, end=last, mode="live")
        super()._validate()

    # --- phase 2 ---------------------------------------------------------------------------

    def _initialise(self, day: datetime.date) -> None:
        today = self._session_day(day)
        open_ns, close_ns = today.open_ns, today.close_ns
        self._now = open_ns
        self._inbox.clear()
        self._refetched.clear()
        self.inbound.drain()
        super()._initialise(day)
        clock = self._make_clock(open_ns, close_ns)
        grace = self._close_grace_s
        self._grace = clock.default_grace_ns if grace is None else int(grace * NS)
        self._now = min(clock.now, close_ns)
        self.clock = clock
        with self.session_data.lock:
            self.session_data.now_ns = self._now

    def _make_clock(self, open_ns: int, close_ns: int) -> SessionClock:
        if isinstance(self.source, ClockedSource):
            return self.source.session_clock(open_ns, close_ns, self.config.speed)
        clock = WallClock()
        clock.set_session(open_ns, close_ns)
        return clock

    def _load_queue(self, symbol_data: SymbolSessionData, day: datetime.date) -> None:
        """Live: nothing is queued ahead; bars come from the subscription (a symbol added
        while streaming subscribes here, after its historical load)."""
        symbol_data.queue = Bars.empty()
        for kind in ("ticks", "quotes"):  # streamed kinds are exported even while empty
            if getattr(self.config, kind):
                symbol_data.queue_ticks(TickSeries.empty(kind))
        if self._streaming:
            self._subscribe([symbol_data])

    def _subscribe(self, symbols: Sequence[SymbolSessionData]) -> None:
        groups: dict[Any, list[str]] = {}
        for symbol_data in symbols:
            groups.setdefault(symbol_data.base_interval, []).append(symbol_data.symbol)
        source = self.source
        if not isinstance(source, LiveDataSource):  # phase 0 refused it already
            raise DataError(f"source {source.name!r} cannot stream live (it has no subscribe())")
        for interval, names in groups.items():
            try:
                self._subscriptions.append(source.subscribe(names, interval, self._bar_sink))
            except UserError:
                raise
            except Exception as exc:
                raise DataError(f"{', '.join(names)}: source {source.name!r} failed to "
                                f"subscribe: {type(exc).__name__}: {exc}") from exc
            self._subscribe_records(names)

    def _subscribe_records(self, names: list[str]) -> None:
        """Trades and quotes (`[streams] ticks` / `quotes`): a source that cannot push them,
        or fails to, is an error of each symbol; its bars still run (as in a backtest)."""
        source = self.source
        for kind in ("ticks", "quotes"):
            if not getattr(self.config, kind):
                continue
            try:
                if kind == "ticks" and isinstance(source, TickSource):
                    subscription = source.subscribe_ticks(names, self._tick_sink)
                elif kind == "quotes" and isinstance(source, QuoteSource):
                    subscription = source.subscribe_quotes(names, self._quote_sink)
                else:
                    raise DataError(f"source {source.name} has no {kind}")
            except Exception as exc:
                reason = str(exc) if isinstance(exc, UserError) else (
                    f"source {source.name!r} failed to subscribe to {kind}: "
                    f"{type(exc).__name__}: {exc}")
                for name in names:
                    symbol_data = self.session_data.get(name)
                    if symbol_data is not None:
                        symbol_data.record_error(f"{name}: {reason}")
                continue
            self._subscriptions.append(subscription)

    def _bar_sink(self, symbol: str, bars: Bars) -> None:
        self.inbound.put("bars", symbol, Bars.from_arrays(*bars))

    def _tick_sink(self, symbol: str, ticks: Sequence[Tick]) -> None:
        self.inbound.put("ticks", symbol, [(int(t), float(p), float(s)) for t, p, s in ticks])

    def _quote_sink(self, symbol: str, quotes: Sequence[Quote]) -> None:
        self.inbound.put("quotes", symbol, [(int(t), float(b), float(a), float(bs), float(as_))
                                            for t, b, a, bs, as_ in quotes])

    # --- phase 3 ---------------------------------------------------------------------------

    def _stream(self) -> None:
        sd, clock = self.session_data, self.clock
        assert clock is not None  # set by _initialise
        close = sd.today.close_ns
        loaded = [s for s in sd if s.is_loaded]
        try:
            self._streaming = True
            if loaded:
                try:
                    self._subscribe(loaded)
                except UserError as exc:
                    for symbol_data in loaded:
                        symbol_data.record_error(str(exc))
                        symbol_data.is_loaded = False
            clock.settle()
            self._run_scanners(self._now)
            while True:
                self._apply_pending()
                t = clock.now
                closing = t >= close + self._grace
                self._step(max(self._now, min(t, close)), closing)
                self._run_scanners(self._now)
                if closing or self._stop.is_set():
                    break
                clock.wait(self._next_wake(self._now), self.inbound)
        finally:
            self._streaming = False
            self._close_subscriptions()
        self._apply_pending()

    def _close_subscriptions(self) -> None:
        while self._subscriptions:
            subscription = self._subscriptions.pop()
            try:
                subscription.close()
            except Exception as exc:
                self.session_data.errors.append(
                    f"source {self.source.name!r} failed to close a subscription: "
                    f"{type(exc).__name__}: {exc}")
            error = getattr(subscription, "error", None)
            if error is not None:
                self.session_data.errors.append(
                    f"source {self.source.name!r}: the live feed failed: "
                    f"{type(error).__name__}: {error}")

    def _next_wake(self, now: int) -> int:
        """The next session time anything can happen: a base bar's close (+ grace) on the
        grid, a missing bar becoming due for gap filling, a retry, a scanner, a stop time,
        the close (+ grace)."""
        sd = self.session_data
        open_ns, close = sd.today.open_ns, sd.today.close_ns
        candidates = [close + self._grace]
        steps = {s.base_interval.ns for s in sd if s.is_loaded} or {min(self.config.intervals).ns}
        for lag in (self._grace, max(self._grace, self.gap_filler.delay_ns)):
            for step in steps:
                x = now - lag
                grid = open_ns + step * (max(0, (x - open_ns) // step) + 1)
                candidates.append(min(grid, close) + lag)
        for t in (self.gap_filler.next_time(), self.scanners.next_time(now)):
            if t is not None:
                candidates.append(t)
        k = int(np.searchsorted(self._stop_times, now, side="right"))
        if k < len(self._stop_times):
            candidates.append(int(self._stop_times[k]))
        later = [c for c in candidates if c > now]
        return min(min(later) if later else now + 1, close + self._grace)

    def _close_mark(self, now: int) -> int:
        """Derived buckets that ended by this time close even without their last base bar."""
        today = self.session_data.today
        if now >= today.close_ns:
            return today.close_ns
        return max(today.open_ns, now - self._grace)

    def _step(self, now: int, closing: bool) -> None:
        sd = self.session_data
        observed: list[tuple[SymbolSessionData, list[tuple[str, int]]]] = []
        repaired: list[tuple[str, int]] = []
        with sd.lock:
            self._now = now
            for symbol_data in sd:
                if not symbol_data.is_loaded:
                    continue
                changed, first_late = self._deliver_live(symbol_data, now)
                if changed and self._bar_observers:
                    observed.append((symbol_data, changed))
                if first_late is not None:
                    repaired.append((symbol_data.symbol, first_late))
        filled = self.gap_filler.step(sd, self.source, now, closing=closing,
                                      min_delay_ns=self._grace, repair=self._refill_at(now))
        with sd.lock:
            sd.now_ns = now
            if now < sd.today.close_ns:  # at the close, phase 4 computes the final quality
                self.quality.update(sd, now)
        for symbol_data, changed in observed:
            self._dispatch(symbol_data, changed)
        for symbol, start in repaired + filled:
            for observer in self._repair_observers:
                observer.on_repair(self.context, symbol, start)

    def _drain(self) -> None:
        sd = self.session_data
        for kind, symbol, payload in self.inbound.drain():
            symbol_data = sd.get(symbol)
            if symbol_data is None:
                self.dropped += len(payload)
            elif kind == "bars":
                self._inbox.setdefault(symbol_data.symbol, []).append(payload)
            elif kind == "ticks":
                insert_sorted(symbol_data.ticks, payload)
            elif kind == "quotes":
                insert_sorted(symbol_data.quotes, payload)

    def _deliver(self, symbol_data: SymbolSessionData, t: int) -> list[tuple[str, int]]:
        """Used by the base class to catch an added symbol up to the clock."""
        return self._deliver_live(symbol_data, t)[0]

    def _deliver_live(self, symbol_data: SymbolSessionData,
                      now: int) -> tuple[list[tuple[str, int]], int | None]:
        """This symbol's arrived bars: late ones repaired in, the rest streamed; derived bars
        closed up to the close mark; indicators. Returns (changed, first late ts or None)."""
        self._drain()
        sd = self.session_data
        parts = self._inbox.pop(symbol_data.symbol, None)
        raw = Bars.concat(parts) if parts else Bars.empty()
        arrivals, changed = deliver_arrivals(
            symbol_data, raw, open_ns=sd.today.open_ns, close_ns=sd.today.close_ns,
            close_mark=self._close_mark(now), processor=self.processor,
            repair=lambda s, late, until: self._repair(s, late, now, until),
            refetched=self._refetched.get(symbol_data.symbol, ()))
        first_late = int(arrivals.late.ts[0]) if len(arrivals.late.ts) else None
        self.metrics.bars_read += len(raw.ts)
        symbol_data.rejected.update(arrivals.rejected)
        self.metrics.rejected.update(arrivals.rejected)
        self.refetched += arrivals.refetched
        self.metrics.bars_processed += len(arrivals.in_order.ts)
        if changed:
            base = symbol_data.base_interval.name
            self.metrics.bars_derived += sum(n for name, n in changed if name != base)
            with self.metrics.timed("indicators"):
                self.indicators.on_bars(symbol_data, changed)
        return changed, first_late

    def _refill_at(self, now: int) -> Callable[[SymbolSessionData, Bars], int]:
        """The gap filler's repair callback: insert, and remember the stamps fetched."""
        def refill(symbol_data: SymbolSessionData, bars: Bars) -> int:
            self._refetched.setdefault(symbol_data.symbol, set()).update(bars.ts.tolist())
            return self._repair(symbol_data, bars, now)
        return refill

    def _repair(self, symbol_data: SymbolSessionData, bars: Bars, now: int,
                closed_until: int | None = None) -> int:
        """Insert out-of-order base bars (the one repair path for late feed bars and gap
        fills): rebuild the base bars, derived bars, indicators, gaps and quality."""
        sd = self.session_data
        until = self._close_mark(now) if closed_until is None else closed_until
        with sd.lock:
            self._keep_seed(symbol_data)
            with self.metrics.timed("indicators"):
                n = insert_bars(sd, symbol_data, bars, closed_until_ns=until,
                                indicators=self.indicators)
            self.metrics.bars_processed += n
            self.late_bars += n
            self.quality.update_symbol(sd, symbol_data, now)
        return n

    def _keep_seed(self, symbol_data: SymbolSessionData) -> None:
        """Before the first repair of a later session: fetch the symbol's indicator seed
        (before the run's anchor, and every day since) so that the indicators' rebuild
        restarts from the state they carried into this session, as a backtest's record has
        it (once per symbol and session)."""
        today = self.session_data.today.date
        seed_days = self.indicators.rebuild_seed_days(symbol_data, today)
        if not seed_days:
            return
        n = max(self.config.trailing_days, self.indicators.history_days_needed())
        try:
            with self.metrics.timed("historical_load"):
                seed = self.loader.load_history(symbol_data, today, n, seed_days)
        except Exception as exc:  # the rebuild seeds from the held history instead
            symbol_data.record_error(f"{symbol_data.symbol}: the indicator seed for a repair "
                                     f"failed: {type(exc).__name__}: {exc}")
            return
        self.indicators.keep_seed(symbol_data, seed)
