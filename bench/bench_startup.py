"""Start-up: `mismartera --help`, and building a session, each in a fresh interpreter.

    python bench/bench_startup.py              # best of 10 runs of each
    python bench/bench_startup.py --repeat 3   # quick

Every figure is the best of `--repeat` fresh processes (wall time, and the CPU time the
process used, which the load of a shared machine disturbs less). Beside `--help`: the bare
interpreter (`python -c pass`) and `import mismartera.cli`, from the same run. Building a
session is timed inside one fresh process, step by step, each step paying its own imports:
the plugin manager (the built-in plugins), the exchange calendar (exchange_calendars and
pandas), and a `SessionCoordinator` for one synthetic symbol and one day (config, source,
the rest of the engine). Target: `--help` under 0.3 s (issue 17).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

TARGET_HELP_S = 0.3

BUILD = r"""
import json, time
t0 = time.perf_counter()
from mismartera.plugin_manager import PluginManager
manager = PluginManager()
t1 = time.perf_counter()
from mismartera.calendar import TimeManager
calendar = TimeManager("XNYS").load()
t2 = time.perf_counter()
from mismartera.config import SessionConfig
from mismartera.session.coordinator import SessionCoordinator
config = SessionConfig.from_dict({
    "session": {"start": "2023-01-03", "end": "2023-01-03"},
    "data": {"source": "synthetic", "count": 1, "seed": 1},
    "symbols": {"list": ["SYN0"]},
    "streams": {"intervals": ["1m", "5m"]},
})
SessionCoordinator(config, plugins=manager, calendar=calendar)
t3 = time.perf_counter()
print(json.dumps({"plugin manager": t1 - t0, "calendar": t2 - t1, "coordinator": t3 - t2,
                  "session built": t3 - t0}))
"""


def mismartera_command() -> list[str]:
    """The console script beside this interpreter, else `python -m mismartera`."""
    script = Path(sys.executable).with_name("mismartera")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "mismartera"]


def timed(argv: list[str]) -> tuple[float, float, str]:
    """(wall s, CPU s, stdout) of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.stdout


def best(argv: list[str], repeat: int) -> tuple[float, float]:
    """Best wall and best CPU seconds over `repeat` fresh processes (after one warm-up)."""
    timed(argv)
    runs = [timed(argv)[:2] for _ in range(repeat)]
    return min(w for w, _ in runs), min(c for _, c in runs)


def build_steps(repeat: int) -> dict[str, float]:
    """Each step of building a session: the best of `repeat` fresh processes."""
    steps: dict[str, float] = {}
    timed([sys.executable, "-c", BUILD])
    for _ in range(repeat):
        for name, seconds in json.loads(timed([sys.executable, "-c", BUILD])[2]).items():
            steps[name] = min(steps.get(name, float("inf")), seconds)
    return steps


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    rows = {
        "python -c pass": best([sys.executable, "-c", "pass"], args.repeat),
        "import mismartera.cli": best([sys.executable, "-c", "import mismartera.cli"],
                                      args.repeat),
        "mismartera --help": best([*mismartera_command(), "--help"], args.repeat),
    }
    print(f"{'fresh process (best of ' + str(args.repeat) + ')':<28} {'wall s':>8} {'CPU s':>8}")
    for name, (wall, cpu) in rows.items():
        print(f"{name:<28} {wall:>8.3f} {cpu:>8.3f}")
    wall, cpu = rows["mismartera --help"]
    verdict = "met" if wall < TARGET_HELP_S else "NOT met"
    print(f"target: mismartera --help < {TARGET_HELP_S} s: {verdict} ({wall:.3f} s wall, "
          f"{cpu:.3f} s CPU)")

    steps = build_steps(args.repeat)
    print(f"\n{'building a session (fresh process)':<36} {'s':>7}")
    for name, seconds in steps.items():
        print(f"{name:<36} {seconds:>7.3f}")
    result = {"processes": {k: {"wall_s": w, "cpu_s": c} for k, (w, c) in rows.items()},
              "build_s": steps}
    if args.json:
        print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
