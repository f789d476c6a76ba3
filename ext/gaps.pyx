# cython: auto_pickle=False, autotestdict=False
"""Gap detection and data quality, batch (`find_gaps`, `classify`) and streaming
(`GapTracker`).

A session `[open, end)` expects one bar at each bucket start `open, open + step, ...`
strictly before `end` (the close, or "now" for a session in progress). A bucket start is
present when a bar's `ts` equals it. A gap is a maximal run of missing bucket starts inside
one session, reported as `(start, end, count)` where `end` is the LAST missing bucket start
(inclusive). `quality = 100 * present / expected`.
"""

import numpy as np

from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport free, realloc

from mismartera.ext._args cimport check_sessions
from mismartera.ext._args cimport f64_array, ns_array
from mismartera.ext._numeric cimport is_finite, max_of, min_of


def _check_step(int64_t step_ns):
    if step_ns <= 0:
        raise ValueError(f"step_ns must be positive, got {step_ns}")


cdef Py_ssize_t _first_decreasing(const int64_t[::1] ts) noexcept nogil:
    """Index of the first ts[i] < ts[i-1], or -1 when sorted."""
    cdef Py_ssize_t i, n = ts.shape[0]
    cdef bint bad = False
    for i in range(1, n):  # branch-free scan (vectorises)
        bad |= ts[i] < ts[i - 1]
    if not bad:
        return -1
    for i in range(1, n):
        if ts[i] < ts[i - 1]:
            return i
    return -1


cdef inline int64_t _n_steps(int64_t open_ns, int64_t end_ns, int64_t step) noexcept nogil:
    """How many bucket starts open + k*step lie in [open_ns, end_ns)."""
    if end_ns <= open_ns:
        return 0
    return (end_ns - open_ns - 1) // step + 1


def quality(present, expected):
    """`100 * present / expected`; 100.0 when nothing is expected."""
    if expected <= 0:
        return 100.0
    return 100.0 * present / expected


_quality = quality


def expected_count(session_opens, session_ends, int64_t step_ns):
    """How many bucket starts the sessions `[open, end)` expect in all."""
    _check_step(step_ns)
    cdef const int64_t[::1] opens = ns_array("session_opens", session_opens)
    cdef const int64_t[::1] ends = ns_array("session_ends", session_ends)
    check_sessions(opens, ends, "session_ends", False)
    cdef Py_ssize_t s
    cdef int64_t total = 0
    for s in range(opens.shape[0]):
        total += _n_steps(opens[s], ends[s], step_ns)
    return total


# ---------------------------------------------------------------------------------------
# find_gaps

cdef Py_ssize_t _find_gaps(
    const int64_t[::1] ts,
    const int64_t[::1] opens,
    const int64_t[::1] ends,
    int64_t step,
    int64_t[::1] out_start,
    int64_t[::1] out_end,
    int64_t[::1] out_count,
) noexcept nogil:
    cdef Py_ssize_t n = ts.shape[0], ns = opens.shape[0], i = 0, s, m = 0
    cdef int64_t t, s_open, s_end, expect, d, k
    for s in range(ns):
        s_open = opens[s]
        s_end = ends[s]
        while i < n and ts[i] < s_open:
            i += 1
        expect = s_open  # the next bucket start not yet seen
        while i < n:
            t = ts[i]
            if t >= s_end:
                break
            i += 1
            if t == expect:  # the common case: the next bucket is present
                expect += step
                continue
            if t < expect:  # a repeat, or off the grid before the next bucket
                continue
            d = t - expect
            if d % step:  # off the grid
                continue
            k = d // step
            out_start[m] = expect
            out_end[m] = t - step
            out_count[m] = k
            m += 1
            expect = t + step
        if expect < s_end:
            k = _n_steps(expect, s_end, step)
            out_start[m] = expect
            out_end[m] = expect + (k - 1) * step
            out_count[m] = k
            m += 1
    return m


