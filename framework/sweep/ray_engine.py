"""`RayEngine`: a sweep's tasks as Ray tasks, on this machine or on a Ray cluster (the optional
extra `mismartera[ray]`; imported only when `--engine ray` is asked for).

Each task is one Ray task `fn(job, task)`: the job (plain data) is put in Ray's object store
once and shared by every task; the task is a small frozen dataclass; `fn` is a module-level
function workers import by name (mismartera must be installed on every node). Ray retries a
task whose worker process dies and, with `retry_exceptions`, one that raises, up to `retries`
more times; what still fails is reported through `on_done` with its error. At most
`2 x workers` tasks are in flight, so a huge sweep does not flood the cluster's scheduler and
Ctrl-C has little to cancel.

`address=None` starts a local Ray (`workers` CPUs, no dashboard) and shuts it down after the
run; an `address` ("HOST:PORT" of a head node, or "auto") joins that cluster and never shuts it
down (`workers` then defaults to the cluster's CPUs). A Ray already initialised in the calling
process is used as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import ray

from mismartera.errors import ConfigError, UserError
from mismartera.sweep.engines import OnDone, TaskFn, default_workers, error_line
from mismartera.sweep.plan import Task

IN_FLIGHT_PER_WORKER = 2


def _attempt() -> int:
    """This Ray task's try, 1 for the first (Ray keeps the count, retries included)."""
    core = getattr(getattr(ray, "_private", None), "worker", None)
    worker = getattr(core, "global_worker", None)
    get = getattr(getattr(worker, "core_worker", None), "get_current_task_attempt_number", None)
    try:
        return int(get()) + 1 if get is not None else 1
    except Exception:  # pragma: no cover - a Ray without it: the first try is assumed
        return 1


def _call(fn: TaskFn, job: Any, task: Task) -> tuple[int, dict[str, Any]]:
    """Runs on a Ray worker: fn's row, and which try produced it."""
    return _attempt(), fn(job, task)


def _error(exc: BaseException) -> str:
    """The task's own exception (inside Ray's wrapper) as one line."""
    cause = getattr(exc, "cause", None)
    return error_line(cause if isinstance(cause, BaseException) else exc)


class RayEngine:
    """Tasks on Ray: a local Ray started for the run, or a cluster at `address`."""

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None,
                 retries: int = 2) -> None:
        if workers is not None and workers < 1:
            raise ConfigError(f"--workers: expected a whole number >= 1, got {workers}")
        if retries < 0:
            raise ConfigError(f"retries: expected a whole number >= 0, got {retries}")
        self.address = address.strip() if address else None
        self.retries = retries
        self._asked = workers
        self.workers = workers if workers is not None else (
            default_workers() if self.address is None else 1)

    def __repr__(self) -> str:
        where = self.address or "local"
        return f"RayEngine(workers={self.workers}, address={where!r}, retries={self.retries})"

    def _connect(self) -> bool:
        """Ray initialised for this run; True when this engine started it (and stops it)."""
        if ray.is_initialized():
            started = False
        else:
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                       "logging_level": logging.WARNING,
                                       "configure_logging": False}
            try:
                if self.address is None:
                    ray.init(address="local", num_cpus=self.workers, **options)
                else:
                    ray.init(address=self.address, **options)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                where = f"the Ray cluster at {self.address}" if self.address else "a local Ray"
                raise UserError(f"--ray-address: cannot connect to {where}: "
                                f"{error_line(exc)}") from None
            started = True
        if self._asked is None and self.address is not None:
            self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        return started

    def run(self, fn: TaskFn, job: Any, tasks: Sequence[Task], on_done: OnDone) -> None:
        """See `mismartera.sweep.engines.Engine.run`."""
        if not tasks:
            return
        started = self._connect()
        try:
            self._run(fn, job, tasks, on_done)
        finally:
            if started:
                ray.shutdown()  # a local Ray stops; a cluster goes on running without us

    def _run(self, fn: TaskFn, job: Any, tasks: Sequence[Task], on_done: OnDone) -> None:
        remote = ray.remote(_call).options(num_cpus=1, max_retries=self.retries,
                                           retry_exceptions=True)
        fn_ref, job_ref = ray.put(fn), ray.put(job)
        pending = iter(tasks)
        flying: dict[Any, Task] = {}
        limit = IN_FLIGHT_PER_WORKER * self.workers
        try:
            while True:
                for task in pending:
                    flying[remote.remote(fn_ref, job_ref, task)] = task
                    if len(flying) >= limit:
                        break
                if not flying:
                    return
                done, _ = ray.wait(list(flying), num_returns=1)
                for ref in done:
                    task = flying.pop(ref)
                    try:
                        attempts, result = ray.get(ref)
                    except Exception as exc:  # RayTaskError, WorkerCrashedError, ...
                        on_done(task, None, _error(exc), self.retries + 1)
                    else:
                        on_done(task, result, None, attempts)
        except BaseException:
            for ref in flying:
                ray.cancel(ref, force=True)
            raise


__all__ = ["RayEngine"]
