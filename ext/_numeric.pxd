# Numeric primitives shared by the compiled kernels (kernels, aggregate, gaps): compensated
# sums, min/max with one tie and NaN rule, NaN and finiteness tests. Inline functions and a
# struct only, so cimporting this imports no module at run time.
#
#     from mismartera.ext._numeric cimport CSum, csum_add, max_of

from libc.math cimport isfinite


# ---------------------------------------------------------------------- compensated sum

cdef struct CSum:
    double hi   # the running sum as computed
    double lo   # the sum of the exact rounding errors of the additions to hi


cdef inline void csum_clear(CSum* a) noexcept nogil:
    a.hi = 0.0
    a.lo = 0.0


cdef inline void csum_add(CSum* a, double x) noexcept nogil:
    """a += x; the rounding error of the addition (TwoSum, exact) goes into a.lo."""
    cdef double t = a.hi + x
    cdef double z = t - a.hi
    a.lo += (a.hi - (t - z)) + (x - z)
    a.hi = t


cdef inline double csum_get(const CSum* a) noexcept nogil:
    return a.hi + a.lo


# ------------------------------------------------------------------------- min and max
#
# `a if a > b else b`, not fmax: b on ties and whenever either is NaN. Every kernel relies on
# this rule (a NaN accumulator stays NaN; a NaN input leaves the accumulator as it was).

cdef inline double max_of(double a, double b) noexcept nogil:
    return a if a > b else b


cdef inline double min_of(double a, double b) noexcept nogil:
    return a if a < b else b


cdef inline double best_of(double a, double b, bint is_min) noexcept nogil:
    """min_of(a, b) if is_min else max_of(a, b)."""
    if is_min:
        return min_of(a, b)
    return max_of(a, b)


# ------------------------------------------------------------------------------- tests

cdef inline bint is_nan(double x) noexcept nogil:
    return x != x


cdef inline bint is_finite(double x) noexcept nogil:
    return isfinite(x)
