"""SessionConfig: a session's settings from the TOML session file and command-line flags.

`SessionConfig.from_toml(path)` reads the session file, `with_overrides(**flags)` applies the
command line on top, `validate()` checks the fields against each other. Every problem is a
`ConfigError` of one sentence naming the file and key path (or the flag) and what was
expected. Only the standard library is imported, so the command line stays quick.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from mismartera.errors import ConfigError
from mismartera.intervals import Interval, Period

MODES = ("backtest", "live")
FIELDS = ("open", "high", "low", "close", "volume")
HISTORICAL_INDICATORS = ("trailing_avg", "trailing_max", "trailing_min")
GRANULARITIES = ("daily", "intraday")
NO_FILE = "<config>"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SYMBOL = re.compile(r"^[A-Za-z0-9._-]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_SPEC = re.compile(r"^\s*(?P<name>[^:@\s]+)\s*(?::(?P<params>[^@]*))?@(?P<interval>[^@]*)$")
_SPEC_FORM = "expected NAME[:PARAM=VALUE,...]@INTERVAL, e.g. sma:period=20@5m or rsi@1m"
_TOML_POSITION = re.compile(r"^(?P<reason>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")
_PATH_KEYS = ("store", "path", "dir", "file")


# ---- value parsers: each takes the value and `at` (what names it in a message) -------------


def _show(value: Any) -> str:
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


def _fail(at: str, what: str) -> ConfigError:
    return ConfigError(f"{at}: {what}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_str(value: Any, at: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(at, f"expected a non-empty string, got {_show(value)}")
    return value.strip()


def _parse_name(value: Any, at: str) -> str:
    """A plugin name: letters, digits and underscores, not starting with a digit."""
    if not isinstance(value, str) or not _NAME.match(value.strip()):
        raise _fail(at, f"expected a name of letters, digits and '_', got {_show(value)}")
    return value.strip()


def _parse_date(value: Any, at: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _fail(at, f"expected a date like 2024-01-02, got {_show(value)}")


def _parse_number(value: Any, at: str, minimum: float, strict: bool = False) -> float:
    """A finite number >= minimum (> minimum when strict); numeric strings are accepted."""
    number: float | None = None
    if _is_number(value):
        number = float(value)
    elif isinstance(value, str) and _FLOAT.match(value.strip()):
        number = float(value.strip())
    bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
    if number is None or not math.isfinite(number) or number < minimum or (
        strict and number == minimum
    ):
        raise _fail(at, f"expected a number {bound}, got {_show(value)}")
    return number


def _parse_int(value: Any, at: str, minimum: int) -> int:
    """A whole number >= minimum; digit strings are accepted."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _INT.match(value.strip()):
        number = int(value.strip())
    if number is None or number < minimum:
        raise _fail(at, f"expected a whole number >= {minimum}, got {_show(value)}")
    return number


