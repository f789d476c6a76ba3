"""The specs a session file lists: `IndicatorSpec` ([[indicators]], or `--indicator
sma:period=20@5m`), `HistoricalIndicatorSpec` ([[historical_indicators]]) and `ScannerSpec`
([[scanners]]). Each normalises and checks its fields on construction and gives back its
session-file form (`to_dict`); the `*_from_toml` builders read one array-of-tables entry,
naming its key path in errors. Only the standard library and light mismartera modules are
imported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from mismartera.config.values import (
    NAME_RE,
    format_param,
    jsonable,
    parse_array,
    parse_choice,
    parse_clock,
    parse_interval,
    parse_name,
    parse_param_value,
    parse_params,
    parse_period,
    parse_symbols,
)
from mismartera.errors import ConfigError
from mismartera.intervals import Interval, Period

FIELDS = ("open", "high", "low", "close", "volume")
HISTORICAL_INDICATORS = ("trailing_avg", "trailing_max", "trailing_min")
GRANULARITIES = ("daily", "intraday")

_SPEC = re.compile(
    r"^\s*(?P<name>[^:@\s]+)\s*(?::(?P<params>[^@]*))?(?P<at>@(?P<interval>[^@]*))?$")
_SPEC_FORM = "expected NAME[:PARAM=VALUE,...]@INTERVAL, e.g. sma:period=20@5m or rsi@1m"


def spec_from_flag(kind: Any, value: Any, flag: str) -> Any:
    """`value` as given to a spec flag (`--indicator`, `--strategy`): already a `kind`
    instance, or a spec string `kind.parse` reads; errors name the flag."""
    if isinstance(value, kind):
        return value
    try:
        return kind.parse(value)
    except ConfigError as exc:
        raise ConfigError(f"{flag}: {exc}") from None


def parse_spec(spec: str, what: str, form: str, interval_required: bool = True
               ) -> tuple[str, dict[str, Any], Interval | None]:
    """The parts of a command-line spec `NAME[:PARAM=VALUE,...][@INTERVAL]` (the interval
    optional unless `interval_required`): name, parameters (int, then float, then bool,
    else str) and interval. Errors read "bad WHAT spec 'SPEC': ...; FORM"."""
    m = _SPEC.match(spec) if isinstance(spec, str) else None
    if m is None or not NAME_RE.match(m["name"]) or (interval_required and m["at"] is None):
        raise ConfigError(f"bad {what} spec {spec!r}: {form}")
    params: dict[str, Any] = {}
    if m["params"] is not None:
        for item in m["params"].split(","):
            key, sep, text = (part.strip() for part in item.partition("="))
            if not sep or not NAME_RE.match(key) or not text or "=" in text:
                raise ConfigError(f"bad {what} spec {spec!r}: parameter {item.strip()!r} is "
                                  f"not PARAM=VALUE; {form}")
            if key in params:
                raise ConfigError(f"bad {what} spec {spec!r}: parameter {key} is given twice")
            params[key] = parse_param_value(text)
    interval = None
    if m["at"] is not None:
        try:
            interval = Interval.parse(m["interval"].strip())
        except ConfigError as exc:
            raise ConfigError(f"bad {what} spec {spec!r}: {exc}") from None
    return m["name"], params, interval


@dataclass(frozen=True)
class IndicatorSpec:
    """A session indicator: plugin name, the interval it runs on and its parameters (as
    given; the indicator plugin validates them)."""

    name: str
    interval: Interval
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", parse_name(self.name, "indicator name"))
        object.__setattr__(self, "interval", parse_interval(self.interval, "indicator interval"))
        object.__setattr__(self, "params", parse_params(self.params, "indicator params"))

    def __hash__(self) -> int:
        return hash((self.name, self.interval, tuple(self.params)))

    @classmethod
    def parse(cls, spec: str) -> IndicatorSpec:
        """Parse the command-line form: "sma:period=20@5m", "rsi@1m",
        "macd:fast=12,slow=26,signal=9@5m". Values are int, then float, then bool, else str."""
        name, params, interval = parse_spec(spec, "indicator", _SPEC_FORM)
        assert interval is not None
        return cls(name, interval, params)

    @property
    def key(self) -> str:
        """The export key: name, each parameter value in order, interval ("sma_20_5m")."""
        return "_".join([self.name, *(format_param(v) for v in self.params.values()),
                         self.interval.name])

    def to_spec(self) -> str:
        """The command-line form, which `parse` reads back."""
        params = ",".join(f"{k}={format_param(v)}" for k, v in self.params.items())
        return f"{self.name}{':' + params if params else ''}@{self.interval.name}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "interval": self.interval.name,
                "params": jsonable(self.params)}


@dataclass(frozen=True)
class HistoricalIndicatorSpec:
    """A trailing statistic of one bar field over a period of past sessions, either one value
    per day (`daily`) or per time of day across the days (`intraday`)."""

    name: str
    field: str
    period: Period
    granularity: str = "daily"

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", parse_choice(
            self.name, "historical indicator name", HISTORICAL_INDICATORS))
        object.__setattr__(self, "field", parse_choice(
            self.field, "historical indicator field", FIELDS))
        object.__setattr__(self, "period", parse_period(self.period, "historical period"))
        object.__setattr__(self, "granularity", parse_choice(
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
        object.__setattr__(self, "name", parse_name(self.name, "scanner name"))
        object.__setattr__(self, "params", parse_params(self.params, "scanner params"))
        if self.every is not None:
            object.__setattr__(self, "every", parse_interval(self.every, "scanner every"))
        object.__setattr__(self, "at", tuple(
            parse_clock(t, f"scanner at[{i}]")
            for i, t in enumerate(parse_array(self.at, "scanner at", '["09:35"]'))))
        if self.universe is not None:
            object.__setattr__(self, "universe", parse_symbols(self.universe, "scanner universe"))

    def __hash__(self) -> int:
        return hash((self.name, self.every, self.at, self.universe))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "params": jsonable(self.params)}
        if self.every is not None:
            out["every"] = self.every.name
        if self.at:
            out["at"] = [t.strftime("%H:%M") for t in self.at]
        if self.universe is not None:
            out["universe"] = list(self.universe)
        return out


def indicator_from_toml(item: Mapping[str, Any], at: str) -> IndicatorSpec:
    """An `[[indicators]]` entry as an IndicatorSpec; errors name `at`."""
    return IndicatorSpec(
        parse_name(item["name"], f"{at} name"),
        parse_interval(item["interval"], f"{at} interval"),
        parse_params(item.get("params", {}), f"{at} params"),
    )


def historical_from_toml(item: Mapping[str, Any], at: str) -> HistoricalIndicatorSpec:
    """A `[[historical_indicators]]` entry as a HistoricalIndicatorSpec."""
    return HistoricalIndicatorSpec(
        parse_choice(item["name"], f"{at} name", HISTORICAL_INDICATORS),
        parse_choice(item["field"], f"{at} field", FIELDS),
        parse_period(item["period"], f"{at} period"),
        parse_choice(item.get("granularity", "daily"), f"{at} granularity", GRANULARITIES),
    )


def scanner_from_toml(item: Mapping[str, Any], at: str) -> ScannerSpec:
    """A `[[scanners]]` entry as a ScannerSpec; errors name `at`."""
    every = item.get("every")
    universe = item.get("universe")
    times = parse_array(item.get("at", []), f"{at} at", '["09:35", "12:00"]')
    return ScannerSpec(
        parse_name(item["name"], f"{at} name"),
        parse_params(item.get("params", {}), f"{at} params"),
        None if every is None else parse_interval(every, f"{at} every"),
        tuple(parse_clock(t, f"{at} at[{i}]") for i, t in enumerate(times)),
        None if universe is None else parse_symbols(universe, f"{at} universe"),
    )

