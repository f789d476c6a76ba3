"""The trading settings of a session: `StrategySpec` (`[strategy]`, or `--strategy
NAME[:PARAM=VALUE,...][@INTERVAL]`) and `BrokerSpec` (`[broker]`, or `--cash`,
`--commission SPEC`, `--slippage-bps N`), with the commission grammar:

    0.005/share            per share
    0.1%                   percent of the notional
    min=1                  a minimum per order
    0.005/share,min=1      terms joined by "," (or "+"); "0" or "none": no commission

Only the standard library and light mismartera modules are imported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mismartera.config.keys import check_keys
from mismartera.config.specs import parse_spec
from mismartera.config.values import (
    fail,
    format_param,
    is_number,
    jsonable,
    parse_bool,
    parse_interval,
    parse_name,
    parse_number,
    parse_params,
    show,
)
from mismartera.intervals import Interval

STRATEGY_KEYS = ("name", "interval", "params")
BROKER_KEYS = ("cash", "commission", "slippage_bps", "volume_cap", "borrow_rate", "allow_short",
               "costs")
COMMISSION_KEYS = ("per_share", "percent", "minimum")

_STRATEGY_FORM = ("expected NAME[:PARAM=VALUE,...][@INTERVAL], e.g. sma_cross:fast=10,slow=30@5m "
                  "or buy_and_hold")
COMMISSION_FORM = ("expected terms like 0.005/share, 0.1% and min=1 joined by commas, e.g. "
                   "0.005/share,min=1 (0 or none: no commission)")
_NUMBER = r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
_TERM = re.compile(rf"^(?:(?P<share>{_NUMBER})\s*/\s*share|(?P<pct>{_NUMBER})\s*%"
                   rf"|min(?:imum)?\s*=\s*(?P<min>{_NUMBER}))$")


@dataclass(frozen=True)
class StrategySpec:
    """The strategy a session runs: plugin name, the interval given with it (None: its own
    default) and its parameters (as given; the strategy class validates them)."""

    name: str
    interval: Interval | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", parse_name(self.name, "strategy name"))
        if self.interval is not None:
            object.__setattr__(self, "interval",
                               parse_interval(self.interval, "strategy interval"))
        object.__setattr__(self, "params", parse_params(self.params, "strategy params"))

    def __hash__(self) -> int:
        return hash((self.name, self.interval, tuple(self.params)))

    @classmethod
    def parse(cls, spec: str) -> StrategySpec:
        """The command-line form: "sma_cross", "sma_cross@5m", "sma_cross:fast=10,slow=30@5m"."""
        name, params, interval = parse_spec(spec, "strategy", _STRATEGY_FORM,
                                            interval_required=False)
        return cls(name, interval, params)

    def to_spec(self) -> str:
        params = ",".join(f"{k}={format_param(v)}" for k, v in self.params.items())
        at = f"@{self.interval.name}" if self.interval is not None else ""
        return f"{self.name}{':' + params if params else ''}{at}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "params": jsonable(self.params)}
        if self.interval is not None:
            out["interval"] = self.interval.name
        return out


@dataclass(frozen=True)
class CommissionSpec:
    """Commission per share, as a rate of the notional (`rate`, a fraction: 0.1% is 0.001)
    and a minimum per order."""

    per_share: float = 0.0
    rate: float = 0.0
    minimum: float = 0.0

    @classmethod
    def parse(cls, value: Any, at: str) -> CommissionSpec:
        """A commission given as the grammar's text, a number (per share) or a table
        `{ per_share = 0.005, percent = 0.1, minimum = 1 }`."""
        if isinstance(value, CommissionSpec):
            return value
        if is_number(value):
            return cls(per_share=parse_number(value, at, 0))
        if isinstance(value, Mapping):
            check_keys(value, COMMISSION_KEYS, at.rsplit(": ", 1)[0] if ": " in at else at,
                       at.rsplit(": ", 1)[-1])
            return cls(parse_number(value.get("per_share", 0), f"{at} per_share", 0),
                       parse_number(value.get("percent", 0), f"{at} percent", 0) / 100,
                       parse_number(value.get("minimum", 0), f"{at} minimum", 0))
        if not isinstance(value, str):
            raise fail(at, f"{COMMISSION_FORM}; got {show(value)}")
        text = value.strip().lower()
        if text in ("0", "none", "0/share", "0%"):
            return cls()
        parts: dict[str, float] = {}
        for term in re.split(r"[,+]", text):
            m = _TERM.match(term.strip())
            if m is None:
                raise fail(at, f"bad commission {value!r}: term {term.strip()!r} is not "
                               f"understood; {COMMISSION_FORM}")
            kind = next(k for k in ("share", "pct", "min") if m[k] is not None)
            if kind in parts:
                raise fail(at, f"bad commission {value!r}: two {kind} terms")
            parts[kind] = float(m[kind])
        return cls(parts.get("share", 0.0), parts.get("pct", 0.0) / 100, parts.get("min", 0.0))

    @property
    def free(self) -> bool:
        return not (self.per_share or self.rate or self.minimum)

    def to_spec(self) -> str:
        """The grammar's text, which `parse` reads back ("0" when free)."""
        terms = []
        if self.per_share:
            terms.append(f"{self.per_share:g}/share")
        if self.rate:
            terms.append(f"{self.rate * 100:g}%")
        if self.minimum:
            terms.append(f"min={self.minimum:g}")
        return ",".join(terms) or "0"


