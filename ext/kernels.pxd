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

cdef enum:
    MAX_COLUMNS = 4     # the most inputs or outputs any kernel has


cdef class Stream:
    cdef readonly tuple inputs      # names of the input columns, in the order feed takes them
    cdef readonly tuple outputs     # names of the output columns, in the order feed fills them
    cdef Py_ssize_t n_in
    cdef Py_ssize_t n_out
    cdef Py_ssize_t _period         # the window or smoothing period; 0: none (VWAP, MACD)
    cdef Py_ssize_t _warmup         # values fed until `ready` (0: the subclass defines ready)
    cdef int _missing               # the base feed or clear ran: not overridden
    cdef bint _probed               # require_kernel has probed feed

    # Set inputs, outputs, period and warm-up (each subclass's __cinit__ or __init__ calls it).
    cdef void _io(self, tuple inputs, tuple outputs, Py_ssize_t period, Py_ssize_t warmup)

    # Feed n rows: ins[j][i] is input column j at row i; writes outs[k][i] for every output
    # k, exactly what n calls of `update` return. Feeding 0 rows changes nothing. A subclass
    # must override it: the base one writes NaN and marks the kernel incomplete.
    cdef void feed(self, const double** ins, Py_ssize_t n, double** outs) noexcept nogil
    # Forget every value fed so far (Python: `reset()`). A subclass must override it too.
    cdef void clear(self) noexcept nogil
    # Values fed since the last clear (what `ready` compares with the warm-up).
    cdef Py_ssize_t _count(self) noexcept nogil
    # (name, value) pairs the repr shows; default: the period, if any.
    cdef tuple _params(self)
    # TypeError, naming what is missing, unless this is a complete kernel (`_io` called; feed
    # and clear overridden). With the GIL, before feeding it: `update_many` and
    # `KernelBank.add` call it, and `reset()` after clearing.
    cdef int require_kernel(self) except -1
