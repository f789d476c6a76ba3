"""The `replay` source: stored bars played as a live feed, so that live mode runs (and is
tested) end to end without a market connection.

    [session]
    mode = "live"
    start = 2011-01-05          # the session to replay
    speed = 0                   # 0: simulated clock, as fast as possible, deterministic
                                # N: N x real time (replay time = start + wall elapsed x N)
    [data]
    source = "replay"
    from = "csv"                # the source the bars come from (default "store") ...
    path = "bars/"              # ... and its options, passed through
    start_time = "10:30"        # local time replay starts at (default: the open)

Bars are read from the upstream source and pushed to the live coordinator from a daemon
thread, each at its close time (`ts + interval`, at the latest the session close) in replay
time. Bars that closed before `start_time` are pushed at once on subscription, as a live
feed joined late back-fills. Trades and quotes (`[streams] ticks` / `quotes`; the upstream
must hold them, as the `store` source does: `TickHistorySource`) are pushed the same way,
each record of the session at its stamp (`subscribe_ticks` / `subscribe_quotes`).
`bars()` (historical requests, and the live gap filler's retries) serves from the upstream
source.

Options for tests of gap filling and late data:

    withhold = ["10:00", "12:31"]   bars starting at these local times are not pushed ...
    withhold = 0.05                 ... or this fraction of the session's bars (seeded by
    withhold_seed = 1               withhold_seed and the symbol)
    withhold_retries = 0            bars() requests that still omit a withheld bar before
                                    one serves it (default 0: the first request does)
    serve_withheld = true           false: bars() never serves them (a permanent gap)
    late = ["10:02"]                bars pushed `late_by` after their close ...
    late_by = "7m"                  ... (Ns, Nm or Nh; default 5m), after later bars

Other options: `speed` (overrides the session's), `exchange`.
"""

from __future__ import annotations

import re
import threading
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mismartera import hookimpl
from mismartera.bars import Bars
from mismartera.errors import ConfigError, DataError
from mismartera.intervals import NS, Interval
from mismartera.sources import Quote, Tick, TickHistorySource

if TYPE_CHECKING:
    from mismartera.hookspecs import SourceContext

OWN_OPTIONS = ("from", "start_time", "speed", "withhold", "withhold_seed", "withhold_retries",
               "serve_withheld", "late", "late_by", "exchange")
PYTHON_OPTIONS = ("upstream",)  # a DataSource object (instead of `from` and its options)
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_DURATION = re.compile(r"^(\d+)\s*(s|m|h)$")
_UNIT_NS = {"s": NS, "m": 60 * NS, "h": 3600 * NS}


def _clock_option(name: str, value: Any) -> tuple[int, int]:
    m = _CLOCK.match(value.strip()) if isinstance(value, str) else None
    if m is None or int(m[1]) > 23 or int(m[2]) > 59:
        raise ConfigError(f"replay source option {name!r}: expected a local time like "
                          f"\"09:35\", got {value!r}")
    return int(m[1]), int(m[2])


def _clock_list(name: str, value: Any) -> list[tuple[int, int]]:
    if not isinstance(value, list | tuple):
        raise ConfigError(f"replay source option {name!r}: expected a list of local times "
                          f"like [\"10:00\", \"12:31\"], got {value!r}")
    return [_clock_option(f"{name}[{i}]", v) for i, v in enumerate(value)]


def _number(name: str, value: Any, lo: float, hi: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            lo <= value and (hi is None or value < hi)):
        bound = f">= {lo:g}" + (f" and < {hi:g}" if hi is not None else "")
        raise ConfigError(f"replay source option {name!r}: expected a number {bound}, "
                          f"got {value!r}")
    return float(value)


