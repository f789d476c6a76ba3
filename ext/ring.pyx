# cython: autotestdict=False
"""BarRing: a fixed-capacity columnar ring buffer of OHLCV bars.

Every column is stored twice over (mirrored): a bar written to slot i is also written to
slot i + capacity, so the last n bars are always one contiguous slice of each column and
`arrays(n)` costs one memcpy per column, whatever the ring's position. The C-level API
(`push`, `push_many`, `window_start`) is declared in ring.pxd for other Cython kernels.
"""

cimport numpy as cnp
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.number cimport PyNumber_Index
from libc.stdint cimport int64_t
from libc.string cimport memcpy

from mismartera.ext._args cimport bar_columns

cnp.import_array()

COLUMNS = ("ts", "open", "high", "low", "close", "volume")


ctypedef fused column_t:
    int64_t
    double


cdef inline void _put(column_t* col, Py_ssize_t cap, Py_ssize_t at, const column_t* src,
                      Py_ssize_t n) noexcept nogil:
    """Write n values starting at slot `at` (< cap), wrapping, into both halves of `col`."""
    cdef Py_ssize_t first = cap - at
    if first > n:
        first = n
    memcpy(col + at, src, first * sizeof(column_t))
    memcpy(col + at + cap, src, first * sizeof(column_t))
    if n > first:
        memcpy(col, src + first, (n - first) * sizeof(column_t))
        memcpy(col + cap, src + first, (n - first) * sizeof(column_t))


cdef class BarRing:
    """Fixed-capacity ring of OHLCV bars in six columns (ts int64; OHLCV float64).

    Appending to a full ring evicts the oldest bar and counts it in `evicted`. The ring
    stores what it is given: validating bars and their order is the caller's business.
    Not thread-safe; guard it with the owner's lock.
    """

    def __cinit__(self, Py_ssize_t capacity):
        if capacity <= 0:
            raise ValueError(f"BarRing capacity must be a positive integer, got {capacity}")
        if capacity > (<Py_ssize_t>1 << 40):
            raise ValueError(f"BarRing capacity {capacity} is too large")
        cdef Py_ssize_t span = 2 * capacity
        self._block = PyMem_Malloc(6 * span * sizeof(double))
        if self._block == NULL:
            raise MemoryError(f"cannot allocate a BarRing of capacity {capacity}")
        self.capacity = capacity
        self._ts = <int64_t*>self._block
        self._open = <double*>self._block + span
        self._high = self._open + span
        self._low = self._high + span
        self._close = self._low + span
        self._volume = self._close + span
        self.reset()

    def __dealloc__(self):
        PyMem_Free(self._block)

    # ---- C API (see ring.pxd) ------------------------------------------------------------

    cdef void push(self, int64_t ts, double o, double h, double l, double c,
                   double v) noexcept nogil:
        cdef Py_ssize_t i = self._head
        cdef Py_ssize_t j = i + self.capacity
        self._ts[i] = ts
        self._ts[j] = ts
        self._open[i] = o
        self._open[j] = o
        self._high[i] = h
        self._high[j] = h
        self._low[i] = l
        self._low[j] = l
        self._close[i] = c
        self._close[j] = c
        self._volume[i] = v
        self._volume[j] = v
        i += 1
        self._head = 0 if i == self.capacity else i
        if self._size == self.capacity:
            self.evicted += 1
        else:
            self._size += 1

    cdef void push_many(self, const int64_t* ts, const double* o, const double* h,
                        const double* l, const double* c, const double* v,
                        Py_ssize_t n) noexcept nogil:
        cdef Py_ssize_t cap = self.capacity
        cdef Py_ssize_t skip = 0
        cdef Py_ssize_t held, i
        if n <= 0:
            return
        if n <= 4 and n < cap:  # a bar or a few (bar-by-bar stepping): no memcpy calls
            for i in range(n):
                self.push(ts[i], o[i], h[i], l[i], c[i], v[i])
            return
        if n >= cap:
            skip = n - cap              # only the last `cap` inputs survive
            self.evicted += self._size + skip
            self._head = 0
            self._size = 0
            n = cap
        held = self._size + n
        if held > cap:
            self.evicted += held - cap
            held = cap
        _put(self._ts, cap, self._head, ts + skip, n)
        _put(self._open, cap, self._head, o + skip, n)
        _put(self._high, cap, self._head, h + skip, n)
        _put(self._low, cap, self._head, l + skip, n)
        _put(self._close, cap, self._head, c + skip, n)
        _put(self._volume, cap, self._head, v + skip, n)
        self._head = (self._head + n) % cap
        self._size = held

    cdef Py_ssize_t window_start(self, Py_ssize_t n) noexcept nogil:
        if n > self._size:
            n = self._size
        return self._head + self.capacity - n

    cdef void reset(self) noexcept nogil:
        self._head = 0
        self._size = 0
        self.evicted = 0

    # ---- Python API ----------------------------------------------------------------------

    def append(self, int64_t ts, double open, double high, double low, double close,
               double volume, /):
        """Append one bar (positional arguments only); when full, the oldest is evicted."""
        self.push(ts, open, high, low, close, volume)

    def extend(self, ts, open, high, low, close, volume):
        """Append equal-length arrays of bars in time order.

        Only the last `capacity` bars are kept when more are given; every bar pushed out
        (old or new) counts in `evicted`.
        """
        cdef cnp.ndarray t, o, h, l, c, v
        t, o, h, l, c, v = bar_columns(ts, open, high, low, close, volume)
        cdef Py_ssize_t n = t.shape[0]
        if n == 0:
            return
        # A view of this ring given as input would be overwritten while being read: copy it.
        if _aliases(self, t):
            t = t.copy()
        if _aliases(self, o):
            o = o.copy()
        if _aliases(self, h):
            h = h.copy()
        if _aliases(self, l):
            l = l.copy()
        if _aliases(self, c):
            c = c.copy()
        if _aliases(self, v):
            v = v.copy()
        self.push_many(
            <const int64_t*>cnp.PyArray_DATA(t),
            <const double*>cnp.PyArray_DATA(o),
            <const double*>cnp.PyArray_DATA(h),
            <const double*>cnp.PyArray_DATA(l),
            <const double*>cnp.PyArray_DATA(c),
            <const double*>cnp.PyArray_DATA(v),
            n,
        )

    def clear(self):
        """Drop every bar and reset `evicted` to 0: the ring is as new."""
        self.reset()

    def __len__(self):
        return self._size

    def __bool__(self):
        return self._size > 0

    def __repr__(self):
        return f"BarRing(capacity={self.capacity}, len={self._size}, evicted={self.evicted})"

    def __reduce__(self):
        return (_rebuild, (self.capacity, self.evicted, self.arrays()))

    def last(self):
        """The newest bar as (ts, open, high, low, close, volume); IndexError when empty."""
        if self._size == 0:
            raise IndexError("last() on an empty BarRing")
        cdef Py_ssize_t i = self._head + self.capacity - 1
        return (self._ts[i], self._open[i], self._high[i], self._low[i], self._close[i],
                self._volume[i])

    @property
    def ts_last(self):
        """Start timestamp (ns) of the newest bar; IndexError when empty."""
        if self._size == 0:
            raise IndexError("ts_last of an empty BarRing")
        return self._ts[self._head + self.capacity - 1]

    def arrays(self, n=None, bint copy=True):
        """The last n bars (all when n is None or n > len) as six arrays, oldest first.

        Returns (ts, open, high, low, close, volume), each 1-D and C-contiguous. With
        copy=False they are read-only views into the ring, valid only until its next
        mutation (append, extend, clear): read them at once or copy.
        """
        cdef Py_ssize_t k = _count(self, n)
        cdef Py_ssize_t start = self.window_start(k)
        return (
            _column(self, 0, start, k, copy),
            _column(self, 1, start, k, copy),
            _column(self, 2, start, k, copy),
            _column(self, 3, start, k, copy),
            _column(self, 4, start, k, copy),
            _column(self, 5, start, k, copy),
        )

    def column(self, str name, n=None, bint copy=True):
        """One column ("ts", "open", "high", "low", "close" or "volume") of the last n bars.

        Same rules as `arrays()`.
        """
        try:
            which = COLUMNS.index(name)
        except ValueError:
            raise ValueError(
                f"BarRing: unknown column {name!r}; expected one of {', '.join(COLUMNS)}"
            ) from None
        cdef Py_ssize_t k = _count(self, n)
        return _column(self, which, self.window_start(k), k, copy)


