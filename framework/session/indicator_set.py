"""The running indicators of one symbol: built once, restarted and seeded every session,
advanced as their intervals close bars.

Compiled indicators (`Indicator.kernel()`) of one interval share one `KernelBank`: a session
day costs one `restart`, one `seed` and one `advance` per chunk for all of them together.
Every other indicator runs from Python through its own `IndicatorState`; the window-based
ones (`update`, `compute`) read one shared `Series` per interval.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mismartera.bars import Bars
from mismartera.ext.indicator_bank import KernelBank
from mismartera.session.indicator_protocol import Window
from mismartera.session.indicator_state import IndicatorState, Series, add_kernel

if TYPE_CHECKING:
    from mismartera.session.data import SymbolSessionData
    from mismartera.session.indicators import Resolved


class SymbolIndicators:
    """One symbol's indicators: `states` (export key -> state, what
    `SymbolSessionData.indicators` shows), one `KernelBank` per interval for the compiled
    ones, and the Python-run ones by interval."""

    __slots__ = ("banks", "build_errors", "python", "python_specs", "series_seed", "specs",
                 "states")

    def __init__(self, specs: list[Resolved], series_seed: dict[str, tuple[int, int]],
                 symbol_data: SymbolSessionData) -> None:
        """`series_seed`: interval -> (days, bars) of the seed of its window series."""
        self.specs = specs
        self.series_seed = series_seed
        self.banks: dict[str, KernelBank] = {}
        self.python: dict[str, list[IndicatorState]] = {}
        self.states: dict[str, Any] = {}
        for r in specs:
            self.states[r.key] = (self._compiled(r, symbol_data) if r.style == "kernel"
                                  else _built(r, symbol_data))
        self.python_specs = [r for r in specs if r.style != "kernel"]
        # compiled indicators fail only when built: their errors, recorded every session
        self.build_errors = [self.states[r.key].error for r in specs
                             if r.style == "kernel" and self.states[r.key].error is not None]

    def _compiled(self, r: Resolved, symbol_data: SymbolSessionData) -> Any:
        """The compiled indicator of spec `r` in its interval's bank (an error state when
        it cannot be built)."""
        name = r.spec.interval.name
        bank = self.banks.get(name)
        if bank is None:
            bank = self.banks[name] = KernelBank(symbol_data.bars[name].data.capacity)
        try:
            state = add_kernel(bank, r.key, r.cls(r.spec.interval, **r.spec.params), r.params,
                               r.seed_days)
        except Exception as exc:
            return _failed(r, exc, symbol_data)
        state.follow(symbol_data.bars[name].data)
        return state

    # --- per session -----------------------------------------------------------------------

    def start_session(self, symbol_data: SymbolSessionData) -> None:
        """Restart every indicator and seed it from the symbol's historical bars; record
        the errors of those that failed."""
        hist = symbol_data.historical
        for name, bank in self.banks.items():
            bank.restart()
            bars = hist.bars.get(name)
            if bars is not None and hist.days:
                bank.seed(bars.open, bars.high, bars.low, bars.close, bars.volume,
                          hist.day_index[name])
        self.python = {}
        series: dict[str, Series] = {}
        seeds: dict[tuple[str, int, int], Window] = {}
        for r in self.python_specs:
            state = self.states[r.key] = _restarted(r, symbol_data, self.states[r.key])
            if state.error is None:
                self._seed(r, state, symbol_data, series, seeds)
            if state.error is None:
                self.python.setdefault(r.spec.interval.name, []).append(state)
            else:
                symbol_data.record_error(state.error)
        for error in self.build_errors:
            symbol_data.record_error(error)

    def _seed(self, r: Resolved, state: IndicatorState, symbol_data: SymbolSessionData,
              series: dict[str, Series], seeds: dict[tuple[str, int, int], Window]) -> None:
        """Feed the last `warmup` bars of the indicator's interval from the trailing
        `r.seed_days` historical days; window-based indicators share one series per
        interval."""
        name = r.spec.interval.name
        hist = symbol_data.historical
        ring = symbol_data.bars[name].data
        state.follow(ring)
        wanted = (name, r.seed_days, r.warmup)
        seed = seeds.get(wanted)
        if seed is None:
            seed = seeds[wanted] = _seed_bars(hist, *wanted)
        k = len(seed)
        try:
            if state.needs_series:
                if name not in series:
                    series[name] = Series(_seed_bars(hist, name, *self.series_seed.get(
                        name, (0, 0))), ring.capacity)
                s = series[name]
                state.attach(s, s.seed_len - k)
                if k:
                    state.feed(Window(*s.views, lo=state.start, hi=s.seed_len), record=False)
            elif k:
                state.feed(seed, record=False)
        except Exception as exc:
            state.fail(exc, symbol_data.symbol)

    # --- per chunk -------------------------------------------------------------------------

    def on_bars(self, symbol_data: SymbolSessionData, changed: list[tuple[str, int]]) -> None:
        """Advance every indicator whose interval closed bars: `changed` lists (interval
        name, number of new closed bars), the new bars being the last ones of its ring."""
        banks, python = self.banks, self.python
        for name, n in changed:
            bank = banks.get(name)
            if bank is not None:
                bank.advance(symbol_data.bars[name].data, n)
            states = python.get(name)
            if states:
                _feed(symbol_data, states, symbol_data.bars[name].data, n)


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


def _seed_bars(hist: Any, name: str, days: int, count: int) -> Window:
    """The last `count` historical bars at interval `name` within the last `days` days."""
    bars = hist.bars.get(name)
    if days <= 0 or count <= 0 or bars is None or not hist.days:
        return _EMPTY
    end = len(bars.ts)
    first = int(hist.day_index[name][max(0, len(hist.days) - days)])
    return Window(*bars, lo=max(first, end - count), hi=end)


_EMPTY = Window.of(Bars.empty())


__all__ = ["SymbolIndicators"]
