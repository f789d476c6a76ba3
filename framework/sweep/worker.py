"""One task of a sweep, run where the engine puts it (a pool process, a Ray worker, or the
calling process): `run_task(job, task)` runs one backtest through `run_backtest` and returns
the fields of its result row.

The worker loads plugins by name in its own process (`PluginManager`, which honours
MISMARTERA_LOAD_PLUGINS and MISMARTERA_DISABLE_PLUGIN_AUTOLOAD from the environment), so
nothing but the job's plain data and the task crosses a process boundary. The plugin
manager, the calendar and the bars read for a task's symbols and window stay in the
process's `WorkerContext` (mismartera.sweep.context) for the next task of the same sweep run
(`run_in`, which the runner wraps around every task).
"""

from __future__ import annotations

import gc
import math
import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from mismartera.trading.portfolio import OPEN_NS
from mismartera.trading.stats import daily_returns, summary

if TYPE_CHECKING:
    from collections.abc import Callable

    from mismartera.plugin_manager import PluginManager
    from mismartera.sweep.context import WorkerContext
    from mismartera.sweep.plan import SweepJob, Task


def moments(returns: Sequence[float] | np.ndarray) -> tuple[float | None, float | None]:
    """(skewness, kurtosis) of the returns from their population moments: m3 / m2^1.5 and
    m4 / m2^2 (Pearson's kurtosis: 3 for a normal distribution); None for fewer than two
    returns or no variation."""
    r = np.asarray(returns, dtype=np.float64)
    if len(r) < 2:
        return None, None
    d = r - r.mean()
    m2 = float(np.mean(d**2))
    if not m2 > 0:
        return None, None
    skew = float(np.mean(d**3)) / m2**1.5
    kurt = float(np.mean(d**4)) / m2**2
    return (skew if math.isfinite(skew) else None, kurt if math.isfinite(kurt) else None)


def worker_name() -> str:
    """"host:pid" of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_task(job: SweepJob, task: Task, plugins: PluginManager | None = None,
             context: WorkerContext | None = None) -> dict[str, Any]:
    """Run the task's backtest; its row's result fields: the strategy statistics, the daily
    dates and returns (the first from the starting cash), the closed trades' net pnl, the
    number of equity marks, sessions, skew and kurtosis of the daily returns, base bars
    processed, engine seconds and the worker. Raises what the run raises.

    `context` (default: this process's) gives the plugin manager (unless `plugins` is
    given), the calendar and the source, which keeps the bars of the task's symbols and
    window for the next task. What the run leaves in reference cycles is freed when it ends
    (`freed_after`), so a worker's memory stays flat across tasks."""
    from mismartera.sweep.context import current_context

    ctx = context if context is not None else current_context()
    with freed_after():  # the run's objects are unreachable once _run has returned
        return _run(job, task, plugins if plugins is not None else ctx.plugins(), ctx)


@contextmanager
def freed_after() -> Iterator[None]:
    """Free the reference cycles the body leaves behind when it ends, at the cost of a
    collection of the objects it made, not of the whole heap.

    A backtest's session objects refer to one another, so a finished task's are freed only
    by Python's cyclic collector, whose full collections come rarely in a process with a
    large long-lived heap: a worker's memory grew by every task's arrays (a year of 1m bars:
    ~0.3 MB a task) until one came. A full collection after each task frees them but costs
    ~35 ms here; so the objects that exist before the body are frozen (`gc.freeze`, which
    only moves the collector's lists) and the collection afterwards looks at the body's
    objects alone (~1 ms); then they are unfrozen. A process that keeps objects frozen of
    its own is left as it is (the collection then looks at the unfrozen ones)."""
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    try:
        yield
    finally:
        gc.collect()
        if freeze:
            gc.unfreeze()


def _run(job: SweepJob, task: Task, plugins: PluginManager,
         ctx: WorkerContext) -> dict[str, Any]:
    """run_task's backtest and row."""
    from mismartera.session.run import run_backtest
    from mismartera.sweep.plan import STAT_COLUMNS

    config = job.config(task)
    result = run_backtest(config, plugins=plugins, source=ctx.source(config, plugins),
                          collect=False)
    strategy = result.strategy
    if strategy is None:  # pragma: no cover - the job always names a strategy
        raise RuntimeError("the session ran no strategy")
    portfolio = strategy.portfolio
    curve = portfolio.equity_curve()  # once, for the statistics and the marks
    stats = summary(portfolio, strategy.sessions_per_year, curve)
    ts, equity = portfolio.daily_equity()
    returns = daily_returns(equity, portfolio.cash_start)
    calendar = ctx.calendar(config.exchange)
    trades = portfolio.trades()
    closed = trades["pnl"][trades["exit_ts"] != OPEN_NS]
    skew, kurt = moments(returns)
    metrics = result.metrics
    return {
        **{key: stats.get(key) for key in STAT_COLUMNS},
        "sessions": len(returns),
        "returns_skew": skew,
        "returns_kurtosis": kurt,
        "bars": int(metrics.bars_processed),
        "run_s": float(metrics.run_s),
        "worker": worker_name(),
        "daily_dates": [calendar.date_of(t).isoformat() for t in ts.tolist()],
        "daily_returns": returns.tolist(),
        "trade_pnl": np.asarray(closed, dtype=np.float64).tolist(),
        "equity_marks": len(curve[0]),
    }


def run_in(run: str, fn: Callable[[Any, Task], dict[str, Any]], job: Any,
           task: Task) -> dict[str, Any]:
    """`fn(job, task)` with this process's context made sweep run `run`'s
    (`mismartera.sweep.context.enter_run`): what the runner gives the engine, bound to its
    run's token (`functools.partial(run_in, token, fn)`)."""
    from mismartera.sweep.context import enter_run

    enter_run(run)
    return fn(job, task)


__all__ = ["freed_after", "moments", "run_in", "run_task", "worker_name"]
