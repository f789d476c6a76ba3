"""A live replay of stored trades and quotes (`[streams] ticks` / `quotes`): the `replay`
source pushes each record at its stamp, and the day ends as its backtest does."""

from __future__ import annotations

import dataclasses

import pytest

from tests.support.live import (
    assert_same_day,
    backtest_doc,
    feed_threads,
    live_run,
    session,
)
from tests.support.ticks import ns, quotes, tick_store, trades

DAY = "2024-01-03"


def configs(store, live: dict, **streams):
    data = {"source": "store", "store": str(store)}
    kw = {"trailing": 0, "indicators": []}
    back = session(DAY, data, ["AAPL"], **kw)
    on = session(DAY, data, ["AAPL"], live=live, **kw)
    return dataclasses.replace(back, **streams), dataclasses.replace(on, **streams)


class Seen:
    """At each step: (replay time, trades held, quotes held)."""

    def __init__(self) -> None:
        self.at: list[tuple[int, int, int]] = []

    def on_bar(self, ctx, symbol, interval, bar):
        s = ctx.session_data[symbol]
        self.at.append((ctx.session_data.now_ns, len(s.ticks), len(s.quotes)))


@pytest.mark.parametrize("live", [{}, {"start_time": "09:35"}], ids=["open", "joined late"])
def test_live_replay_of_ticks_and_quotes_equals_the_backtest(tmp_path, live):
    store = tick_store(tmp_path / "s.duckdb")
    back, on = configs(store, live, ticks=True, quotes=True)
    seen = Seen()
    coordinator, doc = live_run(on, observers=[seen])
    s = coordinator.session_data["AAPL"]
    t, q = trades(), quotes()
    assert s.ticks == list(zip(t["ts"], t["price"], t["size"], strict=True))
    assert s.quotes == list(zip(q["ts"], q["bid"], q["ask"], q["bid_size"], q["ask_size"],
                                strict=True))
    assert not s.errors
    # a record stamped t is held once the clock is at t, never earlier
    assert seen.at
    for now, n_ticks, n_quotes in seen.at:
        assert (n_ticks, n_quotes) == (int((t["ts"] <= now).sum()), int((q["ts"] <= now).sum()))
    if live:  # joined at 09:35: what was stamped before is there at the first step
        assert seen.at[0][0] >= ns(f"{DAY}T09:35:00") and seen.at[0][1] > 0
    assert doc["symbols"]["AAPL"]["ticks"]["count"] == len(t)
    assert_same_day(doc, backtest_doc(back))
    assert feed_threads() == []


def test_only_the_streamed_kinds_and_a_source_without_them(tmp_path):
    store = tick_store(tmp_path / "s.duckdb")
    back, on = configs(store, {}, ticks=True)
    coordinator, doc = live_run(on)
    s = coordinator.session_data["AAPL"]
    assert len(s.ticks) == len(trades()) and s.quotes == []
    assert "quotes" not in doc["symbols"]["AAPL"]
    assert_same_day(doc, backtest_doc(back))
    # an upstream without trades: an error of the symbol; its bars still run
    sample = session("2011-01-05", {"source": "sample"}, ["SPY"], live={}, trailing=0,
                     indicators=[])
    sample = dataclasses.replace(sample, ticks=True)
    coordinator, _ = live_run(sample)
    s = coordinator.session_data["SPY"]
    assert s.errors == ["SPY: source sample has no ticks"]
    assert len(s.base.data) > 0 and s.ticks == []