cdef bint _aliases(BarRing ring, cnp.ndarray arr) noexcept:
    """Whether `arr` points into the ring's own storage."""
    cdef char* p = <char*>cnp.PyArray_DATA(arr)
    cdef char* lo = <char*>ring._block
    return lo <= p < lo + 12 * ring.capacity * sizeof(double)


cdef Py_ssize_t _count(BarRing ring, object n) except -1:
    """How many of the newest bars a window of `n` (None = all) covers."""
    if n is None:
        return ring._size
    k = PyNumber_Index(n)           # TypeError for floats and other non-integers
    if k < 0:
        raise ValueError(f"BarRing: n must be >= 0 or None, got {n}")
    return ring._size if k >= ring._size else <Py_ssize_t>k


cdef object _column(BarRing ring, int which, Py_ssize_t start, Py_ssize_t k, bint copy):
    """Column `which` (index into COLUMNS), slots [start, start + k), copied or viewed."""
    cdef void* src
    cdef int typenum
    cdef cnp.npy_intp dims = k
    cdef cnp.ndarray out
    if which == 0:
        src = ring._ts + start
        typenum = cnp.NPY_INT64
    else:
        src = ring._open + (which - 1) * 2 * ring.capacity + start
        typenum = cnp.NPY_FLOAT64
    if copy:
        out = cnp.PyArray_SimpleNew(1, &dims, typenum)
        memcpy(cnp.PyArray_DATA(out), src, k * sizeof(double))
    else:
        # The base is the ring itself (no buffer protocol), so numpy refuses to make the
        # view writeable again, and the ring outlives every view of it.
        out = cnp.PyArray_SimpleNewFromData(1, &dims, typenum, src)
        cnp.PyArray_CLEARFLAGS(out, cnp.NPY_ARRAY_WRITEABLE)
        cnp.set_array_base(out, ring)
    return out


def _rebuild(Py_ssize_t capacity, int64_t evicted, tuple columns):
    """Unpickle a BarRing."""
    cdef BarRing ring = BarRing(capacity)
    ring.extend(*columns)
    ring.evicted = evicted
    return ring
