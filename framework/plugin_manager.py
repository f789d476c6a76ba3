"""The plugin manager: built-in plugins first, then the `mismartera` entry-point group.

Pluggy is used at assembly time only. Registration hooks are called one plugin at a time
with a `register` callback that records provenance and refuses duplicate names, so every
error names the plugin that caused it. An installed plugin that fails to load or register
is reported in one warning line and skipped; everything else keeps working. A plugin
registered explicitly (`register_plugin`, e.g. from a test) raises `PluginError` instead.

Environment:
    MISMARTERA_LOAD_PLUGINS=a,dist:b       load only these third-party plugins (entry-point
                                           names, optionally qualified by their distribution)
    MISMARTERA_DISABLE_PLUGIN_AUTOLOAD=1   load no third-party plugins at all (or true, yes)

Which entry points to import is decided before importing any: a name already taken by another
distribution's entry point is reported and not imported.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pluggy

from mismartera import hookspecs
from mismartera.errors import ConfigError, PluginError

if TYPE_CHECKING:
    from mismartera.sources import DataSource

DEFAULT_PLUGINS: tuple[str, ...] = (
    "mismartera.plugins.sources.store",
    "mismartera.plugins.sources.csv",
    "mismartera.plugins.sources.parquet",
    "mismartera.plugins.sources.sample",
    "mismartera.plugins.sources.synthetic",
    "mismartera.plugins.sources.replay",
    "mismartera.plugins.indicators.builtin",
    "mismartera.plugins.scanners.gap",
    "mismartera.plugins.scanners.volume_surge",
    "mismartera.plugins.exporters.json",
    "mismartera.plugins.exporters.csv",
    "mismartera.plugins.exporters.parquet",
    "mismartera.plugins.costs.builtin",
    "mismartera.plugins.strategies.builtin",
)
"""Built-in plugins, loaded by module name: the same road a third-party plugin takes."""

ENTRY_POINT_GROUP = "mismartera"
KINDS = ("source", "indicator", "exporter", "scanner", "strategy", "cost_model", "command")


@dataclass(frozen=True)
class Provenance:
    """Where a plugin comes from."""

    plugin: str
    distribution: str
    version: str

    def __str__(self) -> str:
        return f"{self.plugin} ({self.distribution} {self.version})".replace(" )", ")")


@dataclass(frozen=True)
class Registration:
    """One named object a plugin registered: a source factory, an indicator, an exporter..."""

    kind: str
    name: str
    obj: Any
    provenance: Provenance
    description: str = ""


@dataclass(frozen=True)
class FailedPlugin:
    provenance: Provenance
    reason: str

    def message(self) -> str:
        return f"plugin {self.provenance} failed to load: {self.reason}"


def _reason(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _dist_key(name: str) -> str:
    """A distribution name normalised as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _allowlist(raw: str | None) -> set[str] | None:
    """MISMARTERA_LOAD_PLUGINS as a set of `name` and `distribution:name` keys (None: all)."""
    if raw is None:
        return None
    keys = set()
    for item in (i.strip() for i in raw.split(",")):
        dist, sep, name = item.rpartition(":")
        if name:
            keys.add(f"{_dist_key(dist.strip())}:{name.strip()}" if sep else name)
    return keys


def _call(impl: Any, **kwargs: Any) -> Any:
    """Call one pluggy hook implementation with the arguments it declares (a subset of the
    spec's): one plugin at a time, so that an error can name the plugin."""
    return impl.function(**{name: kwargs[name] for name in impl.argnames})


def _close_match(name: str, names: Iterable[str]) -> str | None:
    """The registered name closest to a misspelt one, if any is close (for error messages;
    difflib is imported only then)."""
    import difflib

    near = difflib.get_close_matches(name, list(names), n=1)
    return near[0] if near else None


