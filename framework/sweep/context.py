"""What the tasks of a sweep share inside one worker process: `WorkerContext`.

A sweep runs many backtests of the same session in each worker process (a pool process, a
Ray worker, or the calling process with `--workers 0`). Built afresh for every task, the
plugin manager and the data source would be built and the same bars read (or, with the
`synthetic` source, generated) again and again. A `WorkerContext` keeps them between tasks:

- one `PluginManager` (per value of the environment variables that choose the plugins);
- one `TimeManager` per exchange;
- the bars of a task's symbols over its window (the warm-up sessions before it included),
  held by a `CachedSource` per (source, options, exchange, symbols, window), so that the
  next grid point of the same symbols and window reads them from memory. At most
  `max_entries` such sources and about `max_bytes` of bars are kept (least recently used
  first out); a series that would not fit is read from the source on every request.

A cached source serves a request inside what it holds by slicing it: the `DataSource`
protocol defines `bars(symbol, interval, start, end)` as the bars with start <= ts < end,
so a slice of a wider read is the same bars (the built-in sources honour it; tests check the
rows equal `mismartera backtest` of each task alone).

The context a task uses is this process's (`current_context`), created on first use. The
runner gives each sweep run a token and runs every task through `worker.run_in`, which makes
the process's context that run's (`enter_run`): a new run starts from an empty context (the
old one closed), so nothing read by one run is served to another, and the run's end closes it
in the calling process (`release_context`; pool workers end with their pool, Ray workers with
their driver or at the next run). A forked child never uses its parent's context.
"""

from __future__ import annotations

import datetime
import os
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mismartera.bars import Bars
from mismartera.intervals import Interval

if TYPE_CHECKING:
    from mismartera.calendar import TimeManager
    from mismartera.config import SessionConfig
    from mismartera.plugin_manager import PluginManager
    from mismartera.sources import DataSource

MAX_ENTRIES = 4
"""Cached sources a context keeps (each: one symbol set over one window)."""

MAX_BYTES = 256 * 2**20
"""Bars a context keeps at most, in bytes (a symbol-year of 1m bars is about 4.7 MB)."""

PLUGIN_ENV = ("MISMARTERA_LOAD_PLUGINS", "MISMARTERA_DISABLE_PLUGIN_AUTOLOAD")
"""The environment variables that choose which plugins a `PluginManager` loads."""


def _nbytes(bars: Bars) -> int:
    return sum(a.nbytes for a in bars.columns)


@dataclass
class _Span:
    """The bars of one (symbol, interval) held for [lo, hi)."""

    lo: int
    hi: int
    bars: Bars


