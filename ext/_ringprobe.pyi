"""Build check: another extension cimports BarRing and Stream and drives their C API. Not
public API."""

from typing import Self

import numpy as np
import numpy.typing as npt

from .kernels import Stream
from .ring import BarRing

class NoFeed(Stream):
    """A Stream subclass that overrides neither feed nor clear (every use refuses it)."""

    def __new__(cls) -> Self: ...

class NoClear(Stream):
    """A Stream subclass whose feed copies its input but that does not override clear."""

    def __new__(cls) -> Self: ...

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
