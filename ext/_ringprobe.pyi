"""Build check: another extension cimports BarRing and drives its C API. Not public API."""

import numpy as np
import numpy.typing as npt

from .ring import BarRing

def push_ramp(ring: BarRing, start: int, step: int, n: int) -> None:
    """Push n bars without the GIL: bar i has ts start + i * step and close i."""

def push_block(
    ring: BarRing,
    ts: npt.NDArray[np.int64],
    open: npt.NDArray[np.float64],
    high: npt.NDArray[np.float64],
    low: npt.NDArray[np.float64],
    close: npt.NDArray[np.float64],
    volume: npt.NDArray[np.float64],
) -> None:
    """Push equal-length arrays of bars through the bulk C call, without the GIL."""

def close_sum(ring: BarRing, n: int) -> float:
    """Sum of the close of the last n bars, read straight from the ring's C buffer."""
