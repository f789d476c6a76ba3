# cython: auto_pickle=False, autotestdict=False
"""The per-bar work of one symbol in one compiled call, and bar-by-bar stepping in C.

A `SymbolPipeline` owns no bars: it drives the symbol's kernel state that lives in
SessionData (the base `BarRing` and `GapTracker`; for each derived interval its
`StreamingAggregator`, `BarRing` and `GapTracker`) and holds today's queue of base bars.
`advance(now)` delivers every queued base bar closed by `now`, closes every derived bar
whose bucket ended by `now`, and updates the session metrics: one Python call per symbol
per clock chunk, whatever the chunk's length.

`step_until` walks several pipelines bar by bar in time order (the clock goes to the next
base-bar close of any symbol) and calls observers for each closed bar, so a per-bar
observer costs one Python call per bar and nothing else.
"""

import numpy as np

cimport numpy as cnp
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from libc.math cimport NAN
from libc.stdint cimport INT64_MAX, INT64_MIN, int64_t, uint8_t

from mismartera.ext._args cimport bar_columns, ns_array
from mismartera.ext.aggregate cimport Bar, StreamingAggregator
from mismartera.ext.gaps cimport GapTracker, _classify
from mismartera.ext.ring cimport BarRing


cimport cython

cnp.import_array()


@cython.final
@cython.freelist(16)
cdef class ClosedBar:
    """One closed bar, as handed to per-bar observers: `ts` (bar start, int ns UTC) and
    `open high low close volume`. It unpacks and indexes like the tuple
    `(ts, open, high, low, close, volume)` and compares equal to it."""

    cdef readonly int64_t ts
    cdef readonly double open, high, low, close, volume

    def __init__(self, int64_t ts, double open, double high, double low, double close,
                 double volume):
        self.ts = ts
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume

    def _tuple(self):
        return (self.ts, self.open, self.high, self.low, self.close, self.volume)

    def __iter__(self):
        return iter(self._tuple())

    def __len__(self):
        return 6

    def __getitem__(self, index):
        return self._tuple()[index]

    def __eq__(self, other):
        if isinstance(other, (ClosedBar, tuple)):
            return self._tuple() == tuple(other)
        return NotImplemented

    def __hash__(self):
        return hash(self._tuple())

    def __repr__(self):
        return (f"Bar(ts={self.ts}, open={self.open!r}, high={self.high!r}, low={self.low!r}, "
                f"close={self.close!r}, volume={self.volume!r})")

    def __reduce__(self):
        return ClosedBar, self._tuple()


cdef inline ClosedBar _closed_bar(BarRing ring, Py_ssize_t i):
    cdef ClosedBar bar = ClosedBar.__new__(ClosedBar)
    bar.ts = ring._ts[i]
    bar.open = ring._open[i]
    bar.high = ring._high[i]
    bar.low = ring._low[i]
    bar.close = ring._close[i]
    bar.volume = ring._volume[i]
    return bar


cdef extern from *:
    """
    static PyObject* mm_call_prefixed(PyObject* func, PyObject* prefix, PyObject* last) {
        PyObject* stack[8];
        Py_ssize_t n = PyTuple_GET_SIZE(prefix), i;
        for (i = 0; i < n; i++) stack[i] = PyTuple_GET_ITEM(prefix, i);
        stack[n] = last;
        return PyObject_Vectorcall(func, stack, (size_t)(n + 1), NULL);
    }
    """
    object _call_prefixed "mm_call_prefixed"(object func, tuple prefix, object last)


cdef object _partial_type = None
cdef object _method_type = None


cdef tuple _flat_call(object target):
    """`(func, prefix)` such that `func(*prefix, x)` is `target(x)`: a `functools.partial`
    without keywords and a bound method are taken apart, so that one vectorcall of the
    underlying function replaces the partial's and the method's own calls."""
    global _partial_type, _method_type
    if _partial_type is None:
        import functools, types
        _partial_type, _method_type = functools.partial, types.MethodType
    cdef tuple prefix = ()
    cdef object func = target
    if type(func) is _partial_type and not func.keywords:
        prefix = func.args
        func = func.func
    if type(func) is _method_type:
        prefix = (func.__self__,) + prefix
        func = func.__func__
    if len(prefix) > 7:
        return (target, ())
    return (func, prefix)


