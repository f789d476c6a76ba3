"""The live session's inbound side: the thread-safe queue source threads push bars, ticks and
quotes into (`Inbound`), and the sorting of one symbol's arrived base bars into what the
pipeline does with them (`sort_arrivals`: rejected, in order, or late for repair), with
`deliver_arrivals` running one step of that for one symbol. Ticks and quotes are kept in time
order with `insert_sorted`.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from mismartera.bars import Bars
from mismartera.ext.gaps import classify
from mismartera.session.data import SymbolSessionData
from mismartera.session.processor import DataProcessor

_MIN_I64 = np.iinfo(np.int64).min


# ---------------------------------------------------------------------- the inbound queue


class Inbound:
    """The thread-safe queue between source threads and the coordinator thread."""

    def __init__(self) -> None:
        self._items: deque[tuple[str, str, Any]] = deque()
        self._cond = threading.Condition()
        self._poked = False

    def put(self, kind: str, symbol: str, payload: Any) -> None:
        """Queue `payload` ("bars": Bars, "ticks" / "quotes": tuples) for `symbol`."""
        with self._cond:
            self._items.append((kind, symbol, payload))
            self._cond.notify()

    def drain(self) -> list[tuple[str, str, Any]]:
        """Everything queued so far, in arrival order."""
        with self._cond:
            items = list(self._items)
            self._items.clear()
            self._poked = False
            return items

    def wait(self, timeout_s: float) -> None:
        """Block until something is queued, `poke()` is called, or `timeout_s` passes."""
        with self._cond:
            if not self._items and not self._poked and timeout_s > 0:
                self._cond.wait(timeout_s)

    def poke(self) -> None:
        """Wake a waiting coordinator (a stop or a symbol operation was requested)."""
        with self._cond:
            self._poked = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)


# ---------------------------------------------------------------------- arrivals


@dataclasses.dataclass
class Arrivals:
    """Base bars that arrived for one symbol, sorted into what the pipeline does with them."""

    in_order: Bars  # after every bar delivered so far: the streaming path
    late: Bars  # before a delivered base bar or inside a closed derived bucket: repair
    rejected: dict[str, int]  # counts by kind (outside_session, misaligned, duplicate, invalid)
    refetched: int = 0  # repeats of bars the gap filler had already fetched (dropped)


def late_threshold(symbol_data: SymbolSessionData, close_ns: int) -> int:
    """The earliest base-bar start the streaming path can still take: after the last
    delivered base bar and after the bucket of every closed derived bar."""
    base = symbol_data.base.data
    threshold = base.ts_last + 1 if len(base) else _MIN_I64
    for interval_data in symbol_data.derived():
        ring = interval_data.data
        if len(ring):
            end = min(ring.ts_last + interval_data.interval.ns, close_ns)
            threshold = max(threshold, end)
    return threshold


def sort_arrivals(symbol_data: SymbolSessionData, raw: Bars, open_ns: int, close_ns: int,
                  refetched: Iterable[int] = ()) -> Arrivals:
    """Classify arrived base bars (any order): bars outside the session, misaligned,
    repeated (in this batch or already delivered) or invalid are rejected and counted; the
    rest are split into in-order and late bars, each in time order. A repeat of a stamp in
    `refetched` (a bar the gap filler already fetched) is dropped without being counted as
    a duplicate: the feed was merely slower than the gap filler."""
    order = np.argsort(raw.ts, kind="stable")
    raw = raw.take(order)
    mask, invalid, duplicate, misaligned, outside = classify(
        raw.ts, np.array([open_ns], np.int64), np.array([close_ns], np.int64),
        symbol_data.base_interval.ns, *raw[1:])
    bars = raw.take(mask)
    present = symbol_data.base.data.column("ts", copy=False)
    refetched_repeats = 0
    if len(present) and len(bars.ts):
        at = np.minimum(np.searchsorted(present, bars.ts), len(present) - 1)
        repeat = present[at] == bars.ts
        expected = repeat & np.isin(bars.ts, np.fromiter(refetched, np.int64))
        refetched_repeats = int(expected.sum())
        duplicate += int(repeat.sum()) - refetched_repeats
        bars = bars.take(~repeat)
    late = bars.ts < late_threshold(symbol_data, close_ns)
    counts = {"invalid": int(invalid), "duplicate": int(duplicate),
              "misaligned": int(misaligned), "outside_session": int(outside)}
    return Arrivals(bars.take(~late), bars.take(late), {k: v for k, v in counts.items() if v},
                    refetched_repeats)


def deliver_arrivals(symbol_data: SymbolSessionData, raw: Bars, *, open_ns: int, close_ns: int,
                     close_mark: int, processor: DataProcessor,
                     repair: Callable[[SymbolSessionData, Bars, int], int],
                     refetched: Iterable[int] = ()) -> tuple[Arrivals, list[tuple[str, int]]]:
    """One step for one symbol: sort the arrived base bars (`sort_arrivals`), hand the late
    ones to `repair(symbol_data, late, closed_until_ns)`, stream the rest through
    `processor`, closing derived buckets that ended by `close_mark`. Returns the arrivals
    and the processor's (interval, new closed bars).

    The repair closes buckets only up to the first in-order bar: the bucket that bar falls
    in must stay open for it, as it would have had every bar come in order."""
    if len(raw.ts):
        arrivals = sort_arrivals(symbol_data, raw, open_ns, close_ns, refetched)
    else:
        arrivals = Arrivals(raw, raw, {})
    if len(arrivals.late.ts):
        until = close_mark
        if len(arrivals.in_order.ts):
            until = min(until, int(arrivals.in_order.ts[0]))
        repair(symbol_data, arrivals.late, until)
    return arrivals, processor.deliver(symbol_data, arrivals.in_order, close_mark)


def insert_sorted(target: list, rows: list) -> None:
    """Append `rows` (tuples whose first item is ts) to `target`, keeping time order."""
    if not rows:
        return
    rows.sort(key=lambda r: r[0])
    if target and rows[0][0] < target[-1][0]:
        target.extend(rows)
        target.sort(key=lambda r: r[0])
    else:
        target.extend(rows)

