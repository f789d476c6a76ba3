"""Options of the `synthetic` source: their defaults and the parsing of each value.

Each parser takes the value as given (a TOML value, or its text) and returns it typed, or
raises a ConfigError naming the option and what it expects.
"""

from __future__ import annotations

import math
from typing import Any

from mismartera.errors import ConfigError

DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "symbols": None,  # "SYN0,SYN1" unless `count` is given
    "count": None,
    "interval": "1m",
    "gap_rate": 0.0,
    "extended_hours": False,
    "exchange": "XNYS",
}
OPTIONS = tuple(DEFAULTS)


def int_option(name: str, value: Any, minimum: int) -> int:
    """An integer >= `minimum` (digits in a string are accepted)."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(
            f"synthetic source option {name!r} must be an integer >= {minimum}, got {value!r}"
        )
    return value


def bool_option(name: str, value: Any) -> bool:
    """A boolean (or "true"/"false", "1"/"0", "yes"/"no")."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.strip().lower() in ("true", "1", "yes")
    if not isinstance(value, bool):
        raise ConfigError(f"synthetic source option {name!r} must be true or false, got {value!r}")
    return value


def rate_option(name: str, value: Any) -> float:
    """A number in [0, 1)."""
    try:
        rate = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        rate = math.nan
    if not 0.0 <= rate < 1.0:
        raise ConfigError(
            f"synthetic source option {name!r} must be a number in [0, 1), got {value!r}"
        )
    return rate


def symbols_option(value: Any) -> list[str]:
    """Distinct upper-cased symbols from a comma-separated string or a list."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ConfigError(
            f"synthetic source option 'symbols' must be a comma-separated string or a list, "
            f"got {value!r}"
        )
    symbols = [str(s).strip().upper() for s in items if str(s).strip()]
    if not symbols:
        raise ConfigError("synthetic source option 'symbols' must name at least one symbol")
    if len(set(symbols)) != len(symbols):
        raise ConfigError(f"synthetic source option 'symbols' repeats a symbol: {value!r}")
    return symbols
