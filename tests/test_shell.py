"""`mismartera shell`: the command handlers driven directly, and piped input end to end.

The session runs on its background thread exactly as in the shell; a `Gate` observer holds
its clock at chosen session times so that the tests look at it mid-session
deterministically (the terminal itself is exercised in tests/test_shell_pty.py)."""

from __future__ import annotations

import datetime
import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from rich.console import Console

from mismartera.export import snapshot
from mismartera.session.coordinator import SessionCoordinator
from mismartera.shell import ShellApp
from mismartera.shell.render import session_tables
from mismartera.shell.runner import FAILED, FINISHED, STOPPED
from mismartera.shell.terminal import Completer, run_shell
from mismartera.shell.views import format_value, session_view
from tests.engine_helpers import CALENDAR, dumps, plugins, synthetic_config

DAY = datetime.date(2014, 12, 1)
OPEN = CALENDAR.local_ns(DAY, 9, 30)
MINUTE = 60 * 10**9

SESSION_TOML = """\
[session]
start = {start}
end = {end}
speed = {speed}

[data]
source = "synthetic"
seed = 7
count = 2
gap_rate = 0.02
extended_hours = true

[symbols]
list = [{symbols}]

[streams]
intervals = ["1m", "5m", "15m", "1h"]

[historical]
trailing_days = 2
"""


def write_session(folder: Path, name: str = "s.toml", *, start: str = "2014-12-01",
                  end: str = "2014-12-02", speed: float = 0, symbols=("SYN0",)) -> Path:
    path = folder / name
    quoted = ", ".join(f'"{s}"' for s in symbols)
    path.write_text(SESSION_TOML.format(start=start, end=end, speed=speed, symbols=quoted))
    return path


class Gate:
    """An observer that holds the session's clock at each of `times` (ns) until released."""

    def __init__(self, *times: int) -> None:
        self.times = sorted(times)
        self.reached: queue.Queue[int] = queue.Queue()
        self._go = threading.Semaphore(0)

    def on_bar(self, ctx, symbol, interval, bar) -> None:
        if self.times and ctx.now_ns >= self.times[0]:
            self.times.pop(0)
            self.reached.put(ctx.now_ns)
            self._go.acquire(timeout=30)

    def wait(self) -> int:
        """The clock time at which the session is now held."""
        return self.reached.get(timeout=30)

    def release(self, n: int = 1) -> None:
        for _ in range(n):
            self._go.release()


class Shell:
    """A ShellApp writing to strings; `run(line)` returns (ok, stdout, stderr) of one line."""

    def __init__(self, observers=(), **kwargs) -> None:
        self.out, self.err = io.StringIO(), io.StringIO()
        self.app = ShellApp(
            plugins(),
            console=Console(file=self.out, width=200, color_system=None, highlight=False),
            err_console=Console(file=self.err, width=200, color_system=None, highlight=False),
            make_observers=lambda: list(observers), **kwargs)

    def run(self, line: str) -> tuple[bool, str, str]:
        o, e = len(self.out.getvalue()), len(self.err.getvalue())
        ok = self.app.execute(line)
        return ok, self.out.getvalue()[o:], self.err.getvalue()[e:]


@pytest.fixture
def gated(tmp_path):
    """A shell whose sessions are held at 10:00 and 11:00 of 2014-12-01."""
    gate = Gate(CALENDAR.local_ns(DAY, 10, 0), CALENDAR.local_ns(DAY, 11, 0))
    shell = Shell(observers=[gate], confirm_timeout=0.05)
    yield shell, gate, tmp_path
    gate.release(10)
    shell.app.close()
    assert shell.app.run is None or shell.app.run.done


def delivered_bars(symbol: str, now_ns: int):
    """The 1m bars of `symbol` closed by `now_ns` on DAY, straight from the source."""
    source = plugins().get("source", "synthetic").obj(seed=7, count=2, gap_rate=0.02,
                                                      extended_hours=True, exchange="XNYS")
    from mismartera.intervals import Interval

    bars = source.bars(symbol, Interval.parse("1m"), OPEN, now_ns)
    keep = (bars.ts >= OPEN) & (bars.ts + MINUTE <= now_ns)
    return bars.take(keep)


# --- a session held mid-day ---------------------------------------------------------------


