"""`mismartera shell` failures: one-line errors, checked commands, sessions that fail."""

from __future__ import annotations

from mismartera.shell.runner import FAILED, FINISHED
from tests.support.shell import Shell, write_session


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
        ("data add-symbol A$B", "error: data add-symbol: expected a symbol (1 to 32"),
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
