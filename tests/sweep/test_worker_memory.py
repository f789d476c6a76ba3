"""A worker's memory stays flat across tasks (issue 16): each task's session objects, which
refer to one another, are freed when the task ends (`worker.freed_after`), and the resident
set of a process running 30 year-long tasks one after another does not grow past a few MB
once warm. Memory is measured, not time."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

from mismartera.plugin_manager import PluginManager
from mismartera.session.run import as_config
from mismartera.sweep.context import WorkerContext
from mismartera.sweep.plan import make_job, plan_tasks
from mismartera.sweep.worker import run_task
from tests.sweep.helpers import session

TASKS = 30
WARM = 3  # tasks before the first reading (imports, the calendar, the cached bars)
GROWTH_MB = 8.0  # before the fix: 15-25 MB over these tasks


def rss_mb() -> float:
    """This process's resident set in MB (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads /proc (Linux)")
def test_memory_flat_across_tasks() -> None:
    config = as_config(session(session__start="2023-01-03", session__end="2023-12-29"))
    grid = {"fast": [3, 4, 5, 6, 7], "slow": [20, 25, 30, 35, 40, 45]}
    job = make_job(config, grid, PluginManager())
    tasks = plan_tasks(job)
    assert len(tasks) == TASKS
    context = WorkerContext()
    gc.collect()
    frozen = gc.get_freeze_count()
    try:
        readings = []
        for i, task in enumerate(tasks):
            run_task(job, task, context=context)
            if i >= WARM - 1:
                readings.append(rss_mb())
        left = gc.collect()  # a few small cycles that existed before the task may remain
        assert left < 100, f"{left} objects were left to the collector"
    finally:
        context.close()
    assert gc.get_freeze_count() == frozen  # each task unfroze what it froze
    growth = max(readings) - readings[0]
    assert growth < GROWTH_MB, (
        f"resident MB after tasks {WARM}..{TASKS}: {[round(r) for r in readings]}")