def test_add_symbol_mid_session_then_export_has_history_and_quality(gated):
    shell, gate, tmp = gated
    ok, out, err = shell.run(f"system start {write_session(tmp)}")
    assert ok and err == "" and "started backtest XNYS 2014-12-01..2014-12-02" in out
    t1 = gate.wait()

    ok, out, _ = shell.run("data session")
    assert ok and "SYN0 — base 1m, loaded, 2 historical days (2014-11-26..2014-11-28)" in out
    assert "SYN1" not in out
    assert f"session 2014-12-01 (active), clock {CALENDAR.to_local(t1):%H:%M:%S} EST" in out

    ok, out, err = shell.run("data add-symbol syn1")
    assert ok and err == ""
    assert "SYN1: requested; it will be added at the next clock step" in out
    assert "not applied yet" in out  # the clock is held, so it cannot have been applied
    assert shell.app.run.coordinator.session_data.symbols() == ["SYN0"]

    gate.release()
    t2 = gate.wait()  # pending operations are applied before the clock moves on
    ok, out, err = shell.run("system status")
    assert ok and err == ""
    now = delivered_bars("SYN1", t2)  # the confirmation tells the symbol's state now
    assert (f"SYN1 added: 2 historical days; 1m: {len(now.ts)} bars up to "
            f"{CALENDAR.to_local(int(now.ts[-1])):%H:%M}, quality") in out
    assert "SYN0, SYN1" in out and "running" in out
    assert f"{CALENDAR.to_local(t2):%Y-%m-%d %H:%M:%S}" in out

    ok, out, _ = shell.run("data session SYN1")
    assert ok and "SYN1 — base 1m, loaded, 2 historical days" in out and "SYN0 —" not in out

    target = tmp / "out" / "mid.json"
    ok, out, _ = shell.run(f"export {target}")
    assert ok and f"wrote {target}: session 2014-12-01 (active), 2 symbols" in out
    doc = json.loads(target.read_text())
    syn1 = doc["symbols"]["SYN1"]
    assert syn1["is_loaded"] is True
    assert syn1["historical"]["days"] == [d.isoformat() for d in
                                          CALENDAR.trading_days_before(DAY, 2)]
    assert set(syn1["historical"]["quality"]) == {"1m", "5m", "15m", "1h"}
    want = delivered_bars("SYN1", t2)
    rows = syn1["bars"]["1m"]["data"]
    assert [r[0] for r in rows] == CALENDAR.format_many(want.ts)
    assert [r[4] for r in rows] == want.close.tolist()
    expected_buckets = (t2 - OPEN) // MINUTE
    assert syn1["bars"]["1m"]["quality"] == round(100 * len(want.ts) / expected_buckets, 2)
    assert syn1["bars"]["1m"]["gaps"]["missing_bars"] == expected_buckets - len(want.ts)

    ok, out, _ = shell.run("data remove-symbol SYN1")
    assert ok and "it will be removed at the next clock step" in out
    gate.release()
    ok, out, err = shell.run("system stop")
    assert ok and err == ""
    assert "session stopped at 2014-12-01" in out and "1 of 2 trading days" in out
    run = shell.app.run
    assert run.state == STOPPED and not run.thread.is_alive()
    assert not run.coordinator.session_data.active  # the day ended cleanly
    assert run.coordinator.session_data.symbols() == ["SYN0"]
    ok, out, _ = shell.run("system status")
    assert ok and "stopped" in out and "ended" in out


def test_the_shell_export_equals_a_plain_engine_run(tmp_path):
    shell = Shell()
    path = write_session(tmp_path, symbols=("SYN0", "SYN1"))
    assert shell.run(f"system start {path}")[0]
    assert shell.run("system wait")[0]  # the outcome is said once, when it is known
    assert shell.out.getvalue().count("session finished: 2 of 2 trading days") == 1
    assert shell.run(f"export {tmp_path / 'shell.json'}")[0]
    got = json.loads((tmp_path / "shell.json").read_text())
    from mismartera.config import SessionConfig

    coordinator = SessionCoordinator(SessionConfig.from_toml(path), plugins=plugins())
    coordinator.run()
    want, _ = snapshot(coordinator.session_data, coordinator.calendar)
    assert dumps(got) == dumps(json.loads(json.dumps(want)))
    ok, out, _ = shell.run("system status")
    assert ok and "finished" in out and "mismartera-session: ended" in out
    assert "DataProcessor, IndicatorManager, DataQualityManager" in out


def test_demo_runs_without_a_file():
    shell = Shell()
    ok, out, err = shell.run("system start --end 2011-01-04")
    assert ok and err == "" and "2011-01-03..2011-01-04: SPY (1m, 5m, 15m, 30m, 1h)" in out
    assert shell.run("system wait 60")[0]
    assert "session finished: 2 of 2 trading days, 780 bars" in shell.out.getvalue()  # 390 a day
    ok, out, _ = shell.run("data session")
    assert ok and "SPY — base 1m, loaded" in out
    assert "│ 1m       │ stream │  390 │    15:59 │" in out
    assert "│ 1h       │ 1m     │    7 │    15:30 │" in out  # the last hour is truncated


