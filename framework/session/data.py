"""SessionData: the single source of truth of a session.

`SessionData` holds the only registry of symbols. Each `SymbolSessionData` describes
itself: its base interval, one `BarIntervalData` per interval (bars in a `BarRing`,
whether derived and from what, quality and gaps), the trailing historical bars and
indicators, session indicators, quotes and ticks, session metrics, load state and errors.
Components keep no symbol lists of their own: they iterate `SessionData` each step, and the
per-interval kernel state (streaming aggregator, gap tracker) lives here too, so removing a
symbol is one call and nothing else has to be told.

Threads: the coordinator mutates under `lock` (an RLock); readers on other threads take the
lock and copy what they need (`snapshot()` in `mismartera.export` does that).
"""

from __future__ import annotations

import datetime
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from mismartera.bars import Bars
from mismartera.ext.aggregate import StreamingAggregator
from mismartera.ext.gaps import GapTracker
from mismartera.ext.pipeline import SymbolPipeline
from mismartera.ext.ring import BarRing
from mismartera.intervals import Interval
from mismartera.session.history import GapInfo, HistoricalData
from mismartera.ticks import TickSeries

REJECT_KINDS = ("invalid", "duplicate", "misaligned", "outside_session")


@dataclass(frozen=True)
class SessionDay:
    """One trading session: its date and its open and close (ns since the epoch, UTC). The
    coordinator sets one on `SessionData.day` at the start of each session."""

    date: datetime.date
    open_ns: int
    close_ns: int


def expected_end(open_ns: int, close_ns: int, step_ns: int, now_ns: int) -> int:
    """The end argument for gap kernels at clock `now_ns`: a bucket is expected once it has
    closed, i.e. its start + step (truncated at the close) is <= now."""
    if now_ns >= close_ns:
        return close_ns
    return max(open_ns, now_ns - step_ns + 1)


class QualityClock:
    """The session time a symbol's quality was last taken at, shared by its intervals: the
    quality manager sets `now` (one write per symbol); each interval works out its gaps and
    quality from it when read. The gap tracker answers for any past time exactly, whatever
    bars arrived since, so reading late gives the value of the moment it was taken."""

    __slots__ = ("now",)

    def __init__(self) -> None:
        self.now: int | None = None