class CachedSource:
    """A data source that holds what it read from `inner` for the symbols of one task over its
    window and serves later requests inside it from memory (see the module docstring).

    The first request of a (symbol, interval) is read as asked and, when the rest of the
    window up to `horizon_ns` fits in the context's budget (`reserve(bytes) -> bool`, the
    size estimated from that first read), the rest is read at once and held; a request
    reaching before or past what is held reads the missing part and joins it on. Other
    symbols, and requests disjoint from what is held, go to `inner` unchanged. Everything
    else (`symbols`, trades and quotes, any other attribute) is the inner source's."""

    def __init__(self, inner: DataSource, symbols: tuple[str, ...], horizon_ns: int,
                 reserve: Callable[[int], bool]) -> None:
        self.inner = inner
        self.name = inner.name
        self.held_symbols = frozenset(symbols)
        self.horizon_ns = horizon_ns
        self.reserve = reserve
        self.nbytes = 0
        self._spans: dict[tuple[str, str], _Span] = {}
        self._uncached: set[tuple[str, str]] = set()
        self._intervals: dict[str, list[Interval]] = {}

    def __repr__(self) -> str:
        return f"CachedSource({self.inner!r}, {sorted(self.held_symbols)}, {self.nbytes} bytes)"

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def symbols(self) -> list[str]:
        return self.inner.symbols()

    def intervals(self, symbol: str) -> list[Interval]:
        known = self._intervals.get(symbol)
        if known is None:
            known = self._intervals[symbol] = list(self.inner.intervals(symbol))
        return list(known)

    def bars(self, symbol: str, interval: Interval, start_ns: int, end_ns: int) -> Bars:
        key = (symbol, str(interval))
        span = self._spans.get(key)
        if span is not None and span.lo <= start_ns and end_ns <= span.hi:
            return span.bars.between(start_ns, end_ns)
        if (symbol not in self.held_symbols or end_ns <= start_ns or key in self._uncached
                or (span is not None and (end_ns < span.lo or start_ns > span.hi))):
            return self.inner.bars(symbol, interval, start_ns, end_ns)
        if span is None:
            return self._first(key, interval, start_ns, end_ns)
        parts, lo, hi = [span.bars], min(start_ns, span.lo), max(end_ns, span.hi)
        if start_ns < span.lo:
            parts.insert(0, self.inner.bars(symbol, interval, start_ns, span.lo))
        if end_ns > span.hi:
            parts.append(self.inner.bars(symbol, interval, span.hi, end_ns))
        joined = Bars.concat(parts)
        if self.reserve(_nbytes(joined) - _nbytes(span.bars)):
            self._hold(key, _Span(lo, hi, joined))
        return joined.between(start_ns, end_ns)

    def _first(self, key: tuple[str, str], interval: Interval, start_ns: int,
               end_ns: int) -> Bars:
        """The first request of (symbol, interval): read as asked, the rest of the window
        with it when it fits."""
        symbol = key[0]
        got = self.inner.bars(symbol, interval, start_ns, end_ns)
        size, rest = _nbytes(got), max(0, self.horizon_ns - end_ns)
        if not self.reserve(size + size * rest // (end_ns - start_ns)):
            self._uncached.add(key)
            return got
        if rest:
            more = self.inner.bars(symbol, interval, end_ns, self.horizon_ns)
            self._hold(key, _Span(start_ns, self.horizon_ns, Bars.concat([got, more])))
        else:
            self._hold(key, _Span(start_ns, end_ns, got))
        return got

    def _hold(self, key: tuple[str, str], span: _Span) -> None:
        old = self._spans.get(key)
        for column in span.bars.columns:  # served as views: a write would change later tasks'
            column.flags.writeable = False
        self.nbytes += _nbytes(span.bars) - (_nbytes(old.bars) if old is not None else 0)
        self._spans[key] = span

    def close(self) -> None:
        """Let go of the bars held and close the inner source (when it can be closed)."""
        self._spans.clear()
        self.nbytes = 0
        close = getattr(self.inner, "close", None)
        if callable(close):
            close()


class _CachedTickSource(CachedSource):
    """A `CachedSource` over a source that also holds trades and quotes (read each time)."""

    def tick_records(self, symbol: str, kind: str, start_ns: int, end_ns: int) -> Any:
        return self.inner.tick_records(symbol, kind, start_ns, end_ns)  # type: ignore[attr-defined]


@dataclass
class WorkerContext:
    """The plugin manager, calendars and cached sources the tasks of a sweep share in one
    process (see the module docstring). Not thread-safe: one task at a time."""

    max_entries: int = MAX_ENTRIES
    max_bytes: int = MAX_BYTES
    pid: int = field(default_factory=os.getpid)
    _plugins: tuple[tuple[str | None, ...], PluginManager] | None = None
    _calendars: dict[str, TimeManager] = field(default_factory=dict)
    _sources: OrderedDict[tuple[Any, ...], CachedSource] = field(default_factory=OrderedDict)
    _owners: dict[tuple[Any, ...], PluginManager] = field(default_factory=dict)

    def plugins(self) -> PluginManager:
        """The plugin manager of this process's environment (built again when it changes)."""
        from mismartera.plugin_manager import PluginManager

        env = tuple(os.environ.get(name) for name in PLUGIN_ENV)
        if self._plugins is None or self._plugins[0] != env:
            self._plugins = (env, PluginManager())
        return self._plugins[1]

    def calendar(self, exchange: str) -> TimeManager:
        """The exchange's calendar."""
        from mismartera.calendar import TimeManager

        calendar = self._calendars.get(exchange)
        if calendar is None:
            calendar = self._calendars[exchange] = TimeManager(exchange)
        return calendar

    def source(self, config: SessionConfig, plugins: PluginManager) -> CachedSource:
        """The cached source of the config's data, symbols and dates, built by `plugins` on
        first use."""
        from mismartera.config.values import jsonable
        from mismartera.sources import TickHistorySource
        from mismartera.sweep.plan import canonical

        key = (id(plugins), config.source, canonical(jsonable(config.source_options)),
               config.exchange, config.symbols, config.start, config.end)
        cached = self._sources.get(key)
        if cached is not None:
            self._sources.move_to_end(key)
            return cached
        inner = plugins.make_source(config.source, config.source_options,
                                    exchange=config.exchange, key="[data] source")
        assert config.end is not None  # a sweep's task always has its dates
        horizon = self.calendar(config.exchange).local_ns(
            config.end + datetime.timedelta(days=1), 0, 0)
        kind = _CachedTickSource if isinstance(inner, TickHistorySource) else CachedSource
        cached = kind(inner, config.symbols, horizon, self._reserve)
        self._sources[key] = cached
        self._owners[key] = plugins  # held, so `id(plugins)` in the key stays this manager's
        self._drop(lambda: len(self._sources) > self.max_entries)
        return cached

    def _reserve(self, nbytes: int) -> bool:
        """Whether `nbytes` more bars fit in the budget for the newest source, dropping the
        least recently used others as needed."""
        self._drop(lambda: self.nbytes + nbytes > self.max_bytes)
        return self.nbytes + nbytes <= self.max_bytes

    @property
    def nbytes(self) -> int:
        """The bars held, in bytes."""
        return sum(s.nbytes for s in self._sources.values())

    def _drop(self, over: Callable[[], bool]) -> None:
        """Close the least recently used sources while `over()`, never the newest."""
        while len(self._sources) > 1 and over():
            key, source = next(iter(self._sources.items()))
            del self._sources[key], self._owners[key]
            source.close()

    def close(self) -> None:
        """Close every cached source and forget everything."""
        while self._sources:
            _, source = self._sources.popitem(last=False)
            source.close()
        self._owners.clear()
        self._plugins = None
        self._calendars.clear()


@dataclass
class _ProcessSlot:
    """This process's context and the sweep run it serves: the one piece of module state
    here, so that tasks in one worker process share a context."""

    context: WorkerContext | None = None
    run: str | None = None
    inherited: list[WorkerContext] = field(default_factory=list)

    def held(self) -> WorkerContext | None:
        """The context, if this process made it (a forked child's parent's is set aside:
        its connections are not the child's to use or close)."""
        if self.context is not None and self.context.pid != os.getpid():
            self.inherited.append(self.context)
            self.context = self.run = None
        return self.context

    def replace(self, run: str | None) -> WorkerContext:
        held = self.held()
        if held is not None:
            held.close()
        self.context, self.run = WorkerContext(), run
        return self.context


_SLOT = _ProcessSlot()


def current_context() -> WorkerContext:
    """This process's context (of the sweep run it last served), created on first use."""
    held = _SLOT.held()
    return held if held is not None else _SLOT.replace(None)


def enter_run(run: str) -> WorkerContext:
    """This process's context for the sweep run `run`: the one it holds when it serves that
    run already, else a new one (the old one closed)."""
    held = _SLOT.held()
    return held if held is not None and _SLOT.run == run else _SLOT.replace(run)


def release_context(run: str) -> None:
    """Close this process's context if it serves `run` (the run has ended)."""
    held = _SLOT.held()
    if held is not None and _SLOT.run == run:
        held.close()
        _SLOT.context = _SLOT.run = None


__all__ = ["MAX_BYTES", "MAX_ENTRIES", "CachedSource", "WorkerContext", "current_context",
           "enter_run", "release_context"]
