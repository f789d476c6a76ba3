"""Argument coercion shared by the kernels: every array a kernel takes goes through here,
so each kernel reports a bad argument with the same words."""

import numpy as np
import numpy.typing as npt


def ns_array(name: str, values: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """`values` as a contiguous 1-d int64 array of ns (datetime64 is converted)."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got {arr.ndim} dimensions")
    if arr.dtype.kind == "M":
        arr = arr.astype("datetime64[ns]").view(np.int64)
    elif arr.dtype.kind not in "iu" and arr.size:
        raise ValueError(f"{name} must hold int64 nanoseconds, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def f64_array(name: str, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """`values` as a contiguous 1-d float64 array."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got {arr.ndim} dimensions")
    return np.ascontiguousarray(arr)
