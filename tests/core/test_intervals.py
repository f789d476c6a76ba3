"""Interval and Period: parsing, printing, errors, the derivable-from table."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.calendar import TimeManager
from mismartera.errors import ConfigError, UserError
from mismartera.intervals import Interval, Period

S = 1_000_000_000
M = 60 * S
H = 3600 * S
D = 86_400 * S

# The densest five-day calendar: every weekday is a session (built on first use).
WEEKDAYS = TimeManager("24/5")

EXPECTED_NS = {
    "1s": S,
    "5s": 5 * S,
    "15s": 15 * S,
    "30s": 30 * S,
    "1m": M,
    "2m": 2 * M,
    "3m": 3 * M,
    "5m": 5 * M,
    "10m": 10 * M,
    "15m": 15 * M,
    "30m": 30 * M,
    "1h": H,
    "2h": 2 * H,
    "4h": 4 * H,
    "1d": D,
    "1w": 7 * D,
}


def test_supported_list_is_the_documented_one() -> None:
    assert list(Interval.SUPPORTED) == list(EXPECTED_NS)


@pytest.mark.parametrize(("name", "ns"), EXPECTED_NS.items())
def test_parse_and_print_every_supported_interval(name: str, ns: int) -> None:
    iv = Interval.parse(name)
    assert iv.ns == ns
    assert iv.name == name and str(iv) == name
    assert iv.seconds == ns / S
    assert iv.is_intraday == (name not in ("1d", "1w"))
    assert Interval.parse(iv) is iv  # an Interval passes through
    assert Interval.parse(str(iv)) == iv
    assert Interval.parse(name.upper()) == iv
    assert Interval.parse(f" {name[:-1]} {name[-1]} ") == iv
    assert hash(Interval.parse(name)) == hash(iv)


def test_leading_zeros_normalise_the_name() -> None:
    assert Interval.parse("05m").name == "5m"


def test_intervals_order_by_length() -> None:
    shuffled = ["1d", "1m", "1w", "30s", "4h", "1s", "15m"]
    assert [iv.name for iv in sorted(map(Interval.parse, shuffled))] == [
        "1s",
        "30s",
        "1m",
        "15m",
        "4h",
        "1d",
        "1w",
    ]


@pytest.mark.parametrize(
    "text", ["", "m", "5", "0m", "-1m", "1.5m", "7m", "60m", "24h", "2d", "2w", "1x", "1mo", None]
)
def test_unknown_intervals_are_config_errors_listing_the_supported(text: object) -> None:
    with pytest.raises(ConfigError) as info:
        Interval.parse(text)  # type: ignore[arg-type]
    message = str(info.value)
    assert repr(text) in message
    assert "expected one of" in message and "1s" in message and "1w" in message
    assert isinstance(info.value, UserError) and info.value.exit_code == 2


# The table from the issue: whole multiples of an intraday base; 1d from any intraday base;
# 1w from 1d (and, through 1d, from intraday). Nothing derives from a longer interval.
DERIVABLE = [
    ("5m", "1m", True),
    ("15m", "5m", True),
    ("30m", "15m", True),
    ("1h", "1m", True),
    ("1h", "15m", True),
    ("4h", "3m", True),
    ("2m", "30s", True),
    ("1m", "1s", True),
    ("1h", "1h", True),
    ("1d", "1d", True),
    ("1d", "1m", True),
    ("1d", "1s", True),
    ("1d", "4h", True),
    ("1w", "1d", True),
    ("1w", "1m", True),
    ("1w", "1w", True),
    ("5m", "2m", False),
    ("10m", "3m", False),
    ("3m", "2m", False),
    ("2m", "3m", False),
    ("1m", "5m", False),
    ("1m", "1h", False),
    ("5m", "1d", False),
    ("1h", "1d", False),
    ("1d", "1w", False),
    ("4h", "1w", False),
]


@pytest.mark.parametrize(("target", "base", "expected"), DERIVABLE)
def test_derivable_from_table(target: str, base: str, expected: bool) -> None:
    assert Interval.parse(target).derivable_from(Interval.parse(base)) is expected


def reference_derivable(target: str, base: str) -> bool:
    """The rule, restated with whole seconds and unit letters instead of nanoseconds."""
    if target == base:
        return True
    if base == "1w":
        return False
    if target == "1w":
        return True  # from 1d or any intraday base
    if base == "1d":
        return False
    if target == "1d":
        return True  # from any intraday base
    unit_s = {"s": 1, "m": 60, "h": 3600}
    t = int(target[:-1]) * unit_s[target[-1]]
    b = int(base[:-1]) * unit_s[base[-1]]
    return t > b and t % b == 0


@given(st.sampled_from(Interval.SUPPORTED), st.sampled_from(Interval.SUPPORTED))
def test_derivable_from_matches_the_rule(target: str, base: str) -> None:
    got = Interval.parse(target).derivable_from(Interval.parse(base))
    assert got is reference_derivable(target, base)


def test_derivable_pairs_are_transitive() -> None:
    ivs = [Interval.parse(n) for n in Interval.SUPPORTED]
    for a in ivs:
        for b in ivs:
            for c in ivs:
                if a.derivable_from(b) and b.derivable_from(c):
                    assert a.derivable_from(c), (a, b, c)


@pytest.mark.parametrize(
    ("text", "count", "unit"),
    [
        ("10d", 10, "d"),
        ("52w", 52, "w"),
        ("3m", 3, "m"),
        ("1y", 1, "y"),
        (" 2Y ", 2, "y"),
        ("5 d", 5, "d"),
        ("250d", 250, "d"),
    ],
)
def test_period_parse_and_print(text: str, count: int, unit: str) -> None:
    p = Period.parse(text)
    assert (p.count, p.unit) == (count, unit)
    assert str(p) == f"{count}{unit}"
    assert Period.parse(str(p)) == p


@pytest.mark.parametrize("text", ["", "d", "10", "0d", "-1d", "1.5y", "1h", "10s", "ten days"])
def test_bad_periods_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError, match=r"expected a positive count and a unit.*10d"):
        Period.parse(text)


def test_approx_trading_days_values() -> None:
    assert Period.parse("10d").approx_trading_days() == 10
    assert Period.parse("52w").approx_trading_days() == 260
    assert Period.parse("3m").approx_trading_days() == 69
    assert Period.parse("2y").approx_trading_days() == 524


@given(
    st.dates(min_value=date(1995, 1, 1), max_value=date(2040, 12, 31)),
    st.integers(min_value=1, max_value=4),
    st.sampled_from("dwmy"),
)
def test_approx_trading_days_bounds_a_five_day_week(d: date, count: int, unit: str) -> None:
    """The bound holds for the densest five-day calendar there is: every weekday a session."""
    period = Period(count, unit)
    assert len(WEEKDAYS.trading_days_in_period(d, period)) <= period.approx_trading_days()
