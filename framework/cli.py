"""The `mismartera` command line (click).

Core commands are imported only when used, so `mismartera --help` stays quick: no pandas,
exchange_calendars or duckdb at start-up. Plugins add theirs through `register_commands(cli)`
to a copy of the top-level group made for each application (`App`, the click context's
object), never to the module-level `cli`. User errors are one sentence on stderr and exit
status 2; any other failure is one sentence and exit status 1; `--debug` shows the traceback
instead.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from mismartera.errors import UserError

if TYPE_CHECKING:
    from mismartera.plugin_manager import PluginManager

CORE_COMMANDS = {
    "backtest": "mismartera.commands.backtest:backtest",
    "demo": "mismartera.commands.backtest:demo",
    "data": "mismartera.commands.data:data",
    "plugins": "mismartera.commands.plugins:plugins",
    "report": "mismartera.commands.report:report",
    "shell": "mismartera.commands.shell:shell",
    "sweep": "mismartera.commands.sweep:sweep",
}


@dataclass
class App:
    """What every command receives as `ctx.obj`: the debug flag, the plugin manager and the
    commands its plugins added. Each application has its own: two managers in one process
    never see each other's commands."""

    debug: bool = False
    _plugins: PluginManager | None = field(default=None, repr=False)
    _commands: MutableMapping[str, click.Command] | None = field(default=None, repr=False)

    @property
    def plugins(self) -> PluginManager:
        if self._plugins is None:
            from mismartera.plugin_manager import PluginManager

            self._plugins = PluginManager()
        return self._plugins

    def plugin_commands(self, root: click.Group) -> MutableMapping[str, click.Command]:
        """The commands this application's plugins added (`register_commands`, run once).
        They receive a copy of the top-level group made for this application, so the
        module-level `cli` never holds a plugin's command."""
        commands = self._commands
        if commands is None:
            group = type(root)(name=root.name, params=root.params, callback=root.callback,
                               help=root.help, context_settings=root.context_settings)
            commands = self._commands = group.commands
            # the built-in plugins add no commands (tests/cli checks): without a third-party
            # plugin to load, `--help` needs no plugin manager (nor numpy, which they import)
            from mismartera.plugin_manager import autoloads_plugins

            if self._plugins is not None or autoloads_plugins():
                self.plugins.add_commands(group)
        return commands


@functools.cache
def _failure(exit_code: int) -> type[click.ClickException]:
    """A one-line error with our exit codes: 2 for user errors, 1 for failures (click reads
    `exit_code` from the exception's class)."""
    return type("_Failure", (click.ClickException,), {"exit_code": exit_code})


def debugging(ctx: click.Context) -> bool:
    app = ctx.find_object(App)
    return bool(app and app.debug) or os.environ.get("MISMARTERA_DEBUG") == "1"


class MismarteraGroup(click.Group):
    """Loads core commands lazily and the application's plugin commands (kept on its `App`,
    not on the group) once; turns exceptions into one line."""

    def _plugin_commands(self, ctx: click.Context) -> MutableMapping[str, click.Command]:
        return ctx.ensure_object(App).plugin_commands(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        core = [name for name in CORE_COMMANDS if self._core(name) is not None]
        return sorted(set(core) | set(self.commands) | set(self._plugin_commands(ctx)))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = self._core(name) or self.commands.get(name)
        if command is not None:
            return command
        return self._plugin_commands(ctx).get(name)

    @staticmethod
    def _core(name: str) -> click.Command | None:
        target = CORE_COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # not part of this build
                return None
            raise
        return getattr(module, attr)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.Abort, click.exceptions.Exit):
            raise
        except UserError as exc:
            if debugging(ctx):
                raise
            raise _failure(exc.exit_code)(str(exc)) from None
        except Exception as exc:
            if debugging(ctx):
                raise
            raise _failure(1)(
                f"{type(exc).__name__}: {exc} (run with --debug for the traceback)"
            ) from None


@click.group(cls=MismarteraGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mismartera", prog_name="mismartera")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """mismartera: trading sessions over market data, correct to the bar.

    Start with `mismartera demo`; see `mismartera COMMAND --help` for each command.
    """
    ctx.ensure_object(App).debug = debug


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="mismartera")