cdef inline const int64_t* _i64(object a) noexcept:
    """The data of a contiguous int64 array (as `bar_columns` returns them)."""
    return <const int64_t*>cnp.PyArray_DATA(<cnp.ndarray>a)


cdef inline const double* _f64(object a) noexcept:
    return <const double*>cnp.PyArray_DATA(<cnp.ndarray>a)


cdef tuple _kept(tuple cols, const uint8_t* keep, Py_ssize_t n, Py_ssize_t kept):
    """New columns holding the rows of `cols` whose `keep` flag is set."""
    out = (np.empty(kept, np.int64),) + tuple(np.empty(kept, np.float64) for _ in range(5))
    cdef const int64_t* t = _i64(cols[0])
    cdef const double *o = _f64(cols[1])
    cdef const double *h = _f64(cols[2])
    cdef const double *l = _f64(cols[3])
    cdef const double *c = _f64(cols[4])
    cdef const double *v = _f64(cols[5])
    cdef int64_t* T = <int64_t*>_i64(out[0])
    cdef double* O = <double*>_f64(out[1])
    cdef double* H = <double*>_f64(out[2])
    cdef double* L = <double*>_f64(out[3])
    cdef double* C = <double*>_f64(out[4])
    cdef double* V = <double*>_f64(out[5])
    cdef Py_ssize_t i, k = 0
    for i in range(n):
        if keep[i]:
            T[k] = t[i]
            O[k] = o[i]
            H[k] = h[i]
            L[k] = l[i]
            C[k] = c[i]
            V[k] = v[i]
            k += 1
    return out


cdef class SymbolPipeline


cdef inline int64_t _queued_close(SymbolPipeline p, Py_ssize_t at) noexcept:
    """When the queued bar `at` of `p` closes (INT64_MAX past the queue's end)."""
    if at >= p.size:
        return INT64_MAX
    return min(p._qts[at] + p.base_ns, p._close())


