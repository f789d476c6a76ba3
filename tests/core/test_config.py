"""SessionConfig: the contract's session file, CLI overrides, indicator specs and export
keys."""

from __future__ import annotations

import json
import string
import subprocess
import sys
from datetime import date, time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.config import (
    HistoricalIndicatorSpec,
    IndicatorSpec,
    ScannerSpec,
    SessionConfig,
)
from mismartera.errors import ConfigError
from mismartera.intervals import Interval, Period
from tests.support.config import INTERVALS, write

CONTRACT_FILE = """\
[session]
exchange = "XNYS"
start = 2024-01-02
end = 2024-01-10
speed = 0
mode = "backtest"                # or "live"

[data]
source = "store"                 # a data-source plugin's name
store = "~/.mismartera/bars.duckdb"

[symbols]
list = ["AAPL", "MSFT"]

[streams]
intervals = ["1m", "5m", "15m"]

[historical]
trailing_days = 5

[[indicators]]                   # session indicators
name = "sma"
interval = "5m"
params = { period = 20 }

[[historical_indicators]]
name = "trailing_avg"            # trailing_avg | trailing_max | trailing_min
field = "volume"
period = "10d"                   # d trading days, w weeks, m months, y years
granularity = "daily"            # daily | intraday (same time of day across days)

[export]
path = "out/session.json"
"""


# ---- the contract's file ---------------------------------------------------------------------


def test_contract_session_file_parses_to_expected_values(in_tmp, monkeypatch):
    home = in_tmp / "quant"
    monkeypatch.setenv("HOME", str(home))
    config = SessionConfig.from_toml(write(CONTRACT_FILE)).validate()
    assert config.exchange == "XNYS"
    assert config.start == date(2024, 1, 2)
    assert config.end == date(2024, 1, 10)
    assert config.speed == 0.0 and isinstance(config.speed, float)
    assert config.mode == "backtest"
    assert config.source == "store"
    assert config.source_options == {"store": str(home / ".mismartera" / "bars.duckdb")}
    assert config.symbols == ("AAPL", "MSFT")
    assert [iv.name for iv in config.intervals] == ["1m", "5m", "15m"]
    assert config.trailing_days == 5
    assert config.prefetch_days == 1
    assert config.indicators == (IndicatorSpec("sma", Interval.parse("5m"), {"period": 20}),)
    assert config.indicators[0].key == "sma_20_5m"
    assert config.historical_indicators == (
        HistoricalIndicatorSpec("trailing_avg", "volume", Period(10, "d"), "daily"),
    )
    assert config.historical_indicators[0].key == "trailing_avg_volume_10d_daily"
    assert config.scanners == ()
    assert config.export_path == Path("out/session.json")
    assert config.export_dir is None
    assert config.export_timings is False
    assert config.quality_interval_s == 60.0
    assert config.origin == "session.toml"


def test_to_dict_is_json_and_reads_back(in_tmp):
    config = SessionConfig.from_toml(write(CONTRACT_FILE))
    data = json.loads(json.dumps(config.to_dict()))
    assert data["session"]["start"] == "2024-01-02"
    assert data["streams"]["intervals"] == ["1m", "5m", "15m"]
    assert data["indicators"] == [{"name": "sma", "interval": "5m", "params": {"period": 20}}]
    assert data["historical_indicators"][0]["period"] == "10d"
    assert SessionConfig.from_dict(data, origin="session.toml") == config


