"""Shared by the sweep tests: a small synthetic session and task functions that misbehave on
purpose (module-level, so pool workers import them by name under fork and spawn)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mismartera.sweep.worker import run_task

SESSION: dict[str, Any] = {
    "session": {"exchange": "XNYS", "start": "2024-01-02", "end": "2024-01-31"},
    "data": {"source": "synthetic", "seed": 3},
    "symbols": {"list": ["SYN0"]},
    "streams": {"intervals": ["1m"]},
    "strategy": {"name": "sma_cross", "interval": "5m", "params": {"qty": 50}},
}

SESSION_TOML = """\
[session]
start = 2024-01-02
end = 2024-01-31

[data]
source = "synthetic"
seed = 3

[symbols]
list = ["SYN0"]

[streams]
intervals = ["1m"]

[strategy]
name = "sma_cross"
interval = "5m"
params = { qty = 50 }
"""

GRID = {"fast": [3, 5], "slow": [20, 30]}

VOLATILE = ("run_s", "worker")
"""Columns that differ from run to run (wall time, the process)."""


def session(**changes: Any) -> dict[str, Any]:
    """SESSION with `section__key=value` changes."""
    data = {k: dict(v) for k, v in SESSION.items()}
    for key, value in changes.items():
        section, name = key.split("__")
        data.setdefault(section, {})[name] = value
    return data


def stable(df: Any) -> Any:
    """The table without the columns that differ from run to run."""
    return df.drop(columns=list(VOLATILE)).reset_index(drop=True)


def read_rows(path: str | Path) -> Any:
    """A results file as a DataFrame, read through duckdb."""
    import duckdb

    con = duckdb.connect()
    try:
        return con.execute("SELECT * FROM read_parquet(?)", [str(path)]).df()
    finally:
        con.close()


def marker(job: Any) -> Path:
    """A per-job file the misbehaving functions below use to misbehave once."""
    return Path(os.environ["SWEEP_TEST_DIR"]) / f"{job.fingerprint}.died"


def die_once_on_first(job: Any, task: Any) -> dict[str, Any]:
    """The process running the job's first grid point dies the first time (a killed worker)."""
    if task.param_dict() == {"fast": 3, "slow": 20} and not marker(job).exists():
        marker(job).write_text("died")
        os._exit(9)
    return run_task(job, task)


def always_die_on_first(job: Any, task: Any) -> dict[str, Any]:
    """The process running the first grid point dies every time."""
    if task.param_dict() == {"fast": 3, "slow": 20}:
        os._exit(9)
    return run_task(job, task)