def _whole(name: str, value: Any, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ConfigError(f"replay source option {name!r}: expected a whole number >= {lo}, "
                          f"got {value!r}")
    return value


class _Subscription:
    """The feeding thread of one `subscribe()` (or `subscribe_ticks()` /
    `subscribe_quotes()`) call; `close()` stops it promptly."""

    def __init__(self, clock: Any, schedule: list[tuple[int, list[tuple[str, Any]]]],
                 sink: Callable[[str, Any], None]) -> None:
        self._clock = clock
        self._schedule = schedule
        self._sink = sink
        self._cancel = threading.Event()
        self.error: Exception | None = None
        clock.attach()
        self._thread = threading.Thread(target=self._run, name="replay-feed", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for t, batch in self._schedule:
                if not self._clock.sleep_until(t, self._cancel):
                    return
                for symbol, bars in batch:
                    self._sink(symbol, bars)
        except Exception as exc:  # kept for the owner (the coordinator reports it)
            self.error = exc
        finally:
            self._clock.detach()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def close(self) -> None:
        self._cancel.set()
        wake = getattr(self._clock, "wake", None)
        if wake is not None:
            wake()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5.0)


class ReplaySource:
    """Stored bars from an upstream source, played as a live feed (see the module doc)."""

    name = "replay"

    def __init__(self, *, context: SourceContext | None = None, **options: Any) -> None:
        """`context` (given by the session) builds the `from` source through the session's
        plugin manager; Python callers may pass `upstream=` (a DataSource) instead."""
        own = {k: options.pop(k) for k in list(options) if k in OWN_OPTIONS}
        upstream = options.pop("upstream", None)
        default_exchange = context.exchange if context is not None else "XNYS"
        self.exchange = str(own.get("exchange", default_exchange)).strip().upper()
        if upstream is None:
            name = own.get("from", "store")
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(f"replay source option 'from': expected the name of a data "
                                  f"source, got {name!r}")
            name = name.strip()
            if name == self.name:
                raise ConfigError("replay source option 'from': a replay cannot read from "
                                  "another replay")
            if context is None:
                raise ConfigError("replay source option 'from': the replay needs the "
                                  "session's plugins to build its upstream source; build it "
                                  "with PluginManager.make_source (as a session does) or "
                                  "pass upstream=")
            if "exchange" in own:
                options["exchange"] = own["exchange"]
            upstream = context.source(name, options, key="replay source option 'from'")
        elif options:
            raise ConfigError(f"unknown replay source option {sorted(options)[0]!r}: expected "
                              f"one of {', '.join(OWN_OPTIONS + PYTHON_OPTIONS)}")
        self.upstream = upstream
        self.start_time = (_clock_option("start_time", own["start_time"])
                           if "start_time" in own else None)
        self.speed = _number("speed", own["speed"], 0) if "speed" in own else None
        withhold = own.get("withhold", [])
        if isinstance(withhold, list | tuple):
            self._withhold_times = _clock_list("withhold", withhold)
            self._withhold_fraction = 0.0
        else:
            self._withhold_times = []
            self._withhold_fraction = _number("withhold", withhold, 0, 1)
        self._withhold_seed = _whole("withhold_seed", own.get("withhold_seed", 0), 0)
        self._withhold_retries = _whole("withhold_retries", own.get("withhold_retries", 0), 0)
        serve = own.get("serve_withheld", True)
        if not isinstance(serve, bool):
            raise ConfigError(f"replay source option 'serve_withheld': expected true or "
                              f"false, got {serve!r}")
        self._serve_withheld = serve
        self._late_times = _clock_list("late", own.get("late", []))
        late_by = own.get("late_by", "5m")
        m = _DURATION.match(late_by.strip()) if isinstance(late_by, str) else None
        if m is None or int(m[1]) == 0:
            raise ConfigError(f"replay source option 'late_by': expected a duration like "
                              f"\"5m\", \"30s\" or \"1h\", got {late_by!r}")
        self._late_by = int(m[1]) * _UNIT_NS[m[2]]
        self._calendar: Any = None
        self._lock = threading.Lock()
        self._session: tuple[int, int] | None = None
        self._clock: Any = None
        self._withheld: dict[str, dict[int, int]] = {}  # symbol -> ts -> refusals left (-1: all)
        self.requests = 0  # bars() calls

    def __repr__(self) -> str:
        return f"ReplaySource({self.upstream!r})"

    # --- DataSource -------------------------------------------------------------------------

    def symbols(self) -> list[str]:
        return self.upstream.symbols()

    def intervals(self, symbol: str) -> list[Interval]:
        return self.upstream.intervals(symbol)

    def bars(self, symbol: str, interval: Interval, start_ns: int, end_ns: int) -> Bars:
        """Upstream bars with start_ns <= ts < end_ns, less the withheld bars that are
        still refused (each request covering one uses up one refusal)."""
        bars = Bars.from_arrays(*self.upstream.bars(symbol, interval, start_ns, end_ns))
        with self._lock:
            self.requests += 1
            held = self._withheld.get(symbol)
            if not held:
                return bars
            refuse = np.zeros(len(bars.ts), bool)
            for k, ts in enumerate(bars.ts.tolist()):
                left = held.get(ts)
                if left is None:
                    continue
                if left == 0:
                    del held[ts]
                    continue
                refuse[k] = True
                if left > 0:
                    held[ts] = left - 1
            return bars.take(~refuse) if refuse.any() else bars

    # --- live -------------------------------------------------------------------------------

    def calendar(self) -> Any:
        if self._calendar is None:
            from mismartera.calendar import TimeManager

            self._calendar = TimeManager(self.exchange)
        return self._calendar

    def session_clock(self, open_ns: int, close_ns: int, speed: float) -> Any:
        """The replay clock for the session `[open_ns, close_ns)`, starting at `start_time`
        (default the open): simulated when the speed (this source's option, else the
        session's) is 0, else replay time = start + wall elapsed x speed."""
        from mismartera.session.live import ScaledClock, SimulatedClock

        start = open_ns
        if self.start_time is not None:
            day = self.calendar().date_of(open_ns)
            start = min(self.calendar().local_ns(day, *self.start_time), close_ns)
        speed = self.speed if self.speed is not None else speed
        clock = SimulatedClock(start) if speed == 0 else ScaledClock(start, speed)
        clock.set_session(open_ns, close_ns)
        with self._lock:
            self._session = (int(open_ns), int(close_ns))
            self._clock = clock
            self._withheld.clear()
        return clock

    def _local_stamps(self, times: list[tuple[int, int]]) -> np.ndarray:
        assert self._session is not None
        day = self.calendar().date_of(self._session[0])
        return np.array([self.calendar().local_ns(day, h, m) for h, m in times], np.int64)

    def _withheld_mask(self, symbol: str, bars: Bars) -> np.ndarray:
        mask = np.isin(bars.ts, self._local_stamps(self._withhold_times))
        if self._withhold_fraction > 0:
            assert self._session is not None
            open_ns, close_ns = self._session
            seed = [self._withhold_seed, zlib.crc32(symbol.encode())]
            draws = np.random.default_rng(seed).random(len(bars.ts))
            in_session = (bars.ts >= open_ns) & (bars.ts < close_ns)
            mask |= in_session & (draws < self._withhold_fraction)
        return mask

    def subscribe(self, symbols: Iterable[str], interval: Interval,
                  sink: Callable[[str, Bars], None]) -> _Subscription:
        """Push each symbol's bars of the session at their close times in replay time (bars
        closed by now at once, from this thread) until the close or `close()`."""
        if self._session is None or self._clock is None:
            raise DataError("replay source: session_clock() must be called before subscribe() "
                            "(the live coordinator does this)")
        open_ns, close_ns = self._session
        clock = self._clock
        day_start = self.calendar().local_ns(self.calendar().date_of(open_ns), 0, 0)
        step = Interval.parse(interval).ns
        late_stamps = self._local_stamps(self._late_times)
        timeline: dict[int, list[tuple[str, Bars]]] = {}
        backfill: list[tuple[str, Bars]] = []
        now = clock.now
        for symbol in symbols:
            bars = Bars.from_arrays(*self.upstream.bars(symbol, interval, day_start, close_ns))
            held = self._withheld_mask(symbol, bars)
            if held.any():
                left = -1 if not self._serve_withheld else self._withhold_retries
                with self._lock:
                    self._withheld[symbol] = dict.fromkeys(bars.ts[held].tolist(), left)
                bars = bars.take(~held)
            due = np.minimum(bars.ts + step, close_ns)
            late = np.isin(bars.ts, late_stamps)
            due[late] = np.minimum(due[late] + self._late_by, close_ns)
            now_mask = due <= now
            if now_mask.any():
                backfill.append((symbol, bars.take(now_mask)))
            order = np.argsort(due[~now_mask], kind="stable")
            rest, rest_due = bars.take(~now_mask).take(order), due[~now_mask][order]
            times, firsts = np.unique(rest_due, return_index=True)
            cuts = [*firsts.tolist(), len(rest_due)]
            for k, t in enumerate(times.tolist()):
                timeline.setdefault(t, []).append((symbol, rest.slice(cuts[k], cuts[k + 1])))
        for symbol, bars in backfill:
            sink(symbol, bars)
        return _Subscription(clock, sorted(timeline.items()), sink)

    def subscribe_ticks(self, symbols: Iterable[str],
                        sink: Callable[[str, Sequence[Tick]], None]) -> _Subscription:
        """Push each symbol's stored trades of the session (`open <= ts < close`, from the
        upstream's `tick_records`) at their stamps in replay time, `(ts, price, size)`."""
        return self._subscribe_records("ticks", symbols, sink)

    def subscribe_quotes(self, symbols: Iterable[str],
                         sink: Callable[[str, Sequence[Quote]], None]) -> _Subscription:
        """As `subscribe_ticks`, for the stored quotes: `(ts, bid, ask, bid_size,
        ask_size)`."""
        return self._subscribe_records("quotes", symbols, sink)

    def _subscribe_records(self, kind: str, symbols: Iterable[str],
                           sink: Callable[[str, Any], None]) -> _Subscription:
        """Records stamped at or before the replay's start at once (from this thread), the
        rest each at its stamp (records sharing a stamp together), until the close or
        `close()`."""
        if self._session is None or self._clock is None:
            raise DataError(f"replay source: session_clock() must be called before "
                            f"subscribe_{kind}() (the live coordinator does this)")
        upstream = self.upstream
        if not isinstance(upstream, TickHistorySource):
            name = getattr(upstream, "name", type(upstream).__name__)
            raise DataError(f"source {name} has no {kind}")
        open_ns, close_ns = self._session
        clock = self._clock
        now = clock.now
        timeline: dict[int, list[tuple[str, list[tuple[Any, ...]]]]] = {}
        backfill: list[tuple[str, list[tuple[Any, ...]]]] = []
        for symbol in symbols:
            records = upstream.tick_records(symbol, kind, open_ns, close_ns)
            rows = records.records()
            due = int(np.searchsorted(records.ts, now, side="right"))
            if due:
                backfill.append((symbol, rows[:due]))
            times, firsts = np.unique(records.ts[due:], return_index=True)
            cuts = [*(firsts + due).tolist(), len(rows)]
            for k, t in enumerate(times.tolist()):
                timeline.setdefault(t, []).append((symbol, rows[cuts[k]:cuts[k + 1]]))
        for symbol, rows in backfill:
            sink(symbol, rows)
        return _Subscription(clock, sorted(timeline.items()), sink)


@hookimpl
def register_data_sources(register) -> None:
    register(
        "replay",
        ReplaySource,
        description="stored bars of another source played as a live feed (mode = \"live\")",
    )
