"""The data-source protocol every source plugin implements.

A source is registered through `register_data_sources(register)` as a *factory*: a callable
taking keyword options (from the session file's `[data]` table and CLI flags, e.g. `store`,
`path`, `seed`) and returning an object with this protocol (`mismartera.hookspecs.SourceFactory`;
a factory declaring a `context` parameter also receives a `SourceContext`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

from mismartera.bars import Bars
from mismartera.intervals import Interval
from mismartera.ticks import TickSeries


@runtime_checkable
class DataSource(Protocol):
    """Where bars come from. All times are int64 ns since the epoch, UTC."""

    name: str

    def symbols(self) -> list[str]:
        """Every symbol this source can serve (the universe scanners look at)."""
        ...

    def intervals(self, symbol: str) -> list[Interval]:
        """The intervals this source holds for `symbol`, smallest first ([] if unknown)."""
        ...

    def bars(self, symbol: str, interval: Interval, start_ns: int, end_ns: int) -> Bars:
        """Bars of `symbol` at `interval` with start_ns <= ts < end_ns, in time order."""
        ...


Tick = tuple[int, float, float]  # ts, price, size
Quote = tuple[int, float, float, float, float]  # ts, bid, ask, bid_size, ask_size


@runtime_checkable
class TickHistorySource(Protocol):
    """A source that also holds past trades and quotes (`[streams] ticks` / `quotes` in a
    backtest): `kind` is "ticks" or "quotes"; an empty series when it has none."""

    def tick_records(self, symbol: str, kind: str, start_ns: int, end_ns: int) -> TickSeries:
        """`kind` records of `symbol` with start_ns <= ts < end_ns, in time order."""
        ...


class LiveSubscription(Protocol):
    def close(self) -> None: ...


@runtime_checkable
class LiveDataSource(DataSource, Protocol):
    """A source that can also push bars as they happen (used by live mode)."""

    def subscribe(
        self,
        symbols: Iterable[str],
        interval: Interval,
        sink: Callable[[str, Bars], None],
    ) -> LiveSubscription:
        """Call `sink(symbol, bars)` from any thread as bars close, until closed."""
        ...


@runtime_checkable
class TickSource(Protocol):
    """A live source that also pushes trades: `sink(symbol, [(ts, price, size), ...])`."""

    def subscribe_ticks(self, symbols: Iterable[str],
                        sink: Callable[[str, Sequence[Tick]], None]) -> LiveSubscription: ...


@runtime_checkable
class QuoteSource(Protocol):
    """A live source that also pushes quotes:
    `sink(symbol, [(ts, bid, ask, bid_size, ask_size), ...])`."""

    def subscribe_quotes(self, symbols: Iterable[str],
                         sink: Callable[[str, Sequence[Quote]], None]) -> LiveSubscription: ...
