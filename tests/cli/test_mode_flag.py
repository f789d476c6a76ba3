"""`--mode live|backtest` on the command line, and the shell's start message showing the
real date range of the session (a live session's one day, resolved in phase 0)."""

from __future__ import annotations

import dataclasses
import datetime
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


def test_the_live_start_message_shows_the_trading_days_of_its_range():
    config = session("2011-01-15", {"source": "sample"}, ["SPY"], live={}, trailing=0,
                     indicators=[])
    app, out = _shell()
    # a Saturday to a Wednesday over Martin Luther King Day: the 18th and the 19th
    app.start(dataclasses.replace(config, end=datetime.date(2011, 1, 19)))
    app.execute("system wait")
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("started live XNYS 2011-01-18..2011-01-19: SPY (1m"), lines[0]
    assert any("2 of 2 trading days" in line for line in lines), lines


def test_the_cli_says_what_a_live_run_covers(tmp_path):
    session_file = tmp_path / "s.toml"
    session_file.write_text('[data]\nsource = "replay"\nfrom = "sample"\n')
    done = _backtest(str(session_file), "--mode", "live", "--symbols", "SPY", "--start",
                     "2011-01-04", "--end", "2011-01-05", "--streams", "1m", "--speed", "0")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == "started live XNYS 2011-01-04..2011-01-05: SPY"
    assert "mismartera live — XNYS, last session 2011-01-05" in done.stdout
    assert "days 2 " in done.stdout
