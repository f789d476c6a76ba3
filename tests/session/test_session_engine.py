"""Session engine behaviour: mid-session symbols, threads, errors, lifecycle."""

from __future__ import annotations

import datetime
import threading

import numpy as np
import pytest

from mismartera.errors import DataError
from mismartera.export import snapshot
from mismartera.intervals import Interval
from mismartera.session.coordinator import SessionCoordinator
from mismartera.session.data import SessionData, SessionDay
from mismartera.session.streams import stream_plan
from tests.support.engine import (
    CALENDAR,
    AddAt,
    dumps,
    indicator_plugins,
    plugins,
    run_days,
    synthetic_config,
    with_indicators,
)

iv = Interval.parse


def test_add_symbol_mid_session_equals_a_run_that_had_it_from_the_start():
    day = datetime.date(2014, 11, 28)  # the early close, to make it harder
    when = CALENDAR.local_ns(day, 11, 0)
    indicators = [{"name": "sma", "interval": "5m", "params": {"period": 3}},
                  {"name": "macd", "interval": "1m"}, {"name": "vwap", "interval": "15m"},
                  {"name": "range_mean", "interval": "1m"},
                  {"name": "range_mean_batch", "interval": "30m"},
                  {"name": "session_count", "interval": "5m"}]
    historical = [{"name": "trailing_max", "field": "high", "period": "3d"},
                  {"name": "trailing_avg", "field": "volume", "period": "1w",
                   "granularity": "intraday"}]
    cfg = with_indicators(synthetic_config(historical__trailing_days=2, symbols__list=["SYN0"]),
                          indicators, historical)
    adder = AddAt("SYN1", when)
    _, added = run_days(cfg, indicator_plugins(), observers=[adder])
    assert adder.at is not None and adder.at >= when
    full_cfg = with_indicators(synthetic_config(historical__trailing_days=2), indicators,
                               historical)
    _, full = run_days(full_cfg, indicator_plugins())
    for d in (day, datetime.date(2014, 12, 1)):
        got, want = added[d]["symbols"]["SYN1"], full[d]["symbols"]["SYN1"]
        assert got["historical"]["days"] == want["historical"]["days"] != []
        assert got["bars"]["1m"]["data"], "the added symbol has bars"
        assert got["indicators"]["sma_3_5m"]["ready"] and got["historical"]["indicators"]
        assert dumps(got) == dumps(want)
    assert "SYN1" not in added[datetime.date(2014, 11, 26)]["symbols"]


def test_remove_symbol_is_one_call_and_sticks():
    day = datetime.date(2014, 11, 28)
    when = CALENDAR.local_ns(day, 10, 0)

    class RemoveAt(AddAt):
        def on_bar(self, ctx, symbol, interval, bar):
            if not self.done and ctx.now_ns >= self.when:
                ctx.remove_symbol(self.symbol)
                self.done = True

    coordinator, docs = run_days(synthetic_config(), observers=[RemoveAt("SYN1", when)])
    assert "SYN1" in docs[datetime.date(2014, 11, 26)]["symbols"]
    assert "SYN1" not in docs[day]["symbols"]
    assert coordinator.session_data.symbols() == ["SYN0"]
    assert coordinator.metrics.bars_dropped > 0


@pytest.mark.slow
def test_add_remove_cycles_from_another_thread():
    cfg = synthetic_config(data__count=6, symbols__list=["SYN0"], session__start="2014-11-24",
                           session__end="2014-12-05")

    class Slow:
        def on_bar(self, ctx, symbol, interval, bar):
            pass

    coordinator = SessionCoordinator(cfg, plugins=plugins(), observers=[Slow()])
    cycles = 1000
    errors = []

    def churn():
        try:
            for i in range(cycles):
                sym = f"SYN{1 + i % 5}"
                coordinator.add_symbol(sym)
                coordinator.remove_symbol(sym)
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    worker = threading.Thread(target=churn)
    worker.start()
    coordinator.run()
    worker.join()
    assert errors == []
    m = coordinator.metrics
    assert m.bars_read == m.bars_processed + sum(m.rejected.values()) + m.bars_dropped
    # the symbol that stayed is complete and identical to a run without the churn
    from tests.support.engine import run

    _, quiet = run(cfg)
    doc = snapshot(coordinator.session_data, coordinator.calendar)[0]
    assert dumps(doc["symbols"]["SYN0"]) == dumps(quiet["symbols"]["SYN0"])


