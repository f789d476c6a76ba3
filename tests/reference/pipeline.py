"""Slow, obviously-correct pure-Python model of `mismartera.ext.pipeline`.

`RefSymbolPipeline` composes the sibling references (a `RefBarRing`, a reference
`GapTracker` and, per derived interval, a reference `StreamingAggregator` with its own ring
and tracker) the way one symbol's record is kept: every delivered base bar goes to the base
ring and tracker and, one by one, to each aggregator; then each aggregator's bucket that
ended by `now` closes; every closed derived bar goes to its ring and tracker. Session
metrics are recomputed from the list of base bars delivered since `reset_metrics()`; `load`
queues what the reference `classify` keeps.

`closed_by` states the derived-bar closing rule directly (no streaming state), and
`step_until` walks the sorted set of every queued close time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import pairwise

from tests.reference.aggregate import StreamingAggregator, bucket_of
from tests.reference.gaps import GapTracker, classify
from tests.reference.ring import RefBarRing

Bar = tuple[int, float, float, float, float, float]


def as_bars(ts, open, high, low, close, volume) -> list[Bar]:
    """Six equal-length columns as a list of `(ts, o, h, l, c, v)` tuples."""
    columns = (ts, open, high, low, close, volume)
    if len({len(col) for col in columns}) > 1:
        raise ValueError("bar columns must be 1-d arrays of one length")
    return [(int(t), float(o), float(h), float(lo), float(c), float(v))
            for t, o, h, lo, c, v in zip(*columns, strict=True)]


class RefSymbolPipeline:
    """One symbol: base bars, derived intervals (in the given order), queue and metrics.

    `derived` holds `(interval_ns, ring_capacity)` per derived interval; `closed` holds the
    bars closed by the last `advance`/`feed` per interval, base first, and `fresh` those
    bars themselves."""

    def __init__(self, base_ns: int, base_capacity: int,
                 derived: Sequence[tuple[int, int]] = ()) -> None:
        if base_ns <= 0:
            raise ValueError(f"base_ns must be positive, got {base_ns}")
        self.base_ns = base_ns
        self.base_ring = RefBarRing(base_capacity)
        self.base_tracker = GapTracker(base_ns)
        self.aggs = [StreamingAggregator(base_ns, interval_ns) for interval_ns, _ in derived]
        self.rings = [RefBarRing(capacity) for _, capacity in derived]
        self.trackers = [GapTracker(interval_ns) for interval_ns, _ in derived]
        self.queue: list[Bar] = []
        self.pos = 0
        self.session_close: int | None = None  # set by `load`: no bar closes after it
        self.fresh: list[list[Bar]] = [[] for _ in range(1 + len(self.aggs))]
        self.closed = [0] * (1 + len(self.aggs))
        self.reset_metrics()

    # -- session, queue, metrics ---------------------------------------------------------

    def start_session(self, open_ns: int, close_ns: int) -> None:
        """What a new session does to the symbol's record: rings emptied, trackers and
        aggregators restarted, metrics reset, queue emptied."""
        for ring in (self.base_ring, *self.rings):
            ring.clear()
        for part in (self.base_tracker, *self.trackers, *self.aggs):
            part.start_session(open_ns, close_ns)
        self.reset_metrics()
        self.set_queue([], [], [], [], [], [])

    def reset_metrics(self) -> None:
        self.delivered: list[Bar] = []

    def set_queue(self, ts, open, high, low, close, volume) -> None:
        bars = as_bars(ts, open, high, low, close, volume)
        if any(b[0] <= a[0] for a, b in pairwise(bars)):
            raise ValueError("queue ts must be strictly increasing")
        self.queue, self.pos = bars, 0

    def load(self, ts, open, high, low, close, volume, open_ns: int,
             close_ns: int) -> tuple[int, int, int, int]:
        """Queue the raw bars `classify` keeps for the session; returns its counts
        `(invalid, duplicate, misaligned, outside)`."""
        if open_ns >= close_ns:
            raise ValueError("session opens at or after its close")
        bars = as_bars(ts, open, high, low, close, volume)
        mask, *counts = classify(ts, [open_ns], [close_ns], self.base_ns, open, high, low,
                                 close, volume)
        self.queue, self.pos = [bar for bar, keep in zip(bars, mask, strict=True) if keep], 0
        self.session_close = close_ns
        return tuple(counts)  # type: ignore[return-value]

    def clear_queue(self) -> None:
        self.queue, self.pos = [], 0

    @property
    def size(self) -> int:
        return len(self.queue)

    def close_of(self, bar: Bar) -> int:
        """When a base bar closes: at ts + base, or at the session close if that is earlier
        (the last bar of a session whose close is off the base grid)."""
        end = bar[0] + self.base_ns
        return end if self.session_close is None else min(end, self.session_close)

    @property
    def next_close(self) -> int | None:
        return self.close_of(self.queue[self.pos]) if self.pos < len(self.queue) else None

    @property
    def volume(self) -> float:
        return sum(bar[5] for bar in self.delivered)

    @property
    def high(self) -> float:
        return max((bar[2] for bar in self.delivered), default=math.nan)

    @property
    def low(self) -> float:
        return min((bar[3] for bar in self.delivered), default=math.nan)

    @property
    def last_update(self) -> int:
        return self.close_of(self.delivered[-1]) if self.delivered else 0

    def ring(self, k: int) -> RefBarRing:
        """Interval k's ring: 0 the base, then the derived ones in order."""
        return self.base_ring if k == 0 else self.rings[k - 1]

    def tracker(self, k: int) -> GapTracker:
        return self.base_tracker if k == 0 else self.trackers[k - 1]

    # -- delivery ------------------------------------------------------------------------

    def advance(self, now: int) -> int:
        """Deliver the queued bars closed by now, close buckets ended by now."""
        due = []
        k = self.pos
        while k < len(self.queue) and self.close_of(self.queue[k]) <= now:
            due.append(self.queue[k])
            k += 1
        self._deliver(due, now)
        self.pos = k
        return len(due)

    def feed(self, ts, open, high, low, close, volume, now: int) -> int:
        """Deliver bars that did not come from the queue, then close buckets ended by now."""
        bars = as_bars(ts, open, high, low, close, volume)
        self._deliver(bars, now)
        return len(bars)

    def _check_order(self, bars: list[Bar]) -> None:
        """Base bars go forward in time: within the batch, after the newest base bar held,
        and (in session) not before the last bar an aggregator took."""
        stamps = [bar[0] for bar in bars]
        if any(b <= a for a, b in pairwise(stamps)):
            raise ValueError("base bars must arrive in time order")
        if stamps and len(self.base_ring) and stamps[0] <= self.base_ring.last()[0]:
            raise ValueError("base bars must arrive in time order")
        for agg in self.aggs:
            inside = [t for t in stamps if agg.session_open <= t < agg.session_close]
            if inside and agg._last is not None and inside[0] < agg._last:
                raise ValueError("base bars must arrive in time order")

    def _deliver(self, bars: list[Bar], now: int) -> None:
        if bars:
            self._check_order(bars)
        for bar in bars:
            self.base_ring.append(*bar)
            self.base_tracker.add(bar[0])
            self.delivered.append(bar)
        self.fresh = [bars]
        for agg, ring, tracker in zip(self.aggs, self.rings, self.trackers, strict=True):
            for bar in bars:
                agg.update(*bar)
            agg.close_until(now)
            new, agg.closed = agg.closed, []  # what pop_closed() would return, as rows
            for bar in new:
                ring.append(*bar)
                tracker.add(bar[0])
            self.fresh.append(new)
        self.closed = [len(new) for new in self.fresh]