def find_gaps(ts, session_opens, session_ends, int64_t step_ns):
    """Maximal runs of missing bucket starts, per session `[open, end)`.

    `ts` sorted; bars off the grid or outside every session are ignored. `session_ends` may
    be the closes, or "now" for a session in progress. Returns int64 arrays
    `(starts, ends, counts)`: first missing bucket start, LAST missing bucket start
    (inclusive) and number of missing buckets of each run. Runs never span sessions.
    """
    _check_step(step_ns)
    cdef const int64_t[::1] t = ns_array("ts", ts)
    cdef const int64_t[::1] opens = ns_array("session_opens", session_opens)
    cdef const int64_t[::1] ends = ns_array("session_ends", session_ends)
    check_sessions(opens, ends, "session_ends", False)
    cdef Py_ssize_t bad
    with nogil:
        bad = _first_decreasing(t)
    if bad >= 0:
        raise ValueError(
            f"ts must be sorted: ts[{bad}] = {t[bad]} < ts[{bad - 1}] = {t[bad - 1]}"
        )
    # each session has at most one run more than it has present buckets
    cdef Py_ssize_t cap = t.shape[0] + opens.shape[0]
    out = [np.empty(cap, np.int64) for _ in range(3)]
    cdef int64_t[::1] o_start = out[0], o_end = out[1], o_count = out[2]
    cdef Py_ssize_t m
    with nogil:
        m = _find_gaps(t, opens, ends, step_ns, o_start, o_end, o_count)
    return tuple(a[:m].copy() for a in out)


# ---------------------------------------------------------------------------------------
# classify

cdef inline Py_ssize_t _session_of(
    const int64_t[::1] opens, const int64_t[::1] closes, int64_t t, Py_ssize_t hint
) noexcept nogil:
    """Index of the session `[open, close)` holding t, or -1; `hint` is tried first."""
    cdef Py_ssize_t ns = opens.shape[0], lo = 0, hi, mid
    if 0 <= hint < ns and opens[hint] <= t < closes[hint]:
        return hint
    if 0 <= hint + 1 < ns and opens[hint + 1] <= t < closes[hint + 1]:
        return hint + 1
    hi = ns  # the last session with open <= t: bisect over opens
    while lo < hi:
        mid = (lo + hi) >> 1
        if opens[mid] <= t:
            lo = mid + 1
        else:
            hi = mid
    if lo and t < closes[lo - 1]:
        return lo - 1
    return -1


cdef inline bint _valid_bar(double o, double h, double l, double c, double v) noexcept nogil:
    if not (is_finite(o) and is_finite(h) and is_finite(l) and is_finite(c) and is_finite(v)):
        return False
    return l <= min_of(o, c) and max_of(o, c) <= h and v >= 0


def classify(
    ts, session_opens, session_closes, int64_t step_ns,
    open=None, high=None, low=None, close=None, volume=None,
):
    """Sort bars into usable and rejected, counting each reject once.

    Returns `(mask, invalid, duplicate, misaligned, outside)`: a bool mask of usable bars,
    then counts. Each bar falls in the FIRST category that applies: `outside` (not in any
    session `[open, close)`), `misaligned` (`(ts - open) % step_ns != 0`), `duplicate`
    (`ts <=` the last bar kept so far: repeats and out-of-order stamps), `invalid` (only
    when the OHLCV arrays are given: not finite, `low > min(open, close)`,
    `max(open, close) > high` or `volume < 0`). `ts` need not be sorted; sessions must be.
    """
    _check_step(step_ns)
    cdef const int64_t[::1] t = ns_array("ts", ts)
    cdef const int64_t[::1] opens = ns_array("session_opens", session_opens)
    cdef const int64_t[::1] closes = ns_array("session_closes", session_closes)
    check_sessions(opens, closes, "session_closes", True)
    cdef Py_ssize_t n = t.shape[0]
    given = [col is not None for col in (open, high, low, close, volume)]
    if any(given) and not all(given):
        raise ValueError("give all of open, high, low, close and volume, or none of them")
    cdef bint check_values = all(given)
    empty = np.empty(0, np.float64)
    cols = (
        [f64_array(name, col) for name, col in
         (("open", open), ("high", high), ("low", low), ("close", close), ("volume", volume))]
        if check_values else [empty] * 5
    )
    if check_values and any(c.shape[0] != n for c in cols):
        raise ValueError(
            "bar columns differ in length: ts, open, high, low, close, volume have "
            f"{[n] + [c.shape[0] for c in cols]}"
        )
    cdef const double[::1] o = cols[0], h = cols[1], l = cols[2], c = cols[3], v = cols[4]
    mask = np.zeros(n, np.uint8)
    cdef uint8_t[::1] keep = mask
    cdef Py_ssize_t counts[4]
    counts[0] = counts[1] = counts[2] = counts[3] = 0
    if n:
        with nogil:
            _classify(&t[0], &o[0] if check_values else NULL, &h[0] if check_values else NULL,
                      &l[0] if check_values else NULL, &c[0] if check_values else NULL,
                      &v[0] if check_values else NULL, n, opens, closes, step_ns, &keep[0],
                      counts)
    return mask.view(np.bool_), counts[0], counts[1], counts[2], counts[3]


