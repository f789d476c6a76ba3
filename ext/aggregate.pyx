# cython: auto_pickle=False, autotestdict=False
"""Session-anchored derived-bar aggregation, batch (`aggregate_bars`) and streaming
(`StreamingAggregator`).

Buckets are anchored at each session's open: bucket k of a session starts at
`open + k * interval_ns` and ends at `min(open + (k + 1) * interval_ns, close)`, so a bucket
never spans two sessions and the last bucket of an early-close day is truncated at the
close. A derived bar is open = first, high = max, low = min, close = last and volume = sum
of the base bars whose `ts` lies in its bucket; its `ts` is the bucket start. An empty
bucket yields no bar. A `1d` bar is a bucket at least as long as the session.

Bucket boundaries are walked incrementally: no division per bar (only when a gap skips two
or more buckets at once).
"""

import numpy as np

from libc.stdint cimport INT64_MIN, int64_t
from libc.stdlib cimport free, realloc

from mismartera.ext._args cimport bar_columns, check_sessions, ns_array
from mismartera.ext._numeric cimport max_of, min_of


# ---------------------------------------------------------------------------------------
# batch

cdef inline int64_t _bucket_start(int64_t t, int64_t hint, int64_t interval) noexcept nogil:
    """Start of the bucket holding t, for t >= hint and hint on the bucket grid: one or two
    additions in the common case, a division only when a gap skips buckets."""
    cdef int64_t d = t - hint
    if d < interval:
        return hint
    if d - interval < interval:
        return hint + interval
    return hint + (d // interval) * interval


cdef Py_ssize_t _aggregate(
    const int64_t[::1] ts,
    const double[::1] op,
    const double[::1] hi,
    const double[::1] lo,
    const double[::1] cl,
    const double[::1] vo,
    const int64_t[::1] opens,
    const int64_t[::1] closes,
    int64_t interval,
    int64_t[::1] out_ts,
    double[::1] out_o,
    double[::1] out_h,
    double[::1] out_l,
    double[::1] out_c,
    double[::1] out_v,
    Py_ssize_t* bad,
) noexcept nogil:
    """Aggregate, checking on the way that ts strictly increases: on the first index i with
    ts[i] <= ts[i-1], set *bad = i and stop (the output is then meaningless)."""
    cdef Py_ssize_t n = ts.shape[0], ns = opens.shape[0]
    cdef Py_ssize_t i = 0, s, m = 0
    cdef int64_t t, prev = INT64_MIN, s_open, s_close, start, end, hint
    cdef double h, l, v
    bad[0] = -1
    for s in range(ns):
        if i >= n:
            break
        s_open = opens[s]
        s_close = closes[s]
        while i < n:  # skip the bars before the open
            t = ts[i]
            if t <= prev and i:
                bad[0] = i
                return m
            if t >= s_open:
                break
            prev = t
            i += 1
        hint = s_open
        while i < n:
            t = ts[i]
            if t <= prev and i:
                bad[0] = i
                return m
            if t >= s_close:
                break
            start = _bucket_start(t, hint, interval)
            # min(start + interval, close) without overflowing for a huge (`1d`) interval
            end = s_close if interval >= s_close - start else start + interval
            out_ts[m] = start
            out_o[m] = op[i]
            h = hi[i]
            l = lo[i]
            v = vo[i]
            prev = t
            i += 1
            while i < n:
                t = ts[i]
                if t >= end:
                    break
                if t <= prev:
                    bad[0] = i
                    return m
                prev = t
                h = max_of(hi[i], h)
                l = min_of(lo[i], l)
                v += vo[i]
                i += 1
            out_h[m] = h
            out_l[m] = l
            out_c[m] = cl[i - 1]
            out_v[m] = v
            m += 1
            hint = end  # the next bucket's start (or the close: no bar is left to place)
    for i in range(max(i, 1), n):  # the bars after the last session
        if ts[i] <= ts[i - 1]:
            bad[0] = i
            return m
    return m


def aggregate_bars(
    ts, open, high, low, close, volume, session_opens, session_closes, int64_t interval_ns
):
    """Derive bars of `interval_ns` from base bars over many sessions at once.

    `ts` must be strictly increasing; sessions sorted and non-overlapping, each
    `[open, close)`. Base bars outside every session are ignored. Returns the derived
    `(ts, open, high, low, close, volume)` arrays (int64, then float64), sized exactly.
    Raises ValueError on mismatched lengths, unsorted input or a non-positive interval.
    """
    if interval_ns <= 0:
        raise ValueError(f"interval_ns must be positive, got {interval_ns}")
    cols = bar_columns(ts, open, high, low, close, volume)
    cdef const int64_t[::1] t = cols[0]
    cdef const double[::1] c_o = cols[1], c_h = cols[2], c_l = cols[3], c_c = cols[4]
    cdef const double[::1] c_v = cols[5]
    cdef Py_ssize_t n = t.shape[0]
    cdef const int64_t[::1] opens = ns_array("session_opens", session_opens)
    cdef const int64_t[::1] closes = ns_array("session_closes", session_closes)
    check_sessions(opens, closes, "session_closes", True)

    # upper bound on the output: one bar per base bar, and no more than the buckets
    cdef Py_ssize_t cap = 0, s
    cdef int64_t span
    for s in range(opens.shape[0]):
        if cap >= n:
            break
        span = closes[s] - opens[s]
        cap += span // interval_ns + (span % interval_ns != 0)
    cap = min(cap, n)

    out = [np.empty(cap, np.int64)] + [np.empty(cap, np.float64) for _ in range(5)]
    cdef int64_t[::1] o_ts = out[0]
    cdef double[::1] o_o = out[1], o_h = out[2], o_l = out[3], o_c = out[4], o_v = out[5]
    cdef Py_ssize_t m, bad
    with nogil:
        m = _aggregate(
            t, c_o, c_h, c_l, c_c, c_v, opens, closes, interval_ns,
            o_ts, o_o, o_h, o_l, o_c, o_v, &bad,
        )
    if bad >= 0:
        raise ValueError(
            f"ts must be strictly increasing: ts[{bad}] = {t[bad]} <= ts[{bad - 1}] = {t[bad - 1]}"
        )
    if m < cap:
        return tuple(a[:m].copy() for a in out)
    return tuple(out)


# ---------------------------------------------------------------------------------------
# streaming


cdef class StreamingAggregator:
    """Derives one interval from one symbol's base bars as they arrive.

    Call `start_session(open, close)` per session, then `update`/`feed` base bars in time
    order. A derived bar closes when a base bar of a later bucket arrives, when the base bar
    ending at its bucket end arrives (`ts + base_ns >= bucket end`), or when the clock
    passes its bucket end (`close_until(now)`). Closed bars queue until `pop_closed()`.

    A base bar whose bucket already closed (a late or repeated stamp) cannot amend the
    published bar: it is ignored and counted in `late`.
    """


    def __cinit__(self, int64_t base_ns, int64_t interval_ns):
        self._closed = NULL
        self._n_closed = 0
        self._cap = 0

    def __init__(self, int64_t base_ns, int64_t interval_ns):
        if base_ns <= 0:
            raise ValueError(f"base_ns must be positive, got {base_ns}")
        if interval_ns <= 0:
            raise ValueError(f"interval_ns must be positive, got {interval_ns}")
        if interval_ns % base_ns:
            raise ValueError(
                f"interval_ns ({interval_ns}) must be a whole multiple of base_ns ({base_ns})"
            )
        self.base_ns = base_ns
        self.interval_ns = interval_ns
        self._has_session = False
        self._has_forming = False
        self._late = 0

    def __dealloc__(self):
        free(self._closed)

    # -- state ------------------------------------------------------------------------

    @property
    def session_open(self):
        """Open of the current session (ns), or None before `start_session`."""
        return self._open if self._has_session else None

    @property
    def session_close(self):
        """Close of the current session (ns), or None before `start_session`."""
        return self._close if self._has_session else None

    @property
    def pending(self):
        """How many closed bars wait for `pop_closed()`."""
        return self._n_closed

    @property
    def late(self):
        """How many in-session base bars arrived after their bucket closed (ignored)."""
        return self._late

    def start_session(self, int64_t open_ns, int64_t close_ns):
        """Begin a session `[open_ns, close_ns)`. Discards any forming bar (close it first
        with `close_until(close)` if you want it); closed bars not yet popped are kept."""
        if open_ns >= close_ns:
            raise ValueError(f"session open {open_ns} must be before its close {close_ns}")
        self._open = open_ns
        self._close = close_ns
        self._has_session = True
        self._has_forming = False
        self._last_ts = INT64_MIN
        self._hint = open_ns
        self._emitted_end = open_ns

    def forming(self):
        """The still-forming bar `(ts, open, high, low, close, volume)`, or None."""
        if not self._has_forming:
            return None
        f = self._forming
        return (f.ts, f.o, f.h, f.l, f.c, f.v)

    # -- feeding ----------------------------------------------------------------------

    cdef int _reserve(self, Py_ssize_t extra) except -1:
        cdef Py_ssize_t need = self._n_closed + extra, cap = self._cap
        cdef Bar* grown
        if need <= cap:
            return 0
        cap = max(need, 2 * cap, 64)
        grown = <Bar*> realloc(self._closed, cap * sizeof(Bar))
        if grown == NULL:
            raise MemoryError("StreamingAggregator: cannot grow the closed-bar buffer")
        self._closed = grown
        self._cap = cap
        return 0

    cdef int _require_session(self) except -1:
        if not self._has_session:
            raise RuntimeError("StreamingAggregator: call start_session(open, close) first")
        return 0

    cdef void _emit(self) noexcept nogil:
        self._closed[self._n_closed] = self._forming
        self._n_closed = self._n_closed + 1
        self._has_forming = False
        self._emitted_end = self._forming_end

    cdef int _update(
        self, int64_t t, double o, double h, double l, double c, double v
    ) noexcept nogil:
        """One in-order base bar; the caller checked order and reserved 2 slots."""
        cdef int closed = 0
        cdef int64_t start
        if t < self._open or t >= self._close:
            return 0
        self._last_ts = t
        start = _bucket_start(t, self._hint, self.interval_ns)
        self._hint = start
        if self._has_forming and start != self._forming.ts:
            self._emit()
            closed += 1
        if self._has_forming:
            self._forming.h = max_of(h, self._forming.h)
            self._forming.l = min_of(l, self._forming.l)
            self._forming.c = c
            self._forming.v = self._forming.v + v
        else:
            if t < self._emitted_end:
                self._late = self._late + 1
                return closed
            self._forming_end = (
                self._close if self.interval_ns >= self._close - start
                else start + self.interval_ns
            )
            self._forming.ts = start
            self._forming.o = o
            self._forming.h = h
            self._forming.l = l
            self._forming.c = c
            self._forming.v = v
            self._has_forming = True
        if t + self.base_ns >= self._forming_end:
            self._emit()
            closed += 1
        return closed

    def update(self, int64_t ts, double o, double h, double l, double c, double v):
        """Feed one base bar; returns how many derived bars it closed (0, 1 or 2). Bars
        outside the session are ignored; in-session bars must not go back in time."""
        self._require_session()
        if self._open <= ts < self._close and ts < self._last_ts:
            raise ValueError(
                f"base bars must arrive in time order: ts {ts} < previous {self._last_ts}"
            )
        if self._n_closed + 2 > self._cap:
            self._reserve(2)
        return self._update(ts, o, h, l, c, v)

    def feed(self, ts, o, h, l, c, v):
        """Feed many base bars (arrays) in one compiled loop; same as `update` for each.
        Returns how many derived bars closed. Nothing is applied if the order is wrong."""
        self._require_session()
        cols = bar_columns(ts, o, h, l, c, v)
        cdef const int64_t[::1] t = cols[0]
        cdef const double[::1] o_ = cols[1], h_ = cols[2], l_ = cols[3], c_ = cols[4]
        cdef const double[::1] v_ = cols[5]
        cdef Py_ssize_t i, n = t.shape[0], bad = -1, closed = 0
        cdef int64_t last = self._last_ts, s_open = self._open, s_close = self._close
        with nogil:
            for i in range(n):
                if s_open <= t[i] < s_close:
                    if t[i] < last:
                        bad = i
                        break
                    last = t[i]
        if bad >= 0:
            raise ValueError(
                f"base bars must arrive in time order: ts[{bad}] = {t[bad]} < previous {last}"
            )
        # a session closes at most one bar per bucket: no need to reserve one per base bar
        cdef int64_t span = self._close - self._open
        self._reserve(min(n + 1, span // self.interval_ns + 1))
        with nogil:
            for i in range(n):
                closed += self._update(t[i], o_[i], h_[i], l_[i], c_[i], v_[i])
        return closed

    def close_until(self, int64_t now_ns):
        """Close the forming bar if its bucket ended at or before `now_ns`; returns 0 or 1."""
        if not self._has_forming or self._forming_end > now_ns:
            return 0
        self._reserve(1)
        self._emit()
        return 1

    def pop_closed(self):
        """The bars closed since the last call, as `(ts, open, high, low, close, volume)`
        arrays in time order; the queue is emptied."""
        cdef Py_ssize_t i, n = self._n_closed
        out = [np.empty(n, np.int64)] + [np.empty(n, np.float64) for _ in range(5)]
        cdef int64_t[::1] o_ts = out[0]
        cdef double[::1] o_o = out[1], o_h = out[2], o_l = out[3], o_c = out[4], o_v = out[5]
        cdef Bar b
        with nogil:
            for i in range(n):
                b = self._closed[i]
                o_ts[i] = b.ts
                o_o[i] = b.o
                o_h[i] = b.h
                o_l[i] = b.l
                o_c[i] = b.c
                o_v[i] = b.v
        self._n_closed = 0
        return tuple(out)

    def __repr__(self):
        return (
            f"StreamingAggregator(base_ns={self.base_ns}, interval_ns={self.interval_ns}, "
            f"session={self.session_open}..{self.session_close}, pending={self._n_closed})"
        )