class BarIntervalData:
    """The bars of one symbol at one interval, with their quality and the kernel state that
    builds (derived) and checks (gap tracker) them."""

    __slots__ = ("_clock", "_gap_arrays", "_gaps", "_quality", "_taken", "aggregator", "base",
                 "data", "derived", "interval", "name", "rewrites", "tracker", "updated",
                 "version")

    def __init__(self, interval: Interval, base: Interval | None, capacity: int,
                 clock: QualityClock | None = None) -> None:
        self.interval = interval
        self.name = interval.name
        self.base = base
        self.derived = base is not None
        self.data = BarRing(capacity)
        self.updated = False
        self._quality = 100.0
        self._clock = clock or QualityClock()
        self._taken: int | None = None  # the clock time quality was last worked out for
        self._gap_arrays: tuple | None = None
        self._gaps: list[GapInfo] = []
        # `1d` is one bucket per session: [open, open + 24h) truncated at the close
        self.tracker = GapTracker(interval.ns)
        self.aggregator = StreamingAggregator(base.ns, interval.ns) if base is not None else None
        # bumped whenever the session's past bars are rewritten (a live repair), with where
        # from: delta exports (`mismartera.export`) tell appended bars from rewritten ones
        self.version = 0
        self.rewrites: list[tuple[int, int]] = []  # (version after, first rewritten bar start)

    def rewritten(self, from_ns: int) -> None:
        """Record that the bars from `from_ns` on were rewritten (not merely appended)."""
        self.version += 1
        self.rewrites.append((self.version, int(from_ns)))

    def start_session(self, open_ns: int, close_ns: int) -> None:
        """Empty the bars and reset kernel state for a new session."""
        self.data.clear()
        self.version, self.rewrites = 0, []
        self.updated = False
        self._quality, self._taken = 100.0, None
        self._gap_arrays, self._gaps = None, []
        self.tracker.start_session(open_ns, close_ns)
        if self.aggregator is not None:
            self.aggregator.start_session(open_ns, close_ns)

    def bars(self) -> Bars:
        """A copy of the session's closed bars (all of them)."""
        return Bars(*self.data.arrays())

    @property
    def quality(self) -> float:
        """100 x present / expected bars as of the last quality update."""
        if self._clock.now != self._taken:
            self._settle()
        return self._quality

    @property
    def gaps(self) -> list[GapInfo]:
        """Maximal runs of missing bars as of the last quality update."""
        if self._clock.now != self._taken:
            self._settle()
        if self._gap_arrays is not None:
            starts, ends, counts = self._gap_arrays
            self._gaps = [GapInfo(int(s), int(e), int(c))
                          for s, e, c in zip(starts, ends, counts, strict=True)]
            self._gap_arrays = None
        return self._gaps

    def forget_quality(self) -> None:
        """Work quality and gaps out again at the next read (the tracker was rebuilt)."""
        self._taken = -1

    def _settle(self) -> None:
        now = self._taken = self._clock.now
        if now is None:
            self._quality, self._gap_arrays, self._gaps = 100.0, None, []
            return
        t = self.tracker
        open_ns, close_ns = t.session_open, t.session_close
        # without a session the tracker itself refuses (`gaps` says start_session is needed)
        end = (now if open_ns is None or close_ns is None
               else expected_end(open_ns, close_ns, self.interval.ns, now))
        self._gap_arrays = t.gaps(end)
        self._gaps = []
        self._quality = float(t.quality(end))


class SessionMetrics:
    """Per-symbol session metrics (volume, high, low, last update): a view of the values
    the symbol's pipeline keeps up to date as base bars arrive."""

    __slots__ = ("_pipeline",)

    def __init__(self, pipeline: SymbolPipeline) -> None:
        self._pipeline = pipeline

    @property
    def volume(self) -> float:
        return self._pipeline.volume

    @property
    def high(self) -> float:
        return self._pipeline.high

    @property
    def low(self) -> float:
        return self._pipeline.low

    @property
    def last_update(self) -> int | None:
        """ns of the close of the last base bar (None before the first)."""
        return self._pipeline.last_update or None

    @last_update.setter
    def last_update(self, value: int | None) -> None:
        self._pipeline.last_update = value or 0

    def add(self, bars: Bars) -> None:
        """Count bars that reached the session outside the pipeline (a repair)."""
        if len(bars.ts) == 0:
            return
        p = self._pipeline
        p.volume += float(bars.volume.sum())
        hi, lo = float(bars.high.max()), float(bars.low.min())
        p.high = hi if not p.high >= hi else p.high
        p.low = lo if not p.low <= lo else p.low


