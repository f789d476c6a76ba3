"""Clocks: the session's notion of now (int64 ns UTC), bounded by the session's close.

`Clock` is the protocol the coordinator drives; `BacktestClock` is simulated time that moves
only forward and only when told; `LiveClock` is wall time that can sleep until an instant.
Both refuse to pass the current session's close.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

from mismartera.intervals import NS

__all__ = ["BacktestClock", "Clock", "LiveClock"]


@runtime_checkable
class Clock(Protocol):
    """The session's notion of now (ns UTC), bounded by the current session's close."""

    @property
    def now(self) -> int: ...

    @property
    def limit(self) -> int | None: ...

    def advance_to(self, t: int) -> None: ...

    def set_session(self, open_ns: int, close_ns: int) -> None: ...


class BacktestClock:
    """Simulated time: moves only forward, only when told, and never past `limit` (the
    current session's close)."""

    __slots__ = ("_limit", "_now")

    def __init__(self, now_ns: int, limit: int | None = None) -> None:
        now_ns = int(now_ns)
        if limit is not None and now_ns > limit:
            raise ValueError(f"clock start {now_ns} is past its limit {limit}")
        self._now = now_ns
        self._limit = None if limit is None else int(limit)

    def __repr__(self) -> str:
        return f"BacktestClock(now={self._now}, limit={self._limit})"

    @property
    def now(self) -> int:
        return self._now

    @property
    def limit(self) -> int | None:
        return self._limit

    def advance_to(self, t: int) -> None:
        """Move to `t`; ValueError if `t` is before now or past the limit."""
        t = int(t)
        if t < self._now:
            raise ValueError(f"clock cannot move backwards: {t} < now {self._now}")
        if self._limit is not None and t > self._limit:
            raise ValueError(f"clock cannot pass its limit (session close): {t} > {self._limit}")
        self._now = t

    def set_session(self, open_ns: int, close_ns: int) -> None:
        """Jump to a session's open and take its close as the limit (forward only)."""
        open_ns, close_ns = int(open_ns), int(close_ns)
        if open_ns < self._now:
            raise ValueError(
                f"clock cannot move backwards: session open {open_ns} < now {self._now}"
            )
        if close_ns < open_ns:
            raise ValueError(f"session close {close_ns} is before its open {open_ns}")
        self._now, self._limit = open_ns, close_ns


class LiveClock:
    """Wall time (`time.time_ns()`). `advance_to(t)` sleeps until the wall clock reaches `t`
    (returns at once if it already has) and refuses a `t` past the limit; the live
    coordinator only reads `now`. The time source and sleep are injectable for tests."""

    __slots__ = ("_limit", "_sleep", "_time_ns")

    def __init__(self, *, time_ns=time.time_ns, sleep=time.sleep) -> None:
        self._time_ns = time_ns
        self._sleep = sleep
        self._limit: int | None = None

    def __repr__(self) -> str:
        return f"LiveClock(limit={self._limit})"

    @property
    def now(self) -> int:
        return int(self._time_ns())

    @property
    def limit(self) -> int | None:
        return self._limit

    def advance_to(self, t: int) -> None:
        """Block until wall time >= `t`; ValueError if `t` is past the limit."""
        t = int(t)
        if self._limit is not None and t > self._limit:
            raise ValueError(f"clock cannot pass its limit (session close): {t} > {self._limit}")
        while (remaining := t - self.now) > 0:
            self._sleep(remaining / NS)

    def set_session(self, open_ns: int, close_ns: int) -> None:
        """Take the session's close as the limit (now stays wall time); sessions must come in
        order: a close before the previous one raises ValueError."""
        open_ns, close_ns = int(open_ns), int(close_ns)
        if close_ns < open_ns:
            raise ValueError(f"session close {close_ns} is before its open {open_ns}")
        if self._limit is not None and close_ns < self._limit:
            raise ValueError(f"session close {close_ns} is before the previous one {self._limit}")
        self._limit = close_ns
