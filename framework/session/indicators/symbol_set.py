"""The running indicators of one symbol: built and seeded once, carried from one session to
the next, advanced as their intervals close bars.

Compiled indicators (`Indicator.kernel()`) of one interval share one `KernelBank`: a session
day costs one `new_session` and one `advance` per chunk for all of them together.
Every other indicator runs from Python through its own `IndicatorState`; the window-based
ones (`update`, `compute`) read one shared `Series` per interval.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from mismartera.bars import Bars
from mismartera.ext.indicator_bank import KernelBank
from mismartera.session.indicators.protocol import Window
from mismartera.session.indicators.state import IndicatorState, Series, add_kernel

if TYPE_CHECKING:
    from mismartera.session.data import SymbolSessionData
    from mismartera.session.indicators.resolved import Resolved


class SymbolIndicators:
    """One symbol's indicators: `states` (export key -> state, what
    `SymbolSessionData.indicators` shows), one `KernelBank` per interval for the compiled
    ones, and the Python-run ones by interval.

    Their state carries from one session to the next. The first session after they were
    built (`seeded` still False) seeds each from its last `lookback` bars before the
    anchor day and every bar since; later sessions only start recording afresh. Indicators
    that are per-session by definition restart at every open; `compute` ones, which keep
    no state, read their last `lookback` bars again every session."""

    __slots__ = ("added", "banks", "build_errors", "origin", "python", "python_specs", "seeded",
                 "specs", "states")

    def __init__(self, specs: list[Resolved], symbol_data: SymbolSessionData) -> None:
        self.specs = specs
        self.banks: dict[str, KernelBank] = {}
        self.added: dict[str, list[KernelBank]] = {}  # compiled ones added while running
        self.python: dict[str, list[IndicatorState]] = {}
        self.states: dict[str, Any] = {}
        self.seeded = False
        # (anchor, seed) they were seeded with, during the session of their first appearance
        self.origin: tuple[datetime.date | None, Any] | None = None
        for r in specs:
            self.states[r.key] = (self._compiled(r, symbol_data) if r.style == "kernel"
                                  else _built(r, symbol_data))
        self.python_specs = [r for r in specs if r.style != "kernel"]
        # compiled indicators fail only when built: their errors, recorded every session
        self.build_errors = [self.states[r.key].error for r in specs
                             if r.style == "kernel" and self.states[r.key].error is not None]

    def _compiled(self, r: Resolved, symbol_data: SymbolSessionData,
                  bank: KernelBank | None = None) -> Any:
        """The compiled indicator of spec `r` in its interval's bank (or `bank`; an error
        state when it cannot be built)."""
        name = r.spec.interval.name
        if bank is None:
            bank = self.banks.get(name)
        if bank is None:
            bank = self.banks[name] = KernelBank(symbol_data.bars[name].data.capacity)
        try:
            state = add_kernel(bank, r.key, r.cls(r.spec.interval, **r.spec.params), r.params,
                               r.seed_days, r.lookback)
        except Exception as exc:
            return _failed(r, exc, symbol_data)
        state.follow(symbol_data.bars[name].data)
        return state

    # --- per session -----------------------------------------------------------------------

    def start_session(self, symbol_data: SymbolSessionData,
                      anchor: datetime.date | None = None, seed: Any = None) -> None:
        """A new session: the first one seeds every indicator from `seed` (a `SeedHistory`;
        default: the symbol's historical bars): its last `lookback` bars before `anchor`, a
        day of the seed or None for today, then every bar from there on. Records the errors
        of those that failed."""
        hist = symbol_data.historical if seed is None else seed
        first = not self.seeded
        self.seeded = True
        self.origin = (anchor, hist) if first else None
        at = (hist.days.index(anchor) if first and anchor is not None and anchor in hist.days
              else len(hist.days))
        banks = [*self.banks.items(), *((n, b) for n, bs in self.added.items() for b in bs)]
        for name, bank in banks:
            if first:
                bank.restart()
                bars = hist.bars.get(name)
                if bars is not None and hist.days:
                    bank.seed(bars.open, bars.high, bars.low, bars.close, bars.volume,
                              hist.day_index[name], at)
            bank.new_session()
        self.python = {}
        series: dict[str, Series] = {}
        fresh = {r.key: first or self.states[r.key].error is not None or r.cls.per_session
                 or r.style == "compute" for r in self.python_specs}
        wanted = {r.key: _seed_rows(r, hist, fresh[r.key], at) for r in self.python_specs}
        for r in self.python_specs:
            state = self.states[r.key]
            if fresh[r.key]:
                state = self.states[r.key] = _restarted(r, symbol_data, state)
            elif state.error is None:
                state.new_session()
            if state.error is None:
                self._attach(r, state, symbol_data, hist, series, wanted, fresh[r.key])
            if state.error is None:
                self.python.setdefault(r.spec.interval.name, []).append(state)
            else:
                symbol_data.record_error(state.error)
        for error in self.build_errors:
            symbol_data.record_error(error)

    def _attach(self, r: Resolved, state: IndicatorState, symbol_data: SymbolSessionData,
                hist: Any, series: dict[str, Series], wanted: dict[str, tuple[int, int]],
                fresh: bool) -> None:
        """Give a Python-run indicator its bars for the session (window-based ones share one
        series per interval, holding the rows every one of them reads) and feed its seed
        when it starts afresh."""
        name = r.spec.interval.name
        ring = symbol_data.bars[name].data
        state.follow(ring)
        lo, hi = wanted[r.key]
        hist_bars = hist.bars.get(name)
        try:
            if state.needs_series:
                if name not in series:
                    rows = [wanted[o.key] for o in self.python_specs
                            if o.spec.interval.name == name and o.style in ("update", "compute")
                            and o.key in wanted and wanted[o.key][1] > wanted[o.key][0]]
                    first = min((a for a, _ in rows), default=0)
                    seed = (Window.of(hist_bars, first, max(b for _, b in rows))
                            if rows and hist_bars is not None else _EMPTY)
                    series[name] = Series(seed, ring.capacity)
                s = series[name]
                start = s.seed_len - (hi - lo)
                state.attach(s, start)
                if fresh and hi > lo:
                    state.feed(s.window(start, s.seed_len), record=False)
            elif fresh and hi > lo and hist_bars is not None:
                state.feed(Window.of(hist_bars, lo, hi), record=False)
        except Exception as exc:
            state.fail(exc, symbol_data.symbol)

    # --- added while running -----------------------------------------------------------------

    def add(self, r: Resolved, symbol_data: SymbolSessionData, anchor: datetime.date | None,
            seed: Any = None) -> None:
        """Spec `r` (appended to `specs` already) added during a session: built and seeded
        as at its first appearance, from `seed` (a `SeedHistory`; default: the symbol's
        historical bars): its last `lookback` bars before `anchor` and every bar since;
        then fed today's closed bars of its interval. A compiled one runs in a bank of its
        own from now on (a bank seeds all its kernels at once)."""
        if r.key in self.states:
            return
        hist = symbol_data.historical if seed is None else seed
        at = (hist.days.index(anchor) if anchor is not None and anchor in hist.days
              else len(hist.days))
        name = r.spec.interval.name
        ring = symbol_data.bars[name].data
        if r.style == "kernel":
            bank = KernelBank(ring.capacity)
            state = self.states[r.key] = self._compiled(r, symbol_data, bank)
            if state.error is not None:
                self.build_errors.append(state.error)
                symbol_data.record_error(state.error)
                return
            bars = hist.bars.get(name)
            if bars is not None and hist.days:
                bank.seed(bars.open, bars.high, bars.low, bars.close, bars.volume,
                          hist.day_index[name], at)
            bank.new_session()
            self.added.setdefault(name, []).append(bank)
            bank.advance(ring, len(ring))
            return
        self.python_specs.append(r)
        state = self.states[r.key] = _built(r, symbol_data)
        if state.error is None:
            self._attach(r, state, symbol_data, hist, {}, {r.key: _seed_rows(r, hist, True, at)},
                         True)
        if state.error is None:
            self.python.setdefault(name, []).append(state)
            if len(ring):
                _feed(symbol_data, [state], ring, len(ring))
        else:
            symbol_data.record_error(state.error)

    # --- per chunk -------------------------------------------------------------------------

    def compiled_feeds(self) -> dict[str, list[KernelBank]] | None:
        """The banks `on_bars` advances, per interval, when it advances nothing else (no
        indicator runs in Python): what compiled stepping can advance itself. None when
        some indicator runs in Python."""
        if any(self.python.values()):
            return None
        feeds = {name: [bank] for name, bank in self.banks.items()}
        for name, banks in self.added.items():
            feeds.setdefault(name, []).extend(banks)
        return feeds

    def on_bars(self, symbol_data: SymbolSessionData, changed: list[tuple[str, int]]) -> None:
        """Advance every indicator whose interval closed bars: `changed` lists (interval
        name, number of new closed bars), the new bars being the last ones of its ring."""
        banks, python, added = self.banks, self.python, self.added
        for name, n in changed:
            bank = banks.get(name)
            if bank is not None:
                bank.advance(symbol_data.bars[name].data, n)
            if added:
                for bank in added.get(name, ()):
                    bank.advance(symbol_data.bars[name].data, n)
            states = python.get(name)
            if states:
                _feed(symbol_data, states, symbol_data.bars[name].data, n)


def _seed_rows(r: Resolved, hist: Any, fresh: bool, at: int) -> tuple[int, int]:
    """The historical rows [lo, hi) of `r`'s interval that a Python-run indicator reads this
    session: starting afresh, its last `lookback` bars before day `at` and every bar since
    (a `compute` one, which keeps no state, anchors at today); carrying on, the window an
    `update` one reads."""
    name = r.spec.interval.name
    bars = hist.bars.get(name)
    if r.cls.per_session or r.seed_days <= 0 or bars is None or not hist.days:
        return 0, 0
    if not fresh and r.style != "update":
        return 0, 0
    days, index = len(hist.days), hist.day_index[name]
    at = at if fresh and r.style != "compute" else days
    count = r.lookback if fresh else r.window
    lo = max(int(index[max(0, at - r.seed_days)]), int(index[at]) - count)
    return lo, int(index[days])


def _feed(symbol_data: SymbolSessionData, states: list[IndicatorState], ring: Any,
          n: int) -> None:
    """The Python-run indicators of one interval over the last n bars of its ring; one that
    raises is disabled and its error recorded."""
    new = Window(*ring.arrays(n, copy=False))
    for state in states:
        if state.error is not None:
            continue
        try:
            if state.series is not None:
                state.series.sync(ring)
            state.feed(new)
        except Exception as exc:
            symbol_data.record_error(state.fail(exc, symbol_data.symbol))


def _built(r: Resolved, symbol_data: SymbolSessionData) -> IndicatorState:
    """A new Python-run state for spec `r` (an error state when it cannot be built)."""
    try:
        indicator = r.cls(r.spec.interval, **r.spec.params)
    except Exception as exc:
        return _failed(r, exc, symbol_data)
    return IndicatorState(r.key, r.spec.name, indicator, r.params)


def _restarted(r: Resolved, symbol_data: SymbolSessionData, old: IndicatorState
               ) -> IndicatorState:
    """Yesterday's state restarted; built anew when it had failed."""
    if old.error is not None or old.indicator is None:
        return _built(r, symbol_data)
    try:
        old.restart()
    except Exception as exc:
        old.fail(exc, symbol_data.symbol)
    return old


def _failed(r: Resolved, exc: BaseException, symbol_data: SymbolSessionData) -> IndicatorState:
    state = IndicatorState(r.key, r.spec.name, None, r.params, cls=r.cls,
                           interval=r.spec.interval.name)
    state.fail(exc, symbol_data.symbol)
    return state


_EMPTY = Window.of(Bars.empty())


__all__ = ["SymbolIndicators"]