cdef class SymbolPipeline:
    """Delivers one symbol's base bars to its rings, trackers and derived aggregators."""

    cdef readonly BarRing base_ring
    cdef readonly GapTracker base_tracker
    cdef readonly int64_t base_ns
    cdef readonly Py_ssize_t n_derived
    cdef list _aggs, _rings, _trackers
    cdef tuple _queue  # the queue's arrays (they own what the pointers below read)
    cdef const int64_t* _qts
    cdef const double *_qo
    cdef const double *_qh
    cdef const double *_ql
    cdef const double *_qc
    cdef const double *_qv
    cdef int64_t[::1] _session  # [open, close] of the last `load`
    cdef uint8_t* _keep  # `load`'s keep flags, grown as needed and reused day after day
    cdef Py_ssize_t _keep_cap
    cdef readonly Py_ssize_t pos, size
    cdef readonly object closed
    cdef int64_t[::1] _closed
    cdef public double volume, high, low
    cdef public int64_t last_update

    def __init__(self, BarRing base_ring not None, GapTracker base_tracker not None,
                 int64_t base_ns, derived=()):
        if base_ns <= 0:
            raise ValueError(f"base_ns must be positive, got {base_ns}")
        if base_tracker.step_ns != base_ns:
            raise ValueError(f"the base tracker's step ({base_tracker.step_ns}) must be "
                             f"base_ns ({base_ns})")
        self.base_ring = base_ring
        self.base_tracker = base_tracker
        self.base_ns = base_ns
        self._aggs, self._rings, self._trackers = [], [], []
        for agg, ring, tracker in derived:
            if not isinstance(agg, StreamingAggregator) or not isinstance(ring, BarRing) \
                    or not isinstance(tracker, GapTracker):
                raise TypeError("derived must hold (StreamingAggregator, BarRing, GapTracker)")
            if (<StreamingAggregator>agg).base_ns != base_ns:
                raise ValueError("every aggregator must take the pipeline's base interval")
            if (<GapTracker>tracker).step_ns != (<StreamingAggregator>agg).interval_ns:
                raise ValueError(f"a derived tracker's step ({tracker.step_ns}) must be its "
                                 f"aggregator's interval ({agg.interval_ns})")
            self._aggs.append(agg)
            self._rings.append(ring)
            self._trackers.append(tracker)
        self.n_derived = len(self._aggs)
        self.closed = np.zeros(1 + self.n_derived, np.int64)
        self._closed = self.closed
        self._session = np.zeros(2, np.int64)
        empty_f = np.empty(0, np.float64)
        self.set_queue(np.empty(0, np.int64), empty_f, empty_f, empty_f, empty_f, empty_f)
        self.reset_metrics()

    def reset_metrics(self):
        """Zero volume, no high/low, no last update (a new session)."""
        self.volume = 0.0
        self.high = NAN
        self.low = NAN
        self.last_update = 0

    def set_queue(self, ts, open, high, low, close, volume):
        """Today's base bars, in strictly increasing time, waiting to be delivered."""
        queue = bar_columns(ts, open, high, low, close, volume)
        cdef Py_ssize_t i, n = queue[0].shape[0]
        cdef const int64_t[::1] t = queue[0]
        for i in range(1, n):
            if t[i] <= t[i - 1]:
                raise ValueError(f"queue ts must be strictly increasing: ts[{i}] = {t[i]}")
        self._set(queue, n)

    def load(self, ts, open, high, low, close, volume, int64_t open_ns, int64_t close_ns):
        """Make today's queue from a source's raw bars: keep those in the session
        `[open_ns, close_ns)`, on the base grid, strictly after the previous kept one and
        valid (the rules of `mismartera.ext.gaps.classify`). Returns the counts of the rest:
        `(invalid, duplicate, misaligned, outside)`."""
        if open_ns >= close_ns:
            raise ValueError(f"session opens at or after its close: {open_ns} >= {close_ns}")
        cdef tuple cols = bar_columns(ts, open, high, low, close, volume)
        cdef Py_ssize_t kept = 0, n = (<cnp.ndarray>cols[0]).shape[0]
        cdef Py_ssize_t counts[4]
        cdef uint8_t* grown
        counts[0] = counts[1] = counts[2] = counts[3] = 0
        if n > self._keep_cap:
            grown = <uint8_t*>PyMem_Realloc(self._keep, max(n, 512))
            if grown == NULL:
                raise MemoryError("SymbolPipeline: cannot grow the load buffer")
            self._keep, self._keep_cap = grown, max(n, 512)
        self._session[0] = open_ns
        self._session[1] = close_ns
        if n:
            kept = _classify(_i64(cols[0]), _f64(cols[1]), _f64(cols[2]), _f64(cols[3]),
                             _f64(cols[4]), _f64(cols[5]), n, self._session[:1],
                             self._session[1:], self.base_ns, self._keep, counts)
        if kept < n:
            cols = _kept(cols, self._keep, n, kept)
        self._set(cols, kept)
        return counts[0], counts[1], counts[2], counts[3]

    def __dealloc__(self):
        PyMem_Free(self._keep)

    cdef void _set(self, tuple queue, Py_ssize_t n):
        self._queue = queue
        self._qts = _i64(queue[0])
        self._qo = _f64(queue[1])
        self._qh = _f64(queue[2])
        self._ql = _f64(queue[3])
        self._qc = _f64(queue[4])
        self._qv = _f64(queue[5])
        self.pos = 0
        self.size = n

    def clear_queue(self):
        """Forget the queue (a new session), keeping its buffers."""
        self.pos = 0
        self.size = 0

    @property
    def queue(self):
        """The queue's arrays (ts, open, high, low, close, volume)."""
        if self.size == self._queue[0].shape[0]:
            return self._queue
        return tuple(a[:self.size] for a in self._queue)

    @property
    def next_close(self):
        """When the next queued base bar closes (ns), or None when the queue is spent."""
        return None if self.pos >= self.size else self._next_close()

    @property
    def session_close(self):
        """The close of the session the base gap tracker was started on (None before): a
        base bar closes at min(ts + base, session_close)."""
        return self.base_tracker._close if self.base_tracker._has_session else None

    cdef inline int64_t _close(self) noexcept:
        return self.base_tracker._close if self.base_tracker._has_session else INT64_MAX

    cdef inline int64_t _next_close(self) noexcept:
        return _queued_close(self, self.pos)

    cpdef Py_ssize_t advance(self, int64_t now) except -1:
        """Deliver the queued base bars that closed by now (at min(ts + base, the session
        close given to `load`)) and close every derived bar
        whose bucket ended by now. Returns how many base bars were delivered; `closed`
        then holds the bars closed per interval (base first, then derived in order)."""
        cdef Py_ssize_t i = self.pos, j = self.pos
        cdef int64_t limit
        if now >= self._close():  # the last bar of a session ends at its close
            j = self.size
        elif now >= INT64_MIN + self.base_ns:  # else no bar can have closed (and no wrap)
            limit = now - self.base_ns
            while j < self.size and self._qts[j] <= limit:
                j += 1
        if j > i:
            self._deliver(&self._qts[i], &self._qo[i], &self._qh[i], &self._ql[i],
                          &self._qc[i], &self._qv[i], j - i, now)
        else:
            self._deliver(NULL, NULL, NULL, NULL, NULL, NULL, 0, now)
        self.pos = j  # only once delivered: refused bars stay queued
        return j - i

    def feed(self, ts, open, high, low, close, volume, int64_t now):
        """Deliver bars that did not come from the queue (live arrivals, in time order),
        then close derived bars ended by `now`. Returns how many bars were delivered.
        Raises ValueError, applying nothing, unless `ts` strictly increases and starts after
        the newest base bar held."""
        cols = bar_columns(ts, open, high, low, close, volume)
        cdef Py_ssize_t n = cols[0].shape[0]
        cdef const int64_t[::1] t = cols[0]
        cdef const double[::1] o = cols[1], h = cols[2], l = cols[3], c = cols[4], v = cols[5]
        cdef Py_ssize_t i
        for i in range(1, n):
            if t[i] <= t[i - 1]:
                raise ValueError(f"base bars must arrive in time order: ts[{i}] = {t[i]} <= "
                                 f"ts[{i - 1}] = {t[i - 1]}")
        if n:
            self._deliver(&t[0], &o[0], &h[0], &l[0], &c[0], &v[0], n, now)
        else:
            self._deliver(NULL, NULL, NULL, NULL, NULL, NULL, 0, now)
        return n

    cdef int _check(self, const int64_t* ts, Py_ssize_t n) except -1:
        """Before anything changes: every kernel has a session, and the bars (in time order
        among themselves) start after the newest base bar held and after the last base bar
        each aggregator took."""
        cdef Py_ssize_t i, k
        cdef StreamingAggregator agg
        cdef BarRing ring = self.base_ring
        cdef int64_t newest
        self.base_tracker._require_session()
        if ring._size:
            newest = ring._ts[ring.window_start(1)]
            if ts[0] <= newest:
                raise ValueError(f"base bars must arrive in time order: {ts[0]} is not after "
                                 f"the newest base bar {newest}")
        for k in range(self.n_derived):
            agg = <StreamingAggregator>self._aggs[k]
            agg._require_session()
            i = 0
            while i < n and ts[i] < agg._open:
                i += 1
            if i < n and ts[i] < agg._close and ts[i] < agg._last_ts:
                raise ValueError(f"base bars must arrive in time order: {ts[i]} is before "
                                 f"{agg._last_ts}, already aggregated")
        return 0

    cdef int _deliver(self, const int64_t* ts, const double* o, const double* h,
                      const double* l, const double* c, const double* v, Py_ssize_t n,
                      int64_t now) except -1:
        cdef Py_ssize_t i, j, k, m
        cdef StreamingAggregator agg
        cdef BarRing ring
        cdef GapTracker tracker
        cdef Bar b
        cdef double hi = self.high, lo = self.low, vol = self.volume
        if n:
            self._check(ts, n)
            self.base_ring.push_many(ts, o, h, l, c, v, n)
            self.base_tracker._reserve(n + 1)
            for i in range(n):
                self.base_tracker._add(ts[i])
                vol += v[i]
                if not hi >= h[i]:
                    hi = h[i]
                if not lo <= l[i]:
                    lo = l[i]
            self.volume, self.high, self.low = vol, hi, lo
            self.last_update = ts[n - 1] + self.base_ns  # when it closed (see session_close)
            self.last_update = min(self.last_update, self._close())
        self._closed[0] = n
        for k in range(self.n_derived):
            agg = <StreamingAggregator>self._aggs[k]
            if n:
                agg._reserve(n + 2)
                for i in range(n):
                    agg._update(ts[i], o[i], h[i], l[i], c[i], v[i])
            if agg._has_forming and agg._forming_end <= now:
                agg._reserve(1)
                agg._emit()
            m = agg._n_closed
            if m:
                ring = <BarRing>self._rings[k]
                tracker = <GapTracker>self._trackers[k]
                tracker._reserve(m + 1)
                for j in range(m):
                    b = agg._closed[j]
                    ring.push(b.ts, b.o, b.h, b.l, b.c, b.v)
                    tracker._add(b.ts)
                agg._n_closed = 0
            self._closed[k + 1] = m
        return 0


