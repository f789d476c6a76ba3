"""Indicators added to a running session (`add_indicator`): seeded exactly as at start-up,
from the run's anchor, and caught up over today's closed bars, so the run ends with the
record of one that had them configured from the start; a bad spec is refused at once."""

from __future__ import annotations

import datetime

import pytest

from mismartera.errors import UserError
from mismartera.session.coordinator import SessionCoordinator
from tests.support.engine import (
    CALENDAR,
    dumps,
    indicator_plugins,
    run_days,
    synthetic_config,
    with_indicators,
)

BASE = [{"name": "ema", "interval": "1h", "params": {"period": 10}},
        {"name": "atr", "interval": "15m"},
        {"name": "vwap", "interval": "1m"},
        {"name": "py_ema", "interval": "5m", "params": {"period": 12}},
        {"name": "range_mean_batch", "interval": "15m"}]

# compiled ones joining intervals that have a bank (1h) or not (5m), Python ones of every
# style, one sharing its interval's series with a running one (15m)
ADDED = ["sma:period=20@5m", "ema:period=30@1h", "range_mean:period=7@15m",
         "py_ema_many:period=8@30m", "range_mean_batch:period=4@1h", "vwap@5m"]


def as_table(spec: str) -> dict:
    name, _, interval = spec.partition("@")
    name, _, params = name.partition(":")
    table: dict = {"name": name, "interval": interval}
    if params:
        table["params"] = {k: int(v) for k, v in (p.split("=") for p in params.split(","))}
    return table


class AddIndicatorsAt:
    """Adds `specs` at the first bar that closes at or after `when` (ns)."""

    def __init__(self, specs: list[str], when: int) -> None:
        self.specs, self.when, self.keys = specs, when, []

    def on_bar(self, ctx, symbol, interval, bar):
        if not self.keys and ctx.now_ns >= self.when:
            self.keys = [ctx.add_indicator(spec) for spec in self.specs]


@pytest.mark.parametrize(("trailing", "base"), [(0, BASE), (2, BASE), (0, BASE[:3])],
                         ids=["no-trailing", "trailing-2", "history-grows"])
def test_indicators_added_on_day_two_end_with_the_record_of_a_run_that_had_them(trailing, base):
    """With only compiled ones running and no trailing days, the added Python ones grow
    the trailing history (the days their windows read) as at start-up."""
    day = datetime.date(2014, 11, 28)
    adder = AddIndicatorsAt(ADDED, CALENDAR.local_ns(day, 11, 0))
    cfg = with_indicators(synthetic_config(historical__trailing_days=trailing), base)
    _, added = run_days(cfg, indicator_plugins(), observers=[adder])
    assert len(adder.keys) == len(ADDED)
    full_cfg = with_indicators(synthetic_config(historical__trailing_days=trailing),
                               base + [as_table(s) for s in ADDED])
    _, full = run_days(full_cfg, indicator_plugins())
    assert sorted(added) == sorted(full) and len(full) == 3
    for d in (day, datetime.date(2014, 12, 1)):
        doc = added[d]["symbols"]["SYN0"]
        assert set(adder.keys) <= set(doc["indicators"])
        assert doc["indicators"]["ema_30_1h"]["ready"]
        assert not doc["errors"]
        assert dumps(added[d]) == dumps(full[d]), d


def test_an_indicator_added_before_the_run_is_one_configured():
    cfg = with_indicators(synthetic_config(), BASE)
    coordinator = SessionCoordinator(cfg, plugins=indicator_plugins())
    assert coordinator.add_indicator("sma:period=20@5m") == "sma_20_5m"
    coordinator.run()
    _, full = run_days(with_indicators(synthetic_config(),
                                       [*BASE, as_table("sma:period=20@5m")]),
                       indicator_plugins())
    from mismartera.export import snapshot

    doc = snapshot(coordinator.session_data, coordinator.calendar)[0]
    assert dumps(doc) == dumps(full[max(full)])


@pytest.mark.parametrize(("spec", "message"), [
    ("nope@5m", "unknown indicator 'nope'"),
    ("sma:period=0@5m", "bad parameters for indicator 'sma'"),
    ("sma:length=3@5m", "has no parameter 'length'"),
    ("sma:period=20@2m", "which is not one of the streams (1m, 5m, 15m, 30m, 1h, 1d)"),
    ("sma:period=20", "bad indicator spec"),
    ("ema:period=10@1h", "indicator ema_10_1h is running already"),
])
def test_a_bad_spec_is_refused_at_once_in_one_line(spec, message):
    coordinator = SessionCoordinator(with_indicators(synthetic_config(), BASE),
                                     plugins=indicator_plugins())
    with pytest.raises(UserError) as info:
        coordinator.add_indicator(spec)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert not coordinator._pending
