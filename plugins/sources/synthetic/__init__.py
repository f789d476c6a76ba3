"""The `synthetic` data source: deterministic seeded random-walk bars at any size.

Options (session file `[data]` table): `seed=0`, `symbols="SYN0,SYN1"` or `count=N`
(symbols SYN0..SYN{N-1}), `interval="1m"` (the base interval), `gap_rate=0.0` (probability a
regular-session bar is dropped), `extended_hours=False` (add sparse pre-market bars from
5h30 before the open and after-hours bars until 4h after the close), `exchange="XNYS"`.

The bars come from `synthetic.gen` (the generator, whose `generate_sessions` and
`generate_session_bars` are re-exported here) and the options are parsed by
`synthetic.options`.
"""

from __future__ import annotations

import bisect
import functools
from typing import TYPE_CHECKING, Any

import numpy as np

from mismartera import hookimpl
from mismartera.bars import Bars
from mismartera.errors import ConfigError
from mismartera.intervals import Interval
from mismartera.plugins.sources.synthetic.gen import (
    AFTER_HOURS_NS,
    DAILY_VOL,
    EXTENDED_KEEP,
    EXTENDED_VOL,
    EXTENDED_VOLUME,
    NS_PER_DAY,
    NS_PER_S,
    PRE_MARKET_NS,
    REGULAR_SESSION_NS,
    WICK,
    generate_session_bars,
    generate_sessions,
)
from mismartera.plugins.sources.synthetic.options import (
    DEFAULTS,
    OPTIONS,
    bool_option,
    int_option,
    rate_option,
    symbols_option,
)

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "AFTER_HOURS_NS",
    "DAILY_VOL",
    "EXTENDED_KEEP",
    "EXTENDED_VOL",
    "EXTENDED_VOLUME",
    "NS_PER_DAY",
    "NS_PER_S",
    "PRE_MARKET_NS",
    "REGULAR_SESSION_NS",
    "WICK",
    "SyntheticSource",
    "generate_session_bars",
    "generate_sessions",
    "register_data_sources",
]


class SyntheticSource:
    """Deterministic seeded random-walk bars for every session of the exchange calendar."""

    name = "synthetic"

    def __init__(self, **options: Any) -> None:
        """Options as in the module docstring; an unknown or malformed option is a
        ConfigError naming it."""
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ConfigError(
                f"unknown synthetic source option {unknown[0]!r}: "
                f"expected one of {', '.join(OPTIONS)}"
            )
        opts = {**DEFAULTS, **options}
        self.seed = int_option("seed", opts["seed"], 0)
        if opts["symbols"] is not None and opts["count"] is not None:
            raise ConfigError("synthetic source options 'symbols' and 'count' exclude each other")
        if opts["count"] is not None:
            self._symbols = [f"SYN{i}" for i in range(int_option("count", opts["count"], 1))]
        else:
            symbols = opts["symbols"]
            self._symbols = symbols_option("SYN0,SYN1" if symbols is None else symbols)
        self._symbol_set = frozenset(self._symbols)
        try:
            self.interval = Interval.parse(opts["interval"])
        except ConfigError as exc:
            raise ConfigError(f"synthetic source option 'interval': {exc}") from None
        if self.interval.name == "1w":
            raise ConfigError(
                "synthetic source option 'interval' must be an intraday interval or 1d, got '1w'"
            )
        self.gap_rate = rate_option("gap_rate", opts["gap_rate"])
        self.extended_hours = bool_option("extended_hours", opts["extended_hours"])
        exchange = opts["exchange"]
        if not isinstance(exchange, str) or not exchange.strip():
            raise ConfigError(
                f"synthetic source option 'exchange' must be an exchange code, got {exchange!r}"
            )
        self.exchange = exchange.strip().upper()
        self._sessions: tuple[npt.NDArray, npt.NDArray, list[int], list[int]] | None = None

    def __repr__(self) -> str:
        return (
            f"SyntheticSource(seed={self.seed}, symbols={len(self._symbols)}, "
            f"interval={self.interval.name}, exchange={self.exchange})"
        )

    def symbols(self) -> list[str]:
        return list(self._symbols)

    def intervals(self, symbol: str) -> list[Interval]:
        return [self.interval] if symbol in self._symbol_set else []

    def bars(self, symbol: str, interval: Interval, start_ns: int, end_ns: int) -> Bars:
        """Bars with start_ns <= ts < end_ns; empty for another symbol or interval."""
        if (
            end_ns <= start_ns
            or symbol not in self._symbol_set
            or Interval.parse(interval) != self.interval
        ):
            return Bars.empty()
        opens, closes = self._sessions_between(int(start_ns), int(end_ns))
        if len(opens) == 0:
            return Bars.empty()
        out = generate_sessions(
            symbol,
            opens,
            closes,
            self.interval.ns,
            self.seed,
            gap_rate=self.gap_rate,
            extended_hours=self.extended_hours,
        )
        if out.ts[0] < start_ns or out.ts[-1] >= end_ns:
            out = out.between(start_ns, end_ns)
        return out

    def _sessions_between(self, start_ns: int, end_ns: int) -> tuple[npt.NDArray, npt.NDArray]:
        """Opens and closes of the sessions whose bars (extended hours included) may fall in
        [start_ns, end_ns); none outside the calendar's range."""
        if self._sessions is None:
            self._sessions = _all_sessions(self.exchange)
        opens, closes, open_list, close_list = self._sessions
        lead = PRE_MARKET_NS if self.extended_hours else 0
        lag = AFTER_HOURS_NS if self.extended_hours else 0
        i = bisect.bisect_right(close_list, start_ns - lag)
        j = max(i, bisect.bisect_left(open_list, end_ns + lead))
        return opens[i:j], closes[i:j]


@functools.cache
def _all_sessions(exchange: str) -> tuple[npt.NDArray, npt.NDArray, list[int], list[int]]:
    """Opens and closes of every session the exchange's calendar covers, as arrays and as
    lists (for bisect), shared by every synthetic source of that exchange."""
    from mismartera.calendar import TimeManager

    calendar = TimeManager(exchange)
    table = calendar.sessions(calendar.first_date, calendar.last_date)
    opens = np.asarray(table.opens, dtype=np.int64)
    closes = np.asarray(table.closes, dtype=np.int64)
    return opens, closes, opens.tolist(), closes.tolist()


@hookimpl
def register_data_sources(register) -> None:
    register(
        "synthetic",
        SyntheticSource,
        description="deterministic seeded random-walk bars (any size, any interval)",
    )
