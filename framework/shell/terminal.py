"""The shell's front ends: a readline prompt on a terminal, or a script on piped input.

Interactive (stdin is a terminal): history in `$MISMARTERA_HOME/shell_history`, Tab
completion of commands, session files and symbols. Ctrl-C on a line with text clears it;
Ctrl-C on an empty line, or during a command, stops a running session cleanly (so a second
Ctrl-C always does); with no session running it just gives a fresh prompt. Ctrl-D quits.

Piped (stdin is not a terminal): no prompt, no banner; each line is one command, run in
order; the exit status is `ShellApp.exit_code` (0, or 2 / 1 when a command failed).
Ctrl-C (SIGINT) stops a running session cleanly and exits with 130.
"""

from __future__ import annotations

import contextlib
import glob
import os
import sys
from pathlib import Path
from typing import IO, Any

from mismartera.shell import commands
from mismartera.shell.app import ShellApp

PROMPT = "mismartera> "
HISTORY_LENGTH = 1000


def history_path() -> Path:
    return Path(os.environ.get("MISMARTERA_HOME") or "~/.mismartera").expanduser() / "shell_history"


def run_shell(app: ShellApp, stdin: IO[str] | None = None, interactive: bool | None = None) -> int:
    """Run the shell until `quit` or the end of input; returns the exit status."""
    stdin = stdin or sys.stdin
    if interactive is None:
        interactive = stdin.isatty()
    if interactive:
        return _interactive(app)
    return _scripted(app, stdin)


def _scripted(app: ShellApp, stdin: IO[str]) -> int:
    try:
        for line in stdin:
            try:
                app.execute(line)
            except KeyboardInterrupt:
                app.interrupt()
                raise
            if app.should_exit:
                break
        app.close()
    except KeyboardInterrupt:
        app.close()
        return 130
    return app.exit_code


class Completer:
    """readline completion: command words, then session files, symbols, or command names."""

    def __init__(self, app: ShellApp) -> None:
        self.app = app
        self._matches: list[str] = []

    def candidates(self, line: str, text: str) -> list[str]:
        """Completions of the word `text` that ends `line` (everything before the cursor)."""
        words = line.split()
        if text and words:
            words = words[:-1]  # the word being completed
        if not words:
            return [w + " " for w in commands.TOP_WORDS if w.startswith(text)]
        if words[0] == "help":
            names = sorted({spec.name for spec in commands.COMMANDS} | {"exit"})
            sofar = " ".join([*words[1:], text])
            found = [n.split(" ")[len(words) - 1] + " " for n in names
                     if n.startswith(sofar) and len(n.split(" ")) >= len(words)]
            return list(dict.fromkeys(found))
        if words[0] in commands.GROUPS and len(words) == 1:
            subs = sorted(s.words[1] for s in commands.COMMANDS if s.words[0] == words[0])
            return [s + " " for s in subs if s.startswith(text)]
        head = tuple(words[:2])
        if head == ("system", "start") or words[0] in ("export", "report"):
            if text.startswith("-") and head == ("system", "start"):
                return [f + " " for f in self._start_flags() if f.startswith(text)]
            suffixes = ((".toml",) if head == ("system", "start") else (".html",)
                        if words[0] == "report" else (".json", ".csv", ".parquet"))
            return self._paths(text, suffixes)
        if head == ("data", "remove-symbol") or head == ("data", "session"):
            run = self.app.run
            symbols = run.coordinator.session_data.symbols() if run is not None else []
            return [s + " " for s in symbols if s.startswith(text.upper())]
        return []

    def _start_flags(self) -> list[str]:
        from mismartera.shell.app import _start_parser

        return sorted(opt for p in _start_parser().params for opt in getattr(p, "opts", [])
                      if opt.startswith("--"))

    @staticmethod
    def _paths(text: str, suffixes: tuple[str, ...]) -> list[str]:
        out = []
        for path in sorted(glob.glob(os.path.expanduser(text) + "*")):
            if os.path.isdir(path):
                out.append(path + "/")
            elif path.endswith(suffixes):
                out.append(path + " ")
        return out

    def __call__(self, text: str, state: int) -> str | None:
        if state == 0:
            import readline

            line = readline.get_line_buffer()[: readline.get_endidx()]
            try:
                self._matches = self.candidates(line, text)
            except Exception:
                self._matches = []
        return self._matches[state] if state < len(self._matches) else None


def _setup_readline(app: ShellApp) -> Any:
    import readline

    readline.set_completer_delims(" \t\n")
    readline.set_completer(Completer(app))
    if "libedit" in (readline.__doc__ or ""):
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
    readline.set_history_length(HISTORY_LENGTH)
    with contextlib.suppress(OSError):
        readline.read_history_file(history_path())
    return readline


def _save_history(readline: Any) -> None:
    path = history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        readline.write_history_file(path)
    except OSError:
        pass


def _interactive(app: ShellApp) -> int:
    readline = _setup_readline(app)
    app.say("mismartera shell: `help` lists the commands, `quit` leaves")
    try:
        while not app.should_exit:
            try:
                line = input(PROMPT)
            except EOFError:
                sys.stdout.write("\n")
                break
            except KeyboardInterrupt:
                typed = readline.get_line_buffer()
                sys.stdout.write("\n")
                sys.stdout.flush()
                if app.running:
                    if typed.strip():
                        app.say("(line cleared; Ctrl-C again stops the running session)")
                    else:
                        _interrupt(app)
                continue
            try:
                app.execute(line)
            except KeyboardInterrupt:
                sys.stdout.write("\n")
                if app.running:
                    _interrupt(app)
                else:
                    app.say("interrupted")
        _close(app)
    finally:
        _save_history(readline)
    return 0


def _interrupt(app: ShellApp) -> None:
    with contextlib.suppress(KeyboardInterrupt):  # a Ctrl-C while reporting the stop
        app.interrupt()


def _close(app: ShellApp) -> None:
    while True:
        try:
            app.close()
            return
        except KeyboardInterrupt:
            continue
