"""The terms of the cost model per sweep task in docs/scaling.md, measured on this machine.

    python bench/bench_sweep_cost.py [--days 252] [--repeat 3] [--ray]

1. process start: a fresh Python importing the worker, the plugins and the XNYS calendar (what
   a new worker process pays once), beside a bare `python -c pass`;
2. data load: one symbol-year of 1m bars from a hive dataset (`parquet` source) and from the
   DuckDB store (`store` source), local disk, page cache warm;
3. per task: `run_task` (sma_cross on 1m, one symbol) on windows of 5 .. 120 sessions of that
   year, from the hive dataset, cold (a fresh `WorkerContext` per measured task: plugin
   manager, calendar, source and the year's load, as a worker's first task of a window) and
   warm (the same task again in that context: the bars in memory, as the window's next grid
   points); a least-squares line time = setup + bars x per_bar for each;
4. engine overhead: no-op tasks through the local engine (2 workers) and, with --ray, a local
   Ray (its start apart): the cost of a task beyond its work.

Noisy on a shared machine: each figure is the best (or median) of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

START = date(2019, 1, 2)


def process_start(repeat: int) -> tuple[float, float]:
    """Median seconds of a worker-like process start, and of a bare interpreter."""
    worker = ("from mismartera.plugin_manager import PluginManager; "
              "from mismartera.calendar import TimeManager; import mismartera.sweep.worker; "
              "import mismartera.session.run; PluginManager().registered('source'); "
              "TimeManager('XNYS').load()")

    def timed(code: str) -> float:
        runs = []
        for _ in range(repeat):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            runs.append(time.perf_counter() - t)
        return statistics.median(runs)

    return timed(worker), timed("pass")


def make_data(folder: Path, days: int) -> tuple[Path, Path, int, int]:
    """A year of synthetic 1m bars of SYN0 as a hive dataset and a store: paths, ns range."""
    from mismartera.calendar import TimeManager
    from mismartera.commands.dataset import local_midnight_ns, write_dataset
    from mismartera.intervals import Interval
    from mismartera.plugin_manager import PluginManager
    from mismartera.store import BarStore

    tm = TimeManager("XNYS")
    sessions = tm.trading_days(START, date(2019, 12, 31))[:days]
    lo = local_midnight_ns(sessions[0], tm.tz)
    hi = local_midnight_ns(sessions[-1], tm.tz) + 86_400 * 10**9
    src = PluginManager().make_source("synthetic", {"symbols": "SYN0"}, exchange="XNYS")
    dataset = folder / "bars"
    write_dataset(src, dataset, ["SYN0"], lo, hi, tm.tz, [Interval.parse("1m")])
    store = folder / "bars.duckdb"
    with BarStore(store) as db:
        db.write("SYN0", Interval.parse("1m"), src.bars("SYN0", Interval.parse("1m"), lo, hi),
                 tz=ZoneInfo("America/New_York"))
    return dataset, store, lo, hi


def data_load(dataset: Path, store: Path, lo: int, hi: int, repeat: int) -> dict[str, float]:
    """Best seconds to read the symbol-year with a fresh source: hive dataset, store."""
    from mismartera.intervals import Interval
    from mismartera.plugin_manager import PluginManager

    pm, m1 = PluginManager(), Interval.parse("1m")
    out = {}
    for name, options in (("parquet", {"path": str(dataset)}), ("store", {"store": str(store)})):
        best = float("inf")
        for _ in range(repeat + 1):
            t = time.perf_counter()
            n = len(pm.make_source(name, options, exchange="XNYS").bars("SYN0", m1, lo, hi))
            best = min(best, time.perf_counter() - t)
        out[name] = best
        out["bars"] = n
    return out


def per_task(dataset: Path, repeat: int, spans: list[int]) -> list[tuple[int, float, float]]:
    """(base bars, best seconds of a cold task, best seconds of a warm one) for windows of
    `spans` sessions: cold, `run_task` with a fresh `WorkerContext` (its plugin manager,
    calendar and source built, the year read: a worker's first task of a window); warm, the
    same task again in a context that has run it (the next grid point of that window)."""
    from mismartera.calendar import TimeManager
    from mismartera.config import SessionConfig
    from mismartera.plugin_manager import PluginManager
    from mismartera.sweep.context import WorkerContext
    from mismartera.sweep.plan import make_job, plan_tasks
    from mismartera.sweep.worker import run_task

    sessions = TimeManager("XNYS").trading_days(START, date(2019, 12, 31))
    pm = PluginManager()
    points = []
    for span in spans:
        config = SessionConfig.from_dict({
            "session": {"exchange": "XNYS", "start": sessions[0].isoformat(),
                        "end": sessions[span - 1].isoformat()},
            "data": {"source": "parquet", "path": str(dataset)},
            "symbols": {"list": ["SYN0"]}, "streams": {"intervals": ["1m"]},
            "strategy": {"name": "sma_cross", "interval": "1m"},
        }, origin="bench")
        job = make_job(config, {"fast": [10], "slow": [30]}, pm)
        task = plan_tasks(job)[0]
        cold = warm = float("inf")
        bars = 0
        for _ in range(repeat + 1):
            context = WorkerContext()
            try:
                t = time.perf_counter()
                bars = run_task(job, task, context=context)["bars"]
                cold = min(cold, time.perf_counter() - t)
                for _ in range(2):
                    t = time.perf_counter()
                    run_task(job, task, context=context)
                    warm = min(warm, time.perf_counter() - t)
            finally:
                context.close()
        points.append((bars, cold, warm))
    return points


def engine_overhead(engine, count: int) -> float:
    """Seconds per no-op task through `engine` (wall time x workers / tasks)."""
    from mismartera.sweep.plan import make_task

    tasks = [make_task("noop", {"n": n}, ("X",), START, START, "full") for n in range(count)]
    t = time.perf_counter()
    engine.run(noop, None, tasks, lambda *a: None)
    return (time.perf_counter() - t) * engine.workers / count


def noop(job: object, task: object) -> dict:
    return {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=252)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--ray", action="store_true", help="also a local Ray's overhead")
    args = ap.parse_args()

    worker, bare = process_start(args.repeat)
    print(f"process start: worker {worker * 1e3:.0f} ms (bare python {bare * 1e3:.0f} ms)")
    with tempfile.TemporaryDirectory() as tmp:
        dataset, store, lo, hi = make_data(Path(tmp), args.days)
        load = data_load(dataset, store, lo, hi, args.repeat)
        print(f"data load, 1 symbol x {args.days} sessions ({load['bars']:,} 1m bars): "
              f"hive parquet {load['parquet'] * 1e3:.0f} ms, store {load['store'] * 1e3:.0f} ms")
        points = per_task(dataset, args.repeat, [s for s in (5, 20, 60, 120) if s <= args.days])
        bars, cold, warm = np.array(points, dtype=float).T
        for b, c, w in points:
            print(f"  run_task {int(b):>7,} bars: cold {c * 1e3:5.0f} ms, warm {w * 1e3:5.0f} ms")
        for name, secs, what in (
                ("cold", cold, f"a fresh worker context: the plugins, the calendar and the "
                               f"year's load ({load['parquet'] * 1e3:.0f} ms alone) included"),
                ("warm", warm, "the context has run the task: its bars in memory")):
            per_bar, setup = np.polyfit(bars, secs, 1)
            print(f"per task, {name}: setup {setup * 1e3:.0f} ms + {per_bar * 1e9:.0f} ns per "
                  f"base bar ({1 / per_bar / 1e6:.2f}M bars/s); {what}")
    from mismartera.sweep.engines import LocalEngine

    local = LocalEngine(workers=2)
    engine_overhead(local, 20)  # warm: the pool's processes start
    print(f"local engine: {engine_overhead(local, 400) * 1e3:.1f} ms per no-op task per worker")
    if args.ray:
        import ray

        from mismartera.sweep.ray_engine import RayEngine

        t = time.perf_counter()
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
        start = time.perf_counter() - t
        try:
            ray_engine = RayEngine(workers=2)  # uses the Ray started here, leaves it running
            engine_overhead(ray_engine, 20)  # warm: Ray's worker processes start
            per = engine_overhead(ray_engine, 400)
        finally:
            ray.shutdown()
        print(f"ray engine: local Ray start {start:.1f} s; {per * 1e3:.1f} ms per no-op task "
              "per worker")

if __name__ == "__main__":
    main()
