"""A real third-party plugin: built and pip-installed into a temporary virtual environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.venv import PluginVenv

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mismartera-example-source"

pytestmark = pytest.mark.venv

BROKEN_PYPROJECT = """
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "mismartera-broken-plugin"
version = "0.0.1"

[project.entry-points.mismartera]
broken = "mismartera_broken_plugin"
"""


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> PluginVenv:
    root = tmp_path_factory.mktemp("plugin-venv")
    env = PluginVenv(root / "venv")
    env.pip_install(EXAMPLE)
    broken = root / "broken"
    (broken / "mismartera_broken_plugin").mkdir(parents=True)
    (broken / "pyproject.toml").write_text(BROKEN_PYPROJECT)
    (broken / "mismartera_broken_plugin" / "__init__.py").write_text(
        "import a_module_that_does_not_exist  # deliberately broken\n")
    env.pip_install(broken)
    return env


BROKEN_LINE = ("Warning: plugin broken (mismartera-broken-plugin 0.0.1) failed to load: "
               "ModuleNotFoundError: No module named 'a_module_that_does_not_exist'")


def test_installed_plugin_is_listed_with_its_distribution(venv):
    result = venv.mismartera("plugins", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    sine = [r for r in rows if r["name"] == "sine"]
    assert sine == [{"name": "sine", "kind": "source", "plugin": "example-source",
                     "distribution": "mismartera-example-source", "version": "0.1.0",
                     "hooks": ["register_data_sources"],
                     "description": "deterministic sine-wave bars (example plugin)"}]
    assert any(r["name"] == "sample" and r["distribution"] == "mismartera" for r in rows)


def test_installed_source_runs_a_backtest(venv, tmp_path):
    out = tmp_path / "sine.json"
    result = venv.mismartera("backtest", "--source", "sine", "--symbols", "SINE", "--start",
                             "2024-01-02", "--end", "2024-01-03", "--streams", "1m,5m",
                             "--export", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    bars = json.loads(out.read_text())["symbols"]["SINE"]["bars"]
    assert len(bars["1m"]["data"]) == 390 and len(bars["5m"]["data"]) == 78


def test_broken_plugin_is_one_warning_line_and_the_cli_still_works(venv):
    result = venv.mismartera("plugins", "--json")
    assert result.returncode == 0
    assert result.stderr.splitlines() == [BROKEN_LINE]
    assert any(r["kind"] == "failed" and r["plugin"] == "broken" for r in json.loads(result.stdout))
    help_result = venv.mismartera("--help")
    assert help_result.returncode == 0 and "backtest" in help_result.stdout
    assert help_result.stderr.splitlines() == [BROKEN_LINE]


def test_allowlist_skips_the_broken_plugin(venv):
    result = venv.mismartera("plugins", "--json", env={"MISMARTERA_LOAD_PLUGINS": "example-source"})
    assert result.returncode == 0 and result.stderr == ""
    assert any(r["name"] == "sine" for r in json.loads(result.stdout))


def test_disable_autoload(venv):
    result = venv.mismartera("plugins", "--json", env={"MISMARTERA_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert result.returncode == 0 and result.stderr == ""
    assert not any(r["name"] == "sine" for r in json.loads(result.stdout))
