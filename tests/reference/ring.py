"""Reference BarRing: a `collections.deque(maxlen=capacity)` of bar tuples.

Slow and obviously correct; `mismartera.ext.ring.BarRing` must behave exactly like it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Bar = tuple[int, float, float, float, float, float]
COLUMNS = ("ts", "open", "high", "low", "close", "volume")


class RefBarRing:
    """The last `capacity` bars appended, oldest first, plus a count of evicted bars."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.capacity = capacity
        self.evicted = 0
        self._bars: deque[Bar] = deque(maxlen=capacity)

    def append(self, ts: int, o: float, h: float, low: float, c: float, v: float) -> None:
        if len(self._bars) == self.capacity:
            self.evicted += 1
        self._bars.append((int(ts), float(o), float(h), float(low), float(c), float(v)))

    def extend(self, *columns: Sequence[float]) -> None:
        if len({len(col) for col in columns}) > 1:
            raise ValueError("columns differ in length")
        for bar in zip(*columns, strict=True):
            self.append(*bar)

    def clear(self) -> None:
        self._bars.clear()
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._bars)

    def last(self) -> Bar:
        if not self._bars:
            raise IndexError("empty")
        return self._bars[-1]

    def bars(self, n: int | None = None) -> list[Bar]:
        """The last n bars (all when None or n > len), oldest first."""
        if n is not None and n < 0:
            raise ValueError("n must be >= 0")
        everything = list(self._bars)
        if n is None or n >= len(everything):
            return everything
        return everything[len(everything) - n :] if n else []

    def arrays(self, n: int | None = None) -> tuple[npt.NDArray[np.generic], ...]:
        """`bars(n)` as six arrays: ts int64, the rest float64."""
        chosen = self.bars(n)
        return tuple(
            np.array([bar[i] for bar in chosen], dtype=np.int64 if i == 0 else np.float64)
            for i in range(6)
        )
