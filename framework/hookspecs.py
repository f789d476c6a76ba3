"""Every hook a mismartera plugin may implement: the plugin contract.

Registration hooks run once when the plugin manager is assembled and receive a `register`
callback owned by the core, which checks names, refuses duplicates and records provenance.
Notification hooks fire at most once per symbol or session day, never per bar: per-bar work
goes to the registered objects directly, not through pluggy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import datetime

    import click

    from mismartera.session.data import SessionData

hookspec = pluggy.HookspecMarker("mismartera")

Register = Callable[..., None]


# --- registration: once, at start-up -------------------------------------------------------


@hookspec
def register_data_sources(register: Register) -> None:
    """Register data-source factories.

    :param register: call ``register(name, factory, description="")``; ``factory(**options)``
        returns an object implementing :class:`mismartera.sources.DataSource`.
    """


@hookspec
def register_indicators(register: Register) -> None:
    """Register session indicators.

    :param register: call ``register(name, indicator_class, description="")``; see
        ``docs/indicators.md`` for the indicator protocol.
    """


@hookspec
def register_exporters(register: Register) -> None:
    """Register exporters that write a snapshot of ``SessionData`` to a file.

    :param register: call ``register(name, exporter, description="")``; ``exporter`` has a
        ``suffixes`` tuple (e.g. ``(".json",)``) and ``write(snapshot, path)``, which
        returns the list of files it wrote when they are not just ``path``.
    """


@hookspec
def register_scanners(register: Register) -> None:
    """Register scanners that pick symbols to add to or remove from a running session.

    :param register: call ``register(name, scanner_class, description="")``. The class
        declares ``params`` (name -> ``mismartera.session.scanner.Param``); one instance is
        built per ``[[scanners]]`` entry with the validated values as keyword arguments, and
        its ``scan(ctx)`` runs at the entry's scheduled times with a ``ScanContext`` (date,
        now, calendar, a source that returns only bars closed by now, SessionData read-only,
        universe) and returns a ``ScanResult(add, remove)``. See ``docs/scanners.md``.
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
}
"""Registration hook name -> the kind of object it registers."""

NOTIFICATION_HOOKS = ("session_started", "session_ended", "symbol_added", "symbol_removed")

__all__ = ["NOTIFICATION_HOOKS", "REGISTRATION_HOOKS", "Register", "hookspec"]