cdef int64_t _throttle(list pipelines, Py_ssize_t npipe, Py_ssize_t* cursor, int64_t* head,
                       int64_t t, int64_t last, int64_t every, int64_t close) noexcept:
    """The quality time a bar-by-bar run would hold after its steps strictly before `t`:
    each base-bar close of any pipeline (from its queue position on) is a step, and a step
    `s` before `close` takes the time when `every` passed since the last taken (`last`,
    INT64_MIN for none). `cursor` and `head`: room for one position and close per pipeline."""
    cdef Py_ssize_t i
    cdef SymbolPipeline p
    cdef int64_t s
    for i in range(npipe):
        p = <SymbolPipeline>pipelines[i]
        cursor[i] = p.pos
        head[i] = _queued_close(p, p.pos)
    while True:
        s = INT64_MAX
        for i in range(npipe):
            if head[i] < s:
                s = head[i]
        if s >= t:
            return last
        if s < close and (last == INT64_MIN or s - last >= every):
            last = s
        for i in range(npipe):
            if head[i] == s:  # (closes strictly increase along a queue, but for the close)
                p = <SymbolPipeline>pipelines[i]
                while head[i] <= s:
                    cursor[i] += 1
                    head[i] = _queued_close(p, cursor[i])


cdef list _flat_rows(list pipelines, object rows, str what):
    """Per pipeline, per interval: the callables of `rows` as (function, leading arguments)
    (see `_flat_call`), or None for none."""
    cdef Py_ssize_t i
    cdef list out = []
    if len(rows) != len(pipelines):
        raise ValueError(f"{what} must have one entry per pipeline")
    for i in range(len(pipelines)):
        if len(rows[i]) != 1 + (<SymbolPipeline>pipelines[i]).n_derived:
            raise ValueError(f"{what}[{i}] must have one entry per interval of pipeline {i}")
        out.append([[_flat_call(f) for f in wanted] if wanted else None for wanted in rows[i]])
    return out


