from collections.abc import Callable, Iterator, Sequence
from typing import TypeAlias, final

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

from mismartera.ext.aggregate import StreamingAggregator
from mismartera.ext.gaps import GapTracker
from mismartera.ext.ring import BarRing

_ArrayLike: TypeAlias = npt.ArrayLike

@final
class ClosedBar:
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    def __init__(self, ts: int, open: float, high: float, low: float, close: float,
                 volume: float) -> None: ...
    def __iter__(self) -> Iterator[int | float]: ...
    def __len__(self) -> int: ...
    def __getitem__(self, index: int, /) -> int | float: ...

@disjoint_base
class SymbolPipeline:
    base_ring: BarRing
    base_tracker: GapTracker
    base_ns: int
    n_derived: int
    pos: int
    size: int
    @property
    def session_close(self) -> int | None: ...
    closed: npt.NDArray[np.int64]
    volume: float
    high: float
    low: float
    last_update: int
    def __init__(
        self,
        base_ring: BarRing,
        base_tracker: GapTracker,
        base_ns: int,
        derived: Sequence[tuple[StreamingAggregator, BarRing, GapTracker]] = ...,
    ) -> None: ...
    def reset_metrics(self) -> None: ...
    def clear_queue(self) -> None: ...
    def load(
        self, ts: _ArrayLike, open: _ArrayLike, high: _ArrayLike, low: _ArrayLike,
        close: _ArrayLike, volume: _ArrayLike, open_ns: int, close_ns: int,
    ) -> tuple[int, int, int, int]: ...
    def set_queue(
        self, ts: _ArrayLike, open: _ArrayLike, high: _ArrayLike, low: _ArrayLike,
        close: _ArrayLike, volume: _ArrayLike,
    ) -> None: ...
    @property
    def queue(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
    @property
    def next_close(self) -> int | None: ...
    def advance(self, now: int) -> int: ...
    def feed(
        self, ts: _ArrayLike, open: _ArrayLike, high: _ArrayLike, low: _ArrayLike,
        close: _ArrayLike, volume: _ArrayLike, now: int,
    ) -> int: ...

def step_until(
    pipelines: list[SymbolPipeline],
    until: int,
    targets: list[list[list[Callable[[ClosedBar], object]]]],
    interrupt: npt.NDArray[np.uint8],
    on_step: Callable[[int, list[int]], object] | None = ...,
    lock: object | None = ...,
    watch: npt.NDArray[np.uint8] | None = ...,
    bounds: npt.NDArray[np.int64] | None = ...,
    coarse: npt.NDArray[np.int64] | None = ...,
    feeds: list[list[list[Callable[[int], object]]]] | None = ...,
) -> int | None: ...

def count_distinct(arrays: list[npt.NDArray[np.int64]]) -> int: ...
