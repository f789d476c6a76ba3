# cython: auto_pickle=False
"""The compiled indicators of one symbol at one interval, advanced together.

A `KernelBank` holds streaming kernels (`mismartera.ext.kernels.Stream`), each reading some
of the bar fields. One call advances all of them over the bars that just closed, in one
nogil loop per kernel, and keeps every kernel's values of the session in its own growing
buffer: no Python call per kernel and no array allocated per chunk. The session runs every
indicator whose class implements `kernel()` through a bank (see
`mismartera.session.indicators.symbol_set`).

A kernel's state carries from one session to the next. At its first appearance: `restart()`,
then `seed(...)` with the historical bars (each kernel gets its last `lookback` bars before
the anchor day, within its last `seed_days` days before it, and every bar from the anchor on;
not recorded). Every session: `new_session()` (the recorded values start afresh; a
per-session kernel, such as VWAP, is cleared), then `advance(ring, n)` as the interval
closes bars (recorded). Values equal the kernels' own `update_many`.
"""

cimport cython
from libc.math cimport NAN
from libc.stdint cimport int64_t

from mismartera.ext._args cimport f64_array, int_array
from mismartera.ext.kernels cimport MAX_COLUMNS, Stream
from mismartera.ext.ring cimport BarRing

import numpy as np

cimport numpy as cnp

cnp.import_array()

ctypedef Py_ssize_t isize

FIELDS = ("open", "high", "low", "close", "volume")
"""The bar fields a kernel may read, by index (what `add` takes)."""


@cython.final
cdef class _Entry:
    """One kernel: what it reads, how much it has seen, and its recorded values."""

    cdef Stream kernel
    cdef int fields[MAX_COLUMNS]
    cdef isize n_in, n_out, lookback, seed_days
    cdef bint per_session   # cleared at every session start, never seeded
    cdef isize count        # bars fed since the restart, seed included
    cdef isize recorded     # of which recorded (session bars)
    cdef isize capacity     # recorded values the buffer holds
    cdef object values      # float64 (n_out, capacity)
    cdef double* data       # its data: output k at row k * capacity
    cdef double last[MAX_COLUMNS]

    cdef int reserve(self, isize n) except -1:
        """Room for n more values after the recorded ones."""
        cdef isize want = self.recorded + n
        cdef isize size
        if want <= self.capacity:
            return 0
        size = max(want, 2 * self.capacity, 16)
        grown = np.empty((self.n_out, size), dtype=np.float64)
        if self.recorded:
            grown[:, :self.recorded] = self.values[:, :self.recorded]
        self._hold(grown)
        return 0

    cdef void _hold(self, object values):
        cdef double[:, ::1] view = values
        self.values = values
        self.capacity = values.shape[1]
        self.data = &view[0, 0]

    cdef void run(self, const double** cols, isize lo, isize n, bint record) noexcept nogil:
        """Feed rows lo .. lo + n - 1 of the bar columns; room must be reserved."""
        cdef const double* ins[MAX_COLUMNS]
        cdef double* outs[MAX_COLUMNS]
        cdef isize j
        if n <= 0:
            return
        for j in range(self.n_in):
            ins[j] = cols[self.fields[j]] + lo
        for j in range(self.n_out):
            outs[j] = self.data + j * self.capacity + self.recorded
        self.kernel.feed(ins, n, outs)
        for j in range(self.n_out):
            self.last[j] = outs[j][n - 1]
        self.count += n
        if record:
            self.recorded += n