@dataclass(frozen=True)
class BrokerSpec:
    """The simulated broker: starting cash, the built-in costs (commission, slippage in basis
    points, a volume-participation cap as a fraction of each bar's volume, an annual borrow
    rate on shorts), whether selling short is allowed, and further cost models by
    registered name with their parameters (`costs`)."""

    cash: float = 100_000.0
    commission: CommissionSpec = field(default_factory=CommissionSpec)
    slippage_bps: float = 0.0
    volume_cap: float | None = None
    borrow_rate: float = 0.0
    allow_short: bool = True
    costs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "cash", parse_number(self.cash, "broker cash", 0, strict=True))
        put(self, "commission", CommissionSpec.parse(self.commission, "broker commission"))
        put(self, "slippage_bps", parse_number(self.slippage_bps, "broker slippage_bps", 0))
        if self.volume_cap is not None:
            put(self, "volume_cap", _fraction(self.volume_cap, "broker volume_cap"))
        put(self, "borrow_rate", parse_number(self.borrow_rate, "broker borrow_rate", 0))
        put(self, "allow_short", parse_bool(self.allow_short, "broker allow_short"))
        put(self, "costs", _costs(self.costs, "broker costs"))

    def __hash__(self) -> int:
        return hash((self.cash, self.commission, self.slippage_bps, self.volume_cap,
                     self.borrow_rate, self.allow_short, tuple(self.costs)))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cash": self.cash, "commission": self.commission.to_spec(),
                               "slippage_bps": self.slippage_bps,
                               "borrow_rate": self.borrow_rate,
                               "allow_short": self.allow_short}
        if self.volume_cap is not None:
            out["volume_cap"] = self.volume_cap
        if self.costs:
            out["costs"] = jsonable(self.costs)
        return out


def _fraction(value: Any, at: str) -> float:
    number = parse_number(value, at, 0, strict=True)
    if number > 1:
        raise fail(at, f"expected a fraction of the bar's volume in (0, 1], got {show(value)}")
    return number


def _costs(value: Any, at: str) -> dict[str, dict[str, Any]]:
    if not isinstance(value, Mapping):
        raise fail(at, f"expected a table like {{ my_fee = {{ rate = 0.1 }} }}, got {show(value)}")
    return {parse_name(name, f"{at} key"): parse_params(params, f"{at} {name}")
            for name, params in value.items()}


def strategy_from_toml(table: Mapping[str, Any], at: str) -> StrategySpec:
    """The `[strategy]` table as a StrategySpec; errors name `at` ("file: [strategy]")."""
    if "name" not in table:
        raise fail(at, "missing key name (the strategy plugin, e.g. name = \"sma_cross\")")
    interval = table.get("interval")
    return StrategySpec(
        parse_name(table["name"], f"{at} name"),
        None if interval is None else parse_interval(interval, f"{at} interval"),
        parse_params(table.get("params", {}), f"{at} params"),
    )


def broker_from_toml(table: Mapping[str, Any], at: str) -> BrokerSpec:
    """The `[broker]` table as a BrokerSpec; errors name `at` ("file: [broker]")."""
    values: dict[str, Any] = {}
    if "cash" in table:
        values["cash"] = parse_number(table["cash"], f"{at} cash", 0, strict=True)
    if "commission" in table:
        values["commission"] = CommissionSpec.parse(table["commission"], f"{at} commission")
    for key in ("slippage_bps", "borrow_rate"):
        if key in table:
            values[key] = parse_number(table[key], f"{at} {key}", 0)
    if "volume_cap" in table:
        values["volume_cap"] = _fraction(table["volume_cap"], f"{at} volume_cap")
    if "allow_short" in table:
        values["allow_short"] = parse_bool(table["allow_short"], f"{at} allow_short")
    if "costs" in table:
        values["costs"] = _costs(table["costs"], f"{at} costs")
    return BrokerSpec(**values)


__all__ = ["BROKER_KEYS", "COMMISSION_FORM", "STRATEGY_KEYS", "BrokerSpec", "CommissionSpec",
           "StrategySpec", "broker_from_toml", "strategy_from_toml"]
