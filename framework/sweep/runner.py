"""Running a planned sweep: the tasks the results do not hold yet go to the engine, each row is
added to the results as its task ends; a walk-forward then runs each fold's test task with the
parameters chosen on its training window and adds the out-of-sample rows."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from mismartera.sweep import worker
from mismartera.sweep.context import release_context
from mismartera.sweep.engines import Engine, TaskFn
from mismartera.sweep.plan import Fold, SweepJob, Task, fold_test_task, plan_folds, plan_tasks
from mismartera.sweep.results import Results, make_row
from mismartera.sweep.walkforward import chosen_params, oos_row

OnRow = Callable[[dict[str, Any]], None]
OnPlan = Callable[[int, int], None]


def run_sweep(job: SweepJob, engine: Engine, results: Results, *, fn: TaskFn | None = None,
              on_row: OnRow | None = None, on_plan: OnPlan | None = None) -> None:
    """Run the job's tasks on `engine` into `results` (checked and, on resume, read already):
    `on_plan(total, skipped)` hears how many rows the sweep has and how many the results hold
    already, `on_row(row)` each new row. The output is written at the end (the journal
    removed); on KeyboardInterrupt the rows so far are written and the journal kept before
    the interrupt goes on.

    Every task runs through `worker.run_in` with a token of this run, so the workers' cached
    plugins, calendars and bars (mismartera.sweep.context) serve this run only."""
    token = uuid.uuid4().hex
    run: TaskFn = functools.partial(worker.run_in, token,
                                    fn if fn is not None else worker.run_task)
    tasks = plan_tasks(job)
    folds = plan_folds(job)
    results.expect(tasks)
    done = results.done()
    todo = [task for task in tasks if task.id not in done]
    if on_plan is not None:
        later = (len(folds) + 1) * len(job.symbol_sets) if folds else 0
        on_plan(len(tasks) + later, len(tasks) - len(todo))

    def on_done(task: Task, result: dict[str, Any] | None, error: str | None,
                attempts: int) -> None:
        add(make_row(job, task, result, error, attempts))

    def add(row: dict[str, Any]) -> None:
        results.add(row)
        if on_row is not None:
            on_row(row)

    try:
        engine.run(run, job, todo, on_done)
        if folds:
            _walk_forward(job, engine, results, tasks, folds, run, on_done, add)
    except BaseException:
        results.write()
        results.close()
        raise
    finally:
        release_context(token)  # what this process cached (tasks run here, workers=0)
    results.finish()


def _walk_forward(job: SweepJob, engine: Engine, results: Results, tasks: list[Task],
                  folds: list[Fold], run: TaskFn, on_done: Any,
                  add: Callable[[dict[str, Any]], None]) -> None:
    """Each fold's test task with its training window's best parameters; then the
    out-of-sample row of each symbol set."""
    from mismartera.calendar import TimeManager
    from mismartera.trading.assembly import sessions_per_year

    tests: dict[tuple[tuple[str, ...], int], Task] = {}
    for symbols in job.symbol_sets:
        for fold in folds:
            trained = [results.rows[t.id] for t in tasks
                       if t.symbols == symbols and t.fold == fold.index and t.id in results.rows]
            params = chosen_params(job, trained, job.rank)
            if params is not None:
                tests[symbols, fold.index] = fold_test_task(job, fold, symbols, params)
    results.expect(tests.values())
    done = results.done()
    engine.run(run, job, [t for t in tests.values() if t.id not in done], on_done)
    calendar = TimeManager(job.session["session"]["exchange"])
    per_year = sessions_per_year(calendar, folds[0].test[0])
    for symbols in job.symbol_sets:
        chosen = [tests.get((symbols, fold.index)) for fold in folds]
        rows = [None if t is None else results.rows.get(t.id) for t in chosen]
        row = oos_row(job, symbols, folds, rows, per_year)
        results.expect([row["task"]])
        add(row)


__all__ = ["run_sweep"]
