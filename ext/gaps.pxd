from libc.stdint cimport int64_t, uint8_t


cdef Py_ssize_t _classify(
    const int64_t* t, const double* o, const double* h, const double* l, const double* c,
    const double* v, Py_ssize_t n, const int64_t[::1] opens, const int64_t[::1] closes,
    int64_t step_ns, uint8_t* keep, Py_ssize_t* counts,
) noexcept nogil


cdef class GapTracker:
    cdef readonly int64_t step_ns
    cdef int64_t _open, _close
    cdef bint _has_session
    cdef int64_t _expect        # the next bucket start after the last present one
    cdef Py_ssize_t _present, _dup, _mis, _out
    cdef int64_t* _runs         # closed runs: start, end, count, cumulative count
    cdef Py_ssize_t _n_runs, _cap

    cdef int _require_session(self) except -1
    cdef int _reserve(self, Py_ssize_t extra) except -1
    cdef bint _add(self, int64_t t) noexcept nogil
    cdef int64_t _end(self, int64_t end_ns) noexcept nogil
    cdef Py_ssize_t _runs_before(self, int64_t end) noexcept nogil