def step_until(list pipelines, int64_t until, list targets, unsigned char[::1] interrupt,
               object on_step=None, object lock=None, object watch=None,
               object bounds=None, object coarse=None, object feeds=None):
    """Advance `pipelines` bar by bar, in time order, up to `until` at the latest.

    Each step moves the clock to the next base-bar close of any pipeline; every pipeline
    advances to that time (so derived bars whose bucket ended close too). Then
    `on_step(t, changed)` runs if given (`changed`: indexes of pipelines that closed bars),
    and each bar closed at the step is handed to the callables in `targets[i][k]`
    (pipeline i, interval k: 0 base, then derived) as `f(bar)`, a `ClosedBar` from the
    bar's ring (the last `closed[k]` bars it holds: fewer if its capacity is smaller).

    With `lock` (e.g. SessionData's RLock), each step's advance and `on_step` run holding it;
    the bars are handed out after it is released, so observers never block readers.

    With `watch` (uint8, one row per pipeline, one column per interval in the order of
    `targets[i]`), `changed` as given to `on_step` lists only the pipelines that closed a
    bar of an interval whose flag is set: `on_step` need not look at every pipeline at
    every step when only some intervals matter to it (say, those with indicators).

    With `bounds` (sorted int64 times, e.g. the bucket ends of the derived intervals
    observers want), each of them is a step too, whether or not a base bar closes then: a
    bucket whose last base bar is missing closes at its end, not at the next base bar.

    With `feeds` (like `targets`: per pipeline, per interval, callables or an empty list),
    each is called as `f(n)` with the number of bars the interval closed, at each step that
    closed some, under the lock, before `on_step` (compiled indicators that read the last `n`
    bars of the interval's ring: no Python per-step hook needed for them).

    With `coarse` (int64 `[quality time, its period, session close]`, quality time
    INT64_MIN for none) as well as `bounds`, only the bounds are steps: the base bars
    closing between two of them are delivered together at the next (when observers want
    only the intervals whose bars close at the bounds, and `on_step` only hears of those,
    nothing can tell the difference). `coarse[0]` is kept as a bar-by-bar run would keep
    the quality time (each step before the session close takes it when the period passed
    since the last), up to and including each step (`on_step` reads it), and after the last
    step up to `until`.

    Stops after a step at which `interrupt[0]` became non-zero, or when no queued bar closes
    by `until`. Returns the time of the last step, or None when there was none."""
    cdef Py_ssize_t i, k, npipe = len(pipelines), nk, nchanged, c
    cdef const int64_t[::1] bound_at
    cdef Py_ssize_t b = 0, nb = 0
    if bounds is not None:
        bound_at = bounds
        nb = bound_at.shape[0]
    cdef SymbolPipeline p
    cdef int64_t t, nxt, last = INT64_MAX
    cdef BarRing ring
    cdef Py_ssize_t s, j, m
    cdef list notified, calls, row, fed = None, feed_row
    cdef tuple call
    cdef bint any_step = False, closed_any, watched
    cdef const unsigned char[:, ::1] mask
    cdef bint use_mask = watch is not None
    cdef object acquire = None, release = None
    cdef int64_t[::1] quality
    cdef bint use_coarse = coarse is not None
    cdef Py_ssize_t* cursor = NULL
    if use_coarse:
        quality = coarse
        if quality.shape[0] < 3 or bounds is None:
            raise ValueError("coarse needs [quality time, period, close] and bounds")
    if use_mask:
        mask = watch
        if mask.shape[0] != npipe:
            raise ValueError("watch must have one row per pipeline")
    for i in range(npipe):
        if use_mask and mask.shape[1] < 1 + (<SymbolPipeline>pipelines[i]).n_derived:
            raise ValueError(f"watch[{i}] must have one flag per interval of pipeline {i}")
        if not isinstance(pipelines[i], SymbolPipeline):
            raise TypeError("pipelines must hold SymbolPipeline objects")
    calls = _flat_rows(pipelines, targets, "targets")
    if feeds is not None:
        fed = _flat_rows(pipelines, feeds, "feeds")
    if interrupt.shape[0] < 1:
        raise ValueError("interrupt must hold one flag")
    if lock is not None:
        acquire, release = lock.acquire, lock.release
    changed_arr = np.empty(max(npipe, 1), np.intp)
    cdef Py_ssize_t[::1] changed = changed_arr
    cdef Py_ssize_t[::1] cursors = np.empty(max(npipe, 1), np.intp)
    cdef int64_t[::1] heads = np.empty(max(npipe, 1), np.int64)
    cursor = &cursors[0]
    while True:
        t = INT64_MAX
        if not use_coarse:
            for i in range(npipe):
                nxt = (<SymbolPipeline>pipelines[i])._next_close()
                if nxt < t:
                    t = nxt
        if nb:
            while b < nb and (bound_at[b] <= last if any_step else False):
                b += 1
            if b < nb and bound_at[b] < t:
                t = bound_at[b]
        if t == INT64_MAX or t > until:
            if use_coarse:  # the steps a bar-by-bar run would take up to `until`
                quality[0] = _throttle(pipelines, npipe, cursor, &heads[0],
                                       min(until, INT64_MAX - 1) + 1, quality[0], quality[1],
                                       quality[2])
            break
        if use_coarse:  # the steps before this one, then this one
            quality[0] = _throttle(pipelines, npipe, cursor, &heads[0], t, quality[0],
                                   quality[1], quality[2])
            if t < quality[2] and (quality[0] == INT64_MIN or t - quality[0] >= quality[1]):
                quality[0] = t
        nchanged = 0
        notified = [] if on_step is not None else None
        if acquire is not None:
            acquire()
        try:
            for i in range(npipe):
                p = <SymbolPipeline>pipelines[i]
                p.advance(t)
                if fed is not None:
                    feed_row = <list>fed[i]
                    for k in range(1 + p.n_derived):
                        if p._closed[k] and feed_row[k] is not None:
                            for call in <list>feed_row[k]:
                                _call_prefixed(call[0], <tuple>call[1], p._closed[k])
                closed_any = False
                watched = False
                for k in range(1 + p.n_derived):
                    if p._closed[k]:
                        closed_any = True
                        if not use_mask or mask[i, k]:
                            watched = True
                            break
                if closed_any:
                    changed[nchanged] = i
                    nchanged += 1
                    if notified is not None and watched:
                        notified.append(i)
            any_step = True
            last = t
            if on_step is not None:
                on_step(t, notified)
        finally:
            if release is not None:
                release()
        for c in range(nchanged):
            i = changed[c]
            p = <SymbolPipeline>pipelines[i]
            row = <list>calls[i]
            nk = 1 + p.n_derived
            for k in range(nk):
                if not p._closed[k] or row[k] is None:
                    continue
                ring = p.base_ring if k == 0 else <BarRing>p._rings[k - 1]
                m = min(p._closed[k], ring._size)  # a small ring may hold fewer
                s = ring.window_start(m)
                for j in range(m):
                    bar = _closed_bar(ring, s + j)
                    for call in <list>row[k]:
                        _call_prefixed(call[0], <tuple>call[1], bar)
        if interrupt[0]:
            break
    return last if any_step else None


