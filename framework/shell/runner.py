"""SessionRun: one `SessionCoordinator` running on a background thread.

The shell's thread talks to the run only through thread-safe calls: the coordinator's
`add_symbol`, `remove_symbol` and `stop`, and reads of `SessionData` under its lock. Whatever
the run raises is kept (never re-raised on the shell's thread), so a failed session is
something `system status` reports, not something that crashes the shell.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from mismartera.errors import UserError
from mismartera.session.coordinator import SessionCoordinator
from mismartera.session.run import run_coordinator

RUNNING, FINISHED, STOPPED, FAILED = "running", "finished", "stopped", "failed"


def describe_error(exc: BaseException) -> str:
    """One line for an exception: a user error's own sentence, else `Type: message`."""
    if isinstance(exc, UserError):
        return str(exc)
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class SessionRun:
    """Runs `coordinator` on a daemon thread and records how the run ended.

    The configured exports (`[export] path` / `dir`) are written as `run_backtest` writes
    them: one snapshot per day into the folder, the last day's to the path."""

    def __init__(self, coordinator: SessionCoordinator) -> None:
        self.coordinator = coordinator
        self.error: BaseException | None = None
        self.stop_requested = False
        self.started_at = time.monotonic()
        self.ended_at: float | None = None
        self.exports: list[Path] = []
        self._done = threading.Event()
        self.thread = threading.Thread(target=self._main, name="mismartera-session", daemon=True)

    def start(self) -> SessionRun:
        self.thread.start()
        return self

    def _main(self) -> None:
        try:
            run_coordinator(self.coordinator, on_export=self.exports.append)
        except BaseException as exc:
            self.error = exc
        finally:
            self.ended_at = time.monotonic()
            self._done.set()

    # --- state -----------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def state(self) -> str:
        """running, finished (every day ran), stopped (by request) or failed."""
        if not self._done.is_set():
            return RUNNING
        if self.error is not None:
            return FAILED
        return STOPPED if self.stop_requested else FINISHED

    @property
    def elapsed_s(self) -> float:
        end = self.ended_at if self.ended_at is not None else time.monotonic()
        return end - self.started_at

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the run has ended (at most `timeout` s); True when it has."""
        return self._done.wait(timeout)

    def stop(self, timeout: float | None = None) -> bool:
        """Ask the coordinator to stop after its current clock step (the day still ends
        cleanly) and join the thread; True when the thread has ended."""
        if not self._done.is_set():
            self.stop_requested = True
            self.coordinator.stop()
        self.thread.join(timeout)
        return not self.thread.is_alive()
