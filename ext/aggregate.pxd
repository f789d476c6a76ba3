from libc.stdint cimport int64_t


ctypedef struct Bar:
    int64_t ts
    double o
    double h
    double l
    double c
    double v


cdef class StreamingAggregator:
    cdef readonly int64_t base_ns
    cdef readonly int64_t interval_ns
    cdef int64_t _open, _close
    cdef bint _has_session
    cdef int64_t _last_ts      # last accepted base bar ts (order check)
    cdef int64_t _hint         # bucket start of the last accepted base bar
    cdef int64_t _emitted_end  # bucket end of the last closed bar (open if none yet)
    cdef bint _has_forming
    cdef Bar _forming
    cdef int64_t _forming_end
    cdef Bar* _closed
    cdef Py_ssize_t _n_closed, _cap
    cdef Py_ssize_t _late

    cdef int _reserve(self, Py_ssize_t extra) except -1
    cdef int _require_session(self) except -1
    cdef void _emit(self) noexcept nogil
    cdef int _update(self, int64_t t, double o, double h, double l, double c, double v) noexcept nogil
