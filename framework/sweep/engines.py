"""Engines run a sweep's tasks: `LocalEngine` (a process pool on this machine, the default),
`SerialEngine` (in the calling process: for debugging) and, with the optional extra
`mismartera[ray]`, `RayEngine` (mismartera.sweep.ray_engine). `make_engine` picks one by name.

Every engine keeps the same contract (`Engine.run`): run `fn(job, task)` for each task, retry
a task that raises up to `retries` more times, and report each task once, in the calling
process, as it ends: `on_done(task, result, error, attempts)`.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Protocol

from mismartera.errors import ConfigError, UserError
from mismartera.sweep.plan import Task

TaskFn = Callable[[Any, Task], dict[str, Any]]
OnDone = Callable[[Task, "dict[str, Any] | None", "str | None", int], None]

ENGINES = ("local", "ray")


class Engine(Protocol):
    """Runs tasks; see the module docstring."""

    name: str
    workers: int

    def run(self, fn: TaskFn, job: Any, tasks: Sequence[Task], on_done: OnDone) -> None:
        """Run fn(job, task) for every task (fn is a module-level function, importable by
        name). In the calling process, as each task ends, call on_done(task, result, error,
        attempts): result is fn's dict (error None) or None with error = one line "ExcType:
        message" after `retries` retries were exhausted; attempts counts tries (1 = first
        try). A worker process that dies counts as a failed attempt of the task it ran. On
        KeyboardInterrupt in the caller: stop submitting, cancel what has not started, shut
        workers down, re-raise (tasks already reported stay reported)."""
        ...


def error_line(exc: BaseException) -> str:
    """"ExcType: first line of the message" (the type alone for an empty message)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


class SerialEngine:
    """Every task in the calling process, one after the other (a debugger or profiler sees
    the backtest itself); the same retries and reports as the pool."""

    name = "serial"
    workers = 1

    def __init__(self, retries: int = 2) -> None:
        self.retries = retries

    def run(self, fn: TaskFn, job: Any, tasks: Sequence[Task], on_done: OnDone) -> None:
        for task in tasks:
            for attempt in range(1, self.retries + 2):
                try:
                    result = fn(job, task)
                except Exception as exc:
                    if attempt > self.retries:
                        on_done(task, None, error_line(exc), attempt)
                else:
                    on_done(task, result, None, attempt)
                    break


def default_start_method() -> str | None:
    """None (the platform's start method), but "spawn" instead of a default "fork" in a
    process that has run Ray: a child forked from Ray's threads may crash (a worker that
    segfaults). Not "forkserver":
    its workers would see the environment of when its server started, not this process's."""
    forked = multiprocessing.get_context().get_start_method() == "fork"
    return "spawn" if forked and _ran_ray() else None


def _ran_ray() -> bool:
    """Whether Ray runs, or has run, in this process: imported, and initialised or with
    threads named otherwise than the process (its gRPC threads outlive `ray.shutdown()`;
    Python's own threads and BLAS's carry the process's name on Linux). Where threads
    cannot be read, an imported Ray counts."""
    ray = sys.modules.get("ray")
    if ray is None:
        return False
    if getattr(ray, "is_initialized", lambda: True)():
        return True
    try:
        own = Path("/proc/self/comm").read_text()
        return any(Path(f"/proc/self/task/{t}/comm").read_text() != own
                   for t in os.listdir("/proc/self/task"))
    except OSError:  # not Linux, or a thread ended while read
        return True


class WorkerDied(RuntimeError):
    """The worker process running a task died (killed, out of memory, a crash in C)."""


_BOARD: Any = None
"""In a pool worker process only: where it posts (pid, task id) as a task starts and (pid,
None) as it ends, set once by the pool's initializer (`_init_worker`)."""


def _init_worker(board: Any) -> None:
    """Pool workers leave Ctrl-C to the calling process (which shuts them down) and post the
    task they run on `board`."""
    global _BOARD
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _BOARD = board


def _tracked(fn: TaskFn, job: Any, task: Task) -> dict[str, Any]:
    """fn(job, task) in a pool worker, posted on the board so a death is blamed on its task."""
    pid = os.getpid()
    _BOARD.put((pid, task.id))
    try:
        return fn(job, task)
    finally:
        _BOARD.put((pid, None))


class LocalEngine:
    """A pool of `workers` processes on this machine (`start_method`: the platform's default,
    "spawn" for a default "fork" once Ray is imported (`default_start_method`), or
    "spawn", "fork", "forkserver"), at most `workers` tasks in flight. A worker process
    that dies (killed, out of memory) takes the pool down: the task it ran has a failed
    attempt, the others in flight run again without one, in a new pool.
    `max_tasks_per_child` replaces a worker after so many tasks (not with "fork")."""

    name = "local"

    def __init__(self, workers: int | None = None, retries: int = 2,
                 start_method: str | None = None, max_tasks_per_child: int | None = None) -> None:
        self.workers = workers if workers is not None else default_workers()
        if self.workers < 1:
            raise ConfigError(f"--workers: expected a whole number >= 1, got {self.workers}")
        self.retries = retries
        self.context = multiprocessing.get_context(start_method or default_start_method())
        self.max_tasks_per_child = max_tasks_per_child

    def run(self, fn: TaskFn, job: Any, tasks: Sequence[Task], on_done: OnDone) -> None:
        queue: deque[tuple[Task, int]] = deque((task, 0) for task in tasks)

        def ended(task: Task, tries: int, result: dict[str, Any] | None,
                  exc: BaseException | None) -> None:
            tries += 1
            if exc is None:
                on_done(task, result, None, tries)
            elif tries > self.retries:
                on_done(task, None, error_line(exc), tries)
            else:
                queue.append((task, tries))

        while queue:
            _PoolRun(self, fn, job).run(queue, ended)