@cython.final
cdef class KernelBank:
    """Streaming kernels over the bars of one interval, advanced together."""

    cdef list _entries
    cdef isize _capacity

    def __cinit__(self, Py_ssize_t capacity=0):
        self._entries = []
        self._capacity = capacity if capacity > 0 else 0

    def __len__(self):
        return len(self._entries)

    def add(self, Stream kernel, fields, Py_ssize_t lookback=1, Py_ssize_t seed_days=0,
            bint per_session=False) -> int:
        """Add `kernel`, reading the bar fields `fields` (names from FIELDS, one per kernel
        input, in order); `lookback` is how many seed bars before the anchor it takes, from
        the last `seed_days` historical days before it (0: never seeded); a `per_session`
        kernel is never seeded and starts afresh every session. Returns its index."""
        cdef _Entry e = _Entry()
        cdef isize j
        kernel.require_kernel()
        names = tuple(fields)
        if len(names) != kernel.n_in:
            raise ValueError(f"{kernel!r} reads {kernel.n_in} fields "
                             f"({', '.join(kernel.inputs)}), got {len(names)}: {names!r}")
        for j, name in enumerate(names):
            if name not in FIELDS:
                raise ValueError(f"unknown bar field {name!r}; expected one of "
                                 f"{', '.join(FIELDS)}")
            e.fields[j] = FIELDS.index(name)
        e.kernel = kernel
        e.n_in = kernel.n_in
        e.n_out = kernel.n_out
        e.lookback = max(lookback, 1)
        e.per_session = per_session
        e.seed_days = 0 if per_session else max(seed_days, 0)
        e._hold(np.empty((e.n_out, max(self._capacity, 16)), dtype=np.float64))
        self._clear(e)
        kernel.require_kernel()     # now that clear ran: is it overridden too?
        self._entries.append(e)
        return len(self._entries) - 1

    cdef void _clear(self, _Entry e) noexcept:
        cdef isize j
        e.kernel.clear()
        e.count = 0
        e.recorded = 0
        for j in range(e.n_out):
            e.last[j] = NAN

    def restart(self):
        """A first appearance: every kernel cleared, nothing seen, nothing recorded."""
        cdef _Entry e
        for e in self._entries:
            self._clear(e)

    def new_session(self):
        """A new session: nothing recorded yet; per-session kernels cleared, every other
        kernel keeps its state."""
        cdef _Entry e
        for e in self._entries:
            if e.per_session:
                self._clear(e)
            e.recorded = 0

    def seed(self, open, high, low, close, volume, day_index, Py_ssize_t anchor=-1):
        """Feed each kernel, without recording, its last `lookback` bars before the anchor
        day that fall within its last `seed_days` days before it, then every bar from the
        anchor day on. `day_index` holds the row where each day starts, and one past the
        last row (len(days) + 1 values); `anchor` is a day's position (default, or -1: one
        past the last day, so the seed is the last `lookback` bars)."""
        cdef const double* cols[5]
        cdef _Entry e
        cdef isize end, days, first, lo, at
        cdef cnp.ndarray index = int_array("day_index", day_index)
        cdef const int64_t* starts = <const int64_t*>cnp.PyArray_DATA(index)
        days = index.shape[0] - 1
        if days <= 0:
            return
        if anchor < 0 or anchor > days:
            if anchor != -1:
                raise ValueError(f"anchor must be a day position in 0..{days}, got {anchor}")
            anchor = days
        end = starts[days]
        if end <= 0:
            return
        at = starts[anchor]
        held = _pointers(open, high, low, close, volume, end, cols)
        for e in self._entries:
            if e.seed_days <= 0:
                continue
            first = starts[max(0, anchor - e.seed_days)]
            lo = max(first, at - e.lookback)
            e.reserve(end - lo)
            e.run(cols, lo, end - lo, False)

    def feed(self, open, high, low, close, volume):
        """Advance every kernel over the given bars (recorded)."""
        cdef const double* cols[5]
        cdef _Entry e
        cdef isize n = len(open)
        if n == 0:
            return
        held = _pointers(open, high, low, close, volume, n, cols)
        for e in self._entries:
            e.reserve(n)
            e.run(cols, 0, n, True)

    def advance(self, BarRing ring, Py_ssize_t n):
        """Advance every kernel over the last `n` bars of `ring` (recorded)."""
        cdef const double* cols[5]
        cdef _Entry e
        cdef isize start
        if n > ring._size:
            n = ring._size
        if n <= 0:
            return
        start = ring.window_start(n)
        cols[0] = ring._open
        cols[1] = ring._high
        cols[2] = ring._low
        cols[3] = ring._close
        cols[4] = ring._volume
        for e in self._entries:
            e.reserve(n)
            e.run(cols, start, n, True)

    # --- reading ---------------------------------------------------------------------------

    cdef _Entry _at(self, Py_ssize_t i):
        if not 0 <= i < len(self._entries):
            raise IndexError(f"no kernel {i} in a bank of {len(self._entries)}")
        return <_Entry>self._entries[i]

    def kernel(self, Py_ssize_t i):
        """The kernel at index i."""
        return self._at(i).kernel

    def count(self, Py_ssize_t i) -> int:
        """Bars kernel i has seen since the restart, seed bars included."""
        return self._at(i).count

    def recorded(self, Py_ssize_t i) -> int:
        """Session bars kernel i has seen (values recorded)."""
        return self._at(i).recorded

    def last(self, Py_ssize_t i) -> tuple:
        """Kernel i's values at the last bar it saw (NaN before any)."""
        cdef _Entry e = self._at(i)
        return tuple(e.last[j] for j in range(e.n_out))

    def value(self, Py_ssize_t i, Py_ssize_t output=0, Py_ssize_t ago=0, Py_ssize_t warmup=1):
        """Kernel i's value of output `output` `ago` bars before its last one, NaN when
        kernel i had then seen fewer than `warmup` bars, or when `ago` reaches before this
        session's first recorded value (ago 0: the last value, seed included)."""
        cdef _Entry e = self._at(i)
        if not 0 <= output < e.n_out:
            raise IndexError(f"kernel {i} has {e.n_out} outputs, not {output + 1}")
        if ago < 0:
            raise ValueError(f"ago must be >= 0, got {ago}")
        if e.count - ago < warmup or e.count == 0:
            return NAN
        if ago == 0:
            return e.last[output]
        if ago >= e.recorded:
            return NAN
        return e.data[output * e.capacity + e.recorded - 1 - ago]

    def history(self, Py_ssize_t i, Py_ssize_t output=0):
        """Kernel i's recorded values of output `output` (a new array)."""
        cdef _Entry e = self._at(i)
        if not 0 <= output < e.n_out:
            raise IndexError(f"kernel {i} has {e.n_out} outputs, not {output + 1}")
        return e.values[output, :e.recorded].copy()

    def __repr__(self):
        return f"KernelBank({len(self._entries)} kernels)"


cdef tuple _pointers(object open, object high, object low, object close, object volume,
                     isize n, const double** cols):
    """Data pointers of the five bar columns, each at least n float64 values; returns the
    arrays the pointers point into (keep them while the pointers are used)."""
    held = (_column(open, n, 0), _column(high, n, 1), _column(low, n, 2),
            _column(close, n, 3), _column(volume, n, 4))
    cdef isize j
    for j in range(5):
        cols[j] = <const double*>cnp.PyArray_DATA(<cnp.ndarray>held[j])
    return held


cdef cnp.ndarray _column(object given, isize n, int j):
    cdef cnp.ndarray arr = f64_array(FIELDS[j], given)
    if arr.shape[0] < n:
        raise ValueError(f"{FIELDS[j]} must be a one-dimensional array of at least {n} "
                         f"values, got shape {np.shape(given)}")
    return arr
