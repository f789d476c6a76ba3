# Argument coercion and checks shared by every extension: each array argument goes through
# here, so a bad argument is reported with the same words whichever kernel takes it.
#
#     from mismartera.ext._args cimport f64_array, ns_array
#
# An argument that already is what the kernel needs (an exact 1-d, aligned, native-order,
# C-contiguous ndarray of the right dtype) is returned as it is, checked in C; anything else
# goes through numpy's conversion and is checked there.

cimport numpy as cnp
from libc.stdint cimport int64_t

# `values` as a 1-d contiguous float64 array (ValueError naming `name` otherwise).
cdef cnp.ndarray f64_array(str name, object values)
# `values` as a 1-d contiguous int64 array of nanoseconds: integers; datetime64 converted to ns.
cdef cnp.ndarray ns_array(str name, object values)
# `values` as a 1-d contiguous int64 array of integers (ids, row indexes): integers and bools;
# datetime64 and timedelta64 viewed as their int64 counts.
cdef cnp.ndarray int_array(str name, object values)
# The six bar columns (ts, open, high, low, close, volume) coerced; ValueError unless they
# have one length.
cdef tuple bar_columns(object ts, object open, object high, object low, object close,
                       object volume)
# ValueError unless `other` has as many values as `first`.
cdef int same_length(object first, str first_name, object other, str other_name) except -1
# ValueError unless the sessions are sorted and non-overlapping (an empty session still
# takes its open), and, with `strict`, each opens before its end.
cdef int check_sessions(const int64_t[::1] opens, const int64_t[::1] ends, str ends_name,
                        bint strict) except -1
