# cython: auto_pickle=False, autotestdict=False
"""Build check: another extension module cimports BarRing and Stream and drives their C API.

Compiled like every ext/*.pyx; tests/test_ext_cimport.py calls it. It proves that
`from mismartera.ext.ring cimport BarRing` resolves at compile time and that the type
imports as `mismartera.ext.ring.BarRing` at run time; `NoFeed` and `NoClear` are Stream
subclasses that forget a method, which every user of a kernel refuses. Not public API.
"""

from libc.stdint cimport int64_t

from mismartera.ext.kernels cimport Stream
from mismartera.ext.ring cimport BarRing


cdef class NoFeed(Stream):
    """A kernel that sets its inputs and outputs but overrides neither feed nor clear."""

    def __cinit__(self):
        self._io(("x",), ("value",), 3, 3)


cdef class NoClear(Stream):
    """A kernel that overrides feed (a copy of its input) but not clear."""

    def __cinit__(self):
        self._io(("x",), ("value",), 0, 0)

    cdef void feed(self, const double** ins, Py_ssize_t n, double** outs) noexcept nogil:
        cdef Py_ssize_t i
        for i in range(n):
            outs[0][i] = ins[0][i]


def push_ramp(BarRing ring, int64_t start, int64_t step, Py_ssize_t n):
    """Push n bars without the GIL: bar i has ts start + i * step and close i."""
    cdef Py_ssize_t i
    cdef double x
    with nogil:
        for i in range(n):
            x = <double>i
            ring.push(start + i * step, x, x + 1.0, x - 1.0, x, 10.0 * x)


def push_block(BarRing ring, const int64_t[::1] ts, const double[::1] open,
               const double[::1] high, const double[::1] low, const double[::1] close,
               const double[::1] volume):
    """Push equal-length arrays of bars through the bulk C call, without the GIL."""
    cdef Py_ssize_t n = ts.shape[0]
    if not (open.shape[0] == high.shape[0] == low.shape[0] == close.shape[0]
            == volume.shape[0] == n):
        raise ValueError("push_block: columns differ in length")
    if n == 0:
        return
    with nogil:
        ring.push_many(&ts[0], &open[0], &high[0], &low[0], &close[0], &volume[0], n)


def close_sum(BarRing ring, Py_ssize_t n):
    """Sum of the close of the last n bars, read straight from the ring's C buffer."""
    cdef Py_ssize_t start = ring.window_start(n)
    cdef Py_ssize_t stop = ring.window_start(0)
    cdef Py_ssize_t i
    cdef double total = 0.0
    with nogil:
        for i in range(start, stop):
            total += ring._close[i]
    return total