def test_bars_accounting_without_churn():
    coordinator, _ = run_days(synthetic_config())
    m = coordinator.metrics
    assert m.bars_read == m.bars_processed + sum(m.rejected.values())
    assert m.rejected["outside_session"] > 0  # extended hours were skipped and counted


def test_unknown_symbol_is_recorded_and_others_run():
    cfg = synthetic_config(symbols__list=["SYN0", "NOPE"])
    _coordinator, docs = run_days(cfg)
    last = docs[max(docs)]
    assert last["symbols"]["SYN0"]["is_loaded"] is True
    nope = last["symbols"]["NOPE"]
    assert nope["is_loaded"] is False
    assert nope["errors"] == ["NOPE: source 'synthetic' has no data for this symbol"]


def test_all_symbols_failing_is_one_error():
    with pytest.raises(DataError, match="no symbol could be loaded: NOPE: source 'synthetic'"):
        run_days(synthetic_config(symbols__list=["NOPE"]))


@pytest.mark.parametrize(
    ("requested", "available", "expected"),
    [
        (["1m", "5m"], ["1m"], "1m"),
        (["1m", "5m"], ["1s", "1m"], "1m"),
        (["5m", "15m", "1d"], ["1m", "5m", "1d"], "5m"),
    ],
)
def test_stream_plan_picks_the_smallest_requested_interval_the_source_has(
    requested, available, expected
):
    plan = stream_plan("X", [iv(i) for i in requested], [iv(i) for i in available], "src")
    assert plan == iv(expected)


@pytest.mark.parametrize(
    ("requested", "available", "message"),
    [
        (["1m"], [], "X: source 'src' has no data for this symbol"),
        (["1m", "5m"], ["1d"],
         "X: no interval that source 'src' has (1d) builds all of 1m, 5m; the valid "
         "intervals are 1d"),
        (["2m", "5m"], ["2m"], "X: no interval that source 'src' has (2m) builds all of 2m, 5m"),
        (["1s", "1m"], ["1m"], "X: no interval that source 'src' has (1m) builds all of 1s, 1m"),
    ],
)
def test_stream_plan_errors_name_symbol_and_interval(requested, available, message):
    with pytest.raises(DataError) as info:
        stream_plan("X", [iv(i) for i in requested], [iv(i) for i in available], "src")
    assert str(info.value).startswith(message)


def test_holidays_are_skipped_and_days_advance():
    coordinator, docs = run_days(synthetic_config())
    assert list(docs) == [datetime.date(2014, 11, 26), datetime.date(2014, 11, 28),
                          datetime.date(2014, 12, 1)]
    assert coordinator.metrics.trading_days == 3


def test_the_session_day_is_one_value_set_at_each_start():
    sd = SessionData()
    assert sd.day is None and (sd.date, sd.open_ns, sd.close_ns) == (None, None, None)
    with pytest.raises(RuntimeError, match="no session has started"):
        _ = sd.today
    coordinator, docs = run_days(synthetic_config())
    sd = coordinator.session_data
    last = datetime.date(2014, 12, 1)
    open_ns, close_ns = CALENDAR.session(last)
    assert sd.today == sd.day == SessionDay(last, open_ns, close_ns)  # the last day stays
    assert (sd.date, sd.open_ns, sd.close_ns) == (last, open_ns, close_ns)
    with pytest.raises(AttributeError):
        sd.open_ns = 0  # read-only: the day is set as one value
    assert docs[last]["session"]["open"] == CALENDAR.format_ts(open_ns)


def test_early_close_truncates_the_last_buckets_and_clock_stops_at_close():
    _coordinator, docs = run_days(synthetic_config(data__gap_rate=0.0))
    doc = docs[datetime.date(2014, 11, 28)]
    assert doc["session"]["close"] == "2014-11-28T13:00:00-05:00"
    bars = doc["symbols"]["SYN0"]["bars"]
    assert bars["1m"]["data"][-1][0] == "2014-11-28T12:59:00-05:00"
    assert len(bars["1m"]["data"]) == 210
    assert bars["1h"]["data"][-1][0] == "2014-11-28T12:30:00-05:00"
    assert len(bars["1d"]["data"]) == 1
    one_day = bars["1d"]["data"][0]
    minute = np.array([r[1:] for r in bars["1m"]["data"]])
    assert one_day[1:] == [minute[0, 0], minute[:, 1].max(), minute[:, 2].min(), minute[-1, 3],
                           minute[:, 4].sum()]


