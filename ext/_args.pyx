# cython: auto_pickle=False, autotestdict=False
"""Argument coercion and checks shared by every extension (the C-level API is in _args.pxd).

Not public API: the kernels cimport it, so each reports a bad argument with the same words.
"""

cimport numpy as cnp
from libc.stdint cimport int64_t

import numpy as np

cnp.import_array()


cdef inline bint _as_is(object values, int type_num):
    """Whether `values` is already an exact 1-d, well-behaved, C-contiguous array of
    type_num: the common case, checked without a Python call."""
    if not cnp.PyArray_CheckExact(values):
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>values
    return (cnp.PyArray_NDIM(arr) == 1 and cnp.PyArray_TYPE(arr) == type_num
            and cnp.PyArray_ISCARRAY_RO(arr))


cdef inline int _one_dimensional(str name, cnp.ndarray arr) except -1:
    if cnp.PyArray_NDIM(arr) != 1:
        raise ValueError(f"{name} must be a one-dimensional array, got shape {(<object>arr).shape}")
    return 0


cdef cnp.ndarray f64_array(str name, object values):
    if _as_is(values, cnp.NPY_DOUBLE):
        return <cnp.ndarray>values
    cdef cnp.ndarray arr = np.asarray(values, dtype=np.float64)
    _one_dimensional(name, arr)
    return np.ascontiguousarray(arr)


cdef cnp.ndarray _int64(str name, object values, bint ns):
    if _as_is(values, cnp.NPY_INT64):
        return <cnp.ndarray>values
    cdef cnp.ndarray arr = np.asarray(values)
    _one_dimensional(name, arr)
    cdef str kind = arr.dtype.kind
    if ns and kind == "M":
        arr = arr.astype("datetime64[ns]").view(np.int64)
    elif not ns and kind in "mM":
        arr = arr.view(np.int64)
    elif kind not in ("iu" if ns else "iub") and arr.shape[0] != 0:
        if ns:
            raise ValueError(f"{name} must hold int64 nanoseconds, got dtype {arr.dtype}")
        raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.int64)


cdef cnp.ndarray ns_array(str name, object values):
    return _int64(name, values, True)


cdef cnp.ndarray int_array(str name, object values):
    return _int64(name, values, False)


cdef tuple bar_columns(object ts, object open, object high, object low, object close,
                       object volume):
    cols = (ns_array("ts", ts), f64_array("open", open), f64_array("high", high),
            f64_array("low", low), f64_array("close", close), f64_array("volume", volume))
    cdef Py_ssize_t j, n = (<cnp.ndarray>cols[0]).shape[0]
    for j in range(1, 6):
        if (<cnp.ndarray>cols[j]).shape[0] != n:
            raise ValueError(
                "bar columns differ in length: ts, open, high, low, close, volume have "
                f"{[(<cnp.ndarray>c).shape[0] for c in cols]}"
            )
    return cols


cdef int same_length(object first, str first_name, object other, str other_name) except -1:
    if len(other) != len(first):
        raise ValueError(
            f"{other_name} has {len(other)} values but {first_name} has {len(first)}"
        )
    return 0


cdef int check_sessions(const int64_t[::1] opens, const int64_t[::1] ends, str ends_name,
                        bint strict) except -1:
    cdef Py_ssize_t s, ns = opens.shape[0]
    if ends.shape[0] != ns:
        raise ValueError(
            f"session_opens and {ends_name} differ in length: {ns} != {ends.shape[0]}"
        )
    for s in range(ns):
        if strict and opens[s] >= ends[s]:
            raise ValueError(
                f"session {s} opens at or after its close: open {opens[s]} >= close {ends[s]}"
            )
        # an empty session (end <= open) still takes its open: the next must open later
        if s and opens[s] < max(opens[s - 1] + 1, ends[s - 1]):
            raise ValueError(
                f"sessions must be sorted and non-overlapping: session {s} opens at "
                f"{opens[s]}, before session {s - 1} ({opens[s - 1]}..{ends[s - 1]}) is over"
            )
    return 0
