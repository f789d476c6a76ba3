"""Helpers for testing mismartera plugins with pytest.

Installed as a pytest plugin (entry point ``pytest11``), so the ``mismartera_plugins``
fixture is available in any project that has mismartera installed::

    def test_my_source(mismartera_plugins):
        mismartera_plugins.register(my_plugin_module)
        result = mismartera_plugins.invoke(["plugins", "--json"])
        assert "my-source" in result.output

The fixture gives each test its own plugin manager with the built-in plugins (and no
third-party ones); whatever the test registers is removed again afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from mismartera.plugin_manager import PluginManager, Provenance


class PluginHarness:
    """A plugin manager for one test, with helpers to register plugins and run the CLI."""

    def __init__(self, manager: PluginManager) -> None:
        self.manager = manager
        self._registered: list[str] = []

    def register(self, plugin: Any, name: str | None = None) -> Provenance:
        """Register a plugin object (module, class or instance with @hookimpl functions)."""
        prov = self.manager.register_plugin(plugin, name=name, distribution="test")
        self._registered.append(prov.plugin)
        return prov

    def unregister_all(self) -> None:
        for name in reversed(self._registered):
            self.manager.unregister_plugin(name)
        self._registered.clear()

    def invoke(self, args: Sequence[str], **kwargs: Any):
        """Run the `mismartera` CLI in-process with this manager; returns click's Result."""
        from click.testing import CliRunner

        from mismartera.cli import App, cli

        fresh = type(cli)(name=cli.name, params=cli.params, callback=cli.callback,
                          help=cli.help, context_settings=cli.context_settings)
        return CliRunner().invoke(fresh, list(args), obj=App(_plugins=self.manager), **kwargs)


@pytest.fixture
def mismartera_plugins() -> Iterator[PluginHarness]:
    """A fresh plugin manager (built-ins only); plugins registered through it are removed
    when the test ends."""
    harness = PluginHarness(PluginManager(load_entry_points=False))
    try:
        yield harness
    finally:
        harness.unregister_all()
