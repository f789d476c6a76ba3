"""The local engine: the same table in this process, in a pool of two under the platform's
start method and under spawn; a failing task is recorded and the sweep goes on; a worker that
dies is blamed for its task only; Ctrl-C writes the finished rows and resume finishes the same
table."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mismartera.plugin_manager import PluginManager
from mismartera.session.run import as_config
from mismartera.sweep import sweep
from mismartera.sweep.engines import LocalEngine, SerialEngine
from mismartera.sweep.plan import make_job, plan_tasks
from mismartera.sweep.results import Results, make_row
from mismartera.sweep.runner import run_sweep
from mismartera.sweep.worker import run_task
from tests.sweep import helpers
from tests.sweep.helpers import GRID, SESSION, read_rows, stable


@pytest.fixture(scope="module")
def serial():
    """The reference: every task in this process."""
    return sweep(SESSION, GRID, workers=0)


@pytest.fixture
def marks(tmp_path, monkeypatch):
    monkeypatch.setenv("SWEEP_TEST_DIR", str(tmp_path))
    return tmp_path


def job_of(grid=GRID, **options):
    return make_job(as_config(SESSION), grid, PluginManager(load_entry_points=False), **options)


def test_the_serial_rows_are_whole(serial):
    assert len(serial) == 4
    assert (serial["status"] == "ok").all() and (serial["attempts"] == 1).all()
    assert list(zip(serial["fast"], serial["slow"], strict=True)) == [
        (3, 20), (3, 30), (5, 20), (5, 30)]
    assert serial["task"].is_unique
    for _, row in serial.iterrows():
        assert len(row["daily_dates"]) == len(row["daily_returns"]) == row["sessions"] == 21
        assert row["bars"] > 0 and row["trades"] >= 0


def test_two_workers_give_the_serial_table(serial):
    pd.testing.assert_frame_equal(stable(sweep(SESSION, GRID, workers=2)), stable(serial))


def test_spawn_gives_the_serial_table(serial):
    table = sweep(SESSION, GRID, workers=2, start_method="spawn")
    pd.testing.assert_frame_equal(stable(table), stable(serial))
    assert table["worker"].nunique() >= 1


def test_a_task_that_raises_is_recorded_and_the_sweep_goes_on():
    # slow=2 is below every fast: sma_cross refuses it when it is built
    table = sweep(SESSION, {"fast": [3, 5], "slow": [2, 20]}, workers=2, retries=1)
    failed = table[table["slow"] == 2]
    assert len(failed) == 2 and (failed["status"] == "error").all()
    assert (failed["attempts"] == 2).all()
    assert failed["error"].str.startswith("ConfigError: ").all()
    assert failed["error"].str.contains("slow must be > fast").all()
    assert failed["sharpe"].isna().all()
    ok = table[table["slow"] == 20]
    assert (ok["status"] == "ok").all() and (ok["attempts"] == 1).all()


def rows_of(job, engine, fn=run_task):
    results = Results(job)
    run_sweep(job, engine, results, fn=fn)
    return results.frame()


def test_a_worker_that_dies_once_costs_its_task_one_attempt(marks, serial):
    job = job_of()
    table = rows_of(job, LocalEngine(2, retries=2), helpers.die_once_on_first)
    assert helpers.marker(job).exists()  # it did die
    assert list(table["attempts"]) == [2, 1, 1, 1]
    pd.testing.assert_frame_equal(stable(table).drop(columns="attempts"),
                                  stable(serial).drop(columns="attempts"))


def test_a_worker_that_always_dies_fails_its_task_only(marks):
    table = rows_of(job_of(), LocalEngine(2, retries=1), helpers.always_die_on_first)
    first = table.iloc[0]
    assert first["status"] == "error" and first["attempts"] == 2
    assert first["error"].startswith("WorkerDied: the worker process running the task died")
    assert "exit code 9" in first["error"]
    assert (table.iloc[1:]["status"] == "ok").all() and (table.iloc[1:]["attempts"] == 1).all()


class Interrupt:
    """A task function that raises KeyboardInterrupt in the calling process at its k-th call."""

    def __init__(self, k):
        self.k, self.calls = k, 0

    def __call__(self, job, task):
        self.calls += 1
        if self.calls == self.k:
            raise KeyboardInterrupt
        return run_task(job, task)


def test_ctrl_c_writes_the_finished_rows_and_resume_finishes_the_table(tmp_path, serial):
    out = tmp_path / "r.parquet"
    job = job_of()
    results = Results(job, out)
    results.check()
    with pytest.raises(KeyboardInterrupt):
        run_sweep(job, SerialEngine(), results, fn=Interrupt(3))
    journal = tmp_path / "r.parquet.journal"
    assert out.exists() and journal.exists()
    assert len(read_rows(out)) == 2
    lines = journal.read_text().splitlines()
    assert json.loads(lines[0])["job"] == job.fingerprint and len(lines) == 3

    ran = []
    table = sweep(SESSION, GRID, workers=0, output=out, resume=True,
                  on_row=lambda row: ran.append(row["task"]))
    assert len(ran) == 2  # the two rows that were missing
    assert not journal.exists()
    pd.testing.assert_frame_equal(stable(table), stable(serial))
    pd.testing.assert_frame_equal(stable(read_rows(out)), stable(serial))


def test_resume_after_a_killed_sweep_gives_the_same_table(tmp_path, serial):
    """The sweep's own process killed midway: its journal holds the finished rows (the last
    line possibly cut short)."""
    out = tmp_path / "r.parquet"
    job = job_of()
    results = Results(job, out, every_rows=10**6, every_s=10**6)
    results.check()
    with pytest.raises(KeyboardInterrupt):
        SerialEngine().run(Interrupt(4), job, plan_tasks(job),
                           lambda t, r, e, a: results.add(make_row(job, t, r, e, a)))
    results.close()  # what a killed process leaves: the journal only, its last line cut
    journal = tmp_path / "r.parquet.journal"
    text = journal.read_text()
    journal.write_text(text + text.splitlines()[-1][:40])
    assert not out.exists()
    table = sweep(SESSION, GRID, workers=0, output=out, resume=True)
    pd.testing.assert_frame_equal(stable(table), stable(serial))


def test_resume_refuses_another_sweeps_output(tmp_path):
    out = tmp_path / "r.parquet"
    sweep(SESSION, GRID, workers=0, output=out)
    before = out.read_bytes()
    with pytest.raises(Exception, match="written by another sweep"):
        sweep(SESSION, {"fast": [3, 5], "slow": [20, 40]}, workers=0, output=out, resume=True)
    assert out.read_bytes() == before
