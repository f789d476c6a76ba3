# C-level interface of the streaming kernels, for compiled code that advances many of them
# without Python calls (`mismartera.ext.indicator_bank`).
#
#     from mismartera.ext.kernels cimport Stream
#
#     cdef Stream k = kernels.SMA(20)
#     cdef const double* ins[1]
#     cdef double* outs[1]
#     ins[0] = close; outs[0] = out
#     with nogil:
#         k.feed(ins, n, outs)
#
# Every streaming class (SMA, EMA, RSI, ATR, VWAP, BBands, MACD, RollingSum, RollingStd,
# RollingMax, RollingMin) is a Stream.

cdef class Stream:
    cdef readonly tuple inputs      # names of the input columns, in the order feed takes them
    cdef readonly tuple outputs     # names of the output columns, in the order feed fills them
    cdef Py_ssize_t n_in
    cdef Py_ssize_t n_out

    # Set inputs and outputs (each subclass's __cinit__ calls it).
    cdef void _io(self, tuple inputs, tuple outputs)

    # Feed n rows: ins[j][i] is input column j at row i; writes outs[k][i] for every output
    # k, exactly what n calls of `update` return.
    cdef void feed(self, const double** ins, Py_ssize_t n, double** outs) noexcept nogil
    # Forget every value fed so far (Python: `reset()`).
    cdef void clear(self) noexcept nogil
