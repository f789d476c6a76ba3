"""A strategy in a running session: the `StrategyRunner` the coordinator adds as an observer
and the `TradingContext` the strategy trades through (its results are a `StrategyResult`).

The runner is a per-bar observer registered only for the strategy's intervals, so the
compiled stepping loop stops only at those bars. The broker is driven lazily: a symbol's
base bars delivered since its last hand-off go to `broker.on_bars` as one chunk when
something depends on them: the strategy reads the symbol's position or pending orders
while it has an order pending, cancels one of its orders, reads cash or equity (every
symbol holding an order or a position), or the session closes (every symbol). Orders
carry the clock time and fill only on base bars starting at or after it, so handing bars
over later changes nothing but the chunking, and a symbol with nothing pending and nothing
held costs no per-bar Python work. See docs/architecture.md ("Trading").
"""

from __future__ import annotations

import datetime
import functools
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from mismartera.bars import Bars
from mismartera.config import IndicatorSpec, SessionConfig
from mismartera.symbols import check_symbol
from mismartera.trading.assembly import (
    build_costs,
    build_strategy,
    sessions_per_year,
    strategy_needs,
)
from mismartera.trading.broker import SimulatedBroker
from mismartera.trading.orders import QTY_EPS, Order, OrderType, bracket
from mismartera.trading.result import StrategyResult

if TYPE_CHECKING:
    from collections.abc import Callable

    from mismartera.bars import Bar
    from mismartera.calendar import TimeManager
    from mismartera.plugin_manager import PluginManager
    from mismartera.session.data import BarIntervalData, SessionData, SymbolSessionData
    from mismartera.session.observers import SessionHost

NAN = math.nan