def test_additions_parse(in_tmp):
    config = SessionConfig.from_toml(write("""\
        [session]
        start = "2024-01-02"
        end = "2024-01-03"
        speed = 2.5
        mode = "live"
        prefetch_days = 3
        [data]
        source = "synthetic"
        seed = 7
        count = 100
        path = "~/bars.csv"
        [symbols]
        list = ["aapl", "MSFT", "AAPL", " brk.b "]
        [streams]
        intervals = ["15m", "1m", "5m", "1m"]
        [[indicators]]
        name = "macd"
        interval = "5m"
        params = { fast = 12, slow = 26, signal = 9 }
        [[indicators]]
        name = "rsi"
        interval = "1m"
        [[historical_indicators]]
        name = "trailing_max"
        field = "high"
        period = "52w"
        [[scanners]]
        name = "gappers"
        params = { min_gap = 0.02 }
        every = "5m"
        at = ["09:35", "12:00"]
        universe = ["spy", "qqq"]
        [export]
        dir = "out/days"
        timings = true
        [quality]
        interval_s = 30
    """)).validate()
    assert (config.start, config.end) == (date(2024, 1, 2), date(2024, 1, 3))
    assert config.speed == 2.5 and config.mode == "live" and config.prefetch_days == 3
    assert config.source == "synthetic"
    assert config.source_options == {"seed": 7, "count": 100,
                                     "path": str(Path.home() / "bars.csv")}
    assert config.symbols == ("AAPL", "MSFT", "BRK.B")
    assert [iv.name for iv in config.intervals] == ["1m", "5m", "15m"]
    assert [s.key for s in config.indicators] == ["macd_12_26_9_5m", "rsi_1m"]
    assert config.historical_indicators[0].granularity == "daily"
    assert config.historical_indicators[0].key == "trailing_max_high_52w_daily"
    assert config.scanners == (ScannerSpec("gappers", {"min_gap": 0.02}, Interval.parse("5m"),
                                           (time(9, 35), time(12, 0)), ("SPY", "QQQ")),)
    assert config.export_dir == Path("out/days") and config.export_timings is True
    assert config.quality_interval_s == 30.0


def test_live_mode_needs_no_dates():
    config = SessionConfig(mode="live", symbols=("AAPL",)).validate()
    assert config.start is None


def test_python_construction_normalises():
    config = SessionConfig(symbols=["aapl", "msft", "aapl"], start="2024-01-02",
                           end=date(2024, 1, 3), intervals=["5m", "1m"], speed=1,
                           export_path="~/x.json").validate()
    assert config.symbols == ("AAPL", "MSFT")
    assert config.start == date(2024, 1, 2)
    assert config.intervals == (Interval.parse("1m"), Interval.parse("5m"))
    assert config.speed == 1.0 and isinstance(config.speed, float)
    assert config.export_path == Path.home() / "x.json"


