"""The ray engine: a local Ray the engine starts and stops, and a cluster started here with
`ray start --head` and joined by address. Retries (a task that raises, a worker that dies), a
failing task recorded, Ctrl-C, the same rows as the local engine."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray", reason="the ray engine needs the extra mismartera[ray]")

from mismartera.sweep.engines import LocalEngine, make_engine  # noqa: E402
from mismartera.sweep.plan import Task, make_task  # noqa: E402
from mismartera.sweep.ray_engine import RayEngine  # noqa: E402

pytestmark = pytest.mark.slow  # Ray starts twice: about 30 s on 2 cores

RAY = Path(sys.executable).with_name("ray")


def toy(job: dict[str, Any], task: Task) -> dict[str, Any]:
    """n -> n * n; `fail` always raises; `flaky` raises on its first try; `crash` kills its
    worker process on its first try; `slow` sleeps; every try leaves a file in `dir`."""
    n = task.param_dict()["n"]
    marks = Path(job["dir"])
    tries = len(list(marks.glob(f"{n}-*")))
    (marks / f"{n}-{tries}").touch()
    if n in job.get("fail", ()):
        raise ValueError(f"task {n} fails\nsecond line")
    if n in job.get("flaky", ()) and tries == 0:
        raise RuntimeError("first try")
    if n in job.get("crash", ()) and tries == 0:
        os._exit(3)
    time.sleep(job.get("slow", 0))
    return {"n": n, "square": n * n}


def tasks(count: int) -> list[Task]:
    day = date(2011, 1, 3)
    return [make_task("job", {"n": n}, ("SPY",), day, day, "full", None) for n in range(count)]


def collect(engine, fn, job, todo) -> dict[int, tuple[dict | None, str | None, int]]:
    got: dict[int, tuple[dict | None, str | None, int]] = {}

    def on_done(task: Task, result, error, attempts) -> None:
        assert os.getpid() == parent  # reported in the calling process
        n = task.param_dict()["n"]
        assert n not in got  # once per task
        got[n] = (result, error, attempts)

    parent = os.getpid()
    engine.run(fn, job, todo, on_done)
    return got


def check_faults(got, count: int) -> None:
    """The outcome of `toy` with fail=(1,), flaky=(2,), crash=(3,) and retries=2."""
    assert sorted(got) == list(range(count))
    assert got[1] == (None, "ValueError: task 1 fails", 3)
    assert got[2] == ({"n": 2, "square": 4}, None, 2)
    assert got[3] == ({"n": 3, "square": 9}, None, 2)
    for n in set(range(count)) - {1, 2, 3}:
        assert got[n] == ({"n": n, "square": n * n}, None, 1)


@pytest.fixture(scope="module", autouse=True)
def no_token(tmp_path_factory):
    """Test clusters without Ray's token authentication (nothing written to ~/.ray)."""
    before = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    yield
    if before is None:
        del os.environ["RAY_AUTH_MODE"]
    else:
        os.environ["RAY_AUTH_MODE"] = before


@pytest.fixture(scope="module")
def cluster(no_token, tmp_path_factory):
    """`ray start --head` on this machine (2 CPUs), its address; killed after the module."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("ray") / "head.log"
    with log.open("w") as out:
        head = subprocess.Popen(
            [str(RAY), "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1",
             "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats", "--block"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while "--block" not in log.read_text():  # "...will now block forever" once started
            if head.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ray start --head failed: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(head.pid, signal.SIGTERM)  # ray start and every process it started
        with contextlib.suppress(subprocess.TimeoutExpired):
            head.wait(timeout=2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGKILL)  # what did not stop in time
        head.wait()
        # a later ray.init() without an address must not look for this cluster
        current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
        if current.exists() and current.read_text().strip().endswith(f":{port}"):
            current.unlink()


def test_a_local_ray_is_started_for_the_run_and_stopped(tmp_path):
    engine = make_engine("ray", workers=2, retries=2)
    assert isinstance(engine, RayEngine) and engine.workers == 2
    got = collect(engine, toy, {"dir": str(tmp_path), "fail": (1,), "flaky": (2,),
                                "crash": (3,)}, tasks(6))
    check_faults(got, 6)
    assert not ray.is_initialized()


def test_a_cluster_joined_by_address(cluster, tmp_path):
    engine = RayEngine(address=cluster, retries=2)
    got = collect(engine, toy, {"dir": str(tmp_path), "fail": (1,), "flaky": (2,),
                                "crash": (3,)}, tasks(8))
    check_faults(got, 8)
    assert engine.workers == 2  # the cluster's CPUs
    assert not ray.is_initialized()  # the driver left the cluster ...
    (tmp_path / "again").mkdir()
    again = collect(RayEngine(address=cluster, retries=0),  # ... which still runs
                    toy, {"dir": str(tmp_path / "again"), "fail": (0,)}, tasks(2))
    assert again == {0: (None, "ValueError: task 0 fails", 1), 1: ({"n": 1, "square": 1},
                                                                    None, 1)}


def test_ctrl_c_cancels_what_has_not_run(cluster, tmp_path):
    engine = RayEngine(address=cluster, retries=0)
    seen: list[int] = []

    def on_done(task, result, error, attempts) -> None:
        seen.append(task.param_dict()["n"])
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        engine.run(toy, {"dir": str(tmp_path), "slow": 0.5}, tasks(40), on_done)
    assert len(seen) == 1
    assert not ray.is_initialized()
    time.sleep(1)
    started = {p.name.split("-")[0] for p in tmp_path.iterdir()}
    assert len(started) <= 2 * 2 * engine.workers  # at most the tasks in flight, not all 40


def test_rows_equal_the_local_engine(cluster):
    from mismartera.config import SessionConfig
    from mismartera.plugin_manager import PluginManager
    from mismartera.sweep.plan import make_job, plan_tasks

    config = SessionConfig.from_dict({
        "session": {"exchange": "XNYS", "start": "2011-01-10", "end": "2011-01-12"},
        "data": {"source": "sample"}, "symbols": {"list": ["SPY"]},
        "streams": {"intervals": ["1m", "5m"]},
        "strategy": {"name": "sma_cross", "interval": "5m", "params": {"fast": 3, "slow": 8}},
    }, origin="test")
    job = make_job(config, {"fast": [2, 3], "slow": [8, 12]}, PluginManager())
    todo = plan_tasks(job)
    # spawn: a forked child of a process that has run Ray may crash (Ray's threads)
    runs = [collect_rows(engine, job, todo)
            for engine in (LocalEngine(workers=2, start_method="spawn"),
                           RayEngine(address=cluster))]
    assert len(runs[0]) == 4 and runs[0] == runs[1]


def collect_rows(engine, job, todo) -> dict[str, dict]:
    from mismartera.sweep.worker import run_task

    rows: dict[str, dict] = {}

    def on_done(task, result, error, attempts) -> None:
        assert error is None, error
        rows[task.id] = {k: v for k, v in result.items() if k not in ("run_s", "worker")}

    engine.run(run_task, job, todo, on_done)
    return rows


def test_ray_is_imported_only_by_the_ray_engine():
    code = ("import sys; from mismartera.sweep.engines import make_engine; "
            "make_engine('local'); import mismartera.sweep; print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
