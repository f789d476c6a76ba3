"""Sweep throughput: 100 tasks of `sma_cross` on 1 symbol x 1 year of 1m bars on 1 and 2
workers, local engine and Ray, beside backtesting.py's `optimize` and backtrader's
`optstrategy` on the same grid and bars (issue 16).

    .venv/bin/python bench/bench_sweep.py                 # 100 tasks x 252 sessions
    .venv/bin/python bench/bench_sweep.py --quick         # 4 tasks x 5 sessions (a smoke run)

The session is bench/bench_strategy.py's with one symbol: the synthetic source (SYN0, seed
1), a 1m base and `sma_cross@5m` (qty 100), from 2023-01-03 for `--sessions` sessions. The
grid is fast x slow (10 x 10 for 100 tasks: fast 5..50, slow 60..150), run through
`mismartera.sweep(...)` (the whole sweep: the plan, the pool or Ray tasks, every row
journaled and the Parquet file written), each task generating its year of 1m bars itself.

Measured, in `--repeat` interleaved rounds (the best wall time of each kept):

- in-process: each task's `run_task` (one backtest, the session built) in this process, one
  after the other: what a task costs alone;
- mismartera, local engine, 1 and 2 workers; Ray (a local Ray of 1 and 2 CPUs started before
  the sweep, its start timed apart, as a cluster would already run): tasks/s, the speed-up
  of 2 workers over 1 (targets >= 1.8x local, >= 1.6x Ray), and the overhead per task:
  wall x workers / tasks - the in-process mean (target < 100 ms), and for the local engine
  its CPU twin: this process's and the pool's CPU / tasks - the in-process CPU mean (what
  the machine's load hardly moves);
- memory: every worker's resident set (VmRSS) after every tenth of the tasks, read as rows
  come back (a local worker is idle then; a Ray worker may have begun its next task); flat
  when the last reading of the 1-worker local sweep's worker is within 5% of its first, and
  within 5% of the reading half-way (the worker frees each task's objects as it ends:
  mismartera.sweep.worker, `freed_after`);
- peers, on the same 5m bars (derived as the session derives them) and the same grid points:
  backtesting.py `Backtest.optimize` (its own process pool, run with 1 and 2 processes by
  substituting `backtesting.Pool`; it runs the best point once more at the end) and
  backtrader `optstrategy` (maxcpus 1 and 2); ratios ours / peer in tasks/s at the same
  number of processes. The closed trades per grid point are compared: ours may have one or
  two more at the start, as it warms its SMAs on the sessions before the first day (the
  peers start cold); bench/bench_strategy.py checks the trades themselves.

On a shared machine the figures follow its load (printed at the start and the end); the
ratios of one run are what to compare. A full round takes about 5 minutes on a quiet 2-core
machine (12 under a load of 6), backtrader's maxcpus 1 the longest part.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_strategy

QTY = bench_strategy.QTY
SPEEDUP_LOCAL, SPEEDUP_RAY = 1.8, 1.6  # 2 workers over 1 (issue 16)
OVERHEAD_S = 0.100  # per task, beyond the backtest itself
FLAT = 1.05  # memory: last reading / first, over all the readings and over the second half


def grid(tasks: int) -> dict[str, list[int]]:
    """fast x slow with `tasks` points, as square as `tasks` allows: fast 5, 10, ...;
    slow 60, 70, ... (always above every fast value up to 50; further up, slow starts above
    the largest fast)."""
    rows = max(d for d in range(1, math.isqrt(tasks) + 1) if tasks % d == 0)
    fast = [5 * (i + 1) for i in range(rows)]
    first = max(60, fast[-1] + 10)
    return {"fast": fast, "slow": [first + 10 * j for j in range(tasks // rows)]}


def rss_mb(pid: int) -> float | None:
    """The resident set of process `pid` in MB (None when it is gone or not on Linux)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


@dataclass
class Run:
    """One measured way of running the grid: its wall time and what it reported."""

    name: str
    workers: int
    wall: float = math.inf  # the best of the rounds
    walls: list[float] = field(default_factory=list)  # each round's
    trades: dict[tuple[int, int], int] = field(default_factory=dict)  # (fast, slow) -> closed
    memory: dict[int, list[tuple[int, float]]] = field(default_factory=dict)  # pid -> readings
    start_s: float | None = None  # Ray's start, apart
    cpu: float = math.inf  # local engine: CPU seconds of this process and its workers
    same_rows: bool | None = None  # ours: the rows equal the in-process ones


def cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have ended."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def in_process(cfg: Any, points: dict[str, list[int]]) -> tuple[float, float, dict[str, dict]]:
    """Wall and CPU seconds of every task's run_task in this process, one after the other,
    and the rows by task id (after a warm-up task: imports, the calendar)."""
    from mismartera.plugin_manager import PluginManager
    from mismartera.sweep.plan import make_job, plan_tasks
    from mismartera.sweep.worker import run_task

    job = make_job(cfg, points, PluginManager())
    tasks = plan_tasks(job)
    run_task(job, tasks[0])
    rows, start, cpu = {}, time.perf_counter(), cpu_seconds()
    for task in tasks:
        rows[task.id] = run_task(job, task)
    return time.perf_counter() - start, cpu_seconds() - cpu, rows


def sweep_run(run: Run, cfg: Any, points: dict[str, list[int]], engine: str, tasks: int,
              reference: dict[str, dict], folder: Path) -> None:
    """One sweep through `mismartera.sweep` on `engine` (for Ray, a local Ray of
    `run.workers` CPUs started first); keeps the best wall time and its memory readings."""
    from mismartera.sweep import sweep

    every = max(1, tasks // 10)
    memory: dict[int, list[tuple[int, float]]] = {}
    workers: list[int] = []  # pids, in the order they first ran a task
    done = [0]

    def on_row(row: dict[str, Any]) -> None:
        if row["worker"] is not None:  # a failed task has none
            pid = int(str(row["worker"]).rsplit(":", 1)[1])
            if pid not in workers:
                workers.append(pid)
        done[0] += 1
        if done[0] % every == 0:
            for p in workers:
                mb = rss_mb(p)
                if mb is not None:
                    memory.setdefault(p, []).append((done[0], mb))

    started = None
    if engine == "ray":
        import logging

        import ray

        t = time.perf_counter()
        ray.init(address="local", num_cpus=run.workers, include_dashboard=False,
                 log_to_driver=False, logging_level=logging.WARNING, configure_logging=False)
        started = time.perf_counter() - t
    output = folder / f"{engine}-{run.workers}.parquet"
    output.unlink(missing_ok=True)
    try:
        t, cpu = time.perf_counter(), cpu_seconds()
        df = sweep(cfg, points, engine=engine, workers=run.workers, output=output,
                   on_row=on_row)
        wall, cpu = time.perf_counter() - t, cpu_seconds() - cpu
    finally:
        if engine == "ray":
            ray.shutdown()
    failed = df[df["status"] != "ok"]
    if len(failed):
        print(f"{run.name}, {run.workers} worker(s): {len(failed)} task(s) failed, the first: "
              f"{failed['error'].iloc[0]}")
    same = not len(failed) and all(
        reference[r.task][k] == getattr(r, k)
        for r in df.itertuples() for k in ("total_return", "trades", "bars"))
    run.same_rows = same if run.same_rows is None else run.same_rows and same
    run.trades = {(int(r.fast), int(r.slow)): int(r.trades) for r in df.itertuples()}
    run.walls.append(wall)
    if engine == "local":  # the pool's workers have ended: their CPU is counted
        run.cpu = min(run.cpu, cpu)
    if wall < run.wall:
        run.wall, run.memory, run.start_s = wall, memory, started


def backtesting_run(run: Run, bars: dict, points: dict[str, list[int]]) -> None:
    """backtesting.py `Backtest.optimize` over the grid with `run.workers` processes."""
    import backtesting
    from _peers import backtesting_test

    test = backtesting_test(bars, QTY)
    context = multiprocessing.get_context("fork")
    saved = backtesting.Pool

    def pool(processes=None, initializer=None, initargs=()):
        return context.Pool(run.workers, initializer, initargs)

    backtesting.Pool = pool
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            _, heatmap = test.optimize(**points, maximize="# Trades", return_heatmap=True)
            wall = time.perf_counter() - t
    finally:
        backtesting.Pool = saved
    run.trades = {(int(f), int(s)): int(n) for (f, s), n in heatmap.items()}
    run.walls.append(wall)
    run.wall = min(run.wall, wall)


def backtrader_run(run: Run, bars: dict, points: dict[str, list[int]]) -> None:
    """backtrader `optstrategy` over the grid with maxcpus `run.workers`."""
    from _peers import backtrader_cerebro, strategies

    classes = strategies()
    cerebro = backtrader_cerebro(bars, QTY, maxcpus=run.workers, optreturn=True)
    cerebro.optstrategy(classes.BacktraderSmaCross, qty=QTY, **points)
    cerebro.addanalyzer(classes.ClosedTrades, _name="closed")
    t = time.perf_counter()
    results = cerebro.run(runonce=True, preload=True)
    wall = time.perf_counter() - t
    run.trades = {(int(r[0].params.fast), int(r[0].params.slow)):
                  int(r[0].analyzers.closed.get_analysis()) for r in results}
    run.walls.append(wall)
    run.wall = min(run.wall, wall)


def progress(round_: int, name: str, workers: int, seconds: float) -> None:
    """A line on stderr as each measurement ends (a full run takes minutes)."""
    print(f"[round {round_}] {name}, {workers} process(es): {seconds:.1f} s", file=sys.stderr,
          flush=True)


def memory_lines(run: Run) -> list[str]:
    return [f"  {run.name}, {run.workers} worker(s), pid {pid}: "
            + " ".join(f"{mb:.0f}" for _, mb in readings)
            + f" MB (after {readings[0][0]}..{readings[-1][0]} tasks of all)"
            for pid, readings in run.memory.items()]


def growth(run: Run, start: float = 0.0) -> float:
    """The largest last / first reading of the run's workers, the first taken after
    `start` x the tasks (nan without two readings)."""
    ratios = []
    for readings in run.memory.values():
        tasks = readings[-1][0]
        kept = [mb for done, mb in readings if done >= start * tasks]
        if len(kept) >= 2:
            ratios.append(kept[-1] / kept[0])
    return max(ratios) if ratios else math.nan


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def ms(x: float) -> str:
    return "-" if x != x else f"{x * 1e3:.0f}"


def report(ours: list[Run], peers: list[Run], tasks: int, alone: tuple[float, float],
           result: dict[str, Any]) -> dict[str, Run]:
    """The table of every way's wall time, tasks/s, speed-up and overhead per task (wall, and
    CPU for the local engine), then ours / peer; fills result["runs"]."""
    mean, mean_cpu = alone[0] / tasks, alone[1] / tasks
    print(f"\n{'way (same grid, same bars)':<26} {'procs':>5} {'wall s':>7} {'tasks/s':>7} "
          f"{'x 1 proc':>8} {'overhead ms/task: wall':>22} {'CPU':>5}")
    print(f"{'in-process run_task alone':<26} {1:>5} {alone[0]:>7.2f} {tasks / alone[0]:>7.2f}")
    single: dict[str, float] = {}
    for run in ours + peers:
        single.setdefault(run.name, run.wall)
        speedup = single[run.name] / run.wall
        over = run.wall * run.workers / tasks - mean if run in ours else math.nan
        over_cpu = run.cpu / tasks - mean_cpu if math.isfinite(run.cpu) else math.nan
        print(f"{run.name:<26} {run.workers:>5} {run.wall:>7.2f} {tasks / run.wall:>7.2f} "
              f"{speedup:>8.2f} {ms(over):>22} {ms(over_cpu):>5}")
        result["runs"][f"{run.name}/{run.workers}"] = {
            "wall_s": run.wall, "walls": run.walls, "tasks_per_s": tasks / run.wall,
            "speedup": speedup, "overhead_s": None if over != over else over,
            "overhead_cpu_s": None if over_cpu != over_cpu else over_cpu,
            "memory_growth": growth(run), "same_rows": run.same_rows,
            "ray_start_s": run.start_s}
    print("(overhead: wall x processes / tasks - the in-process mean; CPU: this process's and "
          "the pool's CPU / tasks - the in-process CPU mean, which the machine's load hardly "
          "moves)")
    print(f"(a task: {result['base_bars']:,} base bars, {mean * 1e3:.0f} ms in-process on "
          f"average)")
    for run in ours:
        if run.start_s is not None:
            print(f"ray, {run.workers} CPU(s): the local Ray's start {run.start_s:.1f} s "
                  f"(not in the wall time)")
    result["same_rows"] = all(run.same_rows for run in ours)
    print(f"rows equal to the in-process run_task (total_return, trades, bars): "
          f"{'yes' if result['same_rows'] else 'NO'}")

    runs = {f"{r.name}/{r.workers}": r for r in ours + peers}
    if peers:
        print("\nours / peer, tasks/s at the same number of processes:")
    for run in peers:
        mine = runs[f"local/{run.workers}"]
        ratio = run.wall / mine.wall
        diff = [mine.trades[k] - run.trades.get(k, -10**9) for k in mine.trades]
        print(f"  local {run.workers} / {run.name} {run.workers}: {ratio:.2f}x "
              f"(closed trades per point, ours - peer: {min(diff)}..{max(diff)})")
        result["runs"][f"{run.name}/{run.workers}"].update(
            ratio=ratio, trades_diff=[min(diff), max(diff)])
    print("\nmemory (resident MB of each worker after every tenth of the tasks):")
    for run in ours:
        print("\n".join(memory_lines(run)))
    return runs


def targets(runs: dict[str, Run], tasks: int, alone: tuple[float, float], ray_note: str | None
            ) -> dict[str, float]:
    """The issue's targets, each with its verdict."""
    mean = alone[0] / tasks
    local1 = runs["local/1"]
    out = {"local_speedup": local1.wall / runs["local/2"].wall,
           "overhead_ms": (local1.wall / tasks - mean) * 1e3,
           "overhead_cpu_ms": (local1.cpu - alone[1]) / tasks * 1e3,
           "memory_growth": growth(local1), "memory_growth_second_half": growth(local1, 0.5)}
    print(f"\ntarget: local engine, 2 workers >= {SPEEDUP_LOCAL}x 1 worker: "
          f"{out['local_speedup']:.2f}x: {verdict(out['local_speedup'] >= SPEEDUP_LOCAL)}")
    if ray_note is None:
        out["ray_speedup"] = runs["ray/1"].wall / runs["ray/2"].wall
        out["ray_overhead_ms"] = (runs["ray/1"].wall / tasks - mean) * 1e3
        print(f"target: Ray, 2 workers >= {SPEEDUP_RAY}x 1 worker: {out['ray_speedup']:.2f}x: "
              f"{verdict(out['ray_speedup'] >= SPEEDUP_RAY)}")
    else:
        print(f"Ray: skipped ({ray_note})")
    limit = OVERHEAD_S * 1e3
    print(f"target: per-task overhead (local engine, 1 worker) < {limit:.0f} ms: wall "
          f"{out['overhead_ms']:.0f} ms: {verdict(out['overhead_ms'] < limit)} (CPU "
          f"{out['overhead_cpu_ms']:.0f} ms)")
    if "ray_overhead_ms" in out:
        print(f"target: per-task overhead (Ray, 1 worker) < {limit:.0f} ms: wall "
              f"{out['ray_overhead_ms']:.0f} ms: {verdict(out['ray_overhead_ms'] < limit)}")
    g, late = out["memory_growth"], out["memory_growth_second_half"]
    print(f"target: memory flat (1-worker local sweep, last / first reading <= {FLAT}, and "
          f"over the second half of the tasks): {g:.2f}, second half {late:.2f}: "
          f"{verdict(g <= FLAT and late <= FLAT)}"
          if g == g else "memory: fewer than two readings (more tasks needed)")
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100, help="grid points (fast x slow)")
    parser.add_argument("--sessions", type=int, default=252)
    parser.add_argument("--quick", action="store_true", help="4 tasks x 5 sessions")
    parser.add_argument("--repeat", type=int, default=1, help="interleaved rounds, best kept")
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    tasks, sessions = (4, 5) if args.quick else (args.tasks, args.sessions)
    if tasks < 1 or sessions < 1 or args.repeat < 1:
        parser.error("--tasks, --sessions and --repeat: expected whole numbers >= 1")
    ray_ok = not args.no_ray
    if ray_ok:
        try:
            import ray  # noqa: F401
        except ImportError:
            ray_ok = False

    load_start = os.getloadavg()
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in load_start)} "
          f"({os.cpu_count()} CPUs)")
    cfg = bench_strategy.config(1, sessions)
    points = grid(tasks)
    print(f"grid: fast {points['fast']} x slow {points['slow']} = {tasks} tasks of sma_cross@5m "
          f"on SYN0 x {sessions} sessions of 1m bars")

    ours = [Run("local", 1), Run("local", 2)]
    if ray_ok:
        ours += [Run("ray", 1), Run("ray", 2)]
    peers: list[tuple[Run, Callable[[Run, dict, dict], None]]] = []
    bars: dict = {}
    if not args.no_peers:
        bars = bench_strategy.five_minute_bars(0, sessions)
        peers = [(Run("backtesting.py optimize", w), backtesting_run) for w in (1, 2)]
        peers += [(Run("backtrader optstrategy", w), backtrader_run) for w in (1, 2)]

    alone, alone_cpu, reference = math.inf, math.inf, {}
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        for round_ in range(1, args.repeat + 1):
            seconds, cpu, reference = in_process(cfg, points)
            alone, alone_cpu = min(alone, seconds), min(alone_cpu, cpu)
            progress(round_, "in-process", 1, seconds)
            for run in ours:
                sweep_run(run, cfg, points, run.name, tasks, reference, Path(tmp))
                progress(round_, run.name, run.workers, run.walls[-1])
            for run, how in peers:
                how(run, bars, points)
                progress(round_, run.name, run.workers, run.walls[-1])
    load_end = os.getloadavg()

    result: dict[str, Any] = {
        "tasks": tasks, "sessions": sessions, "repeat": args.repeat,
        "base_bars": next(iter(reference.values()))["bars"], "in_process_s": alone,
        "in_process_cpu_s": alone_cpu, "load": [load_start, load_end], "runs": {}}
    runs = report(ours, [r for r, _ in peers], tasks, (alone, alone_cpu), result)
    ray_note = None if ray_ok else "--no-ray" if args.no_ray else "ray is not installed"
    result["targets"] = targets(runs, tasks, (alone, alone_cpu), ray_note)
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in load_end)}")
    if args.json:
        print(json.dumps(result, default=str))
    return result

if __name__ == "__main__":
    main()