def test_import_stays_light():
    code = ("import sys, mismartera.config; "
            "print(sorted({'numpy', 'pandas', 'duckdb', 'exchange_calendars'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---- command-line overrides --------------------------------------------------------------------


def test_flags_override_the_file(in_tmp):
    config = SessionConfig.from_toml(write(CONTRACT_FILE)).with_overrides(
        symbols="tsla, nvda,TSLA", start="2024-02-01", end="2024-02-05", exchange="XNAS",
        streams="15m,1m", store="~/other.duckdb", speed="2", trailing_days="3",
        indicators=["rsi@1m", "bbands:period=20,nbdev=2.0@15m"], export="x.json",
        export_dir="days", timings=True, mode=None, source=None,
    ).validate()
    assert config.symbols == ("TSLA", "NVDA")
    assert (config.start, config.end) == (date(2024, 2, 1), date(2024, 2, 5))
    assert config.exchange == "XNAS"
    assert [iv.name for iv in config.intervals] == ["1m", "15m"]
    assert config.source == "store"
    assert config.source_options == {"store": str(Path.home() / "other.duckdb")}
    assert config.speed == 2.0 and config.trailing_days == 3
    assert [s.key for s in config.indicators] == ["rsi_1m", "bbands_20_2.0_15m"]
    assert config.historical_indicators[0].key == "trailing_avg_volume_10d_daily"
    assert config.export_path == Path("x.json") and config.export_dir == Path("days")
    assert config.export_timings is True
    assert config.mode == "backtest"
    assert config.origin == "session.toml"


def test_flags_not_given_keep_the_file(in_tmp):
    config = SessionConfig.from_toml(write(CONTRACT_FILE))
    same = config.with_overrides(symbols=None, start=None, indicators=[], timings=None)
    assert same == config


def test_other_source_drops_the_file_options(in_tmp):
    config = SessionConfig.from_toml(write(CONTRACT_FILE))
    assert config.with_overrides(source="synthetic").source_options == {}
    assert config.with_overrides(source="store").source_options == config.source_options
    csv = config.with_overrides(source="csv", store="/data/bars.duckdb")
    assert (csv.source, csv.source_options) == ("csv", {"store": "/data/bars.duckdb"})


def test_flags_alone_make_a_config():
    config = SessionConfig().with_overrides(symbols="AAPL", start="2024-01-02",
                                            end="2024-01-03").validate()
    assert config.symbols == ("AAPL",) and config.intervals == (Interval.parse("1m"),)


FLAG_ERRORS = [
    ({"start": "2024-13-01"}, "--start: expected a date like 2024-01-02, got '2024-13-01'"),
    ({"end": "tomorrow"}, "--end: expected a date like 2024-01-02, got 'tomorrow'"),
    ({"symbols": "AAPL,,MSFT"},
     "--symbols: expected a comma-separated list like AAPL,MSFT, got 'AAPL,,MSFT'"),
    ({"symbols": "AAPL,MS/FT"},
     "--symbols: expected a symbol (1 to 32 characters of A-Z, 0-9, '.', '-', '_', '^' or '=', "
     "starting with a letter, a digit or '^', such as AAPL, BRK.B or ^GSPC), got 'MS/FT'"),
    ({"streams": "1m,7m"}, f"--streams: unknown interval '7m': expected one of {INTERVALS}"),
    ({"speed": "fast"}, "--speed: expected a number >= 0, got 'fast'"),
    ({"speed": "-1"}, "--speed: expected a number >= 0, got '-1'"),
    ({"speed": "inf"}, "--speed: expected a number >= 0, got 'inf'"),
    ({"trailing_days": "-2"}, "--trailing-days: expected a whole number >= 0, got '-2'"),
    ({"mode": "paper"}, "--mode: expected 'backtest' or 'live', got 'paper'"),
    ({"indicators": ["sma:period20@5m"]},
     "--indicator: bad indicator spec 'sma:period20@5m': parameter 'period20' is not "
     "PARAM=VALUE; expected NAME[:PARAM=VALUE,...]@INTERVAL, e.g. sma:period=20@5m or rsi@1m"),
    ({"indicators": ["sma"]},
     "--indicator: bad indicator spec 'sma': expected NAME[:PARAM=VALUE,...]@INTERVAL, "
     "e.g. sma:period=20@5m or rsi@1m"),
    ({"indicators": ["sma@7m"]},
     f"--indicator: bad indicator spec 'sma@7m': unknown interval '7m': "
     f"expected one of {INTERVALS}"),
]


@pytest.mark.parametrize(("flags", "expected"), FLAG_ERRORS, ids=[e[1][:50] for e in FLAG_ERRORS])
def test_flag_errors(in_tmp, flags, expected):
    config = SessionConfig.from_toml(write(CONTRACT_FILE))
    with pytest.raises(ConfigError) as info:
        config.with_overrides(**flags)
    assert str(info.value) == expected


def test_cross_field_errors_name_the_flag(in_tmp):
    config = SessionConfig.from_toml(write(CONTRACT_FILE))
    with pytest.raises(ConfigError) as info:
        config.with_overrides(end="2023-12-29").validate()
    assert str(info.value) == ("--end: expected a date on or after the start 2024-01-02, "
                               "got 2023-12-29")
    with pytest.raises(ConfigError) as info:
        config.with_overrides(indicators=["ema:period=9@30m"]).validate()
    assert str(info.value) == ("--indicator ema:period=9@30m: indicator ema_9_30m runs on 30m, "
                               "which is not one of the streams (1m, 5m, 15m); add it to "
                               "session.toml: [streams] intervals")
    with pytest.raises(ConfigError) as info:
        config.with_overrides(streams="1m").validate()
    assert str(info.value) == ("session.toml: [[indicators]][0] interval: indicator sma_20_5m "
                               "runs on 5m, which is not one of the streams (1m); add it to "
                               "--streams")


def test_unknown_override_is_a_programming_error():
    with pytest.raises(TypeError, match="symbol"):
        SessionConfig().with_overrides(symbol="AAPL")


# ---- indicator specs and keys ---------------------------------------------------------------


@pytest.mark.parametrize(("spec", "name", "interval", "params", "key"), [
    ("sma:period=20@5m", "sma", "5m", {"period": 20}, "sma_20_5m"),
    ("rsi@1m", "rsi", "1m", {}, "rsi_1m"),
    ("macd:fast=12,slow=26,signal=9@5m", "macd", "5m", {"fast": 12, "slow": 26, "signal": 9},
     "macd_12_26_9_5m"),
    ("bbands:period=20,nbdev=2.5@15m", "bbands", "15m", {"period": 20, "nbdev": 2.5},
     "bbands_20_2.5_15m"),
    ("vwap:reset=True@1m", "vwap", "1m", {"reset": True}, "vwap_true_1m"),
    ("x:src=close,k=-3,f=1e-3@1h", "x", "1h", {"src": "close", "k": -3, "f": 0.001},
     "x_close_-3_0.001_1h"),
    (" ema : period = 9 @ 30m ", "ema", "30m", {"period": 9}, "ema_9_30m"),
])
def test_indicator_spec_parse(spec, name, interval, params, key):
    parsed = IndicatorSpec.parse(spec)
    assert parsed == IndicatorSpec(name, Interval.parse(interval), params)
    assert [type(v) for v in parsed.params.values()] == [type(v) for v in params.values()]
    assert parsed.key == key
    assert IndicatorSpec.parse(parsed.to_spec()) == parsed


@pytest.mark.parametrize("spec", [
    "", "@5m", "sma@", "sma:@5m", "sma:period=@5m", "sma:=20@5m", "sma:period=20,period=3@5m",
    "sma:period=2=3@5m", "9sma@5m", "sma:period=20", "sma:period=20@5m@1m", "s-ma@5m",
])
def test_indicator_spec_bad_syntax(spec):
    with pytest.raises(ConfigError, match=r"^bad indicator spec ") as info:
        IndicatorSpec.parse(spec)
    assert repr(spec) in str(info.value)


def test_historical_key_and_validation():
    spec = HistoricalIndicatorSpec("trailing_avg", "volume", "10d")
    assert spec.period == Period(10, "d") and spec.granularity == "daily"
    assert spec.key == "trailing_avg_volume_10d_daily"
    assert HistoricalIndicatorSpec("trailing_max", "high", "52w", "intraday").key == (
        "trailing_max_high_52w_intraday")
    with pytest.raises(ConfigError, match="historical indicator name: expected 'trailing_avg'"):
        HistoricalIndicatorSpec("trailing_sum", "volume", "10d")


def test_specs_are_hashable():
    a = IndicatorSpec.parse("sma:period=20@5m")
    assert len({a, IndicatorSpec("sma", "5m", {"period": 20})}) == 1
    assert len({HistoricalIndicatorSpec("trailing_avg", "volume", "10d")} | {
        HistoricalIndicatorSpec("trailing_avg", "volume", Period(10, "d"))}) == 1


_identifiers = st.builds(
    str.__add__,
    st.sampled_from(string.ascii_lowercase + "_"),
    st.text(string.ascii_lowercase + string.digits + "_", max_size=7),
)
# no digits, so never a number; true/false are booleans
_words = st.text(string.ascii_letters + "_-.", min_size=1, max_size=8).filter(
    lambda s: s.lower() not in ("true", "false")
)
# (text on the command line, the value it means), each derived independently of the parser
_values = st.one_of(
    st.integers(-10**12, 10**12).map(lambda i: (str(i), i)),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: (repr(f), f)),
    st.sampled_from([("true", True), ("false", False), ("True", True), ("FALSE", False)]),
    _words.map(lambda w: (w, w)),
)


