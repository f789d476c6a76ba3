"""Live session clocks. A clock has two sides: the coordinator waits for its next wake-up
with `wait(target, inbound)` (woken early when something arrives); a source thread paces
itself with `sleep_until(t, cancel)`. `WallClock` is real time (live sources), `ScaledClock`
replay time at N x, and `SimulatedClock` moves only when the coordinator advances it and then
waits until every attached source thread has caught up, so a replay runs as fast as the
machine allows and is deterministic. `SessionClock` is the protocol they share;
`ClockedSource` a source that supplies the session's clock (the `replay` source).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from mismartera.calendar.clocks import LiveClock
from mismartera.errors import DataError
from mismartera.intervals import NS

if TYPE_CHECKING:
    from mismartera.session.live.inbound import Inbound


# ---------------------------------------------------------------------- clocks


@runtime_checkable
class SessionClock(Protocol):
    """A live session's clock: `now` in session time (ns UTC)."""

    @property
    def now(self) -> int: ...

    @property
    def scale(self) -> float:
        """Session ns per wall ns (1 live, N for a replay at N x, 0 when simulated)."""
        ...

    @property
    def default_grace_ns(self) -> int:
        """How long (session time) to wait for a bar after its close before closing the
        derived bucket it ends without it (latency of the feed)."""
        ...

    def set_session(self, open_ns: int, close_ns: int) -> None: ...

    def wait(self, target_ns: int, inbound: Inbound) -> None:
        """Coordinator side: return at session time `target_ns`, or earlier when something
        arrives in `inbound`."""
        ...

    def sleep_until(self, t_ns: int, cancel: threading.Event) -> bool:
        """Source side: block until session time `t_ns`; False if `cancel` was set."""
        ...

    def attach(self) -> None:
        """Register the calling source's feeding thread (see `SimulatedClock`)."""
        ...

    def detach(self) -> None: ...

    def settle(self) -> None:
        """Wait until attached source threads have delivered everything due by now."""
        ...


class _RealTime:
    """Clock methods shared by the wall clock and the scaled replay clock."""

    scale: float
    now: int

    def _wall_s(self, session_ns: int) -> float:
        return max(0.0, session_ns / self.scale / NS)

    def wait(self, target_ns: int, inbound: Inbound) -> None:
        inbound.wait(self._wall_s(target_ns - self.now))

    def sleep_until(self, t_ns: int, cancel: threading.Event) -> bool:
        while (remaining := t_ns - self.now) > 0:
            if cancel.wait(min(self._wall_s(remaining), 0.25)):
                return False
        return not cancel.is_set()

    def attach(self) -> None:
        pass

    def detach(self) -> None:
        pass

    def settle(self) -> None:
        pass

    def wake(self) -> None:
        pass


class WallClock(_RealTime, LiveClock):
    """The wall clock (`time.time_ns()`), for live sources; injectable like `LiveClock`."""

    scale = 1.0
    default_grace_ns = 2 * NS


class ScaledClock(_RealTime):
    """Replay time: `start_ns + (wall - wall0) x speed`, with wall0 taken at construction
    from `time_ns` (monotonic by default; injectable for tests)."""

    def __init__(self, start_ns: int, speed: float, *,
                 time_ns: Callable[[], int] = time.monotonic_ns) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self._start = int(start_ns)
        self.scale = float(speed)
        self._time_ns = time_ns
        self._wall0 = time_ns()
        self._limit: int | None = None

    def __repr__(self) -> str:
        return f"ScaledClock(start={self._start}, speed={self.scale:g})"

    @property
    def now(self) -> int:  # type: ignore[override]
        return self._start + int((self._time_ns() - self._wall0) * self.scale)

    @property
    def limit(self) -> int | None:
        return self._limit

    @property
    def default_grace_ns(self) -> int:
        return int(0.05 * NS * self.scale)  # 50 ms of wall time

    def set_session(self, open_ns: int, close_ns: int) -> None:
        self._limit = int(close_ns)

    def advance_to(self, t: int) -> None:
        """Block until session time reaches `t`."""
        self.sleep_until(t, threading.Event())


class SimulatedClock:
    """Session time that moves only when the coordinator advances it.

    Source threads `attach()` before they start and `detach()` when they end; `advance_to`
    (and `settle`) returns only when every attached thread is asleep in `sleep_until` with
    a deadline after now, i.e. has pushed everything due by now. A replay on this clock runs
    as fast as the machine allows and gives the same steps every run."""

    scale = 0.0
    default_grace_ns = 0

    def __init__(self, start_ns: int, *, settle_timeout_s: float = 30.0) -> None:
        self._now = int(start_ns)
        self._limit: int | None = None
        self._cond = threading.Condition()
        self._attached = 0
        self._asleep: dict[int, int] = {}  # thread ident -> deadline
        self.settle_timeout_s = settle_timeout_s

    def __repr__(self) -> str:
        return f"SimulatedClock(now={self._now}, limit={self._limit})"

    @property
    def now(self) -> int:
        return self._now

    @property
    def limit(self) -> int | None:
        return self._limit

    def set_session(self, open_ns: int, close_ns: int) -> None:
        self._limit = int(close_ns)

    def attach(self) -> None:
        with self._cond:
            self._attached += 1

    def detach(self) -> None:
        with self._cond:
            self._attached -= 1
            self._asleep.pop(threading.get_ident(), None)
            self._cond.notify_all()

    def wake(self) -> None:
        """Wake sleeping source threads (so they see a cancel at once)."""
        with self._cond:
            self._cond.notify_all()

    def sleep_until(self, t_ns: int, cancel: threading.Event) -> bool:
        me = threading.get_ident()
        with self._cond:
            while self._now < t_ns and not cancel.is_set():
                self._asleep[me] = t_ns
                self._cond.notify_all()
                self._cond.wait(0.1)
            self._asleep.pop(me, None)
            return not cancel.is_set()

    def _settled(self) -> bool:
        return sum(1 for d in self._asleep.values() if d > self._now) >= self._attached

    def settle(self) -> None:
        with self._cond:
            if not self._cond.wait_for(self._settled, self.settle_timeout_s):
                raise DataError(f"a live source thread did not deliver the bars due at "
                                f"{self._now} within {self.settle_timeout_s:g} s")

    def advance_to(self, t: int) -> None:
        """Move to `t` (forward only, never past the limit) and settle."""
        t = int(t)
        with self._cond:
            if t < self._now:
                raise ValueError(f"clock cannot move backwards: {t} < now {self._now}")
            if self._limit is not None and t > self._limit:
                raise ValueError(f"clock cannot pass its limit (the close): {t} > {self._limit}")
            self._now = t
            self._cond.notify_all()
        self.settle()

    def wait(self, target_ns: int, inbound: Inbound) -> None:
        self.advance_to(max(self._now, target_ns))


# ---------------------------------------------------------------------- optional protocols


@runtime_checkable
class ClockedSource(Protocol):
    """A live source that owns the session's clock (the `replay` source)."""

    def session_clock(self, open_ns: int, close_ns: int, speed: float) -> SessionClock: ...