def _declares_context(factory: Any) -> bool:
    """Whether a source factory names a `context` parameter (a `**options` catch-all does
    not count: such a factory never asked for one)."""
    import inspect

    try:
        param = inspect.signature(factory).parameters.get("context")
    except (TypeError, ValueError):
        return False
    return param is not None and param.kind in (param.POSITIONAL_OR_KEYWORD,
                                                param.KEYWORD_ONLY)


def _allowed_entry_points(env: Mapping[str, str]) -> Iterator[tuple[Any, Provenance]]:
    """The group's entry points that `env` lets a manager load (none when autoload is
    disabled; those MISMARTERA_LOAD_PLUGINS names, when set), with their provenance."""
    if env.get("MISMARTERA_DISABLE_PLUGIN_AUTOLOAD", "").strip().lower() in ("1", "true", "yes"):
        return
    allow = _allowlist(env.get("MISMARTERA_LOAD_PLUGINS"))
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        prov = Provenance(ep.name, dist.name if dist else "unknown",
                          dist.version if dist else "?")
        if allow is None or {ep.name, f"{_dist_key(prov.distribution)}:{ep.name}"} & allow:
            yield ep, prov


def autoloads_plugins(env: Mapping[str, str] | None = None) -> bool:
    """Whether a `PluginManager` built with `env` (default: the environment) would load an
    installed third-party plugin (nothing is imported to find out)."""
    found = _allowed_entry_points(os.environ if env is None else env)
    return next(found, None) is not None


def _own_version() -> str:
    try:
        return metadata.version("mismartera")
    except metadata.PackageNotFoundError:  # pragma: no cover - a bare checkout
        return "0+unknown"


