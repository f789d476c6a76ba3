"""`mismartera sweep`: the table it writes, rows equal to `mismartera backtest` of the same
task, bad input (one sentence, exit 2, the output untouched), Ctrl-C (exit 130) and --resume."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mismartera.cli import cli
from mismartera.sweep.plan import STAT_COLUMNS
from tests.sweep.helpers import SESSION_TOML, read_rows


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_text(SESSION_TOML)
    return tmp_path


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


GRID = ("--grid", "fast=3,5", "--grid", "slow=20,30")


def test_a_sweep_writes_its_table_and_the_summary(folder):
    result = invoke("sweep", "s.toml", *GRID, "--workers", "2", "-o", "r.parquet")
    assert result.exit_code == 0, result.output
    table = read_rows(folder / "r.parquet")
    assert len(table) == 4 and (table["status"] == "ok").all()
    assert list(table.columns[:12]) == ["task", "job", "status", "error", "attempts", "role",
                                        "fold", "window_start", "window_end", "symbols",
                                        "fast", "slow"]
    assert "top 4 of 4 rows by sharpe" in result.output
    assert "4 rows: 4 ok, 0 failed; wrote r.parquet" in result.output
    assert not (folder / "r.parquet.journal").exists()
    assert sorted(p.name for p in folder.iterdir()) == ["r.parquet", "s.toml"]


def test_rows_picked_at_random_equal_a_backtest_of_their_task(folder):
    end = "2024-02-29"
    (folder / "s.toml").write_text(SESSION_TOML.replace("2024-01-31", end))
    result = invoke("sweep", "s.toml", *GRID, "--symbols", "SYN0", "--symbols", "SYN0,SYN1",
                    "--windows", "monthly", "--quiet", "-o", "r.parquet")
    assert result.exit_code == 0, result.output
    assert result.output == ""
    table = read_rows(folder / "r.parquet")
    assert len(table) == 4 * 2 * 2
    for i in random.Random(16).sample(range(len(table)), 3):
        row = table.iloc[i]
        spec = f"sma_cross:fast={row['fast']},slow={row['slow']},qty=50@5m"
        alone = invoke("backtest", "s.toml", "--strategy", spec, "--symbols", row["symbols"],
                       "--start", row["window_start"], "--end", row["window_end"],
                       "--export", f"{i}.json", "--quiet")
        assert alone.exit_code == 0, alone.output
        doc = json.loads((folder / f"{i}.json").read_text())
        stats = doc["strategy"]["stats"]
        for key in STAT_COLUMNS:
            expected = stats[key]
            assert (row[key] != row[key]) if expected is None else row[key] == expected, key
        assert row["sessions"] == len(doc["strategy"]["daily_equity"]["data"])


def untouched(folder, result, message):
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert (folder / "r.parquet").read_bytes() == b"keep me"
    assert not (folder / "r.parquet.journal").exists()
    assert len(result.output.strip().splitlines()) == 1 or "Usage" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (("--grid", "nope=1"), "strategy 'sma_cross' has no parameter 'nope'"),
    (("--grid", "fast=abc"), "--grid fast: bad value 'abc'"),
    (("--grid", "fast="), "expected PARAM=V1,V2"),
    ((), "the sweep has no grid"),
    ((*GRID, "--windows", "weekly"), "'weekly' is not one of"),
    ((*GRID, "--walk-forward", "train=6m,test=1m"), "too short for one training window"),
    ((*GRID, "--walk-forward", "train=6m"), "expected train=PERIOD,test=PERIOD"),
    ((*GRID, "--rank", "luck"), "--rank: expected one of"),
    ((*GRID, "--ray-address", "127.0.0.1:6379"), "only the ray engine"),
    ((*GRID, "--resume"), "cannot be read as a sweep's results"),
])
def test_bad_input_is_one_sentence_and_leaves_the_output(folder, args, message):
    (folder / "r.parquet").write_bytes(b"keep me")
    untouched(folder, invoke("sweep", "s.toml", *args, "-o", "r.parquet"), message)


def test_resume_refuses_another_sweep_and_an_unfinished_one_needs_resume(folder):
    assert invoke("sweep", "s.toml", *GRID, "--workers", "0", "--quiet",
                  "-o", "r.parquet").exit_code == 0
    before = (folder / "r.parquet").read_bytes()
    other = invoke("sweep", "s.toml", "--grid", "fast=3,5", "--grid", "slow=20,40",
                   "--resume", "-o", "r.parquet")
    assert other.exit_code == 2 and "written by another sweep" in other.output
    assert (folder / "r.parquet").read_bytes() == before
    (folder / "r.parquet.journal").write_text("")
    again = invoke("sweep", "s.toml", *GRID, "-o", "r.parquet")
    assert again.exit_code == 2 and "pass --resume" in again.output
    assert (folder / "r.parquet").read_bytes() == before


def test_ctrl_c_exits_130_with_the_rows_written_and_resume_finishes(folder, monkeypatch):
    from mismartera.sweep import worker

    real, calls = worker.run_task, []

    def interrupted(job, task):
        calls.append(task.id)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(job, task)

    monkeypatch.setattr(worker, "run_task", interrupted)
    result = invoke("sweep", "s.toml", *GRID, "--workers", "0", "-o", "r.parquet")
    assert result.exit_code == 130
    assert ("interrupted: 2 rows written to r.parquet; run the same command with --resume"
            in result.output)
    assert len(read_rows(folder / "r.parquet")) == 2
    monkeypatch.setattr(worker, "run_task", real)
    done = invoke("sweep", "s.toml", *GRID, "--workers", "0", "--resume", "-o", "r.parquet")
    assert done.exit_code == 0, done.output
    assert len(read_rows(folder / "r.parquet")) == 4
    assert not (folder / "r.parquet.journal").exists()


def test_help_names_the_contract_options():
    result = invoke("sweep", "--help")
    for option in ("--grid", "--symbols", "--windows", "--walk-forward", "--rank", "--workers",
                   "--engine", "--ray-address", "--resume", "--output"):
        assert option in result.output


@pytest.mark.slow
def test_sigint_to_a_pool_sweep_stops_it_cleanly_and_resume_finishes(folder):
    """A real Ctrl-C (SIGINT) to `mismartera sweep` running a pool of two: exit 130 soon, the
    finished rows in the output, no worker left; --resume then completes the table."""
    args = [sys.executable, "-m", "mismartera", "sweep", "s.toml", "--grid", "fast=2,3,4,5",
            "--grid", "slow=20,30,40,50", "--workers", "2", "-o", "r.parquet"]
    journal = folder / "r.parquet.journal"
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline and (
            not journal.exists() or len(journal.read_text().splitlines()) < 2):
        time.sleep(0.05)  # wait for the first row: the sweep is under way
    children = _children(proc.pid)
    assert len(children) >= 2  # the pool's workers
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    written = len(read_rows(folder / "r.parquet"))
    assert 1 <= written < 16
    assert f"interrupted: {written} rows written to r.parquet" in err
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)
    done = subprocess.run([*args, "--resume", "--quiet"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    table = read_rows(folder / "r.parquet")
    assert len(table) == 16 and table["task"].is_unique and (table["status"] == "ok").all()
    assert not journal.exists()


def _children(pid):
    """The pids of a process's children (Linux /proc)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []
