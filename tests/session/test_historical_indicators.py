"""Historical indicators (trailing_avg / trailing_max / trailing_min, daily and intraday)
against a pandas computation on the real files, read through the `csv` source."""

from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mismartera.config import SessionConfig
from mismartera.export import snapshot
from mismartera.session.coordinator import SessionCoordinator
from tests.support.engine import indicator_plugins

NY = "America/New_York"
EARLY_CLOSE = {datetime.date(2014, 11, 28): 13 * 60}  # minutes after midnight (README)
STAT = {"trailing_avg": "mean", "trailing_max": "max", "trailing_min": "min"}
MINUTE_SPECS = [
    {"name": "trailing_avg", "field": "volume", "period": "5d"},
    {"name": "trailing_max", "field": "high", "period": "1w"},
    {"name": "trailing_min", "field": "low", "period": "3d"},
    {"name": "trailing_avg", "field": "close", "period": "2w"},
    {"name": "trailing_avg", "field": "volume", "period": "5d", "granularity": "intraday"},
    {"name": "trailing_max", "field": "high", "period": "5d", "granularity": "intraday"},
    {"name": "trailing_min", "field": "open", "period": "1w", "granularity": "intraday"},
]
RUN_DAYS = [datetime.date(2014, 12, 1), datetime.date(2014, 12, 2), datetime.date(2014, 12, 3)]


def key(spec: dict) -> str:
    return f"{spec['name']}_{spec['field']}_{spec['period']}_{spec.get('granularity', 'daily')}"


def regular_session(path: Path) -> pd.DataFrame:
    """The file's bars inside the regular session, with their date and minute offset."""
    frame = pd.read_csv(path)
    stamps = pd.to_datetime(frame.pop("timestamp"), utc=True).dt.tz_convert(NY)
    frame["date"] = stamps.dt.date
    clock = stamps.dt.hour * 60 + stamps.dt.minute
    close = frame["date"].map(lambda d: EARLY_CLOSE.get(d, 16 * 60))
    frame["offset"] = clock - (9 * 60 + 30)
    frame["ts"] = stamps.astype("int64")
    return frame[(frame["offset"] >= 0) & (clock < close)]


def window_dates(dates: list[datetime.date], day: datetime.date, period: str
                 ) -> list[datetime.date]:
    """The file's dates in the window before `day` (the file has every trading day)."""
    count, unit = int(period[:-1]), period[-1]
    before = [d for d in dates if d < day]
    if unit == "d":
        return before[-count:]
    offset = {"w": pd.DateOffset(weeks=count), "m": pd.DateOffset(months=count),
              "y": pd.DateOffset(years=count)}[unit]
    start = (pd.Timestamp(day) - offset).date()
    return [d for d in before if d >= start]


class Watch:
    """Copies the historical indicators at every session start and after every 1m bar."""

    def __init__(self) -> None:
        self.at_open: dict[datetime.date, dict] = {}
        self.after_bar: dict[datetime.date, list[tuple[int, dict]]] = {}

    def on_session_start(self, ctx) -> None:
        sd = ctx.session_data
        self.at_open[sd.date] = dict(sd["SPY"].historical.indicators)

    def on_bar(self, ctx, symbol, interval, bar) -> None:
        if interval == "1m":
            sd = ctx.session_data
            self.after_bar.setdefault(sd.date, []).append(
                (bar.ts, dict(sd[symbol].historical.indicators)))


