"""Value parsers for the session configuration: each takes a value and `at` (what names it in
a message: a key path like "session.toml: [session] start" or a flag like "--start") and
returns the value normalised, or raises a one-sentence `ConfigError` saying what was expected
and what was given. Also the small helpers the specs and `SessionConfig` share to show values
in messages, parse command-line lists and parameters, and make values JSON-able. Only the
standard library and light mismartera modules are imported.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from mismartera.errors import ConfigError
from mismartera.intervals import Interval, Period
from mismartera.symbols import check_symbol

MODES = ("backtest", "live")

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")


def show(value: Any) -> str:
    """A value as a message shows it: strings quoted, TOML literals as TOML writes them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    return repr(value)


def fail(at: str, what: str) -> ConfigError:
    """A ConfigError `at: what`."""
    return ConfigError(f"{at}: {what}")


def is_number(value: Any) -> bool:
    """An int or float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_str(value: Any, at: str) -> str:
    """A non-empty string, stripped."""
    if not isinstance(value, str) or not value.strip():
        raise fail(at, f"expected a non-empty string, got {show(value)}")
    return value.strip()


def parse_name(value: Any, at: str) -> str:
    """A plugin name: letters, digits and underscores, not starting with a digit."""
    if not isinstance(value, str) or not NAME_RE.match(value.strip()):
        raise fail(at, f"expected a name of letters, digits and '_', got {show(value)}")
    return value.strip()


def parse_date(value: Any, at: str) -> date:
    """A date: a TOML date or "YYYY-MM-DD" (not a date-time)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise fail(at, f"expected a date like 2024-01-02, got {show(value)}")


def parse_number(value: Any, at: str, minimum: float, strict: bool = False) -> float:
    """A finite number >= minimum (> minimum when strict); numeric strings are accepted."""
    number: float | None = None
    if is_number(value):
        number = float(value)
    elif isinstance(value, str) and _FLOAT.match(value.strip()):
        number = float(value.strip())
    bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
    if number is None or not math.isfinite(number) or number < minimum or (
        strict and number == minimum
    ):
        raise fail(at, f"expected a number {bound}, got {show(value)}")
    return number


def parse_int(value: Any, at: str, minimum: int) -> int:
    """A whole number >= minimum; digit strings are accepted."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _INT.match(value.strip()):
        number = int(value.strip())
    if number is None or number < minimum:
        raise fail(at, f"expected a whole number >= {minimum}, got {show(value)}")
    return number


def parse_bool(value: Any, at: str) -> bool:
    """True or false (TOML booleans only)."""
    if not isinstance(value, bool):
        raise fail(at, f"expected true or false, got {show(value)}")
    return value


def parse_mode(value: Any, at: str) -> str:
    """'backtest' or 'live'."""
    if value not in MODES:
        raise fail(at, f"expected 'backtest' or 'live', got {show(value)}")
    return str(value)


def parse_path(value: Any, at: str) -> Path:
    """A path, `~` expanded."""
    if isinstance(value, Path):
        return value.expanduser()
    return Path(parse_str(value, at)).expanduser()


def parse_array(value: Any, at: str, example: str) -> list[Any]:
    """An array (list or tuple) as a list; `example` shows the expected form."""
    if not isinstance(value, list | tuple):
        raise fail(at, f"expected an array like {example}, got {show(value)}")
    return list(value)


def parse_symbol(value: Any, at: str) -> str:
    """A symbol following the one symbol rule (`mismartera.symbols`), upper-cased."""
    return check_symbol(value, at, ConfigError)


def is_all(value: Any) -> bool:
    """`"all"` (lower case: `ALL` is a ticker): every symbol the source has."""
    return isinstance(value, str) and value.strip() == "all"


def parse_symbols(value: Any, at: str, indexed: bool = True) -> tuple[str, ...]:
    """Upper-cased, de-duplicated, in the given order."""
    items = parse_array(value, at, '["AAPL", "MSFT"]')
    symbols = [parse_symbol(item, f"{at}[{i}]" if indexed else at)
               for i, item in enumerate(items)]
    return tuple(dict.fromkeys(symbols))


def _parse_named(kind: type[Any], example: str, value: Any, at: str) -> Any:
    """An Interval or Period given as itself or by its name."""
    if isinstance(value, kind):
        return value
    if not isinstance(value, str):
        raise fail(at, f"expected {'an' if kind is Interval else 'a'} {kind.__name__.lower()} "
                       f"like \"{example}\", got {show(value)}")
    try:
        return kind.parse(value)
    except ConfigError as exc:
        raise fail(at, str(exc)) from None


def parse_interval(value: Any, at: str) -> Interval:
    """An Interval or its name ("5m")."""
    return _parse_named(Interval, "5m", value, at)


def parse_intervals(value: Any, at: str, indexed: bool = True) -> tuple[Interval, ...]:
    """Sorted from the smallest, unique."""
    items = parse_array(value, at, '["1m", "5m"]')
    return tuple(sorted({parse_interval(item, f"{at}[{i}]" if indexed else at)
                         for i, item in enumerate(items)}))


def parse_period(value: Any, at: str) -> Period:
    """A Period or its name ("10d")."""
    return _parse_named(Period, "10d", value, at)


def parse_choice(value: Any, at: str, choices: tuple[str, ...]) -> str:
    """One of `choices`."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices[:-1]) + f" or {choices[-1]!r}"
        raise fail(at, f"expected {options}, got {show(value)}")
    return str(value)


def parse_params(value: Any, at: str) -> dict[str, Any]:
    """A table of parameters whose keys are names; values as given."""
    if not isinstance(value, Mapping):
        raise fail(at, f"expected a table like {{ period = 20 }}, got {show(value)}")
    for key in value:
        parse_name(key, f"{at} key")
    return dict(value)


def parse_clock(value: Any, at: str) -> time:
    """A local time of day: "HH:MM" or a TOML local time."""
    if isinstance(value, time):
        return value
    m = _CLOCK.match(value.strip()) if isinstance(value, str) else None
    if m is None or int(m[1]) > 23 or int(m[2]) > 59:
        raise fail(at, f"expected a local time like \"09:35\", got {show(value)}")
    return time(int(m[1]), int(m[2]))


def split_flag(value: Any, flag: str, example: str) -> list[str]:
    """A comma-separated flag value ("AAPL,MSFT") or several of them, as a list of items."""
    texts = [value] if isinstance(value, str) else list(value)
    items: list[str] = []
    for text in texts:
        parts = [part.strip() for part in str(text).split(",")]
        if not all(parts):
            raise fail(flag, f"expected a comma-separated list like {example}, got {text!r}")
        items.extend(parts)
    return items


def format_param(value: Any) -> str:
    """A parameter value as an export key and the command line write it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parse_param_value(text: str) -> Any:
    """int, then float, then bool (true/false), else the string itself."""
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def jsonable(value: Any) -> Any:
    """`value` with dates, times, paths, intervals and periods as strings."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Path | Interval | Period):
        return str(value)
    return value

