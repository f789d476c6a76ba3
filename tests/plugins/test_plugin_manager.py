"""The plugin manager: provenance, duplicates, misspelled hooks, broken plugins, allowlists."""

from __future__ import annotations

import types
from importlib import metadata

import pytest

from mismartera import hookimpl
from mismartera.errors import PluginError
from mismartera.plugin_manager import PluginManager


def make_plugin(name: str, **hooks) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, fn in hooks.items():
        setattr(module, hook_name, hookimpl(fn))
    return module


def indicator_plugin(name: str, *indicator_names: str) -> types.ModuleType:
    def register_indicators(register):
        for ind in indicator_names:
            register(ind, object, f"{ind} from {name}")

    return make_plugin(name, register_indicators=register_indicators)


@pytest.fixture
def manager() -> PluginManager:
    return PluginManager(builtins=(), load_entry_points=False, warn=lambda line: None)


def test_register_records_provenance(manager):
    manager.register_plugin(indicator_plugin("acme", "foo"), distribution="acme-dist",
                            version="1.2")
    reg = manager.get("indicator", "foo")
    assert (reg.provenance.plugin, reg.provenance.distribution, reg.provenance.version) == (
        "acme", "acme-dist", "1.2")
    assert reg.description == "foo from acme"
    assert manager.hooks_of("acme") == ["register_indicators"]


def test_duplicate_name_is_an_error_naming_both_plugins(manager):
    manager.register_plugin(indicator_plugin("first", "dup"))
    with pytest.raises(PluginError, match=r"both plugin first .* and plugin second"):
        manager.register_plugin(indicator_plugin("second", "dup"))
    # the failed plugin left nothing behind
    assert manager.get("indicator", "dup").provenance.plugin == "first"
    assert [p.plugin for p in manager.plugins()] == ["first"]


def test_duplicate_within_one_plugin_is_an_error(manager):
    with pytest.raises(PluginError, match="'twice' is registered by both"):
        manager.register_plugin(indicator_plugin("p", "twice", "twice"))


def test_misspelled_hook_is_an_error_with_a_suggestion(manager):
    plugin = make_plugin("typo", register_indicator=lambda register: None)
    with pytest.raises(PluginError,
                       match=r"unknown hook 'register_indicator' .*register_indicators"):
        manager.register_plugin(plugin)
    assert manager.plugins() == []


def test_raising_registration_hook_is_reported_with_plugin_name(manager):
    def register_exporters(register):
        raise RuntimeError("boom")

    with pytest.raises(PluginError,
                       match=r"plugin bad .*register_exporters raised RuntimeError: boom"):
        manager.register_plugin(make_plugin("bad", register_exporters=register_exporters))


def test_unknown_name_lists_available_and_failed_plugins():
    lines: list[str] = []
    manager = PluginManager(builtins=("mismartera.does_not_exist_module_x",),
                            load_entry_points=False, warn=lines.append)
    manager.register_plugin(indicator_plugin("p", "sma_like", "ema_like"))
    with pytest.raises(PluginError) as caught:
        manager.get("indicator", "sma_lke", key="indicators[0].name")
    failed = (f"plugin mismartera-does_not_exist_module_x (mismartera "
              f"{metadata.version('mismartera')}) failed to load: ModuleNotFoundError: "
              f"No module named 'mismartera.does_not_exist_module_x'")
    assert str(caught.value) == (
        "indicators[0].name: unknown indicator 'sma_lke' (did you mean 'sma_like'?); "
        f"available: ema_like, sma_like; {failed}")
    assert lines == [f"Warning: {failed}"]


def test_broken_builtin_is_one_warning_line_and_the_rest_loads():
    lines: list[str] = []
    broken = types.ModuleType("broken")
    import sys

    sys.modules["mismartera_test_broken_plugin"] = broken
    broken.register_indicators = hookimpl(lambda register: 1 / 0)
    try:
        manager = PluginManager(builtins=("mismartera_test_broken_plugin",),
                                load_entry_points=False, warn=lines.append)
    finally:
        del sys.modules["mismartera_test_broken_plugin"]
    assert len(lines) == 1
    assert lines[0].startswith("Warning: plugin mismartera_test_broken_plugin (mismartera ")
    assert "failed to load: register_indicators raised ZeroDivisionError" in lines[0]
    assert manager.plugins() == []
    assert manager.describe()[-1]["kind"] == "failed"