@dataclass
class PluginManager:
    """Assembles built-in and third-party plugins and owns their registries.

    One instance per application, session or test: there is no global registry.
    """

    builtins: Iterable[str] = DEFAULT_PLUGINS
    load_entry_points: bool = True
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    warn: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr))

    def __post_init__(self) -> None:
        self._pm = pluggy.PluginManager("mismartera")
        self._pm.add_hookspecs(hookspecs)
        self._provenance: dict[str, Provenance] = {}
        self._strict: set[str] = set()
        self._registry: dict[str, dict[str, Registration]] = {kind: {} for kind in KINDS}
        self.failed: list[FailedPlugin] = []
        version = _own_version()
        for module_name in self.builtins:
            name = module_name.removeprefix("mismartera.plugins.").replace(".", "-")
            self._load(functools.partial(importlib.import_module, module_name),
                       Provenance(name, "mismartera", version))
        if self.load_entry_points:
            self._load_entry_points()

    # --- loading ---------------------------------------------------------------------------

    def _load_entry_points(self) -> None:
        """Import the allowed entry points, each name from one distribution only: the choice
        is made before importing, so a second distribution's module is never run."""
        chosen: dict[str, Provenance] = {}
        for ep, prov in _allowed_entry_points(self.env):
            taken = chosen.get(ep.name) or self._provenance.get(ep.name)
            if taken is not None:
                self._fail(prov, PluginError(f"the name {ep.name!r} is already taken by "
                                             f"plugin {taken}"))
                continue
            chosen[ep.name] = prov
            self._load(ep.load, prov)

    def _load(self, load: Callable[[], Any], prov: Provenance) -> None:
        try:
            self._add(load(), prov)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # one broken plugin (even one calling exit()) must not
            self._fail(prov, exc)  # break the rest

    def _fail(self, prov: Provenance, exc: BaseException) -> None:
        failure = FailedPlugin(prov, str(exc) if isinstance(exc, PluginError) else _reason(exc))
        self.failed.append(failure)
        self.warn(f"Warning: {failure.message()}")

    def _add(self, obj: Any, prov: Provenance) -> None:
        """Register with pluggy, refuse unknown hook names, then collect registrations."""
        if prov.plugin in self._provenance:
            raise PluginError(f"a plugin named {prov.plugin!r} is already loaded from "
                              f"{self._provenance[prov.plugin]}")
        self._pm.register(obj, name=prov.plugin)
        try:
            self._check_hook_names(obj)
            staged = self._registrations(obj, prov)
        except BaseException:
            self._pm.unregister(name=prov.plugin)
            raise
        self._provenance[prov.plugin] = prov
        for reg in staged:
            self._registry[reg.kind][reg.name] = reg

    def known_hooks(self) -> list[str]:
        """The hook names pluggy knows from the spec module (`mismartera.hookspecs`)."""
        return sorted(name for name, caller in vars(self._pm.hook).items() if caller.has_spec())

    def _impls(self, hook_name: str, obj: Any) -> list[Any]:
        """`obj`'s implementations of a hook, as pluggy found them (`specname=` included),
        in pluggy's call order."""
        return [impl for impl in getattr(self._pm.hook, hook_name).get_hookimpls()[::-1]
                if impl.plugin is obj]

    def _check_hook_names(self, obj: Any) -> None:
        """pluggy's check_pending, phrased for a person and for one plugin."""
        try:
            self._pm.check_pending()
        except pluggy.PluginValidationError:
            known = self.known_hooks()
            bad = []
            for caller in self._pm.get_hookcallers(obj) or []:
                if not caller.has_spec():
                    near = _close_match(caller.name, known)
                    hint = f" (did you mean {near}?)" if near else ""
                    bad.append(f"unknown hook {caller.name!r}{hint}")
            raise PluginError("; ".join(bad) or "invalid hook implementation") from None

    def _registrations(self, obj: Any, prov: Provenance) -> list[Registration]:
        """Call the plugin's registration hooks; a duplicate name is an error naming both."""
        staged: list[Registration] = []
        for hook_name, kind in hookspecs.REGISTRATION_HOOKS.items():
            impls = self._impls(hook_name, obj)
            if not impls:
                continue

            def register(
                name: str, thing: Any, description: str = "", *, _kind: str = kind
            ) -> None:
                if not isinstance(name, str) or not name.strip():
                    raise PluginError(f"a {_kind} was registered without a name")
                taken = self._registry[_kind].get(name) or next(
                    (r for r in staged if r.kind == _kind and r.name == name), None)
                if taken is not None:
                    raise PluginError(f"{_kind} {name!r} is registered by both plugin "
                                      f"{taken.provenance} and plugin {prov}")
                staged.append(Registration(_kind, name, thing, prov, description))

            for impl in impls:
                if impl.hookwrapper or impl.wrapper:
                    raise PluginError(f"{hook_name} cannot be a hook wrapper")
                try:
                    _call(impl, register=register)
                except PluginError:
                    raise
                except Exception as exc:
                    raise PluginError(f"{hook_name} raised {_reason(exc)}") from exc
        return staged

    # --- explicit registration (tests, embedding applications) -----------------------------

    def register_plugin(self, obj: Any, name: str | None = None,
                        distribution: str = "local", version: str = "") -> Provenance:
        """Register a plugin object (a module, class or instance with @hookimpl functions).
        Errors raise PluginError naming the plugin instead of being reported as warnings."""
        label = name or str(getattr(obj, "__name__", type(obj).__name__))
        prov = Provenance(label, distribution, version)
        try:
            self._add(obj, prov)
        except PluginError as exc:
            raise PluginError(f"plugin {prov}: {exc}") from exc
        self._strict.add(prov.plugin)
        return prov

    def unregister_plugin(self, name: str) -> None:
        """Remove a plugin and everything it registered."""
        if self._pm.get_plugin(name) is not None:
            self._pm.unregister(name=name)
        self._provenance.pop(name, None)
        self._strict.discard(name)
        for regs in self._registry.values():
            for key in [k for k, r in regs.items() if r.provenance.plugin == name]:
                del regs[key]

    # --- queries ---------------------------------------------------------------------------

    def registered(self, kind: str) -> dict[str, Registration]:
        """Name -> Registration for one kind ("source", "indicator", ...)."""
        return self._registry[kind]

    def get(self, kind: str, name: str, *, key: str | None = None) -> Registration:
        """The registration `name` of `kind`, or a PluginError that lists the valid names and
        any plugin that failed to load (it may have been meant to provide `name`)."""
        regs = self._registry[kind]
        if name in regs:
            return regs[name]
        where = f"{key}: " if key else ""
        near = _close_match(name, regs)
        hint = f" (did you mean {near!r}?)" if near else ""
        available = ", ".join(sorted(regs)) or "none"
        msg = f"{where}unknown {kind} {name!r}{hint}; available: {available}"
        if self.failed:
            msg += "; " + "; ".join(f.message() for f in self.failed)
        raise PluginError(msg)

    def make_source(self, name: str, options: Mapping[str, Any], *, exchange: str,
                    key: str | None = None) -> DataSource:
        """Build the registered source `name`: `factory(**options)` with `exchange` unless
        the options give one, and `context=SourceContext(self, exchange)` when the factory
        declares a `context` parameter. `key` names the setting that chose `name` in an
        unknown-name error (e.g. "[data] source")."""
        factory = self.get("source", name, key=key).obj
        kwargs = dict(options)
        kwargs.setdefault("exchange", exchange)
        if _declares_context(factory):
            if "context" in kwargs:
                raise ConfigError(f"source {name!r}: 'context' is not an option (the session "
                                  f"passes it to the source)")
            kwargs["context"] = hookspecs.SourceContext(self, exchange)
        return factory(**kwargs)

    def hooks_of(self, plugin: str) -> list[str]:
        """The hook names a loaded plugin implements."""
        return sorted(c.name for c in self._pm.get_hookcallers(self._pm.get_plugin(plugin)) or [])

    def plugins(self) -> list[Provenance]:
        return list(self._provenance.values())

    # --- commands and notifications --------------------------------------------------------

    def add_commands(self, cli: Any) -> None:
        """Let every plugin add its click commands to `cli`, recording who added what."""
        for impl in self._pm.hook.register_commands.get_hookimpls()[::-1]:
            prov = self._provenance[impl.plugin_name]
            before = dict(cli.commands)
            try:
                _call(impl, cli=cli)
                clobbered = [n for n, c in before.items() if cli.commands.get(n) is not c]
                if clobbered:
                    cli.commands.update(before)
                    raise PluginError(f"command {clobbered[0]!r} already exists")
            except Exception as exc:
                for name in set(cli.commands) - set(before):
                    del cli.commands[name]
                if impl.plugin_name in self._strict:
                    raise PluginError(f"plugin {prov}: {exc}") from exc
                self._fail(prov, exc)
                continue
            for name in set(cli.commands) - set(before):
                self._registry["command"][name] = Registration(
                    "command", name, cli.commands[name], prov
                )

    def notify(self, hook_name: str, **kwargs: Any) -> list[tuple[Provenance, BaseException]]:
        """Call a notification hook plugin by plugin; return the errors instead of raising, so
        a failing plugin is recorded by the caller and the session goes on."""
        errors: list[tuple[Provenance, BaseException]] = []
        for impl in getattr(self._pm.hook, hook_name).get_hookimpls()[::-1]:
            try:
                _call(impl, **kwargs)
            except Exception as exc:
                errors.append((self._provenance[impl.plugin_name], exc))
        return errors

    def describe(self) -> list[dict[str, Any]]:
        """Everything registered, and every failed plugin: the data behind `mismartera plugins`."""
        rows: list[dict[str, Any]] = []
        for kind in KINDS:
            for reg in sorted(self._registry[kind].values(), key=lambda r: r.name):
                p = reg.provenance
                rows.append({"name": reg.name, "kind": kind, "plugin": p.plugin,
                             "distribution": p.distribution, "version": p.version,
                             "hooks": self.hooks_of(p.plugin), "description": reg.description})
        for f in self.failed:
            p = f.provenance
            rows.append({"name": p.plugin, "kind": "failed", "plugin": p.plugin,
                         "distribution": p.distribution, "version": p.version,
                         "hooks": [], "description": f.reason})
        return rows