def _parse_bool(value: Any, at: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(at, f"expected true or false, got {_show(value)}")
    return value


def _parse_mode(value: Any, at: str) -> str:
    if value not in MODES:
        raise _fail(at, f"expected 'backtest' or 'live', got {_show(value)}")
    return str(value)


def _parse_path(value: Any, at: str) -> Path:
    if isinstance(value, Path):
        return value.expanduser()
    return Path(_parse_str(value, at)).expanduser()


def _parse_array(value: Any, at: str, example: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise _fail(at, f"expected an array like {example}, got {_show(value)}")
    return list(value)


def _parse_symbol(value: Any, at: str) -> str:
    if not isinstance(value, str) or not _SYMBOL.match(value.strip()):
        raise _fail(
            at, f"expected a symbol of letters, digits, '.', '-' or '_', got {_show(value)}"
        )
    return value.strip().upper()


def _parse_symbols(value: Any, at: str, indexed: bool = True) -> tuple[str, ...]:
    """Upper-cased, de-duplicated, in the given order."""
    items = _parse_array(value, at, '["AAPL", "MSFT"]')
    symbols = [_parse_symbol(item, f"{at}[{i}]" if indexed else at)
               for i, item in enumerate(items)]
    return tuple(dict.fromkeys(symbols))


def _parse_interval(value: Any, at: str) -> Interval:
    if isinstance(value, Interval):
        return value
    if not isinstance(value, str):
        raise _fail(at, f"expected an interval like \"5m\", got {_show(value)}")
    try:
        return Interval.parse(value)
    except ConfigError as exc:
        raise _fail(at, str(exc)) from None


def _parse_intervals(value: Any, at: str, indexed: bool = True) -> tuple[Interval, ...]:
    """Sorted from the smallest, unique."""
    items = _parse_array(value, at, '["1m", "5m"]')
    return tuple(sorted({_parse_interval(item, f"{at}[{i}]" if indexed else at)
                         for i, item in enumerate(items)}))


def _parse_period(value: Any, at: str) -> Period:
    if isinstance(value, Period):
        return value
    if not isinstance(value, str):
        raise _fail(at, f"expected a period like \"10d\", got {_show(value)}")
    try:
        return Period.parse(value)
    except ConfigError as exc:
        raise _fail(at, str(exc)) from None


def _parse_choice(value: Any, at: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        options = ", ".join(repr(c) for c in choices[:-1]) + f" or {choices[-1]!r}"
        raise _fail(at, f"expected {options}, got {_show(value)}")
    return str(value)


def _parse_params(value: Any, at: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(at, f"expected a table like {{ period = 20 }}, got {_show(value)}")
    for key in value:
        _parse_name(key, f"{at} key")
    return dict(value)


def _parse_clock(value: Any, at: str) -> time:
    """A local time of day: "HH:MM" or a TOML local time."""
    if isinstance(value, time):
        return value
    m = _CLOCK.match(value.strip()) if isinstance(value, str) else None
    if m is None or int(m[1]) > 23 or int(m[2]) > 59:
        raise _fail(at, f"expected a local time like \"09:35\", got {_show(value)}")
    return time(int(m[1]), int(m[2]))


def _split_flag(value: Any, flag: str, example: str) -> list[str]:
    """A comma-separated flag value ("AAPL,MSFT") or several of them, as a list of items."""
    texts = [value] if isinstance(value, str) else list(value)
    items: list[str] = []
    for text in texts:
        parts = [part.strip() for part in str(text).split(",")]
        if not all(parts):
            raise _fail(flag, f"expected a comma-separated list like {example}, got {text!r}")
        items.extend(parts)
    return items


def _format_param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _parse_param_value(text: str) -> Any:
    """int, then float, then bool (true/false), else the string itself."""
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Path | Interval | Period):
        return str(value)
    return value


# ---- the file's shape and unknown keys ---------------------------------------------------------

_SECTIONS: dict[str, tuple[str, ...]] = {
    "session": ("exchange", "start", "end", "speed", "mode", "prefetch_days"),
    "data": ("source",),  # any other key is an option for the data source
    "symbols": ("list",),
    "streams": ("intervals",),
    "historical": ("trailing_days",),
    "export": ("path", "dir", "timings"),
    "quality": ("interval_s",),
    "live": ("gapfill_delay_s", "gapfill_retries", "gapfill_backoff", "close_grace_s"),
}
_ARRAYS: dict[str, tuple[str, ...]] = {
    "indicators": ("name", "interval", "params"),
    "historical_indicators": ("name", "field", "period", "granularity"),
    "scanners": ("name", "params", "every", "at", "universe"),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "indicators": ("name", "interval"),
    "historical_indicators": ("name", "field", "period"),
    "scanners": ("name",),
}
_TOP_SHAPES: dict[str, Any] = {**{s: {} for s in _SECTIONS}, **{a: [] for a in _ARRAYS}}

# field -> (where the session file sets it, the flag that overrides it)
_KEYS: dict[str, tuple[str, str | None]] = {
    "exchange": ("[session] exchange", "--exchange"),
    "start": ("[session] start", "--start"),
    "end": ("[session] end", "--end"),
    "speed": ("[session] speed", "--speed"),
    "mode": ("[session] mode", "--mode"),
    "prefetch_days": ("[session] prefetch_days", None),
    "source": ("[data] source", "--source"),
    "source_options": ("[data]", "--store"),
    "symbols": ("[symbols] list", "--symbols"),
    "intervals": ("[streams] intervals", "--streams"),
    "trailing_days": ("[historical] trailing_days", "--trailing-days"),
    "indicators": ("[[indicators]]", "--indicator"),
    "historical_indicators": ("[[historical_indicators]]", None),
    "scanners": ("[[scanners]]", None),
    "export_path": ("[export] path", "--export"),
    "export_dir": ("[export] dir", "--export-dir"),
    "export_timings": ("[export] timings", "--timings"),
    "quality_interval_s": ("[quality] interval_s", None),
    "gapfill_delay_s": ("[live] gapfill_delay_s", None),
    "gapfill_retries": ("[live] gapfill_retries", None),
    "gapfill_backoff": ("[live] gapfill_backoff", None),
    "close_grace_s": ("[live] close_grace_s", None),
}


def _toml_key(name: str, value: Any) -> str:
    """A top-level key as it is written in TOML: [table], [[array]] or a plain key."""
    if isinstance(value, list):
        return f"[[{name}]]"
    if isinstance(value, Mapping):
        return f"[{name}]"
    return name


def _check_keys(table: Mapping[str, Any], valid: Iterable[str], origin: str, where: str) -> None:
    """Unknown keys are errors suggesting the nearest valid key; `where` is "" at the top."""
    valid = tuple(valid)
    for key in table:
        if key in valid:
            continue
        hints = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
        if where:
            shown, options = f"{where} {key}", list(valid)
        else:
            shown = _toml_key(key, table[key])
            options = [_toml_key(name, _TOP_SHAPES[name]) for name in valid]
            hints = [_toml_key(hint, _TOP_SHAPES[hint]) for hint in hints]
        if hints:
            advice = f"(did you mean {hints[0]}?)"
        else:
            advice = f"(expected one of {', '.join(options)})"
        raise ConfigError(f"{origin}: unknown key {shown} {advice}")


def _table(data: Mapping[str, Any], name: str, origin: str) -> Mapping[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, Mapping):
        raise _fail(f"{origin}: [{name}]", f"expected a table, got {_show(table)}")
    valid = tuple(table) if name == "data" else _SECTIONS[name]  # [data] options are free-form
    _check_keys(table, valid, origin, f"[{name}]")
    return table


def _array_of_tables(data: Mapping[str, Any], name: str, origin: str) -> list[Mapping[str, Any]]:
    items = data.get(name, [])
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise _fail(
            f"{origin}: [[{name}]]",
            f"expected an array of tables, each written [[{name}]], got {_show(items)}",
        )
    for i, item in enumerate(items):
        _check_keys(item, _ARRAYS[name], origin, f"[[{name}]][{i}]")
        for key in _REQUIRED[name]:
            if key not in item:
                raise _fail(f"{origin}: [[{name}]][{i}]", f"missing key {key}")
    return items


# ---- specs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorSpec:
    """A session indicator: plugin name, the interval it runs on and its parameters (as
    given; the indicator plugin validates them)."""

    name: str
    interval: Interval
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _parse_name(self.name, "indicator name"))
        object.__setattr__(self, "interval", _parse_interval(self.interval, "indicator interval"))
        object.__setattr__(self, "params", _parse_params(self.params, "indicator params"))

    def __hash__(self) -> int:
        return hash((self.name, self.interval, tuple(self.params)))

    @classmethod
    def parse(cls, spec: str) -> IndicatorSpec:
        """Parse the command-line form: "sma:period=20@5m", "rsi@1m",
        "macd:fast=12,slow=26,signal=9@5m". Values are int, then float, then bool, else str."""
        m = _SPEC.match(spec) if isinstance(spec, str) else None
        if m is None or not _NAME.match(m["name"]):
            raise ConfigError(f"bad indicator spec {spec!r}: {_SPEC_FORM}")
        params: dict[str, Any] = {}
        if m["params"] is not None:
            for item in m["params"].split(","):
                key, sep, text = (part.strip() for part in item.partition("="))
                if not sep or not _NAME.match(key) or not text or "=" in text:
                    raise ConfigError(
                        f"bad indicator spec {spec!r}: parameter {item.strip()!r} is not "
                        f"PARAM=VALUE; {_SPEC_FORM}"
                    )
                if key in params:
                    raise ConfigError(
                        f"bad indicator spec {spec!r}: parameter {key} is given twice"
                    )
                params[key] = _parse_param_value(text)
        try:
            interval = Interval.parse(m["interval"].strip())
        except ConfigError as exc:
            raise ConfigError(f"bad indicator spec {spec!r}: {exc}") from None
        return cls(m["name"], interval, params)

    @property
    def key(self) -> str:
        """The export key: name, each parameter value in order, interval ("sma_20_5m")."""
        return "_".join([self.name, *(_format_param(v) for v in self.params.values()),
                         self.interval.name])

    def to_spec(self) -> str:
        """The command-line form, which `parse` reads back."""
        params = ",".join(f"{k}={_format_param(v)}" for k, v in self.params.items())
        return f"{self.name}{':' + params if params else ''}@{self.interval.name}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "interval": self.interval.name,
                "params": _jsonable(self.params)}


@dataclass(frozen=True)
class HistoricalIndicatorSpec:
    """A trailing statistic of one bar field over a period of past sessions, either one value
    per day (`daily`) or per time of day across the days (`intraday`)."""

    name: str
    field: str
    period: Period
    granularity: str = "daily"

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _parse_choice(
            self.name, "historical indicator name", HISTORICAL_INDICATORS))
        object.__setattr__(self, "field", _parse_choice(
            self.field, "historical indicator field", FIELDS))
        object.__setattr__(self, "period", _parse_period(self.period, "historical period"))
        object.__setattr__(self, "granularity", _parse_choice(
            self.granularity, "historical indicator granularity", GRANULARITIES))

    @property
    def key(self) -> str:
        """The export key, e.g. "trailing_avg_volume_10d_daily"."""
        return f"{self.name}_{self.field}_{self.period}_{self.granularity}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "field": self.field, "period": str(self.period),
                "granularity": self.granularity}