class StrategyRunner:
    """Runs one strategy in a session: an observer of the strategy's intervals that calls
    its callbacks with a `TradingContext`, drives the broker and isolates its errors (a
    strategy that raises is stopped, its error recorded; positions and orders stay)."""

    def __init__(self, host: SessionHost, config: SessionConfig, plugins: PluginManager,
                 calendar: TimeManager) -> None:
        assert config.strategy is not None
        self.host = host
        self.calendar = calendar
        self.strategy = build_strategy(config, plugins)
        self.intervals, self.config = strategy_needs(config, self.strategy, plugins)
        self.costs = build_costs(config.broker, plugins, config.where("broker"))
        self.allow_short = config.broker.allow_short
        self.result = StrategyResult(config.strategy, self.strategy, config.broker.cash)
        self.context = TradingContext(self)
        self.failed = False
        self._started = False
        self._handed: dict[str, int] = {}  # symbol -> today's base bars the broker has seen
        self._marked: dict[str, int] = {}  # symbol -> today's base bars marked
        self._previous: dict[Any, tuple[float, ...]] = {}  # state -> its value at the open
        self._requested: set[str] = set()  # symbols asked for through the context
        self._on_bar: Callable[..., None] = self.strategy.on_bar

    @property
    def broker(self) -> SimulatedBroker:
        if self.result.broker is None:
            raise RuntimeError("the broker starts with the first session")
        return self.result.broker

    @property
    def session_data(self) -> SessionData:
        return self.host.session_data

    # --- observer callbacks ----------------------------------------------------------------

    def on_session_start(self, ctx: Any) -> None:
        sd = self.session_data
        if self.result.broker is None:
            self._start_broker(sd)
            self.context._get = sd.get
        self._handed, self._marked = {}, {}
        self.context._states = {}
        self._previous = {state: state.value for s in sd if s.is_loaded
                          for state in s.indicators.values() if hasattr(state, "value")}
        if not self._started:
            self._started = True
            self._call("on_start")
        self._call("on_session_start")

    def on_bar(self, ctx: Any, symbol: str, interval: str, bar: Bar) -> None:
        try:  # (once the strategy failed, `_on_bar` does nothing)
            self._on_bar(self.context, symbol, interval, bar)
        except Exception as exc:
            when = self.calendar.format_ts(bar.ts)
            self._fail(f"in on_bar ({symbol} {interval} bar {when})", exc)

    def on_session_end(self, ctx: Any) -> None:
        sd = self.session_data
        self.sync_all(every=True)
        self._call("on_session_end")
        if self.result.broker is not None and sd.day is not None:
            self.broker.end_session(min(self.host.now_ns, sd.day.close_ns))

    def on_end(self, ctx: Any) -> None:
        """After the last session: `on_end`, then every order left is cancelled."""
        if not self._started:
            return
        self._call("on_end")
        self.sync_all(every=True)
        self.broker.finish(self.host.now_ns)

    def before_remove(self, symbol: str) -> None:
        """A symbol leaves the session: hand over its bars, cancel its pending orders."""
        if self.result.broker is None:
            return
        symbol_data = self.session_data.get(symbol)
        if symbol_data is not None:
            self.sync(symbol_data, mark=True)
        for order in self.broker.pending(symbol):
            if order.parent is None or order.active:
                self.broker.cancel(order, self.host.now_ns)
        self._handed.pop(symbol, None)
        self._marked.pop(symbol, None)
        self.context._states.clear()

    # --- the broker ------------------------------------------------------------------------

    def _start_broker(self, sd: SessionData) -> None:
        bases = {s.base_interval for s in sd if s.streamable}
        base = min(bases) if bases else min(self.config.intervals)
        if len(bases) > 1:
            self._record(f"strategy {self.result.name}: the symbols stream different base "
                         f"intervals ({', '.join(map(str, sorted(bases)))}); fills use {base}")
        self.result.sessions_per_year = sessions_per_year(self.calendar, sd.date)
        self.result.broker = SimulatedBroker(
            self.result.portfolio, base.ns, self.costs, allow_short=self.allow_short,
            sessions_per_year=self.result.sessions_per_year)
        self.context._books = self.result.broker._books

    def sync(self, symbol_data: SymbolSessionData, mark: bool = False) -> None:
        """Hand the symbol's base bars delivered since the last hand-off to the broker (only
        when it holds orders of the symbol: bars that closed before an order was submitted
        cannot fill it); `mark`: and mark the portfolio at their closes."""
        if not symbol_data.is_loaded:
            return
        symbol = symbol_data.symbol
        ring = symbol_data.base.data
        n = len(ring)
        k = self._handed.get(symbol, 0)
        if n > k:
            broker = self.broker
            if broker._books.get(symbol):
                bars = Bars(*ring.arrays(n - k, copy=False))  # read while the ring stands still
                quality = functools.partial(self._quality, symbol_data, bars.ts, k)
                broker.on_bars(symbol, bars, quality, mark=False)
            self._handed[symbol] = n
        if mark:
            k = self._marked.get(symbol, 0)
            if n > k:  # the portfolio keeps the closes: copies
                closes_at = np.asarray(ring.column("ts", n - k), np.int64)
                closes_at += self.broker.interval_ns
                closes = np.asarray(ring.column("close", n - k), np.float64)
                self.result.portfolio.mark(symbol, closes_at, closes)
                self._marked[symbol] = n

    def _quality(self, symbol_data: SymbolSessionData, ts: np.ndarray, before: int, j: int
                 ) -> float:
        """The base interval's quality at the close of bar j of a hand-off whose first bar is
        the day's bar number `before`: present / expected bars so far (worked out only for
        the bars that fill an order)."""
        step = symbol_data.base_interval.ns
        day = self.session_data.day
        open_ns = day.open_ns if day is not None else int(ts[0])
        close_ns = day.close_ns if day is not None else int(ts[-1]) + step
        end = min(int(ts[j]) + step, close_ns) - open_ns
        expected = max(1, -(-end // step))
        return min(100.0, round(100.0 * (before + 1 + j) / expected, 2))

    def settle(self, symbol: str) -> None:
        """Before reading or changing `symbol`'s orders: its fills so far."""
        broker = self.result.broker
        if broker is not None and broker._books.get(symbol):
            symbol_data = self.session_data.get(symbol)
            if symbol_data is not None:
                self.sync(symbol_data)

    def sync_all(self, every: bool = False) -> None:
        """Hand over the bars of every symbol holding an order or a position (`every`: all)."""
        broker = self.result.broker
        if broker is None:
            return
        positions = self.result.portfolio.positions
        for symbol_data in self.session_data:
            symbol = symbol_data.symbol
            if every or broker._books.get(symbol) or (
                    symbol in positions and positions[symbol].qty != 0.0):
                self.sync(symbol_data, mark=True)

    # --- errors ----------------------------------------------------------------------------

    def _call(self, name: str) -> None:
        if self.failed:
            return
        try:
            getattr(self.strategy, name)(self.context)
        except Exception as exc:
            self._fail(f"in {name}", exc)

    def _fail(self, where: str, exc: BaseException) -> None:
        lines = str(exc).strip().splitlines()
        reason = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
        self.failed = True
        self._on_bar = _ignore
        self._record(f"strategy {self.result.name} raised {where}: {reason}; it was stopped "
                     f"(positions and orders kept)")

    def _record(self, message: str) -> None:
        self.result.errors.append(message)
        self.session_data.errors.append(message)


def _ignore(*args: Any) -> None:
    """What a stopped strategy's bars go to."""


# --- the context ---------------------------------------------------------------------------



class TradingContext:
    """The `mismartera.StrategyContext` of a running session (see its documentation)."""

    def __init__(self, runner: StrategyRunner) -> None:
        self._runner = runner
        self._host = runner.host
        self._keys: dict[str, str] = {}
        self._states: dict[str, dict[str, Any]] = {}  # symbol -> spec -> state (for a day)
        self._positions = runner.result.portfolio.positions
        self._books: dict[str, list[Order]] = {}  # the broker's, once it starts
        self._get: Callable[[str], SymbolSessionData | None] = (
            lambda symbol: self._host.session_data.get(symbol))  # bound at the first session

    # --- time and symbols ------------------------------------------------------------------

    @property
    def now_ns(self) -> int:
        return self._host.now_ns

    @property
    def session_date(self) -> datetime.date:
        return self._host.session_data.today.date

    @property
    def session_open_ns(self) -> int:
        return self._host.session_data.today.open_ns

    @property
    def session_close_ns(self) -> int:
        return self._host.session_data.today.close_ns

    def symbols(self) -> list[str]:
        return self._host.session_data.symbols()

    def _symbol(self, symbol: str) -> SymbolSessionData:
        s = self._host.session_data.get(symbol)
        if s is None:
            raise KeyError(f"{symbol!r} is not a symbol of the session")
        return s

    def _interval(self, symbol: str, interval: str) -> BarIntervalData:
        s = self._symbol(symbol)
        iv = s.bars.get(str(interval))
        if iv is None:
            raise KeyError(f"{symbol}: no {interval} bars in the session "
                           f"(streams: {', '.join(s.bars)})")
        return iv

    # --- reading ---------------------------------------------------------------------------

    def bars(self, symbol: str, interval: str, count: int | None = None) -> Bars:
        return Bars(*self._interval(symbol, interval).data.arrays(count))

    def history(self, symbol: str, interval: str) -> Bars:
        bars = self._symbol(symbol).historical.bars.get(str(interval))
        if bars is None:
            empty = np.empty(0)
            return Bars(np.empty(0, np.int64), empty, empty, empty, empty, empty)
        return bars

    def indicator(self, symbol: str, spec: str, ago: int = 0, output: str | None = None
                  ) -> float:
        try:
            state = self._states[symbol][spec]
        except KeyError:
            state = self._state(symbol, spec)
        if not ago and output is None:  # the common read: the last value
            return state.at(0, 0)
        if ago < 0:
            raise ValueError(f"ago must be >= 0, got {ago}")
        j = 0 if output is None else state.outputs.index(output)
        value: float = state.at(ago, j)
        if value == value or ago == 0 or ago != state.session_count:
            return value
        before = self._runner._previous.get(state)  # its value at the open (yesterday's last)
        return before[j] if before is not None else NAN

    def _state(self, symbol: str, spec: str) -> Any:
        """The running indicator `spec` of `symbol` (kept for the session's later reads)."""
        key = self._keys.get(spec)
        if key is None:
            key = self._keys[spec] = IndicatorSpec.parse(spec).key if "@" in spec else spec
        s = self._get(symbol)
        state = s.indicators.get(key) if s is not None else None
        if s is None or state is None:
            raise KeyError(f"{symbol}: no indicator {spec!r} (declare it in the strategy's "
                           f"indicators() or configure it)")
        self._states.setdefault(symbol, {})[spec] = state
        return state

    def quality(self, symbol: str, interval: str) -> float:
        return self._interval(symbol, interval).quality

    def gaps_today(self, symbol: str, interval: str) -> int:
        return sum(g.bar_count for g in self._interval(symbol, interval).gaps)

    # --- the portfolio ---------------------------------------------------------------------

    def position(self, symbol: str) -> float:
        symbol = symbol.upper()
        if self._books.get(symbol):  # orders of the symbol may have filled since
            self._runner.settle(symbol)
        pos = self._positions.get(symbol)
        return pos.qty if pos is not None else 0.0

    @property
    def cash(self) -> float:
        self._runner.sync_all()
        return self._runner.result.portfolio.cash

    @property
    def equity(self) -> float:
        self._runner.sync_all()
        return self._runner.result.portfolio.equity

    def pending(self, symbol: str | None = None) -> list[Order]:
        runner = self._runner
        if runner.result.broker is None:
            return []
        if symbol is not None:
            symbol = symbol.upper()
            if not self._books.get(symbol):
                return []
            runner.settle(symbol)
            return runner.broker.pending(symbol)
        runner.sync_all()
        orders = [o for s in list(runner.broker._books) for o in runner.broker.pending(s)]
        return sorted(orders, key=lambda o: o.seq)

    # --- orders ----------------------------------------------------------------------------

    def _order(self, symbol: str, side: str, qty: float, limit: float | None,
               stop: float | None, tif: str, stop_loss: float | None,
               take_profit: float | None) -> Order:
        symbol = check_symbol(symbol, f"{side} symbol", ValueError)
        if limit is not None and stop is not None:
            kind = OrderType.STOP_LIMIT
        elif limit is not None:
            kind = OrderType.LIMIT
        elif stop is not None:
            kind = OrderType.STOP
        else:
            kind = OrderType.MARKET
        order = Order(symbol, side, qty, kind, limit=limit, stop=stop, tif=tif)
        if stop_loss is not None or take_profit is not None:
            bracket(order, stop_loss=stop_loss, take_profit=take_profit)
        return self.submit(order)

    def buy(self, symbol: str, qty: float, *, limit: float | None = None,
            stop: float | None = None, tif: str = "day", stop_loss: float | None = None,
            take_profit: float | None = None) -> Order:
        return self._order(symbol, "buy", qty, limit, stop, tif, stop_loss, take_profit)

    def sell(self, symbol: str, qty: float, *, limit: float | None = None,
             stop: float | None = None, tif: str = "day", stop_loss: float | None = None,
             take_profit: float | None = None) -> Order:
        return self._order(symbol, "sell", qty, limit, stop, tif, stop_loss, take_profit)

    def submit(self, order: Order) -> Order:
        symbol = order.symbol
        if symbol not in self._host.session_data and symbol not in self._runner._requested:
            raise ValueError(f"order for {symbol}, which is not a symbol of the session "
                             f"(add it with ctx.add_symbol first)")
        return self._runner.broker.submit(order, self._host.now_ns)

    def cancel(self, order: Order) -> bool:
        self._runner.settle(order.symbol)
        return self._runner.broker.cancel(order, self._host.now_ns)

    def close_position(self, symbol: str) -> Order | None:
        qty = self.position(symbol)
        if abs(qty) <= QTY_EPS:
            return None
        return self._order(symbol, "sell" if qty > 0 else "buy", abs(qty), None, None, "day",
                           None, None)

    def add_symbol(self, symbol: str) -> None:
        symbol = check_symbol(symbol, "add_symbol", ValueError)
        self._runner._requested.add(symbol)
        self._host.add_symbol(symbol)

    def remove_symbol(self, symbol: str) -> None:
        symbol = check_symbol(symbol, "remove_symbol", ValueError)
        self._runner._requested.discard(symbol)
        self._runner.before_remove(symbol)
        self._host.remove_symbol(symbol)

    def __repr__(self) -> str:
        return f"TradingContext(now_ns={self.now_ns}, strategy={self._runner.result.name})"


__all__ = ["StrategyRunner", "TradingContext"]
