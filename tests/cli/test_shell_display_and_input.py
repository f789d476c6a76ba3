"""`mismartera shell` help, completion and rendering, and piped input end to end."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from mismartera.session.coordinator import SessionCoordinator
from mismartera.shell.render import session_tables
from mismartera.shell.runner import STOPPED
from mismartera.shell.terminal import Completer, run_shell
from mismartera.shell.views import format_value, session_view
from tests.support.engine import CALENDAR, plugins, synthetic_config
from tests.support.shell import Shell, write_session


def test_indicator_rendering():
    from mismartera.shell.render import symbol_table
    from mismartera.shell.views import IndicatorView, SymbolView

    view = SymbolView("X", "1m", True, (), (
        IndicatorView("bbands_20_5m", {"upper": 2.0, "middle": 1.5}, False),
        IndicatorView("boom_1m", None, False, "ValueError: bad bar"),
    ), (), (), 0.0, ())
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(symbol_table(view, CALENDAR))
    text = console.file.getvalue()
    assert "X — base 1m, loaded, no historical days" in text
    assert "bbands_20_5m  upper=2.0000 middle=1.5000 (warming up)" in text
    assert "boom_1m       error: ValueError: bad bar" in text


def test_help():
    shell = Shell()
    ok, out, _ = shell.run("help")
    for usage in ("system start [SESSION.toml]", "system stop", "system status",
                  "data session", "data add-symbol SYM", "data remove-symbol SYM",
                  "indicator add SPEC", "export FILE", "report FILE", "help [COMMAND]", "quit"):
        assert usage in out
    ok, out, _ = shell.run("help system start")
    assert ok and "--speed FLOAT" in out and "--trailing-days INTEGER" in out
    assert "--quiet" not in out
    ok, out, _ = shell.run("help data")
    assert ok and out.count("data ") == 3 and "data add-symbol SYM" in out
    ok, out, _ = shell.run("help exit")
    assert ok and out.startswith("quit")


TOP = ["data ", "exit ", "export ", "help ", "indicator ", "quit ", "report ", "system "]


def test_completion(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_session(tmp_path, "a1.toml")
    (tmp_path / "a2.txt").write_text("")
    (tmp_path / "a3").mkdir()
    c = Completer(Shell().app)
    assert c.candidates("sy", "sy") == ["system "]
    assert c.candidates("", "") == TOP
    assert c.candidates("system st", "st") == ["start ", "status ", "stop "]
    assert c.candidates("data ", "") == ["add-symbol ", "remove-symbol ", "session "]
    assert c.candidates("help data r", "r") == ["remove-symbol "]
    assert c.candidates("help ", "") == TOP
    assert c.candidates("system start a", "a") == ["a1.toml ", "a3/"]
    assert "--speed " in c.candidates("system start a1.toml --sp", "--sp")
    assert c.candidates("data remove-symbol ", "") == []  # no session yet


def test_format_value():
    assert format_value(1234.56789) == "1,234.5679"
    assert format_value(float("nan")) == "nan"
    assert format_value(None) == "-"
    assert format_value(True) == "true"
    assert format_value({"upper": 2.0, "lower": 1.0}) == "upper=2.0000 lower=1.0000"
    assert format_value(7) == "7"


def test_session_view_is_a_copy(tmp_path):
    coordinator = SessionCoordinator(synthetic_config(session__start="2014-12-01",
                                                      session__end="2014-12-01"),
                                     plugins=plugins())
    coordinator.run()
    view = session_view(coordinator.session_data)
    before = view.symbols[0].intervals[0].bars
    coordinator.session_data.get("SYN0").base.data.clear()
    base = view.symbols[0].intervals[0]
    assert base.bars == before == 390 - base.missing_bars
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(session_tables(view, coordinator.calendar))
    assert "SYN0 — base 1m, loaded, no historical days" in console.file.getvalue()


# --- piped input ------------------------------------------------------------------------------


def _piped(script: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MISMARTERA_HOME": str(cwd), "MISMARTERA_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run([sys.executable, "-m", "mismartera", "shell"], input=script,
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def test_piped_input_runs_in_order_without_prompts(tmp_path):
    write_session(tmp_path)
    script = ("# a comment line\nsystem start nothere.toml\nsystem start s.toml\nsystem wait\n"
              "data session\nexport out.json\nquit\nsystem status\n")
    result = _piped(script, tmp_path)
    assert result.returncode == 2  # one command failed; the others ran
    assert result.stderr == "error: nothere.toml: no such session file\n"
    out = result.stdout
    assert "mismartera>" not in out and "help" not in out  # no prompt, no banner
    order = ["started backtest", "session finished: 2 of 2", "SYN0 — base 1m",
             "wrote out.json: session 2014-12-02 (not active), 1 symbol"]
    positions = [out.index(text) for text in order]
    assert positions == sorted(positions)
    assert "bars processed" not in out  # nothing runs after quit
    assert json.loads((tmp_path / "out.json").read_text())["symbols"]["SYN0"]["is_loaded"]


def test_a_script_without_failures_exits_0(tmp_path):
    shell = Shell()
    script = io.StringIO(f"system start {write_session(tmp_path)}\nsystem wait\ndata session\n")
    assert run_shell(shell.app, script, interactive=False) == 0
    assert shell.err.getvalue() == "" and "SYN0 — base 1m" in shell.out.getvalue()


def test_sigint_on_piped_input_stops_the_session_and_exits_130(tmp_path):
    write_session(tmp_path, speed=1)
    env = {**os.environ, "MISMARTERA_HOME": str(tmp_path), "PYTHONUNBUFFERED": "1",
           "MISMARTERA_DISABLE_PLUGIN_AUTOLOAD": "1"}
    child = subprocess.Popen([sys.executable, "-m", "mismartera", "shell"], cwd=tmp_path,
                             env=env, text=True, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        child.stdin.write("system start s.toml\n")
        child.stdin.flush()
        assert child.stdout.readline().startswith("started backtest")
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 130, err
    assert "interrupted: stopping the session" in out and "session stopped at" in out
    assert "Traceback" not in err


def test_run_shell_stops_the_session_at_the_end_of_input(tmp_path):
    shell = Shell()
    script = io.StringIO(f"system start {write_session(tmp_path, speed=1)}\n")  # real time
    assert run_shell(shell.app, script, interactive=False) == 0
    assert shell.app.run.state == STOPPED and not shell.app.run.thread.is_alive()
    assert "stopping the running session" in shell.out.getvalue()
