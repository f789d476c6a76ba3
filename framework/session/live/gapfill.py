"""Live gap filling, and `insert_bars`: the one repair path for base bars that arrive late.

In live mode a base bar can be missing when its bucket has closed (the feed dropped it) or
arrive after later bars (the feed delivered it late). `GapFiller` watches each symbol's
base interval: a bucket that ended `delay_s` ago (session time) without a bar is asked for
again with `source.bars(symbol, interval, start, end)`, up to `retries` requests in all,
each retry `backoff` times further apart than the last. Its operational state is
`_failed_gaps` (what is missing, attempts, next try). Whatever comes back, like a late bar
from the feed, goes through `insert_bars`, which rebuilds the symbol's session record in
time order: base bars, every derived interval (batch aggregation, then the streaming
aggregator re-primed with the still-forming bucket), indicators, gaps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from mismartera.bars import Bars
from mismartera.ext.aggregate import aggregate_bars
from mismartera.ext.gaps import classify
from mismartera.intervals import NS
from mismartera.session.data import SessionData, SymbolSessionData, expected_end

Repair = Callable[[SymbolSessionData, Bars], int]


# ---------------------------------------------------------------------- repair


def insert_bars(session_data: SessionData, symbol_data: SymbolSessionData, bars: Bars, *,
                closed_until_ns: int, indicators: Any = None) -> int:
    """Insert base `bars` (in the session, aligned and valid; any order) into the symbol's
    session record and rebuild what depends on them. Bars already present are ignored.

    Afterwards the record is what in-order delivery would have made: base bars in time
    order; each derived interval's closed bars are those of every bucket but the last, and
    the last one too if its bucket ended by `closed_until_ns` or its final base bar is
    present; the streaming aggregator holds the still-forming bucket; gap trackers,
    session metrics and indicators are recomputed. Returns how many bars were inserted."""
    today = session_data.day
    if today is None or not len(bars.ts):
        return 0
    open_ns, close_ns = today.open_ns, today.close_ns
    base = symbol_data.base
    base_ns = symbol_data.base_interval.ns
    old = base.bars()
    merged = Bars.concat([old, bars])
    merged = merged.take(np.argsort(merged.ts, kind="stable"))
    if len(merged.ts) > 1:  # equal stamps: the bar already present (or first given) stays
        keep = np.ones(len(merged.ts), bool)
        keep[1:] = merged.ts[1:] != merged.ts[:-1]
        merged = merged.take(keep)
    added = len(merged.ts) - len(old.ts)
    if added == 0:
        return 0
    inserted = merged.take(~np.isin(merged.ts, old.ts))
    base.data.clear()
    base.data.extend(*merged)
    base.tracker.start_session(open_ns, close_ns)
    base.tracker.add_many(merged.ts)
    base.updated = True
    first = int(inserted.ts[0])  # bars before it, and derived buckets before its, are as they were
    base.rewritten(first)
    symbol_data.metrics.add(inserted)
    symbol_data.metrics.last_update = int(merged.ts[-1]) + base_ns
    opens = np.array([open_ns], np.int64)
    closes = np.array([close_ns], np.int64)
    for interval_data, aggregator in symbol_data.builders():
        step = interval_data.interval.ns
        derived = aggregate_bars(*merged, opens, closes, step)
        n = len(derived[0])
        forming = False
        if n:
            end = min(int(derived[0][-1]) + step, close_ns)
            forming = end > closed_until_ns and int(merged.ts[-1]) + base_ns < end
        n_closed = n - int(forming)
        interval_data.data.clear()
        interval_data.data.extend(*(a[:n_closed] for a in derived))
        interval_data.tracker.start_session(open_ns, close_ns)
        interval_data.tracker.add_many(derived[0][:n_closed])
        interval_data.updated = True
        interval_data.rewritten(open_ns + (first - open_ns) // step * step)
        aggregator.start_session(open_ns, close_ns)
        if forming:
            k = int(np.searchsorted(merged.ts, derived[0][-1]))
            aggregator.feed(*(a[k:] for a in merged))
    if indicators is not None:
        indicators.rebuild_symbol(session_data, symbol_data)
    return added


# ---------------------------------------------------------------------- the gap filler


@dataclasses.dataclass
class FailedGap:
    """One missing base bar of one symbol, as the gap filler tracks it."""

    symbol: str
    start: int  # bucket start (ns)
    attempts: int = 0  # requests made for it so far
    next_try: int = 0  # session time (ns) of the next request
    exhausted: bool = False  # no more requests: retries used up, or the session ended
    last_error: str | None = None  # the source's exception on the last request, if any


class GapFiller:
    """Re-requests missing base bars in live mode, with bounded retries and back-off.

    A bucket that ended `delay_s` (session seconds) ago without its bar is requested at
    once; after the k-th failed request the next comes `delay_s * backoff**k` later; after
    `retries` requests (or at the close, which makes one last request for every bar still
    missing) the bar is marked exhausted and stays a gap. Requests for consecutive missing
    bars of a symbol go out as one range. Bars that come back are inserted with the repair
    function the coordinator passes (`insert_bars` underneath).

    Operational state only: `_failed_gaps` (symbol -> bucket start -> FailedGap) and the
    counters `requests`, `filled` and `exhausted`; symbols come from SessionData at every
    step."""

    def __init__(self, delay_s: float = 5.0, retries: int = 3, backoff: float = 2.0) -> None:
        if not delay_s >= 0:
            raise ValueError(f"gap fill delay_s must be >= 0, got {delay_s}")
        if int(retries) != retries or retries < 0:
            raise ValueError(f"gap fill retries must be a whole number >= 0, got {retries}")
        if not backoff >= 1:
            raise ValueError(f"gap fill backoff must be >= 1, got {backoff}")
        self.delay_ns = round(delay_s * NS)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self._failed_gaps: dict[str, dict[int, FailedGap]] = {}
        self.requests = 0  # source.bars() calls made
        self.filled = 0  # missing bars that a request brought in
        self.exhausted = 0  # missing bars given up on (retries used up, or the close)

    def __repr__(self) -> str:
        return (f"GapFiller(delay_s={self.delay_ns / NS:g}, retries={self.retries}, "
                f"backoff={self.backoff:g})")

    # --- component protocol ----------------------------------------------------------------

    def setup(self, session_date) -> None:
        self._failed_gaps.clear()

    def teardown(self) -> None:
        self._failed_gaps.clear()

    # --- queries ---------------------------------------------------------------------------

    def failed_gaps(self) -> list[FailedGap]:
        """Copies of every tracked missing bar, by symbol and time."""
        return [dataclasses.replace(g) for symbol in sorted(self._failed_gaps)
                for _, g in sorted(self._failed_gaps[symbol].items())]

    def next_time(self) -> int | None:
        """Session time of the next due request, or None."""
        times = [g.next_try for gaps in self._failed_gaps.values() for g in gaps.values()
                 if not g.exhausted]
        return min(times) if times else None

    # --- the step --------------------------------------------------------------------------

    def step(self, session_data: SessionData, source: Any, now_ns: int, *,
             closing: bool = False, min_delay_ns: int = 0,
             repair: Repair) -> list[tuple[str, int]]:
        """Track missing bars as of `now_ns`, request those due, insert what comes back.
        `closing`: the session is at its close; every bar still missing gets one last
        request. `min_delay_ns`: a floor under `delay_s` (the coordinator passes how long
        it waits for a late bar anyway). Returns (symbol, first inserted bar ts) per symbol
        that got bars."""
        delay = max(self.delay_ns, int(min_delay_ns))
        with session_data.lock:
            plan = self._plan(session_data, now_ns, closing, delay)
        fetched: list[tuple[SymbolSessionData, np.ndarray, Bars, str | None]] = []
        for symbol_data, run in plan:
            step = symbol_data.base_interval.ns
            self.requests += 1
            try:
                got = source.bars(symbol_data.symbol, symbol_data.base_interval,
                                  int(run[0]), int(run[-1]) + step)
                fetched.append((symbol_data, run, Bars.from_arrays(*got), None))
            except Exception as exc:
                fetched.append((symbol_data, run, Bars.empty(), f"{type(exc).__name__}: {exc}"))
        out: dict[str, int] = {}
        with session_data.lock:
            for symbol_data, run, bars, error in fetched:
                if session_data.get(symbol_data.symbol) is not symbol_data:
                    continue  # removed meanwhile
                first = self._apply(session_data, symbol_data, run, bars, error, now_ns,
                                    closing, repair)
                if first is not None:
                    out[symbol_data.symbol] = min(first, out.get(symbol_data.symbol, first))
            if closing:
                for gaps in self._failed_gaps.values():
                    for g in gaps.values():
                        self._exhaust(g)
        return sorted(out.items())

    def _missing(self, session_data: SessionData, symbol_data: SymbolSessionData,
                 now_ns: int, closing: bool, delay: int) -> np.ndarray:
        base = symbol_data.base
        step = base.interval.ns
        open_ns, close_ns = session_data.today.open_ns, session_data.today.close_ns
        end = close_ns if closing else expected_end(open_ns, close_ns, step, now_ns - delay)
        starts, _, counts = base.tracker.gaps(end)
        if not len(starts):
            return np.empty(0, np.int64)
        return np.concatenate([s + step * np.arange(c, dtype=np.int64)
                               for s, c in zip(starts.tolist(), counts.tolist(), strict=True)])

    def _plan(self, session_data: SessionData, now_ns: int, closing: bool,
              delay: int) -> list[tuple[SymbolSessionData, np.ndarray]]:
        """Update `_failed_gaps` and return the runs of consecutive bars to request now."""
        plan: list[tuple[SymbolSessionData, np.ndarray]] = []
        live = {s.symbol: s for s in session_data if s.is_loaded}
        for symbol in [s for s in self._failed_gaps if s not in live]:
            del self._failed_gaps[symbol]
        if session_data.day is None:
            return plan
        for symbol, symbol_data in live.items():
            missing = self._missing(session_data, symbol_data, now_ns, closing, delay)
            gaps = self._failed_gaps.setdefault(symbol, {})
            still = set(missing.tolist())
            for start in [s for s in gaps if s not in still]:
                del gaps[start]  # arrived meanwhile (late from the feed)
            for start in still:
                if start not in gaps:
                    gaps[start] = FailedGap(symbol, start, next_try=now_ns)
                    if self.retries == 0:
                        self._exhaust(gaps[start])
            due = sorted(s for s, g in gaps.items()
                         if not g.exhausted and (closing or g.next_try <= now_ns))
            if not due:
                if not gaps:
                    del self._failed_gaps[symbol]
                continue
            due_arr = np.array(due, np.int64)
            cuts = np.flatnonzero(np.diff(due_arr) != symbol_data.base_interval.ns) + 1
            plan.extend((symbol_data, run) for run in np.split(due_arr, cuts))
        return plan

    def _exhaust(self, gap: FailedGap) -> None:
        if not gap.exhausted:
            gap.exhausted = True
            self.exhausted += 1

    def _apply(self, session_data: SessionData, symbol_data: SymbolSessionData,
               run: np.ndarray, bars: Bars, error: str | None, now_ns: int, closing: bool,
               repair: Repair) -> int | None:
        first = None
        if len(bars.ts):
            today = session_data.today
            mask = classify(bars.ts, np.array([today.open_ns], np.int64),
                            np.array([today.close_ns], np.int64),
                            symbol_data.base_interval.ns, *bars[1:])[0]
            mask &= np.isin(bars.ts, run)
            wanted = bars.take(mask)
            if len(wanted.ts) and repair(symbol_data, wanted):
                first = int(wanted.ts.min())
        present = np.isin(run, symbol_data.base.data.column("ts", copy=False))
        gaps = self._failed_gaps.get(symbol_data.symbol, {})
        for start, got in zip(run.tolist(), present.tolist(), strict=True):
            g = gaps.get(start)
            if g is None:
                continue
            if got:
                del gaps[start]
                self.filled += 1
                continue
            g.attempts += 1
            g.last_error = error
            if g.attempts >= self.retries or closing:
                self._exhaust(g)
            else:
                g.next_try = now_ns + int(self.delay_ns * self.backoff ** g.attempts)
        return first