cdef Py_ssize_t _classify(
    const int64_t* t, const double* o, const double* h, const double* l, const double* c,
    const double* v, Py_ssize_t n, const int64_t[::1] opens, const int64_t[::1] closes,
    int64_t step_ns, uint8_t* keep, Py_ssize_t* counts,
) noexcept nogil:
    """The loop of `classify`: sets keep[i] to 1 or 0 and adds to counts (invalid,
    duplicate, misaligned, outside); returns how many bars were kept. The value checks run
    only when `o` is not NULL. Shared with the session pipeline's `load`."""
    cdef Py_ssize_t i, s = -1, kept = 0
    cdef int64_t x, last = 0
    cdef bint any_kept = False
    for i in range(n):
        keep[i] = 0
        x = t[i]
        s = _session_of(opens, closes, x, s)
        if s < 0:
            counts[3] += 1
            continue
        if (x - opens[s]) % step_ns:
            counts[2] += 1
            continue
        if any_kept and x <= last:
            counts[1] += 1
            continue
        if o != NULL and not _valid_bar(o[i], h[i], l[i], c[i], v[i]):
            counts[0] += 1
            continue
        keep[i] = 1
        kept += 1
        last = x
        any_kept = True
    return kept


# ---------------------------------------------------------------------------------------
# streaming

