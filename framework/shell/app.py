"""ShellApp: the shell's state and command handlers, independent of the terminal.

`execute(line)` runs one command and never raises for a command's failure: every error is
one line `error: ...` on the error console (a traceback only in debug mode) and the shell
goes on. The running session lives on a background thread (`SessionRun`); the handlers reach
it only through the coordinator's thread-safe calls and copies of `SessionData` taken under
its lock. `mismartera.shell.terminal` wraps this in a readline prompt or a piped script.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import click
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from mismartera.errors import UserError
from mismartera.shell import commands, exports
from mismartera.shell.commands import CommandSpec, ShellError
from mismartera.shell.reports import added_summary, outcome, status_rows
from mismartera.shell.runner import FAILED, SessionRun, describe_error
from mismartera.symbols import check_symbol

NO_SESSION = "no session has been started (start one with `system start [SESSION.toml]`)"


def _exit_code(exc: BaseException) -> int:
    return exc.exit_code if isinstance(exc, UserError) else 1


def _start_parser() -> click.Command:
    """`system start`'s arguments: a session file and `mismartera backtest`'s flags."""
    from mismartera.commands.backtest import backtest_options

    @click.command(name="system start", add_help_option=False)
    @click.argument("session_file", required=False, type=click.Path(dir_okay=False))
    @backtest_options
    def start(**params: Any) -> dict[str, Any]:
        return params

    start.params = [p for p in start.params if p.name != "quiet"]
    return start


class ShellApp:
    """The shell: one session at a time, commands in the contract, one-line errors.

    `make_observers` (tests) returns observers for each new coordinator; `confirm_timeout`
    is how long `data add-symbol`/`remove-symbol` wait to confirm the change was applied;
    `start_timeout` how long `system start` waits for the first day to be loaded."""

    def __init__(
        self,
        plugins: Any,
        *,
        console: Console | None = None,
        err_console: Console | None = None,
        debug: bool = False,
        make_observers: Callable[[], Iterable[Any]] | None = None,
        confirm_timeout: float = 2.0,
        start_timeout: float = 30.0,
    ) -> None:
        self.plugins = plugins
        self.out = console or Console(highlight=False)
        self.err = err_console or Console(stderr=True, highlight=False)
        self.debug = debug
        self.make_observers = make_observers or (lambda: ())
        self.confirm_timeout = confirm_timeout
        self.start_timeout = start_timeout
        self.run: SessionRun | None = None
        self.should_exit = False
        self.failures: list[int] = []  # exit code of each failed command
        self._pending: list[tuple[str, str]] = []  # (op, symbol) not yet seen applied
        self._reported_end = False
        self._cursor: str | None = None  # of the last .json export of the current run
        self._parser: click.Command | None = None
        self._handlers: dict[tuple[str, ...], Callable[[list[str]], None]] = {
            ("system", "start"): self.cmd_start,
            ("system", "stop"): self.cmd_stop,
            ("system", "status"): self.cmd_status,
            ("system", "wait"): self.cmd_wait,
            ("data", "session"): self.cmd_session,
            ("data", "add-symbol"): self.cmd_add_symbol,
            ("data", "remove-symbol"): self.cmd_remove_symbol,
            ("indicator", "add"): self.cmd_add_indicator,
            ("export",): self.cmd_export,
            ("report",): self.cmd_report,
            ("help",): self.cmd_help,
            ("quit",): self.cmd_quit,
        }

    # --- output ----------------------------------------------------------------------------

    def say(self, message: str | RenderableType) -> None:
        if isinstance(message, str):
            self.out.print(Text(message), soft_wrap=True)
        else:
            self.out.print(message)

    def error(self, message: str, code: int = 2) -> None:
        """Report a failure in one line and remember it for the exit status."""
        self.failures.append(code)
        self.err.print(Text(f"error: {message}"), soft_wrap=True)

    @property
    def exit_code(self) -> int:
        """0 when nothing failed; 1 when anything failed while running (an unexpected error,
        a session whose run raised); otherwise 2 (bad command, bad config or input)."""
        if not self.failures:
            return 0
        return 1 if 1 in self.failures else 2

    # --- running a line --------------------------------------------------------------------

    def execute(self, line: str) -> bool:
        """Run one command line; True when it succeeded (an empty line succeeds).

        KeyboardInterrupt is left to the caller (the terminal decides what Ctrl-C does)."""
        failures = len(self.failures)
        try:
            self.report_events()
            words = commands.split(line)
            if not words:
                return True
            spec, args = commands.lookup(words)
            self._handlers[spec.words](args)
            self.report_events()
        except KeyboardInterrupt:
            raise
        except (UserError, click.ClickException) as exc:
            self._debug_traceback()
            message = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
            self.error(message, 2)
        except Exception as exc:
            self._debug_traceback()
            hint = "" if self.debug else " (run `mismartera --debug shell` for the traceback)"
            self.error(describe_error(exc) + hint, 1)
        return len(self.failures) == failures

    def _debug_traceback(self) -> None:
        if self.debug:
            self.err.print_exception()

    # --- session state ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.run is not None and not self.run.done

    def _require_run(self) -> SessionRun:
        if self.run is None:
            raise ShellError(NO_SESSION)
        return self.run

    def _require_running(self, what: str) -> SessionRun:
        run = self._require_run()
        if run.done:
            raise ShellError(f"cannot {what}: the session has {run.state} "
                             "(start a new one with `system start`)")
        return run

    def report_events(self) -> None:
        """Say what happened in the background since the last command: symbol changes that
        were applied, and the end of the run (once)."""
        self._check_pending()
        run = self.run
        if run is not None and run.done and not self._reported_end:
            self._report_end(run)

    def _report_end(self, run: SessionRun) -> None:
        self._reported_end = True
        if run.state == FAILED:
            assert run.error is not None
            self.error(f"the session failed: {describe_error(run.error)}", _exit_code(run.error))
            if self.debug:
                self.err.print(Text("".join(_format_tb(run.error))))
        else:
            self.say(outcome(run))

    def _stop_run(self, run: SessionRun) -> None:
        """Stop and join, even through further Ctrl-C presses (stopping takes one step)."""
        while True:
            try:
                if run.stop(timeout=0.2):
                    return
            except KeyboardInterrupt:
                self.say("still stopping the session (it ends after the current clock step)")

    def interrupt(self) -> None:
        """What Ctrl-C does while a session runs: stop it cleanly and say how it ended."""
        run = self.run
        if run is None or run.done:
            return
        self.say("interrupted: stopping the session")
        self._stop_run(run)
        self.report_events()

    def close(self) -> None:
        """Stop a running session cleanly (quit, end of input)."""
        run = self.run
        if run is not None and not run.done:
            self.say("stopping the running session")
            self._stop_run(run)
        self.report_events()

    # --- system ----------------------------------------------------------------------------

    def cmd_start(self, args: list[str]) -> None:
        if self.running:
            raise ShellError("a session is already running (stop it first with `system stop`)")
        config = self.config_from(args)
        self.start(config)

    def config_from(self, args: list[str]) -> Any:
        """The session config `system start ARGS` asks for (the demo when no file is given)."""
        from mismartera.commands.backtest import DEMO
        from mismartera.config import SessionConfig

        if self._parser is None:
            self._parser = _start_parser()
        ctx = self._parser.make_context("system start", list(args))
        params = dict(ctx.params)
        session_file = params.pop("session_file")
        if session_file:
            config = SessionConfig.from_toml(session_file)
        else:
            config = SessionConfig.from_dict(DEMO, origin="demo")
        flags = {k: v for k, v in params.items() if v not in (None, ())}
        return config.with_overrides(**flags).validate()

    def start(self, config: Any) -> SessionRun:
        """Start a coordinator for `config` on a background thread and wait (at most
        `start_timeout`) until its first day is loaded; a run that fails by then is an error."""
        from mismartera.session.run import build_coordinator, run_label

        coordinator = build_coordinator(config, plugins=self.plugins,
                                        observers=list(self.make_observers()))
        self._pending.clear()
        self._reported_end = False
        self._cursor = None
        self.run = run = SessionRun(coordinator).start()
        speed = "as fast as possible" if not config.speed else f"{config.speed:g}x real time"
        named = ", ".join(config.symbols) or ("all" if config.all_symbols else "none yet")
        self.say(f"started {run_label(config, coordinator.calendar)}: "  # live: its trading days
                 f"{named} ({', '.join(i.name for i in config.intervals)}), speed {speed}")
        deadline = time.monotonic() + self.start_timeout
        sd = coordinator.session_data
        while not run.done and sd.trading_days == 0 and time.monotonic() < deadline:
            run.wait(0.01)
        if run.done:
            self.report_events()
        return run

    def cmd_stop(self, args: list[str]) -> None:
        self._no_args("system stop", args)
        run = self._require_run()
        if run.done:
            self.say(f"no session is running; {outcome(run)}")
            self._reported_end = True
            return
        self._stop_run(run)
        self.report_events()

    def cmd_wait(self, args: list[str]) -> None:
        if len(args) > 1:
            raise ShellError("usage: system wait [SECONDS]")
        timeout = None
        if args:
            try:
                timeout = float(args[0])
            except ValueError:
                raise ShellError("system wait: expected a number of seconds, "
                                 f"got {args[0]!r}") from None
        run = self._require_run()
        if not run.wait(timeout):
            self.say(f"the session is still running after {timeout:g} s")
            return
        run.thread.join()
        self.report_events()  # the outcome, unless it was said already

    def cmd_status(self, args: list[str]) -> None:
        self._no_args("system status", args)
        from mismartera.shell.render import key_values

        run = self._require_run()
        self.say(key_values(status_rows(run, self._pending_text())))
        if run.state == FAILED and not self._reported_end:
            self._report_end(run)

    # --- data ------------------------------------------------------------------------------

    def cmd_session(self, args: list[str]) -> None:
        from mismartera.shell.render import session_tables
        from mismartera.shell.views import session_view

        run = self._require_run()
        sd = run.coordinator.session_data
        wanted = [a.upper() for a in args]
        unknown = [s for s in wanted if s not in sd]
        if unknown:
            raise ShellError(f"{', '.join(unknown)} not in the session "
                             f"(symbols: {', '.join(sd.symbols()) or 'none'})")
        view = session_view(sd, wanted or None)
        self.say(session_tables(view, run.coordinator.calendar))

    def _symbol_arg(self, command: str, args: list[str]) -> str:
        if len(args) != 1:
            raise ShellError(f"usage: {command} SYM")
        return check_symbol(args[0], command, ShellError)

    def cmd_add_symbol(self, args: list[str]) -> None:
        symbol = self._symbol_arg("data add-symbol", args)
        run = self._require_running(f"add {symbol}")
        if symbol in run.coordinator.session_data or ("add", symbol) in self._pending:
            raise ShellError(f"{symbol} is already in the session")
        run.coordinator.add_symbol(symbol)
        self._pending.append(("add", symbol))
        self.say(f"{symbol}: requested; it will be added at the next clock step")
        self._confirm(("add", symbol))

    def cmd_remove_symbol(self, args: list[str]) -> None:
        symbol = self._symbol_arg("data remove-symbol", args)
        run = self._require_running(f"remove {symbol}")
        sd = run.coordinator.session_data
        if ("remove", symbol) in self._pending:
            raise ShellError(f"{symbol} is already being removed")
        if symbol not in sd and ("add", symbol) not in self._pending:
            raise ShellError(f"{symbol} is not in the session "
                             f"(symbols: {', '.join(sd.symbols()) or 'none'})")
        run.coordinator.remove_symbol(symbol)
        self._pending.append(("remove", symbol))
        self.say(f"{symbol}: requested; it will be removed at the next clock step")
        self._confirm(("remove", symbol))

    def cmd_add_indicator(self, args: list[str]) -> None:
        if len(args) != 1:
            raise ShellError("usage: indicator add SPEC (e.g. indicator add sma:period=20@5m)")
        run = self._require_running(f"add indicator {args[0]}")
        key = run.coordinator.add_indicator(args[0])  # a bad spec: one UserError line
        self._pending.append(("indicator", key))
        self.say(f"{key}: requested; it will be added at the next clock step")
        self._confirm(("indicator", key))

    def _confirm(self, op: tuple[str, str]) -> None:
        """Wait briefly until `op` is applied, reporting it; else say it is still pending."""
        deadline = time.monotonic() + self.confirm_timeout
        while True:
            self._check_pending()
            if op not in self._pending:
                return
            if time.monotonic() >= deadline:
                self.say(f"{op[1]}: not applied yet (the clock has not stepped); "
                         "it will be confirmed before the next command's output")
                return
            time.sleep(0.01)

    def _check_pending(self) -> None:
        """Report symbol operations the coordinator has applied since they were asked for."""
        run = self.run
        if run is None or not self._pending:
            return
        sd = run.coordinator.session_data
        done = run.done
        still: list[tuple[str, str]] = []
        for i, (op, symbol) in enumerate(self._pending):
            if op == "indicator":  # `symbol` is the indicator's key
                if any(r.key == symbol for r in run.coordinator.indicators.specs):
                    self.say(f"{symbol} added: {len(sd)} symbol{'s' if len(sd) != 1 else ''}")
                elif done and not run.thread.is_alive():
                    self.error(f"{symbol} was not added: the session ended before its next "
                               "clock step")
                else:
                    still.append((op, symbol))
                continue
            later = any(s == symbol for _, s in self._pending[i + 1:])
            with sd.lock:
                symbol_data = sd.get(symbol)
                applied = (symbol_data is not None) == (op == "add") or later
                summary = added_summary(run, symbol_data) if symbol_data else ""
                errors = list(symbol_data.errors) if symbol_data else []
                loaded = symbol_data is not None and symbol_data.is_loaded
            if applied and not later:
                if op == "remove":
                    self.say(f"{symbol} removed")
                elif loaded:
                    self.say(f"{symbol} added: {summary}")
                else:
                    reason = "; ".join(errors) or "it could not be loaded"
                    self.error(f"{symbol} was added but not loaded: {reason} "
                               f"(remove it with `data remove-symbol {symbol}`)")
            elif not applied:
                if done and not run.thread.is_alive():
                    verb = "added" if op == "add" else "removed"
                    self.error(f"{symbol} was not {verb}: the session ended before its next "
                               "clock step")
                else:
                    still.append((op, symbol))
        self._pending = still

    def _pending_text(self) -> str:
        return ", ".join(f"{op} {symbol}" for op, symbol in self._pending)

    # --- export, report, help, quit --------------------------------------------------------

    def cmd_report(self, args: list[str]) -> None:
        self.say(exports.write_report(args, self._require_run))

    def cmd_export(self, args: list[str]) -> None:
        message, self._cursor = exports.write_export(args, self._require_run, self._cursor)
        self.say(message)

    def cmd_help(self, args: list[str]) -> None:
        if not args:
            table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
            table.add_column(style="bold", no_wrap=True)
            table.add_column()
            for spec in commands.COMMANDS:
                table.add_row(spec.usage, spec.summary)
            self.say(table)
            self.say("help COMMAND explains one; Ctrl-C stops a running session; "
                     "Tab completes; quit leaves.")
            return
        words = [a.lower() for a in args]
        if tuple(words) in commands.ALIASES:
            words = list(commands.ALIASES[tuple(words)])
        specs = commands.matching(words)
        if not specs:
            commands.lookup(words)  # raises the unknown-command error with its hint
            specs = commands.matching(words[:2]) or commands.matching(words[:1])
        for spec in specs:
            self._help_one(spec, detailed=len(specs) == 1)

    def _help_one(self, spec: CommandSpec, detailed: bool) -> None:
        self.say(Text(spec.usage, style="bold"))
        self.say(f"  {spec.summary}")
        if not detailed:
            return
        if spec.details:
            self.say(f"  {spec.details}")
        if spec.words == ("system", "start"):
            if self._parser is None:
                self._parser = _start_parser()
            ctx = click.Context(self._parser, info_name="system start")
            options = self._parser.collect_usage_pieces(ctx)
            self.say(f"  arguments: {' '.join(options)}")
            for param in self._parser.params:
                if isinstance(param, click.Option):
                    record = param.get_help_record(ctx)
                    if record:
                        self.say(f"    {record[0]:<28} {record[1]}")

    def cmd_quit(self, args: list[str]) -> None:
        self._no_args("quit", args)
        self.close()
        self.should_exit = True

    @staticmethod
    def _no_args(command: str, args: list[str]) -> None:
        if args:
            raise ShellError(f"{command} takes no arguments, got {' '.join(args)!r}")


def _format_tb(exc: BaseException) -> list[str]:
    import traceback

    return traceback.format_exception(type(exc), exc, exc.__traceback__)
