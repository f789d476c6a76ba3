"""`--mode live|backtest` on the command line, and the shell's start message showing the
real date range of the session (a live session's one day, resolved in phase 0)."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys

from rich.console import Console

from mismartera.shell import ShellApp
from tests.support.live import live_plugins, session

FLAGS = ["--source", "sample", "--symbols", "SPY", "--start", "2011-01-05", "--end",
         "2011-01-05", "--streams", "1m", "--quiet"]


def _backtest(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mismartera", "backtest", *args],
                          capture_output=True, text=True, timeout=120)


def test_mode_flag_picks_the_coordinator(tmp_path):
    out = tmp_path / "day.json"
    done = _backtest(*FLAGS, "--mode", "backtest", "--export", str(out))
    assert done.returncode == 0, done.stderr
    assert '"mode": "backtest"' in out.read_text()
    live = _backtest(*FLAGS, "--mode", "live")
    assert live.returncode == 2
    assert live.stderr == ("Error: --source: source 'sample' cannot stream live (it has no "
                           "subscribe()); use a live source or 'replay'\n")
    bad = _backtest(*FLAGS, "--mode", "paper")
    assert bad.returncode == 2 and "'paper' is not one of 'backtest', 'live'" in bad.stderr


def _shell() -> tuple[ShellApp, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None, highlight=False)
    return ShellApp(live_plugins(), console=console, err_console=console), out


def test_the_live_start_message_shows_the_session_it_runs():
    config = session("2011-01-05", {"source": "sample"}, ["SPY"], live={})
    app, out = _shell()
    app.start(dataclasses.replace(config, end=None))  # start alone: that one session
    app.execute("system wait")
    first = out.getvalue().splitlines()[0]
    assert first.startswith("started live XNYS 2011-01-05: SPY (1m"), first


def test_the_start_message_says_all():
    config = session("2011-01-05", {"source": "sample"}, [], live=None)
    app, out = _shell()
    app.start(dataclasses.replace(config, all_symbols=True))
    app.execute("system wait")
    first = out.getvalue().splitlines()[0]
    assert first.startswith("started backtest XNYS 2011-01-05: all (1m"), first
