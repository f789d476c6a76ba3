"""The command-line skeleton: help, version, plugins listing, error handling, start-up cost."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from mismartera import hookimpl
from mismartera.errors import ConfigError


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mismartera", *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_help_lists_core_commands():
    result = run("--help")
    assert result.returncode == 0, result.stderr
    assert "plugins" in result.stdout
    assert result.stderr == ""


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("mismartera, version ")


def test_help_imports_no_heavy_module():
    code = ("import sys; from click.testing import CliRunner; from mismartera.cli import cli; "
            "r = CliRunner().invoke(cli, ['--help']); assert r.exit_code == 0, r.output; "
            "heavy = {'pandas', 'exchange_calendars', 'duckdb'} & set(sys.modules); "
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_plugins_json_lists_builtins_with_provenance(mismartera_plugins):
    result = mismartera_plugins.invoke(["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    by_name = {(r["kind"], r["name"]): r for r in rows}
    assert ("command", "plugins") not in by_name  # core commands are not plugin-registered
    for row in rows:
        assert set(row) >= {"name", "kind", "plugin", "distribution", "version", "hooks"}
        if row["kind"] != "failed":
            assert row["distribution"] == "mismartera"


def test_plugin_command_is_added_and_listed(mismartera_plugins):
    class Plugin:
        @hookimpl
        def register_commands(self, cli):
            @cli.command()
            def hello():
                """Say hello."""
                click.echo("hello from a plugin")

    mismartera_plugins.register(Plugin(), name="hello-plugin")
    assert mismartera_plugins.invoke(["hello"]).output == "hello from a plugin\n"
    rows = json.loads(mismartera_plugins.invoke(["plugins", "--json"]).stdout)
    assert {"name": "hello", "kind": "command", "plugin": "hello-plugin"}.items() <= next(
        r for r in rows if r["name"] == "hello").items()


@pytest.mark.parametrize(
    ("exc", "code", "message"),
    [
        (ConfigError("session.toml: [session] start: expected a date"), 2,
         "Error: session.toml: [session] start: expected a date\n"),
        (RuntimeError("disk on fire"), 1,
         "Error: RuntimeError: disk on fire (run with --debug for the traceback)\n"),
    ],
)
def test_errors_are_one_line_with_exit_status(mismartera_plugins, exc, code, message):
    class Plugin:
        @hookimpl
        def register_commands(self, cli):
            @cli.command()
            def fail():
                raise exc

    mismartera_plugins.register(Plugin(), name="failing")
    result = mismartera_plugins.invoke(["fail"])
    assert result.exit_code == code
    assert result.stderr == message
    assert "Traceback" not in result.output


FAILING_COMMAND = """\
import sys

from mismartera import hookimpl
from mismartera.cli import App, cli
from mismartera.errors import ConfigError
from mismartera.plugin_manager import PluginManager


def read_the_bad_key():
    raise ConfigError("bad key")


class Plugin:
    @hookimpl
    def register_commands(self, cli):
        @cli.command()
        def fail():
            read_the_bad_key()


manager = PluginManager(load_entry_points=False)
manager.register_plugin(Plugin(), name="failing")
cli(sys.argv[1:], prog_name="mismartera", obj=App(_plugins=manager))
"""


def test_debug_shows_the_traceback(tmp_path):
    """What the user sees: the whole traceback down to the raising function, then the error."""
    script = tmp_path / "failing.py"
    script.write_text(FAILING_COMMAND)
    result = subprocess.run([sys.executable, str(script), "--debug", "fail"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert "in fail" in result.stderr
    assert "in read_the_bad_key" in result.stderr
    assert '    raise ConfigError("bad key")' in lines
    assert lines[-1] == "mismartera.errors.ConfigError: bad key"
    without = subprocess.run([sys.executable, str(script), "fail"],
                             capture_output=True, text=True, timeout=120)
    assert (without.returncode, without.stderr) == (2, "Error: bad key\n")


def test_usage_error_exits_2():
    result = run("no-such-command")
    assert result.returncode == 2
    assert "No such command" in result.stderr


def command_plugin(command_name: str):
    class Plugin:
        @hookimpl
        def register_commands(self, cli):
            @cli.command(name=command_name)
            def say():
                click.echo(f"this is {command_name}")

    return Plugin()


def test_two_managers_in_one_process_do_not_share_commands():
    """Plugin commands belong to the application (its manager), not to the module-level
    group: the same `cli` run with two managers shows each one its own commands."""
    from click.testing import CliRunner

    from mismartera.cli import App, cli
    from mismartera.plugin_manager import PluginManager

    apps = []
    for name in ("one", "two"):
        manager = PluginManager(builtins=(), load_entry_points=False)
        manager.register_plugin(command_plugin(name), name=f"{name}-plugin")
        apps.append((name, manager))
    for name, manager in apps * 2:
        other = "two" if name == "one" else "one"
        result = CliRunner().invoke(cli, [name], obj=App(_plugins=manager))
        assert (result.exit_code, result.output) == (0, f"this is {name}\n")
        result = CliRunner().invoke(cli, [other], obj=App(_plugins=manager))
        assert result.exit_code == 2 and "No such command" in result.output
        listing = CliRunner().invoke(cli, ["--help"], obj=App(_plugins=manager)).output
        assert f"  {name} " in listing or f"  {name}\n" in listing
        assert f"  {other}" not in listing
    assert cli.commands == {}