@given(
    name=_identifiers,
    params=st.dictionaries(_identifiers, _values, max_size=4),
    interval=st.sampled_from(Interval.SUPPORTED),
)
def test_indicator_spec_parse_property(name, params, interval):
    text = name + (":" + ",".join(f"{k}={t}" for k, (t, _) in params.items()) if params else "")
    text += "@" + interval
    expected = {k: v for k, (_, v) in params.items()}
    spec = IndicatorSpec.parse(text)
    assert spec.name == name and spec.interval.name == interval
    assert list(spec.params) == list(expected)
    for key, value in expected.items():
        assert spec.params[key] == value and type(spec.params[key]) is type(value)
    assert spec.key == "_".join([name, *(t.lower() if isinstance(v, bool) else t
                                         for t, v in params.values()), interval])
    assert IndicatorSpec.parse(spec.to_spec()) == spec


def test_where_names_the_file_key_or_the_flag(in_tmp):
    config = SessionConfig.from_toml(write(CONTRACT_FILE)).with_overrides(source="csv")
    assert config.where("start") == "session.toml: [session] start"
    assert config.where("source") == "--source"
    assert config.where("quality_interval_s") == "session.toml: [quality] interval_s"
    assert SessionConfig().where("symbols") == "[symbols] list"


def test_midnight_datetime_flags_are_dates():
    from datetime import datetime

    config = SessionConfig().with_overrides(start=datetime(2024, 1, 2), end=date(2024, 1, 3))
    assert (config.start, config.end) == (date(2024, 1, 2), date(2024, 1, 3))
    with pytest.raises(ConfigError, match=r"^--start: expected a date like 2024-01-02, got "
                                          r"2024-01-02T09:30:00$"):
        SessionConfig().with_overrides(start=datetime(2024, 1, 2, 9, 30))