class SymbolSessionData:
    """Everything the session knows about one symbol; it describes itself."""

    def __init__(self, symbol: str, base_interval: Interval, intervals: list[Interval],
                 capacity: dict[Interval, int]) -> None:
        """`intervals` are the ones asked for (`streams`); `bars` holds them and the base,
        which is internal when it was not asked for (built from, never shown)."""
        self.symbol = symbol
        self.base_interval = base_interval
        self.streams = tuple(interval.name for interval in sorted(set(intervals)))
        self.bars: dict[str, BarIntervalData] = {}
        self.quality_clock = QualityClock()
        for interval in sorted({*intervals, base_interval}):
            base = None if interval == base_interval else base_interval
            self.bars[interval.name] = BarIntervalData(interval, base, capacity[interval],
                                                       self.quality_clock)
        self.historical = HistoricalData()
        self.indicators: dict[str, Any] = {}  # export key -> indicator state (IndicatorManager)
        self.indicator_set: Any = None  # the running indicators (a SymbolIndicators)
        # ts, bid, ask, bid_size, ask_size
        self.quotes: list[tuple[int, float, float, float, float]] = []
        self.ticks: list[tuple[int, float, float]] = []  # ts, price, size
        # today's stored ticks / quotes not yet reached by the clock: kind -> (records, next)
        self.tick_queue: dict[str, tuple[TickSeries, int]] = {}
        # the bar structure is fixed from here on: the base, then the derived intervals
        self._derived = tuple(b for b in self.bars.values() if b.derived)
        self._pipeline_order = (self.base, *self._derived)
        derived = [(aggregator, b.data, b.tracker) for b, aggregator in self.builders()]
        self.pipeline = SymbolPipeline(self.base.data, self.base.tracker, base_interval.ns, derived)
        self.metrics = SessionMetrics(self.pipeline)
        self.rejected: Counter[str] = Counter()
        self.is_loaded = False
        self.stream_error: str | None = None  # why phase 0 found no usable stream, if so
        self.errors: list[str] = []  # the current session's
        self.run_errors: dict[str, None] = {}  # every distinct error of the run, in order

    @property
    def queue(self) -> Bars:
        """Today's base bars waiting for the clock (held by the pipeline, so that removing
        the symbol removes them too)."""
        return Bars(*self.pipeline.queue)

    @queue.setter
    def queue(self, bars: Bars) -> None:
        self.pipeline.set_queue(*bars)

    @property
    def streamable(self) -> bool:
        """Whether phase 0 found a stream for the symbol."""
        return self.stream_error is None

    @property
    def base(self) -> BarIntervalData:
        return self.bars[self.base_interval.name]

    def stream_bars(self) -> dict[str, BarIntervalData]:
        """The bars of the intervals asked for (what exports and summaries show)."""
        return {name: self.bars[name] for name in self.streams}

    def derived(self) -> tuple[BarIntervalData, ...]:
        """The derived intervals' bars, in the order of `bars`."""
        return self._derived

    def builders(self) -> list[tuple[BarIntervalData, StreamingAggregator]]:
        """Each derived interval with the streaming aggregator that builds it, in the order
        of `derived()`."""
        return [(b, b.aggregator) for b in self.bars.values() if b.aggregator is not None]

    @property
    def bars_in_pipeline_order(self) -> tuple[BarIntervalData, ...]:
        """The base interval, then the derived ones: the order of `pipeline.closed`."""
        return self._pipeline_order

    def start_session(self, open_ns: int, close_ns: int) -> None:
        """Clear session bars, metrics, quotes, ticks and errors; historical data stays."""
        for interval_data in self.bars.values():
            interval_data.start_session(open_ns, close_ns)
        self.quality_clock.now = None
        self.pipeline.reset_metrics()
        self.quotes.clear()
        self.ticks.clear()
        self.tick_queue.clear()
        self.rejected.clear()
        self.pipeline.clear_queue()
        self.errors.clear()
        if self.stream_error is not None:
            self.record_error(self.stream_error)

    def queue_ticks(self, records: TickSeries) -> None:
        """Today's trades or quotes, released into `.ticks` / `.quotes` as the clock reaches
        them (`release_ticks`)."""
        self.tick_queue[records.kind] = (records, 0)

    def release_ticks(self, now_ns: int) -> int:
        """Move the queued trades and quotes stamped at or before `now_ns` into `.ticks` /
        `.quotes` (a record at t is seen once the clock is at t); how many moved."""
        moved = 0
        for kind, (records, pos) in self.tick_queue.items():
            end = int(np.searchsorted(records.ts, now_ns, side="right"))
            if end > pos:
                target = self.ticks if kind == "ticks" else self.quotes
                target.extend(records.take(slice(pos, end)).records())
                self.tick_queue[kind] = (records, end)
                moved += end - pos
        return moved

    def take_quality(self, now_ns: int) -> None:
        """Take quality as of `now_ns` afresh (after bars were inserted or rebuilt)."""
        self.quality_clock.now = now_ns
        for interval_data in self.bars.values():
            interval_data.forget_quality()

    def record_error(self, message: str) -> None:
        """Record an error of the current session (and of the run)."""
        if message not in self.errors:
            self.errors.append(message)
        self.run_errors[message] = None

    def __repr__(self) -> str:
        return (f"SymbolSessionData({self.symbol!r}, base={self.base_interval}, "
                f"intervals={list(self.bars)}, loaded={self.is_loaded})")