cdef class GapTracker:
    """Gaps and quality of one symbol and interval, updated as bars arrive.

    `start_session(open, close)`, then `add(ts)` each bar's start. Bars outside the session,
    off the grid, or not after the last bar added (repeats, out-of-order stamps) are not
    counted as present; they are counted in `outside`, `misaligned` and `duplicates` (same
    rules and order as `classify`). `gaps(end)` equals `find_gaps` over the bars added so
    far with the session end `min(end, close)`; closed runs are kept, so it costs one copy.
    """


    def __cinit__(self, int64_t step_ns):
        self._runs = NULL
        self._n_runs = 0
        self._cap = 0

    def __init__(self, int64_t step_ns):
        _check_step(step_ns)
        self.step_ns = step_ns
        self._has_session = False
        self._present = self._dup = self._mis = self._out = 0

    def __dealloc__(self):
        free(self._runs)

    @property
    def session_open(self):
        """Open of the current session (ns), or None before `start_session`."""
        return self._open if self._has_session else None

    @property
    def session_close(self):
        """Close of the current session (ns), or None before `start_session`."""
        return self._close if self._has_session else None

    @property
    def present(self):
        """How many bucket starts of this session were added."""
        return self._present

    @property
    def duplicates(self):
        """Bars whose ts was not after the last bar added (repeats, out-of-order)."""
        return self._dup

    @property
    def misaligned(self):
        """In-session bars off the bucket grid."""
        return self._mis

    @property
    def outside(self):
        """Bars outside `[open, close)`."""
        return self._out

    def start_session(self, int64_t open_ns, int64_t close_ns):
        """Begin a session `[open_ns, close_ns)`; forgets the previous session's state."""
        if open_ns >= close_ns:
            raise ValueError(f"session open {open_ns} must be before its close {close_ns}")
        self._open = open_ns
        self._close = close_ns
        self._has_session = True
        self._expect = open_ns
        self._present = self._dup = self._mis = self._out = 0
        self._n_runs = 0

    cdef int _require_session(self) except -1:
        if not self._has_session:
            raise RuntimeError("GapTracker: call start_session(open, close) first")
        return 0

    cdef int _reserve(self, Py_ssize_t extra) except -1:
        cdef Py_ssize_t need = self._n_runs + extra, cap = self._cap
        cdef int64_t* grown
        if need <= cap:
            return 0
        cap = max(need, 2 * cap, 16)
        grown = <int64_t*> realloc(self._runs, 4 * cap * sizeof(int64_t))
        if grown == NULL:
            raise MemoryError("GapTracker: cannot grow the run buffer")
        self._runs = grown
        self._cap = cap
        return 0

    cdef bint _add(self, int64_t t) noexcept nogil:
        """One bar start; the caller reserved one run slot."""
        cdef int64_t d, k
        cdef int64_t* run
        if t == self._expect and t < self._close:  # the common case
            self._expect = self._expect + self.step_ns
            self._present = self._present + 1
            return True
        if t < self._open or t >= self._close:
            self._out = self._out + 1
            return False
        d = t - self._expect
        if (t - self._open) % self.step_ns:
            self._mis = self._mis + 1
            return False
        if d < 0:
            self._dup = self._dup + 1
            return False
        k = d // self.step_ns
        run = self._runs + 4 * self._n_runs
        run[0] = self._expect
        run[1] = t - self.step_ns
        run[2] = k
        run[3] = k + (self._runs[4 * self._n_runs - 1] if self._n_runs else 0)
        self._n_runs = self._n_runs + 1
        self._expect = t + self.step_ns
        self._present = self._present + 1
        return True

    def add(self, int64_t ts):
        """Add one bar start; True when it counts as a present bucket."""
        self._require_session()
        self._reserve(1)
        return self._add(ts)

    def add_many(self, ts):
        """Add many bar starts in one compiled loop; returns how many counted as present."""
        self._require_session()
        cdef const int64_t[::1] t = ns_array("ts", ts)
        cdef Py_ssize_t i, n = t.shape[0], added = 0
        # runs alternate with present buckets: at most G // 2 + 1 runs in G buckets
        cdef int64_t most = (self._close - self._open) // self.step_ns // 2 + 2 - self._n_runs
        self._reserve(min(n, most))
        with nogil:
            for i in range(n):
                added += self._add(t[i])
        return added

    cdef int64_t _end(self, int64_t end_ns) noexcept nogil:
        return end_ns if end_ns < self._close else self._close

    def expected(self, int64_t end_ns):
        """Bucket starts expected in `[open, min(end_ns, close))`."""
        self._require_session()
        return _n_steps(self._open, self._end(end_ns), self.step_ns)

    cdef Py_ssize_t _runs_before(self, int64_t end) noexcept nogil:
        """How many closed runs start before `end` (bisect: runs are sorted)."""
        cdef Py_ssize_t lo = 0, hi = self._n_runs, mid
        while lo < hi:
            mid = (lo + hi) >> 1
            if self._runs[4 * mid] < end:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def gaps(self, int64_t end_ns):
        """`(starts, ends, counts)` of the runs of missing bucket starts in
        `[open, min(end_ns, close))`, as `find_gaps` would report them."""
        self._require_session()
        cdef int64_t end = self._end(end_ns), step = self.step_ns, last_grid
        cdef Py_ssize_t i, m = self._runs_before(end)
        cdef bint tail = self._expect < end
        out = [np.empty(m + tail, np.int64) for _ in range(3)]
        cdef int64_t[::1] o_start = out[0], o_end = out[1], o_count = out[2]
        for i in range(m):
            o_start[i] = self._runs[4 * i]
            o_end[i] = self._runs[4 * i + 1]
            o_count[i] = self._runs[4 * i + 2]
        if m and o_end[m - 1] >= end:  # `end` cuts the last run short
            last_grid = self._open + ((end - 1 - self._open) // step) * step
            o_end[m - 1] = last_grid
            o_count[m - 1] = (last_grid - o_start[m - 1]) // step + 1
        if tail:
            o_start[m] = self._expect
            o_count[m] = _n_steps(self._expect, end, step)
            o_end[m] = self._expect + (o_count[m] - 1) * step
        return tuple(out)

    def missing(self, int64_t end_ns):
        """Bucket starts missing in `[open, min(end_ns, close))`."""
        self._require_session()
        cdef int64_t end = self._end(end_ns), step = self.step_ns, total = 0, last_grid
        cdef Py_ssize_t m = self._runs_before(end)
        cdef int64_t* run
        if m:
            run = self._runs + 4 * (m - 1)
            total = run[3]
            if run[1] >= end:
                last_grid = self._open + ((end - 1 - self._open) // step) * step
                total -= run[2] - ((last_grid - run[0]) // step + 1)
        if self._expect < end:
            total += _n_steps(self._expect, end, step)
        return total

    def quality(self, int64_t end_ns):
        """`100 * present / expected` over `[open, min(end_ns, close))`."""
        expected = self.expected(end_ns)
        return _quality(expected - self.missing(end_ns), expected)

    def __repr__(self):
        return (
            f"GapTracker(step_ns={self.step_ns}, session={self.session_open}.."
            f"{self.session_close}, present={self._present})"
        )