def closed_by(delivered: Sequence[Bar], now: int, open_ns: int, close_ns: int, base_ns: int,
              interval_ns: int) -> list[Bar]:
    """The derived bars closed once `delivered` (in-order base bars) arrived and the clock
    reached `now`, from the rule itself: a bucket's bar (first open, highest high, lowest
    low, last close, summed volume of its base bars) closes when the base bar ending at its
    end arrived, when a base bar of a later bucket arrived, or when `now` >= its end.
    Exact when every base bar closes by its bucket's end (bars cut at the session close, or a
    close on the base grid): a bucket the clock closed then has all its bars."""
    members: dict[int, list[Bar]] = {}
    for bar in delivered:
        if open_ns <= bar[0] < close_ns:
            start, _ = bucket_of(bar[0], open_ns, close_ns, interval_ns)
            members.setdefault(start, []).append(bar)
    starts = sorted(members)
    out = []
    for i, start in enumerate(starts):
        _, end = bucket_of(start, open_ns, close_ns, interval_ns)
        bars = members[start]
        later = i + 1 < len(starts)
        reached = any(bar[0] + base_ns >= end for bar in bars)
        if later or reached or end <= now:
            out.append((start, bars[0][1], max(b[2] for b in bars), min(b[3] for b in bars),
                        bars[-1][4], sum(b[5] for b in bars)))
    return out


def step_until(pipelines: Sequence[RefSymbolPipeline], until: int, targets, interrupt,
               on_step: Callable | None = None, lock=None,
               bar_type: Callable = tuple) -> int | None:
    """Advance every pipeline to each distinct queued close time <= `until`, in order; after
    each step call `on_step(t, changed)` (the advances and `on_step` holding `lock` if
    given), then hand each interval's bars closed at the step (the last `capacity` of them:
    those its ring still holds) to `targets[i][k]` as `bar_type(ts, o, h, l, c, v)`; stop
    after a step with `interrupt[0]` set. Returns the last step's time, or None."""
    times = sorted({p.close_of(bar) for p in pipelines for bar in p.queue[p.pos:]})
    last = None
    for t in times:
        if t > until:
            break
        if lock is not None:
            lock.acquire()
        try:
            changed = []
            for i, p in enumerate(pipelines):
                p.advance(t)
                if any(p.closed):
                    changed.append(i)
            last = t
            if on_step is not None:
                on_step(t, changed)
        finally:
            if lock is not None:
                lock.release()
        for i in changed:
            p = pipelines[i]
            for k, fresh in enumerate(p.fresh):
                if fresh and targets[i][k]:
                    for bar in fresh[max(0, len(fresh) - p.ring(k).capacity):]:
                        made = bar_type(*bar)
                        for f in targets[i][k]:
                            f(made)
        if interrupt[0]:
            break
    return last