def test_interrupt_stops_a_running_session(gated):
    shell, gate, tmp = gated
    assert shell.run(f"system start {write_session(tmp)}")[0]
    gate.wait()
    gate.release(10)
    shell.app.interrupt()
    out = shell.out.getvalue()
    assert "interrupted: stopping the session" in out and "session stopped at" in out
    assert shell.app.run.state == STOPPED and not shell.app.running


def test_quit_stops_a_running_session_first(gated):
    shell, gate, tmp = gated
    assert shell.run(f"system start {write_session(tmp)}")[0]
    gate.wait()
    gate.release(10)
    ok, out, _ = shell.run("quit")
    assert ok and shell.app.should_exit
    assert "stopping the running session" in out and "session stopped at" in out
    assert shell.app.run.state == STOPPED and not shell.app.run.thread.is_alive()


INDICATORS_TOML = """
[[indicators]]
name = "sma"
interval = "5m"
params = { period = 3 }

[[historical_indicators]]
name = "trailing_avg"
field = "volume"
period = "2d"
granularity = "daily"
"""


def test_added_symbol_gets_indicators(tmp_path):
    from mismartera.plugin_manager import PluginManager
    from tests.engine_helpers import with_builtin_indicators

    gate = Gate(CALENDAR.local_ns(DAY, 10, 0), CALENDAR.local_ns(DAY, 11, 0))
    shell = Shell(observers=[gate], confirm_timeout=0.05)
    shell.app.plugins = with_builtin_indicators(PluginManager(load_entry_points=False))
    path = write_session(tmp_path)
    path.write_text(path.read_text() + INDICATORS_TOML)
    try:
        ok, _, err = shell.run(f"system start {path}")
        assert ok, err
        gate.wait()
        assert shell.run("data add-symbol SYN1")[0]
        gate.release()
        now = gate.wait()
        ok, out, _ = shell.run("data session SYN1")
        assert ok and "SYN1 — base 1m, loaded" in out
        assert shell.run(f"export {tmp_path / 'ind.json'}")[0]
    finally:
        gate.release(10)
        shell.app.close()
    doc = json.loads((tmp_path / "ind.json").read_text())["symbols"]["SYN1"]
    closes = [row[4] for row in doc["bars"]["5m"]["data"]]
    assert CALENDAR.parse_ts(doc["bars"]["5m"]["data"][-1][0]) + 5 * MINUTE <= now
    sma = doc["indicators"]["sma_3_5m"]
    assert sma["ready"] is True and sma["value"] == pytest.approx(sum(closes[-3:]) / 3)
    assert f"sma_3_5m                      {sma['value']:,.4f} (ready)" in out
    # the trailing average of the two historical days' volume, from the source itself
    source = plugins().get("source", "synthetic").obj(seed=7, count=2, gap_rate=0.02,
                                                      extended_hours=True, exchange="XNYS")
    from mismartera.intervals import Interval

    volumes = []
    for day in CALENDAR.trading_days_before(DAY, 2):
        open_ns, close_ns = CALENDAR.session(day)
        bars = source.bars("SYN1", Interval.parse("1m"), open_ns, close_ns)
        volumes.append(float(bars.volume.sum()))
    trailing = doc["historical"]["indicators"]["trailing_avg_volume_2d_daily"]
    assert trailing["value"] == pytest.approx(sum(volumes) / 2)
    assert f"trailing_avg_volume_2d_daily  {trailing['value']:,.4f}" in out


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


# --- failures -------------------------------------------------------------------------------


def test_errors_are_one_line_and_the_shell_goes_on(tmp_path):
    shell = Shell()
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[session]\nstart = 2014-12-01\nend = 2014-12-01\nspede = 1\n")
    cases = [
        ("frobnicate", "error: unknown command `frobnicate`; type `help` for the list"),
        ("system stat", "error: unknown command `system stat` (did you mean `system start`?)"),
        ("system", "error: `system` needs one of: start, stop, status, wait (try `help system`)"),
        ("data session", "error: no session has been started (start one with "
                         "`system start [SESSION.toml]`)"),
        ("system stop", "error: no session has been started"),
        (f"system start {tmp_path / 'missing.toml'}",
         f"error: {tmp_path / 'missing.toml'}: no such session file"),
        (f"system start {bad_toml}",
         f"error: {bad_toml}: unknown key [session] spede (did you mean speed?)"),
        ("system start --speed fast", "error: Invalid value for '--speed'"),
        ("system start --sped 3", "error: No such option"),
        ('data add-symbol "AB', "error: cannot read the command: No closing quotation"),
        ("data add-symbol A$B", "error: data add-symbol: expected a symbol of letters"),
        ("system wait soon", "error: system wait: expected a number of seconds, got 'soon'"),
        ("quit now", "error: quit takes no arguments, got 'now'"),
        ("help nothing", "error: unknown command `nothing`"),
    ]
    for line, message in cases:
        ok, out, err = shell.run(line)
        assert not ok, line
        assert err.startswith(message), (line, err)
        assert err.count("\n") == 1 and "Traceback" not in err, (line, err)
        assert out == "", (line, out)
    assert shell.app.exit_code == 2
    ok, out, _ = shell.run("help")
    assert ok and "data add-symbol SYM" in out and not shell.app.should_exit


