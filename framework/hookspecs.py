"""Every hook a mismartera plugin may implement: the plugin contract.

Registration hooks run once when the plugin manager is assembled and receive a `register`
callback owned by the core, which checks names, refuses duplicates and records provenance.
Each kind has its own typed callback (`RegisterSource`, `RegisterIndicator`,
`RegisterExporter`, `RegisterScanner`, `RegisterStrategy`, `RegisterCostModel`).
Notification hooks fire at most once per symbol or session day, never per bar: per-bar work
goes to the registered objects directly, not through pluggy.

`hookspec` marks the specs below; plugins mark their implementations with `hookimpl`
(re-exported as `mismartera.hookimpl`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    import datetime

    import click

    from mismartera.session.data import SessionData
    from mismartera.session.indicators.protocol import Indicator
    from mismartera.session.scanner.protocol import Scanner
    from mismartera.sources import DataSource
    from mismartera.trading.costs import CostModel
    from mismartera.trading.strategy import Strategy

hookspec = pluggy.HookspecMarker("mismartera")
"""Marks a hook specification (this module's functions)."""

hookimpl = pluggy.HookimplMarker("mismartera")
"""Marks a plugin's hook implementations: `@hookimpl`, or `@hookimpl(specname=...)` for a
function named otherwise."""

Register = Callable[..., None]
"""Any registration hook's `register(name, obj, description="")`; each hook's is typed below."""


class SourceMaker(Protocol):
    """What a `SourceContext` builds sources with (the session's `PluginManager`)."""

    def make_source(self, name: str, options: Mapping[str, Any], *, exchange: str,
                    key: str | None = None) -> DataSource: ...


@dataclass(frozen=True)
class SourceContext:
    """What a source factory receives as `context=` when it declares a `context` parameter:
    the session's plugin manager and exchange (MIC). A source that reads from another
    source (the `replay` source) builds it with `context.source(name, options)` through the
    same manager, instead of assembling the plugins again."""

    plugins: SourceMaker
    exchange: str

    def source(self, name: str, options: Mapping[str, Any] | None = None, *,
               key: str | None = None) -> DataSource:
        """The registered source `name` built from `options` (`exchange` defaults to this
        one), as the session builds its own; `key` names the setting that chose `name` in
        an unknown-name error."""
        return self.plugins.make_source(name, options or {}, exchange=self.exchange, key=key)


SourceFactory = Callable[..., "DataSource"]
"""A data-source factory, typically the source class: keyword options (the session file's
`[data]` table less `source`, plus `exchange`; and `context`, a `SourceContext`, when the
factory declares that parameter) -> a `mismartera.DataSource`. Each factory names the
options it takes, hence `...`."""


class Exporter(Protocol):
    """An exporter: the `suffixes` it writes (e.g. `(".json",)`) and `write(doc, path)`,
    which returns the files it wrote when they are not just `path`."""

    @property
    def suffixes(self) -> Sequence[str]: ...

    def write(self, doc: dict[str, Any], path: Path) -> list[Path] | None: ...


class RegisterSource(Protocol):
    """`register` of `register_data_sources`."""

    def __call__(self, name: str, factory: SourceFactory, description: str = "") -> None: ...


class RegisterIndicator(Protocol):
    """`register` of `register_indicators`."""

    def __call__(self, name: str, indicator: type[Indicator], description: str = "") -> None:
        ...


class RegisterExporter(Protocol):
    """`register` of `register_exporters`."""

    def __call__(self, name: str, exporter: Exporter, description: str = "") -> None: ...


class RegisterScanner(Protocol):
    """`register` of `register_scanners`: a scanner class (`mismartera.Scanner` or any
    class with `params` and `scan(ctx)`)."""

    def __call__(self, name: str, scanner: type[Scanner] | type, description: str = "") -> None:
        ...


class RegisterStrategy(Protocol):
    """`register` of `register_strategies`: a `mismartera.Strategy` subclass."""

    def __call__(self, name: str, strategy: type[Strategy], description: str = "") -> None:
        ...


class RegisterCostModel(Protocol):
    """`register` of `register_cost_models`: a cost-model class (a
    `mismartera.trading.costs.CostModel`), built with keyword parameters."""

    def __call__(self, name: str, model: type[CostModel], description: str = "") -> None:
        ...


# --- registration: once, at start-up -------------------------------------------------------


@hookspec
def register_data_sources(register: RegisterSource) -> None:
    """Register data-source factories.

    :param register: call ``register(name, factory, description="")``; ``factory(**options)``
        returns an object implementing :class:`mismartera.DataSource`. A factory that
        declares a ``context`` parameter also receives a :class:`SourceContext`.
    """


@hookspec
def register_indicators(register: RegisterIndicator) -> None:
    """Register session indicators.

    :param register: call ``register(name, indicator_class, description="")``; see
        ``docs/indicators.md`` for the indicator protocol.
    """


@hookspec
def register_exporters(register: RegisterExporter) -> None:
    """Register exporters that write a snapshot of ``SessionData`` to a file.

    :param register: call ``register(name, exporter, description="")``; ``exporter`` has a
        ``suffixes`` tuple (e.g. ``(".json",)``) and ``write(snapshot, path)``, which
        returns the list of files it wrote when they are not just ``path``.
    """


@hookspec
def register_scanners(register: RegisterScanner) -> None:
    """Register scanners that pick symbols to add to or remove from a running session.

    :param register: call ``register(name, scanner_class, description="")``. The class
        declares ``params`` (name -> ``mismartera.session.scanner.Param``); one instance is
        built per ``[[scanners]]`` entry with the validated values as keyword arguments, and
        its ``scan(ctx)`` runs at the entry's scheduled times with a ``ScanContext`` (date,
        now, calendar, a source that returns only bars closed by now, SessionData read-only,
        universe) and returns a ``ScanResult(add, remove)``. See ``docs/scanners.md``.
    """


@hookspec
def register_strategies(register: RegisterStrategy) -> None:
    """Register trading strategies.

    :param register: call ``register(name, strategy_class, description="")``; the class
        subclasses :class:`mismartera.Strategy` (typed parameters, the intervals whose
        closed bars it receives, the indicators it reads, callbacks). The session builds one
        instance per run, ``cls(interval, **params)``, from ``--strategy NAME:P=V@INTERVAL``
        or the session file's ``[strategy]``. See ``docs/strategies.md``.
    """


@hookspec
def register_cost_models(register: RegisterCostModel) -> None:
    """Register cost models the simulated broker charges (commission, slippage, volume
    cap, borrow...).

    :param register: call ``register(name, model_class, description="")``; the class
        implements :class:`mismartera.trading.costs.CostModel` (any of ``commission``,
        ``slip``, ``capacity``, ``borrow``) and is built with keyword parameters from the
        session file's ``[broker] costs = {NAME = {PARAM = VALUE}}``. The built-in ones
        (``commission``, ``slippage``, ``volume_cap``, ``borrow``) back the ``[broker]`` keys.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands or groups to the ``mismartera`` command line.

    :param cli: the top-level click group; call ``cli.add_command(...)`` or decorate
        functions with ``@cli.command()``.
    """


# --- notifications: at most once per session day or symbol ---------------------------------


@hookspec
def session_started(session_data: SessionData, session_date: datetime.date) -> None:
    """A trading day's session has been initialised and is about to stream.

    :param session_data: the session's single source of truth (read it, keep no copies).
    :param session_date: the exchange-local date of the session.
    """


@hookspec
def session_ended(session_data: SessionData, session_date: datetime.date) -> None:
    """A trading day's session has ended; its data stays readable until the next day starts.

    :param session_data: the session's single source of truth.
    :param session_date: the exchange-local date of the session that ended.
    """


@hookspec
def symbol_added(session_data: SessionData, symbol: str) -> None:
    """A symbol was registered in the session (at start-up or mid-session).

    :param session_data: the session's single source of truth.
    :param symbol: the symbol, upper-case.
    """


@hookspec
def symbol_removed(session_data: SessionData, symbol: str) -> None:
    """A symbol was removed from the session.

    :param session_data: the session's single source of truth.
    :param symbol: the symbol, upper-case.
    """


REGISTRATION_HOOKS: dict[str, str] = {
    "register_data_sources": "source",
    "register_indicators": "indicator",
    "register_exporters": "exporter",
    "register_scanners": "scanner",
    "register_strategies": "strategy",
    "register_cost_models": "cost_model",
}
"""Registration hook name -> the kind of object it registers."""

NOTIFICATION_HOOKS = ("session_started", "session_ended", "symbol_added", "symbol_removed")

__all__ = ["NOTIFICATION_HOOKS", "REGISTRATION_HOOKS", "Exporter", "Register",
           "RegisterCostModel", "RegisterExporter", "RegisterIndicator", "RegisterScanner",
           "RegisterSource", "RegisterStrategy", "SourceContext", "SourceFactory", "hookimpl",
           "hookspec"]
