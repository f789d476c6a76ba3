"""Properties of a strategy in a session (hypothesis): `sma_cross@5m` makes the same trades
over a 1m base as over the equivalent 5m bars as the base (a market order fills at the open
of the first base bar at or after it, the first 1m bar of the next 5m bar, whose open is
that 5m bar's open), equal to the reference simulation where no SMA tie can decide, and two
runs export byte-identical documents. Trade times are bar starts: over a 1m base with the
bucket's first minute missing, a fill's time is a minute or more after the 5m bar's start
(same price), so the comparison puts times on the 5m grid."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mismartera.bars import Bars
from mismartera.calendar import TimeManager
from mismartera.export import snapshot
from mismartera.intervals import Interval
from mismartera.session.coordinator import SessionCoordinator
from tests.reference.sma_cross import simulate, ties
from tests.support.scanners import MemorySource
from tests.support.trading import (
    as_tuples,
    derived_bars,
    engine_trades,
    strategy_config,
    strategy_plugins,
)

DAYS = ("2014-11-25", "2014-11-26", "2014-11-28", "2014-12-01")  # 11-28 closes at 13:00
M1, M5 = Interval.parse("1m"), Interval.parse("5m")


def minute_bars(seed: int, first: str, last: str, drop: float) -> Bars:
    """A random walk of 1m bars over the sessions, some dropped (never a whole session)."""
    rng = np.random.default_rng(seed)
    table = TimeManager("XNYS").sessions(first, last)
    ts = np.concatenate([np.arange(o, c, 60 * 10**9, dtype=np.int64)
                         for o, c in zip(table.opens, table.closes, strict=True)])
    keep = rng.random(len(ts)) >= drop
    keep[0] = True
    ts = ts[keep]
    close = 100 + np.cumsum(rng.normal(0, 0.05, len(ts))).round(2)
    open_ = np.r_[100.0, close[:-1]] + rng.normal(0, 0.01, len(ts)).round(2)
    high = np.maximum(open_, close) + rng.random(len(ts)).round(2) * 0.05
    low = np.minimum(open_, close) - rng.random(len(ts)).round(2) * 0.05
    return Bars.from_arrays(ts, open_, high, low, close, rng.integers(100, 1000, len(ts)) * 1.0)


def bucketed(trades: list[tuple]) -> list[tuple]:
    """Times as the start of their 5m bar (a fill's 1m bar is the first of its bucket that
    has a bar; the sessions open on the 5-minute grid)."""
    five = 300 * 10**9
    return [(a // five * five, b, None if c is None else c // five * five, d, e)
            for a, b, c, d, e in trades]


def run(source, streams, fast, slow, first, last):
    config = strategy_config({"source": "sample"}, ["SYN"], first, last, "sma_cross", "5m",
                             {"fast": fast, "slow": slow, "qty": 5}, streams=streams)
    from mismartera.config import SessionConfig

    coordinator = SessionCoordinator(SessionConfig.from_dict(config), plugins=strategy_plugins(),
                                     source=source)
    data = coordinator.run()
    return data.strategy, snapshot(coordinator.session_data, coordinator.calendar)[0]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), fast=st.integers(1, 6), extra=st.integers(1, 10),
       span=st.sampled_from([(0, 1), (1, 2), (0, 3), (2, 3)]),
       drop=st.sampled_from([0.0, 0.05, 0.3]))
def test_1m_base_and_5m_base_trade_alike(seed, fast, extra, span, drop):
    slow = fast + extra
    first, last = DAYS[span[0]], DAYS[span[1]]
    one = minute_bars(seed, first, last, drop)
    minute_source = MemorySource({"SYN": one}, M1)
    five = derived_bars(minute_source, "SYN", first, last)
    five_source = MemorySource({"SYN": Bars.from_arrays(*five.values())}, M5)
    on_1m, doc = run(minute_source, ("1m",), fast, slow, first, last)
    on_5m, _ = run(five_source, ("5m",), fast, slow, first, last)
    assert on_1m.errors == [] and on_5m.errors == []
    got = bucketed(engine_trades(on_1m, "SYN"))
    assert got == engine_trades(on_5m, "SYN")
    if not ties(five["close"], fast, slow):
        assert got == as_tuples(simulate(five["ts"], five["open"], five["close"], fast, slow, 5))
    _, doc_again = run(MemorySource({"SYN": one}, M1), ("1m",), fast, slow, first, last)
    assert json.dumps(doc, sort_keys=True).encode() == json.dumps(doc_again,
                                                                  sort_keys=True).encode()
