"""The store fails clearly: a damaged, truncated or foreign file is "not a valid store"
(exit 2), a lock held by another process is waited for and then exit 1, a full disk is
named, and store paths that cannot be a file get one sentence."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from mismartera.cli import cli
from mismartera.errors import DataError, RunError
from mismartera.store import BarStore
from mismartera.testing import make_bars

CSV = ("timestamp,open,high,low,close,volume\n2024-01-03 09:30,1,1,1,1,1\n"
       "2024-01-03 09:31,1,1,1,1,1\n")
BLOCKS_AT, BLOCK = 3 * 4096, 262_144  # DuckDB's file layout: three 4 KiB headers, then blocks


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.fixture
def stored(tmp_path) -> Path:
    """A store file holding a few thousand bars (several blocks on disk)."""
    path = tmp_path / "bars.duckdb"
    with BarStore(path) as s:
        s.write("SPY", "1m", make_bars([100.0 + i % 7 for i in range(50_000)]))
    return path


def import_into(store: Path, tmp_path: Path, env: dict | None = None):
    f = tmp_path / "in.csv"
    f.write_text(CSV)
    return run("data", "import", str(f), "--symbol", "X", "--store", str(store), env=env)


def test_a_truncated_store_is_refused_and_left_alone(stored, tmp_path):
    data = stored.read_bytes()
    stored.write_bytes(data[:-4096])
    result = import_into(stored, tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {stored} is not a valid mismartera store: the file is "
                             f"truncated ({len(data) - 4096} bytes, its header needs "
                             f"{len(data)})\n")
    assert stored.read_bytes() == data[:-4096]


def test_a_damaged_block_is_not_called_a_lock(stored):
    data = bytearray(stored.read_bytes())
    for start in range(BLOCKS_AT, len(data), BLOCK):  # every block's checksum
        data[start:start + 8] = bytes(8)
    stored.write_bytes(bytes(data))
    with pytest.raises(DataError) as info, BarStore(stored, read_only=True) as s:
        s.read("SPY", "1m", 0, 2**62)
    message = str(info.value)
    assert message.startswith(f"{stored} is not a valid mismartera store: the file is damaged (")
    assert "in use" not in message and "\n" not in message


def test_garbage_is_not_a_store(tmp_path):
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"this is not a database" * 1000)
    result = run("data", "list", "--store", str(junk))
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {junk} is not a valid mismartera store (not a DuckDB "
                             "database file)\n")


def hold(path: Path, seconds: float) -> subprocess.Popen:
    """Another process holding `path` open for writing for `seconds`."""
    code = ("import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
            " time.sleep(float(sys.argv[2]))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def test_a_locked_store_is_waited_for_then_exit_1(stored, tmp_path):
    holder = hold(stored, 30)
    try:
        started = time.monotonic()
        result = import_into(stored, tmp_path, env={"MISMARTERA_LOCK_WAIT": "0.5"})
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 1
    assert result.stderr == (f"Error: store {stored} is in use by another process (PID "
                             f"{holder.pid}): try again when it has finished\n")
    assert waited >= 0.5


def test_a_lock_released_while_waiting_is_taken(stored):
    holder = hold(stored, 0.5)
    try:
        with BarStore(stored, lock_wait_s=20) as s:
            assert s.count() == 50_000
    finally:
        holder.wait()


def test_lock_wait_must_be_a_number(stored, tmp_path):
    result = import_into(stored, tmp_path, env={"MISMARTERA_LOCK_WAIT": "soon"})
    assert result.exit_code == 2
    assert result.stderr == "Error: MISMARTERA_LOCK_WAIT='soon': expected a number of seconds\n"


class _FullDisk:
    """A connection whose bar inserts fail as DuckDB's do on a full disk: the transaction is
    aborted, then an IOException names the cause."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def execute(self, sql: str, *args: object):
        if sql.lstrip().startswith("INSERT INTO bars"):
            with pytest.raises(duckdb.Error):
                self._con.execute("SELECT CAST('x' AS INTEGER)")  # aborts the transaction
            raise duckdb.IOException('IO Error: Could not write file "bars.duckdb": No space '
                                     "left on device")
        return self._con.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self._con, name)


def test_a_full_disk_is_named_and_nothing_is_stored(stored):
    with BarStore(stored) as s:
        before = s.checksum()
        s._con = _FullDisk(s._connect())  # type: ignore[assignment]
        with pytest.raises(RunError) as info:
            s.write("QQQ", "1m", make_bars([1.0, 2.0]))
        assert str(info.value) == (f"cannot write store {stored}: no space left on device; "
                                   "nothing was stored")
        s._con = s._con._con
        assert s.checksum() == before
        assert s.write("QQQ", "1m", make_bars([1.0, 2.0])).inserted == 2  # usable again


def test_store_paths_that_cannot_be_a_file(tmp_path):
    home = tmp_path / "home"
    home.write_text("")
    result = run("data", "list", env={"MISMARTERA_HOME": str(home)})
    assert result.exit_code == 2
    assert result.stderr == (f"Error: MISMARTERA_HOME={home} is a file: expected a folder to "
                             "hold bars.duckdb\n")
    result = run("data", "list", "--store", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == (f"Error: store {tmp_path} is a folder: expected a store file such "
                             f"as {tmp_path / 'bars.duckdb'}\n")
    result = import_into(home / "bars.duckdb", tmp_path)
    assert result.exit_code == 2
    assert result.stderr == f"Error: store {home / 'bars.duckdb'}: {home} is a file, not a folder\n"
    result = run("backtest", "--source", "store", "--store", str(tmp_path), "--symbols", "SPY",
                 "--start", "2011-01-03", "--end", "2011-01-03", "--quiet")
    assert result.exit_code == 2
    assert result.stderr == (f"Error: store {tmp_path} is a folder: expected a store file such "
                             f"as {tmp_path / 'bars.duckdb'}\n")
