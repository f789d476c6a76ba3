"""Streams asked for by derived intervals only: the base is picked from what the source has,
kept internal, and exports, summaries and observers show what was asked."""

from __future__ import annotations

import json

import pytest

from mismartera.config import SessionConfig
from mismartera.errors import DataError
from mismartera.intervals import Interval
from mismartera.session.coordinator import SessionCoordinator
from mismartera.session.streams import stream_plan
from tests.support.engine import plugins, run


def ivs(*names: str) -> list[Interval]:
    return [Interval.parse(n) for n in names]


def sample(*streams: str) -> SessionConfig:
    return SessionConfig.from_dict({
        "session": {"start": "2011-01-03", "end": "2011-01-04"}, "data": {"source": "sample"},
        "symbols": {"list": ["SPY"]}, "streams": {"intervals": list(streams)},
        "historical": {"trailing_days": 1}})


@pytest.mark.parametrize(("requested", "available", "base"), [
    (["5m"], ["1m"], "1m"),
    (["1d"], ["1m"], "1m"),
    (["15m", "1h"], ["1m", "5m"], "5m"),   # the largest the source has that builds them all
    (["5m", "1d"], ["1m", "1d"], "1m"),    # 1d cannot build 5m
    (["1d"], ["1m", "1d"], "1d"),          # a requested interval the source has is streamed
])
def test_the_base_is_the_largest_source_interval_that_builds_every_stream(
        requested, available, base):
    assert stream_plan("X", ivs(*requested), ivs(*available), "src") == Interval.parse(base)


def test_1w_is_refused_with_the_valid_intervals():
    with pytest.raises(DataError) as info:
        stream_plan("X", ivs("1d", "1w"), ivs("5m", "1d"), "src")
    assert str(info.value) == (
        "X: interval 1w cannot be a stream (a session's bars never span sessions); with "
        "source 'src' (5m, 1d) the valid intervals are 5m, 10m, 15m, 30m, 1h, 2h, 4h, 1d")


def test_derived_only_streams_export_what_was_asked_and_equal_a_run_with_the_base():
    _, only = run(sample("5m", "1d"))
    _, full = run(sample("1m", "5m", "1d"))
    spy, want = only["symbols"]["SPY"], full["symbols"]["SPY"]
    assert spy["base_interval"] == "1m" and list(spy["bars"]) == ["5m", "1d"]
    assert sorted(spy["historical"]["quality"]) == ["1d", "5m"]
    for name in ("5m", "1d"):
        assert json.dumps(spy["bars"][name]) == json.dumps(want["bars"][name])
    assert len(spy["bars"]["5m"]["data"]) == 78 and spy["bars"]["5m"]["base"] == "1m"


def test_observers_do_not_see_the_internal_base():
    seen: set[str] = set()

    class Watch:
        def on_bar(self, ctx, symbol, interval, bar) -> None:
            seen.add(interval)

    SessionCoordinator(sample("5m"), plugins=plugins(), observers=[Watch()]).run()
    assert seen == {"5m"}


def test_a_weekly_stream_is_one_line_and_exit_status_2(mismartera_plugins):
    result = mismartera_plugins.invoke(["backtest", "--source", "sample", "--symbols", "SPY",
                                        "--start", "2011-01-03", "--end", "2011-01-04",
                                        "--streams", "1w"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "Error: no symbol could be loaded: SPY: interval 1w cannot be a stream (a session's "
        "bars never span sessions); with source 'sample' (1m) the valid intervals are 1m, 2m, "
        "3m, 5m, 10m, 15m, 30m, 1h, 2h, 4h, 1d"]
