"""Parameter sweeps and walk-forward: many backtests of one session's strategy, one per grid
point x symbol set x date window, on a local process pool or a Ray cluster.

    from mismartera.sweep import sweep
    df = sweep("session.toml", grid={"fast": [5, 10], "slow": [30, 50]}, output="out.parquet")

`mismartera.sweep(...)` is the same function. The pieces: `plan` (the job, the grid, windows
and walk-forward folds, tasks with stable ids), `worker` (one task = one backtest), `engines`
(the local process pool; `ray_engine` with the extra mismartera[ray]), `results` (journal and
Parquet, resume), `walkforward` (best parameters per training window, the out-of-sample row)
and `runner` (all of it together). Importing this package loads none of them.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from mismartera.config import SessionConfig
    from mismartera.plugin_manager import PluginManager
    from mismartera.sweep.engines import Engine, LocalEngine, make_engine
    from mismartera.sweep.plan import SweepJob, Task, make_job, plan_tasks
    from mismartera.sweep.results import Results
    from mismartera.sweep.runner import run_sweep
    from mismartera.sweep.worker import run_task

_LAZY = {
    "Engine": "mismartera.sweep.engines",
    "LocalEngine": "mismartera.sweep.engines",
    "make_engine": "mismartera.sweep.engines",
    "SweepJob": "mismartera.sweep.plan",
    "Task": "mismartera.sweep.plan",
    "make_job": "mismartera.sweep.plan",
    "plan_tasks": "mismartera.sweep.plan",
    "Results": "mismartera.sweep.results",
    "run_sweep": "mismartera.sweep.runner",
    "run_task": "mismartera.sweep.worker",
}


def sweep(
    session: SessionConfig | str | Path | Mapping[str, Any],
    grid: Mapping[str, Sequence[Any]] | Iterable[str],
    *,
    symbols: Iterable[str | Sequence[str]] = (),
    windows: str | None = None,
    walk_forward: str | None = None,
    rank: str = "sharpe",
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    retries: int = 2,
    start_method: str | None = None,
    output: str | Path | None = None,
    resume: bool = False,
    plugins: PluginManager | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """Run a sweep of the session's strategy and return its rows (the rows of `output`, when
    given, as written there).

    `session`: a session file, a dict shaped like one or a SessionConfig (with a [strategy]);
    `grid`: {"fast": [5, 10]} or ["fast=5,10", ...] (values over the strategy's params);
    `symbols`: symbol sets, each "A,B" or ["A", "B"] (default: the session's symbols, one set);
    `windows`: "monthly" | "quarterly" | "yearly"; `walk_forward`: "train=6m,test=1m";
    `rank`: the metric the best parameters are chosen by; `engine`: "local" (a process pool
    of `workers`, the CPUs by default; 0 runs in this process) or "ray" (`address` an
    existing cluster's); `retries`: further tries of a task that raised; `output`: a
    .parquet file (its journal beside it while the sweep runs); `resume`: go on with an
    unfinished `output`; `plugins` checks the grid (workers load their own, by name);
    `on_row(row)` hears of each row as its task ends."""
    from mismartera.plugin_manager import PluginManager
    from mismartera.session.run import as_config
    from mismartera.sweep.engines import make_engine
    from mismartera.sweep.plan import make_job, parse_grid
    from mismartera.sweep.results import Results
    from mismartera.sweep.runner import run_sweep

    grid_dict = dict(grid) if isinstance(grid, Mapping) else parse_grid(grid)
    job = make_job(as_config(session), grid_dict, plugins or PluginManager(),
                   symbol_sets=symbols, windows=windows, walk_forward=walk_forward, rank=rank)
    runner = make_engine(engine, workers, address, retries, start_method)
    results = Results(job, output, resume)
    results.check()
    run_sweep(job, runner, results, on_row=on_row)
    return results.frame()


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mismartera.sweep' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


class _CallableModule(types.ModuleType):
    """`mismartera.sweep` is this package once a submodule has been imported (the import
    system binds it over the lazily loaded function): calling it calls `sweep`."""

    def __call__(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

__all__ = ["Engine", "LocalEngine", "Results", "SweepJob", "Task", "make_engine", "make_job",
           "plan_tasks", "run_sweep", "run_task", "sweep"]
