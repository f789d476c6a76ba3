"""`mismartera shell` in a pseudo-terminal, driven as a user would with pexpect."""

from __future__ import annotations

import json
import os
import sys

import pexpect
import pytest

from tests.support.shell import write_session

PROMPT = "mismartera> "


@pytest.fixture
def spawn(tmp_path):
    """Start `mismartera shell` in a terminal (in tmp_path, no colours, 160 columns)."""
    children = []

    def start():
        env = {**os.environ, "MISMARTERA_HOME": str(tmp_path), "TERM": "dumb",
               "MISMARTERA_DISABLE_PLUGIN_AUTOLOAD": "1"}
        child = pexpect.spawn(sys.executable, ["-m", "mismartera", "shell"], encoding="utf-8",
                              timeout=20, cwd=str(tmp_path), env=env, dimensions=(50, 160))
        child.expect_exact("`help` lists the commands")
        child.expect_exact(PROMPT)
        children.append(child)
        return child

    yield start
    for child in children:
        if child.isalive():
            child.terminate(force=True)


def command(child, line: str, *expected: str) -> None:
    """Type `line`, expect each text in order, then the next prompt."""
    child.sendline(line)
    for text in expected:
        child.expect_exact(text)
    child.expect_exact(PROMPT)


def test_a_session_in_a_terminal(spawn, tmp_path):
    # 2000x real time: a 6.5 h session lasts about 12 s, long enough to talk to it
    write_session(tmp_path, speed=2000)
    child = spawn()
    command(child, "system start s.toml", "started backtest XNYS 2014-12-01..2014-12-02: SYN0")
    command(child, "data session", "SYN0 — base 1m, loaded, 2 historical days", "│ 5m ")
    command(child, "data add-symbol syn1", "SYN1: requested",
            "SYN1 added: 2 historical days")
    command(child, "export out.json", "wrote out.json: session 2014-12-01 (active), 2 symbols")
    doc = json.loads((tmp_path / "out.json").read_text())
    syn1 = doc["symbols"]["SYN1"]
    assert syn1["is_loaded"] and syn1["historical"]["days"] == ["2014-11-26", "2014-11-28"]
    assert set(syn1["historical"]["quality"]) == {"1m", "5m", "15m", "1h"}
    assert syn1["bars"]["1m"]["data"] and 0 < syn1["bars"]["1m"]["quality"] <= 100
    command(child, "system status", "session         running", "SYN0, SYN1")
    command(child, "system stop", "session stopped at 2014-12-01")
    command(child, "system status", "session         stopped", "mismartera-session: ended")

    # Ctrl-C: first it clears a typed line, then it stops the running session
    command(child, "system start s.toml", "started backtest")
    child.send("data sess")
    child.expect_exact("data sess")  # echoed: readline has the text
    child.sendintr()
    child.expect_exact("line cleared; Ctrl-C again stops the running session")
    child.expect_exact(PROMPT)
    child.sendintr()
    child.expect_exact("interrupted: stopping the session")
    child.expect_exact("session stopped at 2014-12-01")
    child.expect_exact(PROMPT)
    command(child, "frobnicate", "error: unknown command `frobnicate`")  # and it goes on
    child.sendintr()  # nothing running: a fresh prompt
    child.expect_exact(PROMPT)
    child.send("sys\t")
    child.expect_exact("system ")
    child.sendline("status")
    child.expect_exact("session         stopped")
    child.expect_exact(PROMPT)
    child.sendline("quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    history = (tmp_path / "shell_history").read_text()
    assert "system start s.toml" in history and "data add-symbol syn1" in history


def test_end_of_input_stops_a_running_session(spawn, tmp_path):
    write_session(tmp_path, speed=1)  # real time: it cannot end by itself here
    child = spawn()
    command(child, "system start s.toml", "started backtest")
    child.sendeof()
    child.expect_exact("stopping the running session")
    child.expect_exact("session stopped at 2014-12-01 09:3")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