class SessionData:
    """The only registry of symbols, plus the session's state and counters."""

    def __init__(self, exchange: str = "XNYS", mode: str = "backtest") -> None:
        self.lock = threading.RLock()
        self.exchange = exchange
        self.mode = mode
        self.day: SessionDay | None = None  # the current (or last) session, set at its start
        self.now_ns: int | None = None
        self.active = False
        self.trading_days = 0
        self.errors: list[str] = []  # session-level (plugin hooks, exporters)
        self._symbols: dict[str, SymbolSessionData] = {}
        self.metrics: Any = None  # PerformanceMetrics, set by the coordinator
        self.strategy: Any = None  # the run's StrategyResult, when a strategy runs

    @property
    def today(self) -> SessionDay:
        """The current (or last) session, for code that runs inside one; RuntimeError before
        the first session has started."""
        day = self.day
        if day is None:
            raise RuntimeError("no session has started yet: SessionData.today is set at the "
                               "start of the first session")
        return day

    @property
    def date(self) -> datetime.date | None:
        """The date of the current (or last) session (None before the first)."""
        return self.day.date if self.day is not None else None

    @property
    def open_ns(self) -> int | None:
        """The open of the current (or last) session (None before the first)."""
        return self.day.open_ns if self.day is not None else None

    @property
    def close_ns(self) -> int | None:
        """The close of the current (or last) session (None before the first)."""
        return self.day.close_ns if self.day is not None else None

    # --- the registry ----------------------------------------------------------------------

    def register(self, symbol_data: SymbolSessionData) -> None:
        with self.lock:
            if symbol_data.symbol in self._symbols:
                raise ValueError(f"symbol {symbol_data.symbol} is already registered")
            self._symbols[symbol_data.symbol] = symbol_data

    def get(self, symbol: str) -> SymbolSessionData | None:
        found = self._symbols.get(symbol)  # symbols are stored upper-cased
        return found if found is not None else self._symbols.get(symbol.upper())

    def __getitem__(self, symbol: str) -> SymbolSessionData:
        data = self.get(symbol)
        if data is None:
            raise KeyError(symbol)
        return data

    def remove(self, symbol: str) -> SymbolSessionData | None:
        """Remove a symbol and everything about it: the one call that is needed."""
        with self.lock:
            return self._symbols.pop(symbol.upper(), None)

    def symbols(self) -> list[str]:
        with self.lock:
            return list(self._symbols)

    def take_quality_time(self, now_ns: int) -> None:
        """Every symbol's quality is now taken as of `now_ns` (worked out when read)."""
        with self.lock:
            for symbol_data in self._symbols.values():
                symbol_data.quality_clock.now = now_ns

    def __iter__(self) -> Iterator[SymbolSessionData]:
        with self.lock:
            return iter(list(self._symbols.values()))

    def __contains__(self, symbol: object) -> bool:
        return isinstance(symbol, str) and symbol.upper() in self._symbols

    def __len__(self) -> int:
        return len(self._symbols)

    # --- totals ----------------------------------------------------------------------------

    def rejected(self) -> dict[str, int]:
        """Bars skipped and counted, by reason, summed over symbols (current session)."""
        with self.lock:
            total: Counter[str] = Counter()
            for s in self._symbols.values():
                total.update(s.rejected)
            return {kind: int(total.get(kind, 0)) for kind in REJECT_KINDS}
