"""Strategies, builders and comparisons shared by the tests/test_ext_pipeline_*.py modules."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
from hypothesis import strategies as st

from mismartera.ext.aggregate import StreamingAggregator
from mismartera.ext.gaps import GapTracker
from mismartera.ext.pipeline import SymbolPipeline
from mismartera.ext.ring import BarRing
from tests.reference import pipeline as ref
from tests.reference.ring import RefBarRing
from tests.support.strategies import (
    HOUR,
    MINUTE,
    NS,
    SECOND,
    new_york_ns,
    present_indices,
    random_ohlcv,
    sessions,
)

DAY = 86_400 * NS
# base interval -> the derived intervals it may feed (the engine's pairs, `1d` included)
LAYOUTS: dict[int, tuple[int, ...]] = {
    MINUTE: (5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, DAY),
    SECOND: (5 * SECOND, MINUTE),
    5 * MINUTE: (15 * MINUTE, HOUR),
}
BIG = 1024  # more than any session below holds at any interval
# a 1s base is kept to short sessions (<= 20 min): the gap reference walks the whole grid
MAX_GRID = 1_200


# ---------------------------------------------------------------------------------------
# strategies and builders


@dataclass(frozen=True)
class Layout:
    base_ns: int
    derived: tuple[int, ...]  # derived intervals, in pipeline order
    capacities: tuple[int, ...]  # ring capacity per interval, base first


BASES = st.sampled_from(sorted(LAYOUTS))
SUBSETS = {base: st.lists(st.sampled_from(ivs), unique=True) for base, ivs in LAYOUTS.items()}
CAPACITY = st.one_of(st.just(BIG), st.integers(1, 3))


@st.composite
def layouts(draw, base_ns: int | None = None) -> Layout:
    """A base interval, any subset of its derived intervals (maybe none) and ring capacities
    (mostly roomy; sometimes 1-3 bars, so rings evict while the pipeline runs)."""
    base = base_ns if base_ns is not None else draw(BASES)
    chosen = draw(SUBSETS[base])
    caps = draw(st.lists(CAPACITY, min_size=1 + len(chosen), max_size=1 + len(chosen)))
    return Layout(base, tuple(sorted(chosen)), tuple(caps))


@st.composite
def one_session(draw, base_ns: int, max_grid: int = MAX_GRID) -> tuple[int, int]:
    """One session for `base_ns`: regular or early close (unless longer than `max_grid`
    base bars, as for a seconds base) or short, possibly opening off 09:30; sometimes
    closing off the base grid (the last base bar then ends after the close)."""
    open_ns, close_ns = draw(sessions(base_ns, max_sessions=1, max_grid=max_grid,
                                      max_short=max_grid))[0]
    return open_ns, close_ns - draw(st.sampled_from(CUTS)) * base_ns // 4


CUTS = (0, 0, 0, 0, 1, 2, 3)  # quarters of a base bar cut off the close


@st.composite
def session_bars(draw, open_ns: int, close_ns: int, base_ns: int) -> tuple[np.ndarray, ...]:
    """Valid bars on the base grid of the session, with random gaps (dropped bars, dropped
    runs emptying whole buckets, the first/last bar dropped)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    idx = draw(present_indices(-(-(close_ns - open_ns) // base_ns), rng))
    ts = open_ns + idx.astype(np.int64) * base_ns
    return (ts, *random_ohlcv(rng, len(ts)))


@st.composite
def clock_times(draw, open_ns: int, close_ns: int, layout: Layout, ts: np.ndarray) -> list[int]:
    """Clock times for `advance`: anywhere around the session, the open and the close (and
    1 ns before), bucket ends, bar closes (and 1 ns before); repeats; mostly in order,
    sometimes not."""
    base, span = layout.base_ns, close_ns - open_ns
    ivs = layout.derived or (base,)
    stamps = ts.tolist() or [open_ns]

    def time_of(kind: int, r: int) -> int:
        if kind == 0:
            return open_ns - base + r % (span + 2 * base + 1)
        if kind == 1:
            return (open_ns, close_ns, open_ns - 1, close_ns - 1)[r % 4]
        if kind == 2:
            iv = ivs[r % len(ivs)]
            return min(open_ns + (r // len(ivs) % -(-span // iv) + 1) * iv, close_ns)
        return stamps[r % len(stamps)] + base - (kind == 4)

    picks = draw(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 2**40)), max_size=10))
    times = [time_of(kind, r) for kind, r in picks]
    if draw(st.integers(0, 4)):  # the clock only goes forward in the engine
        times.sort()
    return times


@dataclass
class Built:
    """A compiled pipeline and the kernel objects it drives (interval 0 is the base)."""

    pipeline: SymbolPipeline
    rings: list[BarRing]
    trackers: list[GapTracker]
    aggs: list[StreamingAggregator]


def build(layout: Layout, open_ns: int,
          close_ns: int) -> tuple[Built, ref.RefSymbolPipeline]:
    """The compiled pipeline over fresh kernel objects started on the session, and its model
    (base bars close at the session close at the latest: the pipeline takes it from the
    started base gap tracker)."""
    ivs = (layout.base_ns, *layout.derived)
    rings = [BarRing(cap) for cap in layout.capacities]
    trackers = [GapTracker(iv) for iv in ivs]
    aggs = [StreamingAggregator(layout.base_ns, iv) for iv in layout.derived]
    for part in (*trackers, *aggs):
        part.start_session(open_ns, close_ns)
    pipeline = SymbolPipeline(rings[0], trackers[0], layout.base_ns,
                              list(zip(aggs, rings[1:], trackers[1:], strict=True)))
    model = ref.RefSymbolPipeline(layout.base_ns, layout.capacities[0],
                                  list(zip(layout.derived, layout.capacities[1:], strict=True)))
    model.start_session(open_ns, close_ns)
    model.session_close = close_ns
    return Built(pipeline, rings, trackers, aggs), model


# ---------------------------------------------------------------------------------------
# comparisons


def same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def assert_ring_equals(got: BarRing, want: RefBarRing) -> None:
    assert (len(got), got.evicted) == (len(want), want.evicted)
    for g, w in zip(got.arrays(), want.arrays(), strict=True):
        assert g.tolist() == w.tolist()


def assert_ring_holds(got: BarRing, bars: list[tuple]) -> None:
    """The ring holds the last `capacity` of `bars`, oldest first."""
    kept = bars[max(0, len(bars) - got.capacity):]
    assert list(zip(*(a.tolist() for a in got.arrays()), strict=True)) == kept


def assert_same(got: Built, want: ref.RefSymbolPipeline, ends: tuple[int, ...]) -> None:
    """Queue position, closed counts, metrics, every ring and every tracker (gaps up to each
    of `ends`) agree with the model."""
    p = got.pipeline
    assert (p.pos, p.size, p.next_close) == (want.pos, want.size, want.next_close)
    assert p.closed.tolist() == want.closed
    assert p.volume == want.volume
    assert same_float(p.high, want.high) and same_float(p.low, want.low)
    assert p.last_update == want.last_update
    for k, (ring, tracker) in enumerate(zip(got.rings, got.trackers, strict=True)):
        assert_ring_equals(ring, want.ring(k))
        model = want.tracker(k)
        assert tracker.present == model.present
        assert (tracker.duplicates, tracker.misaligned, tracker.outside) == (
            model.duplicates, model.misaligned, model.outside)
        for end in ends:
            assert [a.tolist() for a in tracker.gaps(end)] == [list(x) for x in model.gaps(end)]


def as_rows(columns) -> list[tuple]:
    return list(zip(*(np.asarray(c).tolist() for c in columns), strict=True))


def minute_pipeline(capacity: int = 8) -> tuple[Built, int, int]:
    open_ns = new_york_ns(date(2021, 8, 23), 9, 30)
    close_ns = open_ns + 390 * MINUTE
    got, _ = build(Layout(MINUTE, (5 * MINUTE,), (capacity, capacity)), open_ns, close_ns)
    return got, open_ns, close_ns
