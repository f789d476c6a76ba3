"""What `mismartera --help` loads: no numeric or data library, and no plugin manager unless
a third-party plugin could add commands (timings are in bench/bench_startup.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from importlib import metadata

import click
import pytest
from click.testing import CliRunner

from mismartera import hookimpl
from mismartera.cli import App, cli
from mismartera.plugin_manager import PluginManager, autoloads_plugins

HEAVY = ("numpy", "pandas", "duckdb", "exchange_calendars", "rich", "jinja2", "plotly",
         "mismartera.bars", "mismartera.plugins.sources")


def loaded_after(code: str) -> list[str]:
    """The HEAVY modules a fresh interpreter holds after running `code`."""
    probe = (f"import json, sys; {code}; "
             f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    env = {"PATH": "", "MISMARTERA_DISABLE_PLUGIN_AUTOLOAD": "1"}  # what a plugin loads is its own
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, env=env, timeout=120)
    return list(json.loads(out.stdout))


def test_importing_the_cli_and_its_help_load_no_heavy_module():
    assert loaded_after("import mismartera.cli") == []
    help_code = ("from click.testing import CliRunner; from mismartera.cli import cli; "
                 "r = CliRunner().invoke(cli, ['--help']); assert r.exit_code == 0, r.output; "
                 "assert 'backtest' in r.output and 'sweep' in r.output")
    assert loaded_after(help_code) == []


def test_the_builtin_plugins_add_no_commands():
    """What lets `--help` skip the plugin manager when no third-party plugin is installed."""
    group = click.Group("mismartera")
    PluginManager(load_entry_points=False).add_commands(group)
    assert group.commands == {}


class FakeEntryPoint:
    def __init__(self, name: str, obj: object) -> None:
        self.name, self._obj = name, obj
        self.dist = types.SimpleNamespace(name="fake-dist", version="1.0")

    def load(self) -> object:
        return self._obj


class CommandPlugin:
    @hookimpl
    def register_commands(self, cli):
        @cli.command()
        def hello():
            """Say hello."""


@pytest.fixture
def one_plugin(monkeypatch):
    eps = [FakeEntryPoint("greeter", CommandPlugin())]
    monkeypatch.setattr(metadata, "entry_points",
                        lambda group: eps if group == "mismartera" else [])


@pytest.mark.parametrize(("env", "expected"), [
    ({}, True),
    ({"MISMARTERA_DISABLE_PLUGIN_AUTOLOAD": "yes"}, False),
    ({"MISMARTERA_LOAD_PLUGINS": "other"}, False),
    ({"MISMARTERA_LOAD_PLUGINS": "fake-dist:greeter"}, True),
])
def test_autoloads_plugins_follows_the_environment(one_plugin, env, expected):
    assert autoloads_plugins(env) is expected


def test_a_third_party_plugins_command_is_in_the_help(one_plugin, monkeypatch):
    monkeypatch.delenv("MISMARTERA_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("MISMARTERA_LOAD_PLUGINS", raising=False)
    app = App()
    result = CliRunner().invoke(cli, ["--help"], obj=app)
    assert result.exit_code == 0, result.output
    assert "hello" in result.output and "Say hello." in result.output
    assert app._plugins is not None  # built to ask the plugin


def test_without_third_party_plugins_help_builds_no_manager(monkeypatch):
    monkeypatch.setattr(metadata, "entry_points", lambda group: [])
    app = App()
    result = CliRunner().invoke(cli, ["--help"], obj=app)
    assert result.exit_code == 0, result.output
    assert "backtest" in result.output and app._plugins is None
