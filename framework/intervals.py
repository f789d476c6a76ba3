"""Bar intervals ("1s" ... "1w") and historical periods ("10d", "52w", "3m", "1y")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from mismartera.errors import ConfigError

NS = 1_000_000_000
"""Nanoseconds in a second: every time in mismartera is int64 ns since the epoch (UTC)."""
_UNIT_NS = {"s": NS, "m": 60 * NS, "h": 3600 * NS, "d": 86400 * NS, "w": 7 * 86400 * NS}
_PATTERN = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


@dataclass(frozen=True, order=True, slots=True)
class Interval:
    """A bar interval. Intraday intervals are a fixed number of nanoseconds; `1d` is one
    trading session (whatever its length) and `1w` one trading week."""

    ns: int
    name: str

    SUPPORTED: ClassVar[tuple[str, ...]] = (
        "1s", "5s", "15s", "30s", "1m", "2m", "3m", "5m", "10m", "15m", "30m",
        "1h", "2h", "4h", "1d", "1w",
    )

    @classmethod
    def parse(cls, text: str | Interval) -> Interval:
        """Parse "5m", "1h", ... ; raise ConfigError naming the supported intervals."""
        if isinstance(text, Interval):
            return text
        m = _PATTERN.match(str(text).lower())
        if m is None or f"{int(m[1])}{m[2]}" not in cls.SUPPORTED:
            raise ConfigError(
                f"unknown interval {text!r}: expected one of {', '.join(cls.SUPPORTED)}"
            )
        return cls(int(m[1]) * _UNIT_NS[m[2]], f"{int(m[1])}{m[2]}")

    @property
    def seconds(self) -> float:
        return self.ns / NS

    @property
    def is_intraday(self) -> bool:
        return self.ns < _UNIT_NS["d"]

    def derivable_from(self, base: Interval) -> bool:
        """True when bars of this interval can be built from bars of `base`: a whole multiple
        of an intraday base; `1d` from any intraday base; `1w` from `1d` or intraday."""
        if self == base:
            return True
        if self.is_intraday:
            return base.is_intraday and self.ns > base.ns and self.ns % base.ns == 0
        if self.name == "1d":
            return base.is_intraday
        return base.name == "1d" or base.is_intraday

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Period:
    """A historical window: `Nd` trading days, `Nw` weeks, `Nm` months, `Ny` years."""

    count: int
    unit: str  # "d" | "w" | "m" | "y"

    @classmethod
    def parse(cls, text: str) -> Period:
        m = re.match(r"^\s*(\d+)\s*([dwmy])\s*$", str(text).lower())
        if m is None or int(m[1]) <= 0:
            raise ConfigError(
                f"unknown period {text!r}: expected a positive count and a unit, "
                "e.g. 10d (trading days), 52w (weeks), 3m (months), 1y (years)"
            )
        return cls(int(m[1]), m[2])

    def approx_trading_days(self) -> int:
        """An upper bound on the trading days the period spans, to size a history load (for
        exchanges trading at most five days a week: a week has 5 weekdays, a month at most
        23, a year at most 262)."""
        per_unit = {"d": 1, "w": 5, "m": 23, "y": 262}[self.unit]
        return self.count * per_unit

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"
