"""The `replay` source: history from its upstream, the feed it plays (withheld and late bars),
its options and how it is built through the session's plugin manager."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from mismartera import hookimpl
from mismartera.bars import Bars
from mismartera.errors import ConfigError, DataError, PluginError
from mismartera.intervals import Interval
from mismartera.session.live import LiveSessionCoordinator
from tests.support.engine import CALENDAR
from tests.support.live import (
    DAY,
    live_plugins,
    session,
)

MINUTE = 60_000_000_000


# ---------------------------------------------------------------------- the replay source


def replay(**options: Any):
    return live_plugins().make_source("replay", options, exchange="XNYS")


def test_replay_serves_history_from_upstream_and_withholds_only_from_the_feed():
    open_ns, close_ns = CALENDAR.session(datetime.date(2011, 1, 5))
    source = replay(**{"from": "sample"}, withhold=["10:00"], withhold_retries=2)
    upstream = live_plugins().get("source", "sample").obj()
    one = Interval.parse("1m")
    assert source.symbols() == upstream.symbols() and source.intervals("SPY") == [one]
    with pytest.raises(DataError, match="session_clock"):
        source.subscribe(["SPY"], one, lambda s, b: None)
    clock = source.session_clock(open_ns, close_ns, speed=0)
    got: list[Bars] = []
    subscription = source.subscribe(["SPY"], one, lambda s, b: got.append(b))
    ten = CALENDAR.local_ns(DAY, 10, 0)
    clock.advance_to(close_ns)
    subscription.close()
    fed = Bars.concat(got).ts
    day = upstream.bars("SPY", one, open_ns - 6 * 3600 * 10**9, close_ns)
    assert ten not in fed and len(fed) == len(day.ts) - 1
    assert set(fed) | {ten} == set(day.ts.tolist())
    # bars() omits the withheld bar from the first two requests covering it, then serves it
    asked = [ten in source.bars("SPY", one, open_ns, close_ns).ts for _ in range(3)]
    assert asked == [False, False, True]
    other = source.bars("SPY", one, *CALENDAR.session(datetime.date(2011, 1, 4)))
    assert len(other.ts) == 390  # another day: untouched


def test_replay_close_stops_the_feed_promptly():
    open_ns, close_ns = CALENDAR.session(datetime.date(2011, 1, 5))
    source = replay(**{"from": "sample"})
    source.session_clock(open_ns, close_ns, speed=1.0)  # real time: the next bar is ~1 min off
    subscription = source.subscribe(["SPY"], Interval.parse("1m"), lambda s, b: None)
    assert subscription.alive
    subscription.close()
    assert not subscription.alive


@pytest.mark.parametrize(("options", "message"), [
    ({"from": "sample", "start_time": "9.30"}, "start_time"),
    ({"from": "sample", "withhold": 1.5}, "withhold"),
    ({"from": "sample", "withhold": ["25:00"]}, r"withhold\[0\]"),
    ({"from": "sample", "late_by": "7 minutes"}, "late_by"),
    ({"from": "sample", "serve_withheld": "no"}, "serve_withheld"),
    ({"from": "sample", "speed": -1}, "speed"),
    ({"from": "sample", "path": "x"}, "unknown sample source option 'path'"),
    ({"from": "replay"}, "another replay"),
])
def test_replay_options_are_checked(options, message):
    with pytest.raises(ConfigError, match=message):
        replay(**options)


def test_replay_builds_its_upstream_with_the_session_plugin_manager(mismartera_plugins,
                                                                     monkeypatch):
    """The session's manager reaches the replay as `context`: no second PluginManager is
    assembled and no entry point is read again, and an upstream source registered on this
    manager only is found."""
    from importlib import metadata

    from mismartera.hookspecs import SourceContext
    from mismartera.plugin_manager import PluginManager
    from mismartera.plugins.sources.sample import SampleSource

    class OnlyHere(SampleSource):
        def __init__(self, context: SourceContext, **options: Any) -> None:
            super().__init__(**options)
            self.context = context

    class Plugin:
        @staticmethod
        def register_data_sources(register):
            register("only-here", OnlyHere)

    Plugin.register_data_sources = hookimpl(Plugin.register_data_sources)
    mismartera_plugins.register(Plugin, name="only-here")
    manager = mismartera_plugins.manager
    built, reads = [], []
    original = PluginManager.__post_init__
    monkeypatch.setattr(PluginManager, "__post_init__",
                        lambda self: built.append(self) or original(self))
    monkeypatch.setattr(metadata, "entry_points", lambda **kw: reads.append(kw) or [])
    cfg = session(DAY, {"source": "only-here"}, ["SPY"], live={}, trailing=0, indicators=[])
    coordinator = LiveSessionCoordinator(cfg, plugins=manager)
    coordinator.run()
    assert built == [] and reads == []
    upstream = coordinator.source.upstream
    assert isinstance(upstream, OnlyHere)
    assert upstream.context == SourceContext(manager, "XNYS")
    assert len(coordinator.session_data["SPY"].base.data) == 390


def test_replay_without_a_context_says_what_it_needs():
    from mismartera.plugins.sources.replay import ReplaySource

    with pytest.raises(ConfigError, match="needs the session's plugins"):
        ReplaySource(**{"from": "sample"})
    upstream = live_plugins().make_source("sample", {}, exchange="XNYS")
    assert ReplaySource(upstream=upstream).symbols() == upstream.symbols()


def test_context_is_not_a_user_option():
    with pytest.raises(ConfigError, match="'context' is not an option"):
        replay(**{"from": "sample", "context": 1})


def test_replay_from_an_unknown_source_names_the_option():
    with pytest.raises(PluginError, match=r"replay source option 'from'.*nope"):
        replay(**{"from": "nope"})