@pytest.fixture(scope="module")
def minute_run(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("csv")
    shutil.copy(shared_data / "minute" / "SPY_2014-11.csv", folder / "SPY_2014-11.csv")
    cfg = SessionConfig.from_dict({
        "session": {"start": RUN_DAYS[0].isoformat(), "end": RUN_DAYS[-1].isoformat()},
        "data": {"source": "csv", "path": str(folder)}, "symbols": {"list": ["SPY"]},
        "streams": {"intervals": ["1m", "5m"]}, "historical_indicators": MINUTE_SPECS,
        "indicators": [{"name": "sma", "interval": "5m"}],
    })
    watch = Watch()
    coordinator = SessionCoordinator(cfg, plugins=indicator_plugins(), observers=[watch])
    coordinator.run()
    return coordinator, watch, regular_session(shared_data / "minute" / "SPY_2014-11.csv")


@pytest.mark.parametrize("spec", [s for s in MINUTE_SPECS if "granularity" not in s], ids=key)
def test_daily_values_equal_pandas(minute_run, spec):
    _, watch, bars = minute_run
    per_day = bars.groupby("date").agg(open=("open", "first"), high=("high", "max"),
                                       low=("low", "min"), close=("close", "last"),
                                       volume=("volume", "sum"))
    dates = list(per_day.index)
    for day in RUN_DAYS:
        entry = watch.at_open[day][key(spec)]
        window = window_dates(dates, day, spec["period"])
        values = per_day.loc[window, spec["field"]]
        assert entry["days"] == len(window) > 0
        assert entry["value"] == pytest.approx(getattr(values, STAT[spec["name"]])(), rel=1e-12)
        assert entry["last_day"] == window[-1].isoformat()
        assert entry.dates == window
        np.testing.assert_allclose(entry.daily, values.to_numpy(), rtol=1e-12)
        assert entry["granularity"] == "daily" and entry["period"] == spec["period"]


@pytest.mark.parametrize("spec", [s for s in MINUTE_SPECS if "granularity" in s], ids=key)
def test_intraday_profiles_equal_pandas_and_follow_the_session(minute_run, spec):
    coordinator, watch, bars = minute_run
    dates = sorted(set(bars["date"]))
    for day in RUN_DAYS:
        window = window_dates(dates, day, spec["period"])
        rows = bars[bars["date"].isin(window)]
        want = rows.groupby("offset")[spec["field"]].agg(STAT[spec["name"]])
        counts = rows.groupby("offset")[spec["field"]].count()
        at_open = watch.at_open[day][key(spec)]
        assert at_open["value"] is None and at_open["bucket"] is None
        assert at_open["profile_length"] == 390 and at_open["days"] == len(window)
        profile = pd.Series(at_open.profile).dropna()
        assert list(profile.index) == list(want.index)
        np.testing.assert_allclose(profile.to_numpy(), want.to_numpy(), rtol=1e-12)
        np.testing.assert_array_equal(at_open.counts[want.index], counts.to_numpy())
        if any(d in EARLY_CLOSE for d in window):  # buckets after 13:00 miss that day
            assert at_open.counts[389] == len(window) - 1
        # during the session: the value of the bucket of the last closed base bar
        seen = watch.after_bar[day]
        assert len(seen) == 390
        for ts, entries in seen:
            entry = entries[key(spec)]
            offset = (ts - coordinator.calendar.local_ns(day, 9, 30)) // 60_000_000_000
            assert entry["value"] == pytest.approx(want.loc[offset], rel=1e-12)
            assert entry["bucket"] == coordinator.calendar.format_ts(ts)
            assert entry.at(ts) == entry["value"]


def test_intraday_values_follow_with_no_session_indicator(shared_data, tmp_path):
    shutil.copy(shared_data / "minute" / "SPY_2014-11.csv", tmp_path / "SPY_2014-11.csv")
    spec = MINUTE_SPECS[4]
    cfg = SessionConfig.from_dict({
        "session": {"start": "2014-12-01", "end": "2014-12-01"},
        "data": {"source": "csv", "path": str(tmp_path)}, "symbols": {"list": ["SPY"]},
        "historical_indicators": [spec],
    })
    watch = Watch()
    SessionCoordinator(cfg, plugins=indicator_plugins(), observers=[watch]).run()
    values = [entries[key(spec)]["value"] for _, entries in watch.after_bar[RUN_DAYS[0]]]
    assert len(values) == 390 and None not in values


def test_export_holds_the_historical_indicators(minute_run):
    coordinator, _, _ = minute_run
    doc = json.loads(json.dumps(snapshot(coordinator.session_data, coordinator.calendar)[0],
                                allow_nan=False))
    exported = doc["symbols"]["SPY"]["historical"]["indicators"]
    assert set(exported) == {key(s) for s in MINUTE_SPECS}
    daily = exported["trailing_avg_volume_5d_daily"]
    assert set(daily) == {"name", "field", "period", "granularity", "value", "days",
                          "first_day", "last_day"}
    intraday = exported["trailing_avg_volume_5d_intraday"]
    assert intraday["bucket"] == "2014-12-03T15:59:00-05:00"
    assert intraday["profile_length"] == 390 and intraday["value"] is not None


def test_history_loaded_covers_the_longest_period(minute_run):
    coordinator, _, _ = minute_run
    assert coordinator.indicators.history_days_needed() == 10  # 2w: at most 10 trading days
    hist = coordinator.session_data["SPY"].historical
    assert len(hist.days) == 10 and hist.days[-1] == datetime.date(2014, 12, 2)


def test_52_weeks_3_months_and_a_year_of_daily_bars(shared_data, tmp_path):
    shutil.copy(shared_data / "daily" / "AAPL_2012-2014.csv", tmp_path / "AAPL_2012-2014.csv")
    specs = [{"name": "trailing_max", "field": "high", "period": "52w"},
             {"name": "trailing_min", "field": "low", "period": "3m"},
             {"name": "trailing_avg", "field": "volume", "period": "1y"},
             {"name": "trailing_avg", "field": "close", "period": "10d"}]
    day = datetime.date(2014, 6, 2)
    cfg = SessionConfig.from_dict({
        "session": {"start": day.isoformat(), "end": day.isoformat()},
        "data": {"source": "csv", "path": str(tmp_path)}, "symbols": {"list": ["AAPL"]},
        "streams": {"intervals": ["1d"]}, "historical_indicators": specs,
    })
    coordinator = SessionCoordinator(cfg, plugins=indicator_plugins())
    coordinator.run()
    frame = pd.read_csv(tmp_path / "AAPL_2012-2014.csv")
    frame.index = pd.to_datetime(frame["date"]).dt.date
    dates = list(frame.index)
    entries = coordinator.session_data["AAPL"].historical.indicators
    for spec in specs:
        window = window_dates(dates, day, spec["period"])
        values = frame.loc[window, spec["field"]]
        entry = entries[key(spec)]
        assert entry["days"] == len(values) > 5
        assert entry["value"] == pytest.approx(getattr(values, STAT[spec["name"]])(), rel=1e-12)
    assert entries["trailing_min_low_3m_daily"]["first_day"] == "2014-03-03"
    assert entries["trailing_max_high_52w_daily"]["first_day"] == "2013-06-03"


def test_a_period_before_the_calendar_is_a_config_error():
    from mismartera.errors import ConfigError

    cfg = SessionConfig.from_dict({
        "session": {"start": "2011-01-03", "end": "2011-01-03"}, "data": {"source": "sample"},
        "symbols": {"list": ["SPY"]},
        "historical_indicators": [{"name": "trailing_avg", "field": "close", "period": "100y"}],
    })
    with pytest.raises(ConfigError, match=r"\[\[historical_indicators\]\]\[0\]: .*100y"):
        SessionCoordinator(cfg, plugins=indicator_plugins()).run()
