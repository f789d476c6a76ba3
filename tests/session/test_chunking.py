"""Chunked clock == bar-by-bar clock: random chunk boundaries and observers, same exports."""

from __future__ import annotations

import datetime

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from mismartera.intervals import Interval
from tests.support.engine import (
    CALENDAR,
    dumps,
    indicator_plugins,
    run_with,
    synthetic_config,
    with_indicators,
)


class Recorder:
    """A per-bar observer: forces bar-by-bar stepping and records what it saw."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], list] = {}

    def on_bar(self, ctx, symbol, interval, bar) -> None:
        # no look-ahead: a bar is seen only once it has closed (at its bucket end or the close)
        end = min(bar.ts + Interval.parse(interval).ns, ctx.session_data.close_ns)
        assert end <= ctx.now_ns
        self.seen.setdefault((symbol, interval), []).append(bar)


# a full day, the early close after Thanksgiving, and a Monday
DAYS = [datetime.date(2014, 11, 26), datetime.date(2014, 11, 28), datetime.date(2014, 12, 1)]
REFERENCE: dict = {}


def indicators(streams: tuple[str, ...]) -> list[dict]:
    """Built-in and custom indicators (each style) on the base and the largest interval."""
    base, top = streams[0], streams[-1]
    return [
        {"name": "sma", "interval": base, "params": {"period": 3}},
        {"name": "macd", "interval": base, "params": {"fast": 2, "slow": 4, "signal": 3}},
        {"name": "vwap", "interval": base},
        {"name": "range_mean", "interval": base, "params": {"period": 4}},
        {"name": "session_count", "interval": base},
        {"name": "bbands", "interval": top, "params": {"period": 3}},
        {"name": "rsi", "interval": top, "params": {"period": 2}},
        {"name": "range_mean_batch", "interval": top, "params": {"period": 2}},
        {"name": "range_mean_many", "interval": top, "params": {"period": 2}},
        {"name": "channel", "interval": top, "params": {"period": 2}},
        {"name": "open_ema", "interval": top, "params": {"period": 2}},
    ]


HISTORICAL = [{"name": "trailing_avg", "field": "volume", "period": "2d",
               "granularity": "intraday"}]


def config(seed: int, streams: tuple[str, ...], days: tuple[datetime.date, ...] = tuple(DAYS),
           symbols: tuple[str, ...] = ("SYN0", "SYN1")):
    cfg = synthetic_config(data__seed=seed, streams__intervals=list(streams),
                           session__start=days[0].isoformat(),
                           session__end=days[-1].isoformat(), symbols__list=list(symbols))
    return with_indicators(cfg, indicators(streams), HISTORICAL)


def run(cfg, **kwargs):
    return run_with(indicator_plugins(), cfg, **kwargs)


def reference(*key) -> str:
    """The export of the unchunked run of config(*key), computed once."""
    if key not in REFERENCE:
        REFERENCE[key] = dumps(run(config(*key))[1])
    return REFERENCE[key]


stream_sets = st.sampled_from([("1m", "5m"), ("1m", "5m", "15m", "30m", "1h", "1d"),
                               ("1m", "1h", "1d"), ("1m", "3m", "15m")])
# one or two consecutive days (each example stays cheap enough for the CI profile's count)
day_spans = st.sampled_from([tuple(DAYS[i:i + n]) for n in (1, 2)
                             for i in range(len(DAYS) - n + 1)])
symbol_sets = st.sampled_from([("SYN0",), ("SYN1",), ("SYN0", "SYN1")])


@given(seed=st.integers(0, 3), streams=stream_sets, days=day_spans, symbols=symbol_sets,
       cuts=st.lists(st.floats(0, 1, allow_nan=False), max_size=30),
       observe=st.booleans())
def test_random_chunks_and_observers_give_identical_exports(seed, streams, days, symbols, cuts,
                                                            observe):
    stops = []
    for day in days:
        open_ns, close_ns = CALENDAR.session(day)
        stops += [open_ns + int(c * (close_ns - open_ns)) for c in cuts]
    recorder = Recorder()
    cfg = config(seed, streams, days, symbols)
    coordinator, doc = run(cfg, stop_times=stops, observers=[recorder] if observe else [])
    assert dumps(doc) == reference(seed, streams, days, symbols)
    assert all(s["indicators"] and not s["errors"] for s in doc["symbols"].values())
    if observe:
        # on the last day the observer saw exactly the bars that were stored, in time order
        sd = coordinator.session_data
        for s in sd:
            for name, iv in s.bars.items():
                ts = iv.data.arrays()[0]
                seen = [b.ts for b in recorder.seen.get((s.symbol, name), []) if b.ts >= sd.open_ns]
                assert seen == ts.tolist()
                assert np.all(np.diff(ts) > 0)


def test_bar_by_bar_takes_one_iteration_per_distinct_close():
    cfg = config(7, ("1m", "5m", "15m", "30m", "1h", "1d"))
    stepped, doc_stepped = run(cfg, observers=[Recorder()])
    whole, doc_whole = run(cfg)
    assert dumps(doc_stepped) == dumps(doc_whole)
    assert stepped.metrics.iterations == whole.metrics.iterations > 0
