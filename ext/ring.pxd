# C-level interface of BarRing, for Cython kernels that append bars without Python calls.
#
#     from mismartera.ext.ring cimport BarRing
#
#     cdef BarRing ring = BarRing(390)
#     with nogil:
#         ring.push(ts, o, h, l, c, v)
#
# Storage is mirrored: every column holds 2 * capacity values and each bar is written at
# slot i and at slot i + capacity, so the last n bars always sit in one contiguous run
# starting at `window_start(n)` of every column (`_ts`, `_open`, ... below). Those pointers
# are valid for the ring's whole life; what they hold changes with every push.

from libc.stdint cimport int64_t


cdef class BarRing:
    cdef readonly Py_ssize_t capacity
    cdef readonly int64_t evicted   # bars pushed out since creation or the last clear()
    cdef Py_ssize_t _head           # next write slot, in [0, capacity)
    cdef Py_ssize_t _size           # bars held, in [0, capacity]
    cdef void* _block               # one allocation holding the six mirrored columns
    cdef int64_t* _ts
    cdef double* _open
    cdef double* _high
    cdef double* _low
    cdef double* _close
    cdef double* _volume

    # Append one bar, evicting the oldest when full.
    cdef void push(self, int64_t ts, double o, double h, double l, double c,
                   double v) noexcept nogil
    # Append n bars in time order (only the last `capacity` are kept). The inputs must not
    # point into this ring's own storage.
    cdef void push_many(self, const int64_t* ts, const double* o, const double* h,
                        const double* l, const double* c, const double* v,
                        Py_ssize_t n) noexcept nogil
    # Index in every column where the last min(n, len) bars start, oldest first.
    cdef Py_ssize_t window_start(self, Py_ssize_t n) noexcept nogil
    # Drop every bar and zero `evicted`.
    cdef void reset(self) noexcept nogil
