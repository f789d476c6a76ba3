"""Errors the command line turns into one readable sentence and exit status 2."""

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