def count_distinct(list arrays):
    """How many distinct values the int64 arrays hold together (the clock steps of a
    session: the distinct times of every symbol's base bars). Each array sorted strictly
    increasing is merged in one pass; any other falls back to sorting everything."""
    cdef Py_ssize_t k = len(arrays), i, j, distinct = 0
    cdef list cols = [ns_array("arrays", x) for x in arrays]
    if k == 0:
        return 0
    if k == 1:
        return np.unique(cols[0]).shape[0]
    heads = np.zeros(k, np.intp)
    sizes = np.array([(<cnp.ndarray>c).shape[0] for c in cols], np.intp)
    ptrs = np.array([<Py_ssize_t>_i64(c) for c in cols], np.intp)
    cdef Py_ssize_t[::1] head = heads, size = sizes, ptr = ptrs
    cdef const int64_t* a
    cdef int64_t low
    cdef bint found
    for i in range(k):
        a = <const int64_t*>ptr[i]
        for j in range(1, size[i]):
            if a[j] <= a[j - 1]:
                return np.unique(np.concatenate(cols)).shape[0]
    while True:
        low = INT64_MAX
        found = False
        for i in range(k):
            if head[i] < size[i]:
                a = <const int64_t*>ptr[i]
                if not found or a[head[i]] < low:
                    low = a[head[i]]
                    found = True
        if not found:
            return distinct
        distinct += 1
        for i in range(k):
            if head[i] < size[i] and (<const int64_t*>ptr[i])[head[i]] == low:
                head[i] += 1