@dataclass(frozen=True)
class ScannerSpec:
    """A scanner plugin's run: its parameters, how often (`every` closed bar of an interval
    and/or `at` local times of day) and over which symbols (`universe`; None = the
    session's)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    every: Interval | None = None
    at: tuple[time, ...] = ()
    universe: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _parse_name(self.name, "scanner name"))
        object.__setattr__(self, "params", _parse_params(self.params, "scanner params"))
        if self.every is not None:
            object.__setattr__(self, "every", _parse_interval(self.every, "scanner every"))
        object.__setattr__(self, "at", tuple(
            _parse_clock(t, f"scanner at[{i}]")
            for i, t in enumerate(_parse_array(self.at, "scanner at", '["09:35"]'))))
        if self.universe is not None:
            object.__setattr__(self, "universe", _parse_symbols(self.universe, "scanner universe"))

    def __hash__(self) -> int:
        return hash((self.name, self.every, self.at, self.universe))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "params": _jsonable(self.params)}
        if self.every is not None:
            out["every"] = self.every.name
        if self.at:
            out["at"] = [t.strftime("%H:%M") for t in self.at]
        if self.universe is not None:
            out["universe"] = list(self.universe)
        return out


def _indicator(item: Mapping[str, Any], at: str) -> IndicatorSpec:
    return IndicatorSpec(
        _parse_name(item["name"], f"{at} name"),
        _parse_interval(item["interval"], f"{at} interval"),
        _parse_params(item.get("params", {}), f"{at} params"),
    )


def _historical(item: Mapping[str, Any], at: str) -> HistoricalIndicatorSpec:
    return HistoricalIndicatorSpec(
        _parse_choice(item["name"], f"{at} name", HISTORICAL_INDICATORS),
        _parse_choice(item["field"], f"{at} field", FIELDS),
        _parse_period(item["period"], f"{at} period"),
        _parse_choice(item.get("granularity", "daily"), f"{at} granularity", GRANULARITIES),
    )


def _scanner(item: Mapping[str, Any], at: str) -> ScannerSpec:
    every = item.get("every")
    universe = item.get("universe")
    times = _parse_array(item.get("at", []), f"{at} at", '["09:35", "12:00"]')
    return ScannerSpec(
        _parse_name(item["name"], f"{at} name"),
        _parse_params(item.get("params", {}), f"{at} params"),
        None if every is None else _parse_interval(every, f"{at} every"),
        tuple(_parse_clock(t, f"{at} at[{i}]") for i, t in enumerate(times)),
        None if universe is None else _parse_symbols(universe, f"{at} universe"),
    )


def _source_options(table: Mapping[str, Any]) -> dict[str, Any]:
    """Every [data] key but `source`; path-like string options get `~` expanded."""
    suffixes = tuple(f"_{k}" for k in _PATH_KEYS)
    options = {}
    for key, value in table.items():
        if key == "source":
            continue
        if isinstance(value, str) and (key in _PATH_KEYS or key.endswith(suffixes)):
            value = str(Path(value).expanduser())
        options[key] = value
    return options


# ---- the session configuration ----------------------------------------------------------------


@dataclass(frozen=True)
class SessionConfig:
    """Everything a session needs to run. Build it with `from_toml` / `from_dict`, apply the
    command line with `with_overrides`, then `validate()` before running."""

    exchange: str = "XNYS"
    start: date | None = None
    end: date | None = None
    speed: float = 0.0
    mode: str = "backtest"
    source: str = "store"
    source_options: dict[str, Any] = field(default_factory=dict)
    symbols: tuple[str, ...] = ()
    intervals: tuple[Interval, ...] = (Interval.parse("1m"),)
    trailing_days: int = 0
    prefetch_days: int = 1
    indicators: tuple[IndicatorSpec, ...] = ()
    historical_indicators: tuple[HistoricalIndicatorSpec, ...] = ()
    scanners: tuple[ScannerSpec, ...] = ()
    export_path: Path | None = None
    export_dir: Path | None = None
    export_timings: bool = False
    quality_interval_s: float = 60.0
    gapfill_delay_s: float = 5.0     # [live]: first re-request of a missing bar after this
    gapfill_retries: int = 3         # [live]: re-requests before a gap is given up
    gapfill_backoff: float = 2.0     # [live]: each further delay is this many times longer
    close_grace_s: float | None = None  # [live]: wait for a late base bar (None: the clock's)
    origin: str = NO_FILE
    # field name -> "file" or "flag": where a field's value came from, for messages
    provenance: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Normalise values given from Python (lists, strings) the way the file parser does."""
        put = object.__setattr__
        put(self, "exchange", _parse_str(self.exchange, "exchange"))
        for name in ("start", "end"):
            if getattr(self, name) is not None:
                put(self, name, _parse_date(getattr(self, name), name))
        if _is_number(self.speed):
            put(self, "speed", float(self.speed))
        put(self, "source", _parse_str(self.source, "source"))
        put(self, "source_options", dict(self.source_options))
        put(self, "symbols", _parse_symbols(self.symbols, "symbols"))
        put(self, "intervals", _parse_intervals(self.intervals, "intervals"))
        for name in ("indicators", "historical_indicators", "scanners"):
            put(self, name, tuple(_parse_array(getattr(self, name), name, "[...]")))
        for name in ("export_path", "export_dir"):
            if getattr(self, name) is not None:
                put(self, name, _parse_path(getattr(self, name), name))
        if _is_number(self.quality_interval_s):
            put(self, "quality_interval_s", float(self.quality_interval_s))
        put(self, "provenance", dict(self.provenance))

    # ---- reading --------------------------------------------------------------------------

    @classmethod
    def from_toml(cls, path: str | Path) -> SessionConfig:
        """Read a session file; syntax errors name the file, line and column."""
        origin = str(path)
        try:
            text = Path(path).expanduser().read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{origin}: no such session file") from None
        except IsADirectoryError:
            raise ConfigError(f"{origin}: is a directory, expected a session file") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{origin}: not a text file (expected UTF-8 TOML)") from None
        except OSError as exc:
            raise ConfigError(f"{origin}: cannot read the session file ({exc.strerror})") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            reason = str(exc)
            m = _TOML_POSITION.match(reason)
            if m is not None:
                where = f"line {m['line']}, column {m['col']}"
                reason = m["reason"]
            else:
                where = "at the end of the file"
                reason = reason.removesuffix(" (at end of document)")
            reason = reason[:1].lower() + reason[1:]
            raise ConfigError(f"{origin}: {where}: invalid TOML: {reason}") from None
        return cls.from_dict(data, origin=origin)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = NO_FILE) -> SessionConfig:
        """Build from the session file's tables (as `tomllib` returns them). Keys left out
        keep their defaults; call `validate()` once command-line flags are applied."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{origin}: expected a table of sections, got {_show(data)}")
        _check_keys(data, _TOP_SHAPES, origin, "")
        values: dict[str, Any] = {}
        parsers = {
            "exchange": _parse_str,
            "start": _parse_date,
            "end": _parse_date,
            "speed": lambda v, at: _parse_number(v, at, 0),
            "mode": _parse_mode,
            "prefetch_days": lambda v, at: _parse_int(v, at, 1),
            "source": _parse_str,
            "symbols": _parse_symbols,
            "intervals": _parse_intervals,
            "trailing_days": lambda v, at: _parse_int(v, at, 0),
            "export_path": _parse_path,
            "export_dir": _parse_path,
            "export_timings": _parse_bool,
            "quality_interval_s": lambda v, at: _parse_number(v, at, 0, strict=True),
            "gapfill_delay_s": lambda v, at: _parse_number(v, at, 0),
            "gapfill_retries": lambda v, at: _parse_int(v, at, 0),
            "gapfill_backoff": lambda v, at: _parse_number(v, at, 1),
            "close_grace_s": lambda v, at: _parse_number(v, at, 0),
        }
        tables = {section: _table(data, section, origin) for section in _SECTIONS}
        for name, parse in parsers.items():
            section, key = _KEYS[name][0][1:].split("] ")
            if key in tables[section]:
                values[name] = parse(tables[section][key], f"{origin}: [{section}] {key}")
        if set(tables["data"]) - {"source"}:
            values["source_options"] = _source_options(tables["data"])
        specs = {"indicators": _indicator, "historical_indicators": _historical,
                 "scanners": _scanner}
        for name, build in specs.items():
            if name in data:
                items = _array_of_tables(data, name, origin)
                values[name] = tuple(
                    build(item, f"{origin}: [[{name}]][{i}]") for i, item in enumerate(items)
                )
        return cls(**values, origin=origin, provenance=dict.fromkeys(values, "file"))

    # ---- command line ---------------------------------------------------------------------

    def with_overrides(self, **flags: Any) -> SessionConfig:
        """Apply command-line flags (None = not given) over the file's values:
        symbols="AAPL,MSFT", start, end, exchange, streams="1m,5m", source, store (a path),
        speed, trailing_days, indicators (SPEC strings; replace the file's when non-empty),
        export, export_dir, timings, mode. A `source` other than the file's drops the file's
        source options, which were written for that other source."""
        unknown = sorted(set(flags) - set(_FLAG_FIELDS))
        if unknown:
            raise TypeError(f"unknown override(s): {', '.join(unknown)}")
        changes: dict[str, Any] = {}
        given = flags.get
        if (v := given("symbols")) is not None:
            changes["symbols"] = _parse_symbols(
                _split_flag(v, "--symbols", "AAPL,MSFT"), "--symbols", indexed=False)
        for name in ("start", "end"):
            if (v := given(name)) is not None:
                if isinstance(v, datetime) and v.time() == time(0):
                    v = v.date()  # click.DateTime gives midnight datetimes
                changes[name] = _parse_date(v, f"--{name}")
        if (v := given("exchange")) is not None:
            changes["exchange"] = _parse_str(v, "--exchange")
        if (v := given("streams")) is not None:
            changes["intervals"] = _parse_intervals(
                _split_flag(v, "--streams", "1m,5m,15m"), "--streams", indexed=False)
        options = dict(self.source_options)
        if (v := given("source")) is not None:
            changes["source"] = _parse_str(v, "--source")
            if changes["source"] != self.source:
                options = {}
                changes["source_options"] = options
        if (v := given("store")) is not None:
            options["store"] = str(_parse_path(v, "--store"))
            changes["source_options"] = options
        if (v := given("speed")) is not None:
            changes["speed"] = _parse_number(v, "--speed", 0)
        if (v := given("trailing_days")) is not None:
            changes["trailing_days"] = _parse_int(v, "--trailing-days", 0)
        if (v := given("indicators")) is not None:
            specs = [v] if isinstance(v, str | IndicatorSpec) else list(v)
            if specs:
                changes["indicators"] = tuple(_flag_indicator(s) for s in specs)
        if (v := given("export")) is not None:
            changes["export_path"] = _parse_path(v, "--export")
        if (v := given("export_dir")) is not None:
            changes["export_dir"] = _parse_path(v, "--export-dir")
        if (v := given("timings")) is not None:
            changes["export_timings"] = _parse_bool(v, "--timings")
        if (v := given("mode")) is not None:
            changes["mode"] = _parse_mode(v, "--mode")
        provenance = {**self.provenance, **dict.fromkeys(changes, "flag")}
        return replace(self, **changes, provenance=provenance)

    # ---- checks ---------------------------------------------------------------------------

    def where(self, name: str) -> str:
        """What names a field in a message: "--start" when a flag set it, else the session
        file's key path ("session.toml: [session] start")."""
        file_key, flag = _KEYS[name]
        if self.provenance.get(name) == "flag" and flag:
            return flag
        if self.origin == NO_FILE and name not in self.provenance:
            return file_key
        return f"{self.origin}: {file_key}"

    def _missing(self, name: str, what: str) -> ConfigError:
        flag = _KEYS[name][1]
        return _fail(self.where(name), f"{what} (or pass {flag})" if flag else what)

    def validate(self) -> SessionConfig:
        """Check the fields together; return self. Raises ConfigError naming the key or flag."""
        _parse_mode(self.mode, self.where("mode"))
        if self.mode == "backtest":
            if self.start is None:
                raise self._missing("start", "a backtest needs a start date like 2024-01-02")
            if self.end is None:
                raise self._missing("end", "a backtest needs an end date like 2024-01-10")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise _fail(self.where("end"),
                        f"expected a date on or after the start {self.start}, got {self.end}")
        if not self.symbols:
            raise self._missing("symbols", "expected at least one symbol, e.g. AAPL")
        _parse_number(self.speed, self.where("speed"), 0)
        _parse_int(self.trailing_days, self.where("trailing_days"), 0)
        _parse_int(self.prefetch_days, self.where("prefetch_days"), 1)
        _parse_number(self.quality_interval_s, self.where("quality_interval_s"), 0, strict=True)
        _parse_bool(self.export_timings, self.where("export_timings"))
        if not self.intervals:
            raise self._missing("intervals", "expected at least one interval, e.g. 1m")
        self._validate_indicators()
        return self

    def _indicator_at(self, i: int, spec: IndicatorSpec) -> str:
        if self.provenance.get("indicators") == "flag":
            return f"--indicator {spec.to_spec()}"
        at = f"[[indicators]][{i}] interval"
        if self.origin == NO_FILE and "indicators" not in self.provenance:
            return at
        return f"{self.origin}: {at}"

    def _validate_indicators(self) -> None:
        streams = ", ".join(iv.name for iv in self.intervals)
        seen: set[str] = set()
        for i, spec in enumerate(self.indicators):
            if not isinstance(spec, IndicatorSpec):
                raise _fail(f"indicators[{i}]", f"expected an IndicatorSpec, got {spec!r}")
            if spec.interval not in self.intervals:
                raise _fail(
                    self._indicator_at(i, spec),
                    f"indicator {spec.key} runs on {spec.interval}, which is not one of the "
                    f"streams ({streams}); add it to {self.where('intervals')}",
                )
            if spec.key in seen:
                raise _fail(self._indicator_at(i, spec), f"indicator {spec.key} is given twice")
            seen.add(spec.key)
        seen.clear()
        for i, hspec in enumerate(self.historical_indicators):
            if not isinstance(hspec, HistoricalIndicatorSpec):
                raise _fail(f"historical_indicators[{i}]",
                            f"expected a HistoricalIndicatorSpec, got {hspec!r}")
            if hspec.key in seen:
                raise _fail(f"{self.where('historical_indicators')}[{i}]",
                            f"historical indicator {hspec.key} is given twice")
            seen.add(hspec.key)

    # ---- output ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, shaped like the session file (dates ISO, intervals by name); unset
        values are left out, so `from_dict(config.to_dict())` gives the same config."""
        session: dict[str, Any] = {"exchange": self.exchange}
        if self.start is not None:
            session["start"] = self.start.isoformat()
        if self.end is not None:
            session["end"] = self.end.isoformat()
        session |= {"speed": self.speed, "mode": self.mode, "prefetch_days": self.prefetch_days}
        export: dict[str, Any] = {"timings": self.export_timings}
        if self.export_path is not None:
            export["path"] = str(self.export_path)
        if self.export_dir is not None:
            export["dir"] = str(self.export_dir)
        return {
            "session": session,
            "data": {"source": self.source, **_jsonable(self.source_options)},
            "symbols": {"list": list(self.symbols)},
            "streams": {"intervals": [iv.name for iv in self.intervals]},
            "historical": {"trailing_days": self.trailing_days},
            "indicators": [spec.to_dict() for spec in self.indicators],
            "historical_indicators": [spec.to_dict() for spec in self.historical_indicators],
            "scanners": [spec.to_dict() for spec in self.scanners],
            "export": export,
            "quality": {"interval_s": self.quality_interval_s},
            "live": {"gapfill_delay_s": self.gapfill_delay_s,
                     "gapfill_retries": self.gapfill_retries,
                     "gapfill_backoff": self.gapfill_backoff,
                     **({} if self.close_grace_s is None
                        else {"close_grace_s": self.close_grace_s})},
        }


_FLAG_FIELDS = ("symbols", "start", "end", "exchange", "streams", "source", "store", "speed",
                "trailing_days", "indicators", "export", "export_dir", "timings", "mode")


def _flag_indicator(spec: str | IndicatorSpec) -> IndicatorSpec:
    if isinstance(spec, IndicatorSpec):
        return spec
    try:
        return IndicatorSpec.parse(spec)
    except ConfigError as exc:
        raise _fail("--indicator", str(exc)) from None