class _PoolRun:
    """One process pool, run until the queue is empty or a worker dies."""

    def __init__(self, engine: LocalEngine, fn: TaskFn, job: Any) -> None:
        self.fn, self.job, self.workers = fn, job, engine.workers
        self.board = engine.context.SimpleQueue()
        self.pool = ProcessPoolExecutor(engine.workers, mp_context=engine.context,
                                        initializer=_init_worker, initargs=(self.board,),
                                        max_tasks_per_child=engine.max_tasks_per_child)
        self.processes: dict[int, Any] = {}
        self.flying: dict[Future[dict[str, Any]], tuple[Task, int]] = {}

    def run(self, queue: deque[tuple[Task, int]], ended: Callable[..., None]) -> None:
        flying = self.flying
        try:
            broken: list[Future[dict[str, Any]]] = []
            while (queue or flying) and not broken:
                while queue and len(flying) < self.workers:
                    task, tries = queue.popleft()
                    flying[self.pool.submit(_tracked, self.fn, self.job, task)] = (task, tries)
                self.processes.update(getattr(self.pool, "_processes", None) or {})
                done, _ = wait(flying, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: flying[f][0].id):  # a fixed order
                    exc = future.exception()
                    if isinstance(exc, BrokenProcessPool):
                        broken.append(future)
                    else:
                        ended(*flying.pop(future), None if exc else future.result(), exc)
            if broken:  # the others in flight went down with the pool
                broken += [f for f in wait(flying).done if f not in broken]
                self._blame(broken, queue, ended)
        except BaseException:
            for future in flying:
                future.cancel()
            _stop(self.pool)
            raise
        self.pool.shutdown(wait=True)

    def _blame(self, broken: list[Future[dict[str, Any]]], queue: deque[tuple[Task, int]],
               ended: Callable[..., None]) -> None:
        """A failed attempt for the task of each worker that died on its own (not terminated by
        the pool going down); the rest in flight go back to the queue as they were. When no
        task can be named, every task in flight has a failed attempt."""
        running: dict[int, str | None] = {}
        while not self.board.empty():
            pid, task_id = self.board.get()
            running[pid] = task_id
        died = {}
        for pid, process in self.processes.items():
            _await_exit(process)
            if process.exitcode not in (None, 0, -signal.SIGTERM) and running.get(pid):
                died[running[pid]] = (pid, process.exitcode)
        for future in sorted(broken, key=lambda f: self.flying[f][0].id):
            task, tries = self.flying.pop(future)
            if died and task.id not in died:
                queue.append((task, tries))
                continue
            pid, code = died.get(task.id, (None, None))
            who = f" (pid {pid}, exit code {code})" if pid is not None else ""
            ended(task, tries, None, WorkerDied(f"the worker process running the task "
                                                f"died{who}"))


def _await_exit(process: Any, timeout: float = 5.0) -> None:
    """Wait until a pool process that has ended has its exit code. The pool's own thread may
    reap the process at the same moment (its `waitpid` wins, ours returns at once with no
    code), so wait for the code to be set rather than trusting one `join`."""
    deadline = time.monotonic() + timeout
    process.join(timeout=timeout)
    while process.exitcode is None and time.monotonic() < deadline:
        process.join(timeout=0.01)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Shut the pool down now: nothing queued starts, running workers are terminated."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)


def make_engine(name: str = "local", workers: int | None = None, address: str | None = None,
                retries: int = 2, start_method: str | None = None) -> Engine:
    """The engine `name`: "local" (a process pool; `workers=0` runs in the calling process),
    or "ray" (needs the extra mismartera[ray]; `address` an existing cluster's)."""
    if name == "local":
        if address is not None:
            raise ConfigError("--ray-address: only the ray engine connects to a cluster")
        if workers == 0:
            return SerialEngine(retries)
        return LocalEngine(workers, retries, start_method)
    if name == "ray":
        try:  # by name: ray_engine builds on this module
            ray_engine = importlib.import_module("mismartera.sweep.ray_engine")
        except ImportError as exc:
            if exc.name is not None and exc.name.split(".")[0] == "ray":
                raise UserError("the ray engine needs `pip install mismartera[ray]`") from None
            raise
        engine: Engine = ray_engine.RayEngine(workers, address, retries)
        return engine
    raise ConfigError(f"--engine: expected one of {', '.join(ENGINES)}, got {name!r}")


__all__ = ["ENGINES", "Engine", "LocalEngine", "OnDone", "SerialEngine", "TaskFn",
           "WorkerDied", "default_start_method", "default_workers", "error_line", "make_engine"]