def test_unregister_removes_registrations(manager):
    manager.register_plugin(indicator_plugin("p", "a", "b"))
    manager.unregister_plugin("p")
    assert manager.registered("indicator") == {}
    manager.register_plugin(indicator_plugin("p", "a"))  # the name is free again


class FakeEntryPoint:
    def __init__(self, name, obj=None, error=None, dist="fake-dist"):
        self.name, self._obj, self._error = name, obj, error
        self.dist = types.SimpleNamespace(name=dist, version="9.9")
        self.loaded = False

    def load(self):
        self.loaded = True
        if self._error:
            raise self._error
        return self._obj


@pytest.fixture
def fake_entry_points(monkeypatch):
    eps = [
        FakeEntryPoint("good", indicator_plugin("good", "g1")),
        FakeEntryPoint("broken", error=ImportError("No module named 'missing_dep'")),
        FakeEntryPoint("other", indicator_plugin("other", "o1")),
    ]
    monkeypatch.setattr(metadata, "entry_points",
                        lambda group: eps if group == "mismartera" else [])
    return eps


def test_entry_points_load_each_in_isolation(fake_entry_points):
    lines: list[str] = []
    manager = PluginManager(builtins=(), env={}, warn=lines.append)
    assert lines == ["Warning: plugin broken (fake-dist 9.9) failed to load: "
                     "ImportError: No module named 'missing_dep'"]
    assert set(manager.registered("indicator")) == {"g1", "o1"}


def test_allowlist_env(fake_entry_points):
    manager = PluginManager(builtins=(), env={"MISMARTERA_LOAD_PLUGINS": "other"}, warn=print)
    assert set(manager.registered("indicator")) == {"o1"}
    assert manager.failed == []


@pytest.mark.parametrize("value", ["1", "true", "yes", "TRUE", " Yes "])
def test_disable_autoload_env(fake_entry_points, value):
    manager = PluginManager(builtins=(), env={"MISMARTERA_DISABLE_PLUGIN_AUTOLOAD": value})
    assert manager.plugins() == [] and manager.failed == []
    assert not any(ep.loaded for ep in fake_entry_points)


@pytest.mark.parametrize("value", ["0", "false", "no", ""])
def test_autoload_stays_on_for_other_values(fake_entry_points, value):
    manager = PluginManager(builtins=(), env={"MISMARTERA_DISABLE_PLUGIN_AUTOLOAD": value},
                            warn=lambda line: None)
    assert set(manager.registered("indicator")) == {"g1", "o1"}


@pytest.mark.parametrize("exc", [SystemExit(3), SystemExit(), GeneratorExit("bye")])
def test_a_base_exception_at_import_is_isolated_like_any_failure(monkeypatch, exc):
    eps = [FakeEntryPoint("quits", error=exc), FakeEntryPoint("good", indicator_plugin("g", "g1"))]
    monkeypatch.setattr(metadata, "entry_points", lambda group: eps)
    lines: list[str] = []
    manager = PluginManager(builtins=(), env={}, warn=lines.append)
    reason = type(exc).__name__ + (f": {exc}" if str(exc) else "")
    assert lines == [f"Warning: plugin quits (fake-dist 9.9) failed to load: {reason}"]
    assert set(manager.registered("indicator")) == {"g1"}


def test_keyboard_interrupt_at_import_still_interrupts(monkeypatch):
    eps = [FakeEntryPoint("ctrl-c", error=KeyboardInterrupt())]
    monkeypatch.setattr(metadata, "entry_points", lambda group: eps)
    with pytest.raises(KeyboardInterrupt):
        PluginManager(builtins=(), env={})