def test_symbol_commands_need_a_running_session(tmp_path):
    shell = Shell()
    assert shell.run(f"system start {write_session(tmp_path, end='2014-12-01')}")[0]
    shell.run("system wait")
    ok, _, err = shell.run("data add-symbol SYN1")
    assert not ok and err == ("error: cannot add SYN1: the session has finished "
                              "(start a new one with `system start`)\n")
    ok, _, err = shell.run(f"export {tmp_path / 'x.txt'}")
    assert not ok and err.startswith("error: export ") and "unknown file type '.txt'" in err
    ok, out, _ = shell.run(f"export {tmp_path / 'x.json'}")  # a finished session exports
    assert ok and "(not active)" in out


def test_add_and_remove_are_checked(gated):
    shell, gate, tmp = gated
    assert shell.run(f"system start {write_session(tmp)}")[0]
    gate.wait()
    assert shell.run("system start")[2] == ("error: a session is already running "
                                            "(stop it first with `system stop`)\n")
    assert shell.run("data add-symbol SYN0")[2] == "error: SYN0 is already in the session\n"
    assert shell.run("data remove-symbol ZZZ")[2] == ("error: ZZZ is not in the session "
                                                      "(symbols: SYN0)\n")
    assert shell.run("data session ZZZ")[2] == "error: ZZZ not in the session (symbols: SYN0)\n"
    assert shell.run("data add-symbol NOPE")[0]  # the source has no NOPE: known once applied
    gate.release()
    gate.wait()
    ok, _, err = shell.run("system status")
    assert not ok
    assert err == ("error: NOPE was added but not loaded: NOPE: source 'synthetic' has no data "
                   "for this symbol (remove it with `data remove-symbol NOPE`)\n")
    assert shell.app.exit_code == 2


def test_a_session_that_raises_is_a_reported_failure(tmp_path):
    class Boom:
        def on_session_start(self, ctx):
            raise RuntimeError("strategy exploded")

    shell = Shell(observers=[Boom()])
    ok, out, err = shell.run(f"system start {write_session(tmp_path)}")
    assert not ok and "started backtest" in out
    assert err == "error: the session failed: RuntimeError: strategy exploded\n"
    ok, out, err = shell.run("system status")
    assert ok and err == ""  # reported once, when it happened
    assert "failed: RuntimeError: strategy exploded" in out and "ended" in out
    assert shell.app.run.state == FAILED
    assert shell.app.exit_code == 1
    shell.app.make_observers = lambda: ()
    assert shell.run(f"system start {tmp_path / 's.toml'}")[0]  # the shell goes on
    assert shell.run("system wait")[0] and shell.app.run.state == FINISHED


def test_a_session_with_no_loadable_symbol_fails_as_a_user_error(tmp_path):
    shell = Shell()
    ok, _, err = shell.run(f"system start {write_session(tmp_path, symbols=('NOPE',))}")
    assert not ok and err.startswith("error: the session failed: no symbol could be loaded: ")
    assert shell.app.exit_code == 2


# --- help, completion, rendering ----------------------------------------------------------


def test_help():
    shell = Shell()
    ok, out, _ = shell.run("help")
    for usage in ("system start [SESSION.toml]", "system stop", "system status",
                  "data session", "data add-symbol SYM", "data remove-symbol SYM",
                  "export FILE", "help [COMMAND]", "quit"):
        assert usage in out
    ok, out, _ = shell.run("help system start")
    assert ok and "--speed FLOAT" in out and "--trailing-days INTEGER" in out
    assert "--quiet" not in out
    ok, out, _ = shell.run("help data")
    assert ok and out.count("data ") == 3 and "data add-symbol SYM" in out
    ok, out, _ = shell.run("help exit")
    assert ok and out.startswith("quit")


def test_completion(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_session(tmp_path, "a1.toml")
    (tmp_path / "a2.txt").write_text("")
    (tmp_path / "a3").mkdir()
    c = Completer(Shell().app)
    assert c.candidates("sy", "sy") == ["system "]
    assert c.candidates("", "") == ["data ", "exit ", "export ", "help ", "quit ", "system "]
    assert c.candidates("system st", "st") == ["start ", "status ", "stop "]
    assert c.candidates("data ", "") == ["add-symbol ", "remove-symbol ", "session "]
    assert c.candidates("help data r", "r") == ["remove-symbol "]
    assert c.candidates("help ", "") == ["data ", "exit ", "export ", "help ", "quit ", "system "]
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