def test_session_hooks_fire_once_per_day_and_symbol(mismartera_plugins):
    from mismartera import hookimpl

    calls = []

    class Listener:
        @hookimpl
        def session_started(self, session_data, session_date):
            calls.append(("started", session_date))

        @hookimpl
        def session_ended(self, session_data, session_date):
            calls.append(("ended", session_date))

        @hookimpl
        def symbol_added(self, session_data, symbol):
            calls.append(("added", symbol))

    mismartera_plugins.register(Listener(), name="listener")
    coordinator = SessionCoordinator(synthetic_config(), plugins=mismartera_plugins.manager)
    coordinator.run()
    d1, d2, d3 = (
        datetime.date(2014, 11, 26), datetime.date(2014, 11, 28), datetime.date(2014, 12, 1)
    )
    assert calls == [("added", "SYN0"), ("added", "SYN1"), ("started", d1), ("ended", d1),
                     ("started", d2), ("ended", d2), ("started", d3), ("ended", d3)]


def test_a_daily_base_is_delivered_at_the_close(shared_data):
    """A base bar whose interval runs past the close (1d here) closes at the close."""
    import csv

    from mismartera.session.run import run_backtest

    days = {}

    def on_day_end(coord, day):
        days[day] = coord.session_data["AAPL"].bars["1d"].bars()

    run_backtest({"session": {"start": "2012-01-03", "end": "2012-01-06"},
                  "data": {"source": "sample"}, "symbols": {"list": ["AAPL"]},
                  "streams": {"intervals": ["1d"]}},
                 plugins=plugins(), on_day_end=on_day_end)
    with (shared_data / "daily" / "AAPL_2012-2014.csv").open() as fh:
        rows = {r["date"]: r for r in csv.DictReader(fh)}
    assert sorted(days) == [datetime.date(2012, 1, d) for d in (3, 4, 5, 6)]
    for day, bars in days.items():
        row = rows[day.isoformat()]
        assert len(bars.ts) == 1 and int(bars.ts[0]) == CALENDAR.session(day)[0]
        assert [bars.open[0], bars.close[0], bars.volume[0]] == [
            float(row["open"]), float(row["close"]), float(row["volume"])]


def test_historical_days_are_indexed_per_interval():
    """`historical.day(interval, d)` is exactly that day's session bars, for every interval."""
    cfg = synthetic_config(historical__trailing_days=2)
    _, docs = run_days(cfg)
    coordinator = SessionCoordinator(cfg, plugins=plugins())
    coordinator.run()
    hist = coordinator.session_data["SYN0"].historical
    assert hist.days == [datetime.date(2014, 11, 26), datetime.date(2014, 11, 28)]
    for d in hist.days:
        for name in ("1m", "5m", "1d"):
            got = hist.day(name, d)
            want = docs[d]["symbols"]["SYN0"]["bars"][name]["data"]
            assert CALENDAR.format_many(got.ts) == [row[0] for row in want]
            assert got.close.tolist() == [row[4] for row in want]


def test_history_comes_with_the_first_prefetch_window_in_one_source_call():
    """The first day's trailing history and its prefetch window are one source call per
    symbol, and the history days hold exactly what a run over those days delivered."""
    cfg = synthetic_config(historical__trailing_days=2, session__prefetch_days=5)
    coordinator = SessionCoordinator(cfg, plugins=plugins())
    source, calls = coordinator.loader.source, []

    class Counting:
        def __getattr__(self, name):
            return getattr(source, name)

        def bars(self, symbol, interval, start, end):
            calls.append(symbol)
            return source.bars(symbol, interval, start, end)

    coordinator.loader.source = Counting()
    first_day = {}

    def on_day_end(coord, day):
        if not first_day:
            hist = coord.session_data["SYN0"].historical
            first_day.update({d: {name: hist.day(name, d) for name in ("1m", "5m", "1d")}
                              for d in hist.days}, calls=list(calls))

    coordinator.run(on_day_end=on_day_end)
    assert sorted(first_day.pop("calls")) == ["SYN0", "SYN1"]
    assert list(first_day) == [datetime.date(2014, 11, 24), datetime.date(2014, 11, 25)]
    earlier = synthetic_config(session__start="2014-11-24", session__end="2014-11-25")
    _, docs = run_days(earlier)
    for d, held in first_day.items():
        for name, bars in held.items():
            want = docs[d]["symbols"]["SYN0"]["bars"][name]["data"]
            assert len(bars.ts) == len(want) > 0
            assert CALENDAR.format_many(bars.ts) == [row[0] for row in want]
            assert bars.close.tolist() == [row[4] for row in want]