@pytest.fixture
def same_name_twice(monkeypatch):
    eps = [FakeEntryPoint("dup", indicator_plugin("dup", "a1"), dist="dist-a"),
           FakeEntryPoint("dup", indicator_plugin("dup", "b1"), dist="dist_b")]
    monkeypatch.setattr(metadata, "entry_points", lambda group: eps)
    return eps


@pytest.mark.parametrize("env", [{}, {"MISMARTERA_LOAD_PLUGINS": "dup"}])
def test_a_second_distribution_with_a_taken_name_is_not_imported(same_name_twice, env):
    lines: list[str] = []
    manager = PluginManager(builtins=(), env=env, warn=lines.append)
    assert set(manager.registered("indicator")) == {"a1"}
    assert [ep.loaded for ep in same_name_twice] == [True, False]
    assert lines == ["Warning: plugin dup (dist_b 9.9) failed to load: the name 'dup' is "
                     "already taken by plugin dup (dist-a 9.9)"]


@pytest.mark.parametrize(("allow", "loaded"), [("dist-b:dup", [False, True]),
                                                ("DIST.A:dup, other", [True, False]),
                                                ("dist-a:nope", [False, False])])
def test_allowlist_entries_may_name_the_distribution(same_name_twice, allow, loaded):
    manager = PluginManager(builtins=(), env={"MISMARTERA_LOAD_PLUGINS": allow})
    assert [ep.loaded for ep in same_name_twice] == loaded
    assert manager.failed == []


def test_the_suite_loads_no_installed_plugin(fake_entry_points):
    """tests/conftest.py isolates every test (and its subprocesses) from installed plugins."""
    assert PluginManager(builtins=(), warn=print).plugins() == []


def test_notify_collects_errors_instead_of_raising(manager):
    calls = []

    def symbol_added(session_data, symbol):
        calls.append(symbol)

    def symbol_removed(session_data, symbol):
        raise ValueError("nope")

    manager.register_plugin(make_plugin("n", symbol_added=symbol_added,
                                        symbol_removed=symbol_removed))
    assert manager.notify("symbol_added", session_data=None, symbol="AAPL") == []
    errors = manager.notify("symbol_removed", session_data=None, symbol="AAPL")
    assert calls == ["AAPL"]
    assert [(p.plugin, str(e)) for p, e in errors] == [("n", "nope")]


def test_a_registration_hook_with_specname_is_called(manager):
    """Registration hooks go through pluggy: an implementation named otherwise, with
    `specname=`, is called like any other (it was silently skipped)."""
    plugin = types.ModuleType("renamed")

    def add_my_indicators(register):
        register("renamed_ind", object, "from a specname impl")

    plugin.add_my_indicators = hookimpl(specname="register_indicators")(add_my_indicators)
    manager.register_plugin(plugin)
    assert manager.get("indicator", "renamed_ind").provenance.plugin == "renamed"
    assert manager.hooks_of("renamed") == ["register_indicators"]


def test_a_misspelled_specname_is_an_error_with_a_suggestion(manager):
    plugin = types.ModuleType("typo2")
    plugin.mine = hookimpl(specname="register_exporter")(lambda register: None)
    with pytest.raises(PluginError, match=r"unknown hook 'register_exporter' .*"
                                          r"register_exporters"):
        manager.register_plugin(plugin)
    assert manager.plugins() == []


def test_an_error_in_a_specname_hook_names_the_plugin(manager):
    plugin = types.ModuleType("raiser")
    plugin.mine = hookimpl(specname="register_scanners")(lambda register: 1 / 0)
    with pytest.raises(PluginError, match=r"plugin raiser .*register_scanners raised "
                                          r"ZeroDivisionError"):
        manager.register_plugin(plugin)


def test_a_registration_hook_wrapper_is_refused(manager):
    class Wrapper:
        @hookimpl(wrapper=True)
        def register_indicators(self, register):
            register("never", object)
            return (yield)

    with pytest.raises(PluginError, match="register_indicators cannot be a hook wrapper"):
        manager.register_plugin(Wrapper(), name="wrapper")
    assert manager.registered("indicator") == {}
