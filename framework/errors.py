"""Errors the command line turns into one readable sentence: exit status 2 for bad input,
1 for a `RunError`."""

from __future__ import annotations


class UserError(Exception):
    """Bad usage, bad configuration or bad input: one sentence naming the file, line, key or
    symbol and what was expected. The CLI prints it without a traceback and exits with 2."""

    exit_code = 2


class ConfigError(UserError):
    """A session file or command-line option is wrong."""


class DataError(UserError):
    """Input data (an import file, a data source's answer) is malformed."""


class PluginError(UserError):
    """A plugin could not be loaded or registered, or two plugins claim the same name."""


class RunError(UserError):
    """A failure while running that is not the input's fault but one sentence explains (the
    store held by another process, a full disk): printed like a UserError, exit status 1."""

    exit_code = 1
