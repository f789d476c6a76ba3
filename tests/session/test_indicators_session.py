"""Indicators in a session: seeded from history, updated as their interval closes bars,
checked against TA-Lib on the real sample data; isolation of a raising indicator; errors."""

from __future__ import annotations

import datetime
import json
import math

import numpy as np
import pandas as pd
import pytest
import talib

from mismartera.config import IndicatorSpec, SessionConfig
from mismartera.errors import ConfigError, PluginError
from mismartera.ext import kernels
from mismartera.intervals import Interval
from mismartera.plugin_manager import PluginManager
from mismartera.plugins.sources.sample import SampleSource
from mismartera.session.coordinator import SessionCoordinator
from tests.support.engine import (
    dumps,
    indicator_plugins,
    run_with,
    synthetic_config,
    with_builtin_indicators,
    with_indicators,
)
from tests.support.indicators import assert_close, talib_reference, vwap_reference

DAYS = [datetime.date(2011, 1, 3), datetime.date(2011, 1, 4), datetime.date(2011, 1, 5)]
BUILTINS = ["sma", "ema", "rsi", "atr", "vwap", "bbands", "macd", "stddev", "highest",
            "lowest", "volume_sma"]
DEFAULTS = {"sma": {"period": 20}, "ema": {"period": 20}, "rsi": {"period": 14},
            "atr": {"period": 14}, "stddev": {"period": 20}, "highest": {"period": 20},
            "lowest": {"period": 20}, "volume_sma": {"period": 20},
            "bbands": {"period": 20, "nbdev_up": 2.0, "nbdev_dn": 2.0},
            "macd": {"fast": 12, "slow": 26, "signal": 9}, "vwap": {}}


def spy_sessions(rule: str) -> dict[datetime.date, pd.DataFrame]:
    """The bundled sample's SPY (January 2011) regular-session bars per day, resampled with
    pandas from 09:30."""
    bars = SampleSource().bars("SPY", Interval.parse("1m"), 0, 2**62)
    frame = pd.DataFrame({c: getattr(bars, c) for c in ("open", "high", "low", "close",
                                                          "volume")})
    frame.index = pd.to_datetime(bars.ts, utc=True).tz_convert("America/New_York")
    clock = frame.index.hour * 60 + frame.index.minute
    frame = frame[(clock >= 570) & (clock < 960)]
    out = {}
    for day, rows in frame.groupby(frame.index.date):
        if rule != "1min":
            rows = rows.resample(rule, origin=rows.index[0].normalize() + pd.Timedelta("9h30min"),
                                 label="left", closed="left").agg(
                {"open": "first", "high": "max", "low": "min", "close": "last",
                 "volume": "sum"}).dropna()
        out[day] = rows
    return out


def as_bars(rows: pd.DataFrame):
    from mismartera.bars import Bars

    ts = rows.index.tz_convert("UTC").as_unit("ns").asi8
    return Bars.from_arrays(ts, *(rows[c].to_numpy(float) for c in
                                  ("open", "high", "low", "close", "volume")))


class AtOpen:
    """Records every indicator's (ready, value) when each session starts."""

    def __init__(self) -> None:
        self.seen: dict[datetime.date, dict[str, tuple[bool, float]]] = {}

    def on_session_start(self, ctx) -> None:
        sd = ctx.session_data
        self.seen[sd.date] = {k: (s.ready, s.value[0]) for k, s in sd["SPY"].indicators.items()}


def sample_config(**extra) -> SessionConfig:
    data = {"session": {"start": "2011-01-03", "end": "2011-01-05"}, "data": {"source": "sample"},
            "symbols": {"list": ["SPY"]}, "streams": {"intervals": ["1m", "5m", "15m"]}}
    data.update(extra)
    return SessionConfig.from_dict(data, origin="test")


@pytest.fixture(scope="module")
def sample_run():
    specs = [{"name": n, "interval": iv} for n in BUILTINS for iv in ("1m", "5m")]
    histories: dict[datetime.date, dict] = {}
    opens = AtOpen()

    def on_day_end(coord, day):
        states = coord.session_data["SPY"].indicators
        histories[day] = {k: {o: s.history(o) for o in s.outputs} for k, s in states.items()}
        histories[day]["_ts"] = {k: s.history_ts() for k, s in states.items()}

    coordinator = SessionCoordinator(sample_config(indicators=specs), plugins=indicator_plugins(),
                                     observers=[opens])
    coordinator.run(on_day_end=on_day_end)
    return coordinator, histories, opens


WARMUP = {"sma": 20, "ema": 20, "rsi": 15, "atr": 15, "stddev": 20, "highest": 20,
          "lowest": 20, "volume_sma": 20, "bbands": 20, "macd": 34}


@pytest.mark.parametrize("interval,rule", [("1m", "1min"), ("5m", "5min")])
@pytest.mark.parametrize("name", BUILTINS)
def test_session_values_equal_talib_over_every_session_so_far(sample_run, name, interval,
                                                             rule):
    """An indicator carries its state from one session to the next: the values of each day
    equal TA-Lib over every session bar of the run up to that day (the data starts with the
    run); vwap restarts daily."""
    _, histories, _ = sample_run
    days = spy_sessions(rule)
    key = f"{name}_{interval}"
    for day in DAYS:
        today = as_bars(days[day])
        if name == "vwap":
            want = vwap_reference(today, np.zeros(len(today.ts), np.int64))
        else:
            so_far = [as_bars(days[d]) for d in days if d <= day]
            series = type(today)(*(np.concatenate(cols) for cols in zip(*so_far, strict=True)))
            want = talib_reference(name, series, **DEFAULTS[name])
        n = len(today.ts)
        want = {k: v[-n:] for k, v in want.items()} if isinstance(want, dict) else want[-n:]
        got = histories[day][key]
        got = got if isinstance(want, dict) else got[next(iter(got))]
        np.testing.assert_array_equal(histories[day]["_ts"][key], today.ts)
        assert_close(got, want, float(today.close.max() if name != "volume_sma" else
                                      today.volume.max()))


def test_ready_at_the_open_when_history_allows(sample_run):
    _, _, opens = sample_run
    first, second = opens.seen[DAYS[0]], opens.seen[DAYS[1]]
    assert not any(ready for ready, _ in first.values())  # 2010-12-31 is not in the data
    for key, (ready, value) in second.items():
        assert ready == (not key.startswith("vwap")), key
        assert math.isnan(value) != ready, key
    prev = as_bars(spy_sessions("5min")[DAYS[0]])
    assert second["sma_5m"][1] == pytest.approx(talib.SMA(prev.close, 20)[-1], rel=1e-12)
    assert second["macd_5m"][1] == pytest.approx(talib.MACD(prev.close)[0][-1], rel=1e-9)


def test_export_shape_follows_the_contract(sample_run):
    coordinator, _, _ = sample_run
    from mismartera.export import snapshot

    doc = json.loads(json.dumps(snapshot(coordinator.session_data, coordinator.calendar)[0],
                                allow_nan=False))
    indicators = doc["symbols"]["SPY"]["indicators"]
    assert indicators["sma_5m"] == {"name": "sma", "interval": "5m",
                                    "params": {"period": 20, "field": "close"},
                                    "value": indicators["sma_5m"]["value"], "ready": True}
    macd = indicators["macd_1m"]
    assert set(macd["values"]) == {"macd", "signal", "hist"}
    assert macd["value"] == macd["values"]["macd"]
    assert set(indicators) == {f"{n}_{iv}" for n in BUILTINS for iv in ("1m", "5m")}


class IndicatorWatcher:
    """At every closed 1m bar: how many 5m and 15m indicator values exist, and the value."""

    intervals = ("1m",)

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, int, float]] = []

    def on_bar(self, ctx, symbol, interval, bar) -> None:
        states = ctx.session_data[symbol].indicators
        five, fifteen = states["sma_3_5m"], states["sma_2_15m"]
        self.rows.append((bar.ts, len(five.history()), len(fifteen.history()), five.value[0]))


def test_derived_interval_indicators_update_only_when_their_interval_closes():
    cfg = sample_config(indicators=[
        {"name": "sma", "interval": "5m", "params": {"period": 3}},
        {"name": "sma", "interval": "15m", "params": {"period": 2}},
    ])
    watcher = IndicatorWatcher()
    coordinator, _ = run_with(indicator_plugins(), cfg, observers=[watcher])
    open_ns = coordinator.session_data.open_ns
    today = [r for r in watcher.rows if r[0] >= open_ns]
    assert len(today) == 390
    closes = as_bars(spy_sessions("5min")[DAYS[-1]]).close
    for ts, n5, n15, value in today:
        minutes = (ts - open_ns) // 60_000_000_000 + 1  # closed 1m bars so far
        assert n5 == minutes // 5 and n15 == minutes // 15
        want = closes[n5 - 3:n5].mean() if n5 >= 3 else float(
            np.mean(np.concatenate([as_bars(spy_sessions("5min")[DAYS[1]]).close[-(3 - n5):],
                                    closes[:n5]])))
        assert value == pytest.approx(want, rel=1e-12)


# ---- custom indicators -------------------------------------------------------------------------


def test_the_three_styles_agree_and_a_per_session_one_restarts():
    cfg = sample_config(indicators=[
        {"name": "range_mean", "interval": "5m", "params": {"period": 4}},
        {"name": "range_mean_batch", "interval": "5m", "params": {"period": 4}},
        {"name": "range_mean_many", "interval": "5m", "params": {"period": 4}},
        {"name": "channel", "interval": "15m"},
        {"name": "session_count", "interval": "1m"},
    ])
    coordinator, doc = run_with(indicator_plugins(), cfg)
    states = coordinator.session_data["SPY"].indicators
    a, b, c = (states[k].history() for k in ("range_mean_4_5m", "range_mean_batch_4_5m",
                                             "range_mean_many_4_5m"))
    bars = as_bars(spy_sessions("5min")[DAYS[-1]])
    ranges = np.concatenate([as_bars(spy_sessions("5min")[DAYS[1]]).high[-3:]
                             - as_bars(spy_sessions("5min")[DAYS[1]]).low[-3:],
                             bars.high - bars.low])
    want = np.convolve(ranges, np.ones(4) / 4, "valid")
    for got in (a, b, c):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    upper, lower = states["channel_15m"].history("upper"), states["channel_15m"].history("lower")
    b15 = as_bars(spy_sessions("15min")[DAYS[-1]])
    np.testing.assert_array_equal(upper[2:], [b15.high[i - 2:i + 1].max() for i in range(2, 26)])
    np.testing.assert_array_equal(lower[2:], [b15.low[i - 2:i + 1].min() for i in range(2, 26)])
    exported = doc["symbols"]["SPY"]["indicators"]
    assert exported["channel_15m"]["values"] == {"upper": upper[-1], "lower": lower[-1]}
    np.testing.assert_array_equal(states["session_count_1m"].history(), np.arange(1, 391))
    assert exported["session_count_1m"]["value"] == 390.0


def test_a_custom_compiled_indicator_equals_the_builtin_it_mirrors():
    cfg = sample_config(indicators=[
        {"name": "open_ema", "interval": "5m", "params": {"period": 7}},
        {"name": "ema", "interval": "5m", "params": {"period": 7, "field": "open"}},
    ])
    coordinator, doc = run_with(indicator_plugins(), cfg)
    states = coordinator.session_data["SPY"].indicators
    ours, builtin = states["open_ema_7_5m"], states["ema_7_open_5m"]
    assert type(ours).__name__ == "KernelState"
    np.testing.assert_array_equal(ours.history(), builtin.history())
    assert ours.ready and ours.value == builtin.value
    # carried on over every session of the run: today's values are the last of the EMA over
    # all the opens so far
    opens = [as_bars(rows).open for day, rows in spy_sessions("5min").items() if day <= DAYS[-1]]
    today = len(opens[-1])
    want = kernels.ema(np.concatenate(opens), 7)[-today:]
    np.testing.assert_allclose(ours.history(), want, rtol=1e-12)
    exported = doc["symbols"]["SPY"]["indicators"]
    assert exported["open_ema_7_5m"]["value"] == exported["ema_7_open_5m"]["value"]


def _raising_threshold():
    """A close that SYN1 exceeds during the last day but SYN0 never does (or vice versa)."""
    cfg = with_indicators(synthetic_config(), [{"name": "close_echo", "interval": "1m"}])
    coordinator, _ = run_with(indicator_plugins(), cfg)
    tops = {s.symbol: float(s.bars["1m"].data.arrays()[4].max()) for s in coordinator.session_data}
    high, low = max(tops, key=tops.get), min(tops, key=tops.get)
    assert tops[low] < tops[high]
    return high, low, (tops[low] + tops[high]) / 2


def test_a_raising_indicator_is_disabled_for_that_symbol_and_the_session_goes_on():
    victim, survivor, above = _raising_threshold()
    base = [{"name": "sma", "interval": "5m", "params": {"period": 3}},
            {"name": "range_mean", "interval": "1m"}]
    boom = {"name": "boom", "interval": "1m", "params": {"above": above}}
    _, calm = run_with(indicator_plugins(), with_indicators(synthetic_config(), base))
    cfg = with_indicators(synthetic_config(), [boom, *base])
    coordinator, doc = run_with(indicator_plugins(), cfg)
    key = IndicatorSpec.parse(f"boom:above={above!r}@1m").key
    hit = doc["symbols"][victim]
    assert hit["indicators"][key]["ready"] is False and hit["indicators"][key]["value"] is None
    error = hit["indicators"][key]["error"]
    assert error.startswith(f"{victim}: indicator {key} raised RuntimeError: close ")
    assert "\n" not in error and error in hit["errors"]
    assert hit["is_loaded"] is True
    ok = doc["symbols"][survivor]
    assert ok["indicators"][key]["ready"] is True and "error" not in ok["indicators"][key]
    assert ok["errors"] == []
    for symbol in (victim, survivor):  # everything else is exactly as without it
        got = {k: v for k, v in doc["symbols"][symbol]["indicators"].items() if k != key}
        assert got == calm["symbols"][symbol]["indicators"]
        bars = doc["symbols"][symbol]["bars"]
        for block in bars.values():  # the boom column is the one difference
            block["indicators"].pop(key, None)
        assert bars == calm["symbols"][symbol]["bars"]
    assert coordinator.session_data[survivor].indicators[key].history()[-1] == \
        coordinator.session_data[survivor].bars["1m"].data.arrays()[4][-1]


class BadReturn:
    """A plugin whose indicator returns a string."""

    from mismartera import hookimpl
    from mismartera.session.indicators import Indicator

    class Text(Indicator):
        def update(self, window):
            return "up"

    @staticmethod
    @hookimpl
    def register_indicators(register):
        register("text", BadReturn.Text)


def test_an_indicator_returning_the_wrong_type_is_disabled_with_a_clear_error():
    manager = with_builtin_indicators(PluginManager(load_entry_points=False))
    manager.register_plugin(BadReturn, name="bad-return")
    cfg = with_indicators(synthetic_config(), [{"name": "text", "interval": "5m"}])
    _, doc = run_with(manager, cfg)
    for symbol in doc["symbols"].values():
        assert symbol["indicators"]["text_5m"]["error"].endswith(
            "indicator text_5m raised TypeError: update() must return a float")


# ---- configuration errors ----------------------------------------------------------------------


def errors_of(indicators, **kw) -> str:
    cfg = sample_config(**kw).with_overrides(indicators=indicators)
    with pytest.raises((ConfigError, PluginError)) as info:
        SessionCoordinator(cfg, plugins=indicator_plugins()).run()
    message = str(info.value)
    assert "\n" not in message
    return message


def test_unknown_indicator_lists_the_valid_names():
    message = errors_of(["smaa:period=20@5m"])
    assert message.startswith("--indicator smaa:period=20@5m: unknown indicator 'smaa' "
                              "(did you mean 'sma'?); available: ")
    for name in BUILTINS:
        assert name in message


def test_unknown_parameter_lists_the_valid_ones_with_defaults():
    assert errors_of(["sma:peroid=20@5m"]) == (
        "--indicator sma:peroid=20@5m: indicator 'sma' has no parameter 'peroid'; "
        "valid parameters: period=20, field='close'")
    assert errors_of(["vwap:period=3@1m"]).endswith("valid parameters: none")


@pytest.mark.parametrize("spec,reason", [
    ("sma:period=x@5m", "period must be a whole number, got 'x'"),
    ("sma:period=2.5@5m", "period must be a whole number, got 2.5"),
    ("sma:period=0@5m", "period must be >= 1, got 0"),
    ("bbands:nbdev_up=wide@5m", "nbdev_up must be a finite number, got 'wide'"),
    ("macd:fast=30@1m", "fast must be <= slow, got fast=30 and slow=26"),
])
def test_bad_parameter_values_name_the_spec_and_the_reason(spec, reason):
    message = errors_of([spec])
    assert message.startswith(f"--indicator {spec}: bad parameters for indicator ")
    assert reason in message and "valid parameters: " in message


def test_errors_in_a_session_file_name_its_key(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[session]\nstart = 2011-01-03\nend = 2011-01-03\n[data]\nsource = "sample"\n'
                    '[symbols]\nlist = ["SPY"]\n[streams]\nintervals = ["1m", "5m"]\n'
                    '[[indicators]]\nname = "sma"\ninterval = "5m"\n'
                    '[[indicators]]\nname = "ema"\ninterval = "5m"\nparams = { period = -3 }\n')
    with pytest.raises(ConfigError, match=r"^.*s\.toml: \[\[indicators\]\]\[1\]: bad parameters "
                                          r"for indicator 'ema': period must be >= 1, got -3"):
        SessionCoordinator(SessionConfig.from_toml(path), plugins=indicator_plugins()).run()


def test_int_parameters_given_as_floats_keep_float_type_for_float_params():
    cfg = sample_config(indicators=[{"name": "bbands", "interval": "5m",
                                     "params": {"nbdev_up": 1, "period": 10}}])
    _, doc = run_with(indicator_plugins(), cfg.with_overrides(end="2011-01-03"))
    entry = doc["symbols"]["SPY"]["indicators"]["bbands_1_10_5m"]
    assert entry["params"] == {"period": 10, "nbdev_up": 1.0, "nbdev_dn": 2.0, "field": "close"}
    assert isinstance(entry["params"]["nbdev_up"], float)


def test_the_command_line_runs_indicators_and_reports_bad_specs(tmp_path, mismartera_plugins):
    with_builtin_indicators(mismartera_plugins.manager)
    out = tmp_path / "out.json"
    result = mismartera_plugins.invoke(
        ["backtest", "--source", "sample", "--symbols", "SPY", "--start", "2011-01-04",
         "--end", "2011-01-04", "--streams", "1m,5m", "--indicator", "sma:period=20@5m",
         "--indicator", "rsi@1m", "--export", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    indicators = doc["symbols"]["SPY"]["indicators"]
    assert set(indicators) == {"sma_20_5m", "rsi_1m"}
    assert indicators["rsi_1m"]["params"] == {"period": 14, "field": "close"}
    assert all(v["ready"] and math.isfinite(v["value"]) for v in indicators.values())
    bad = mismartera_plugins.invoke(
        ["backtest", "--source", "sample", "--symbols", "SPY", "--start", "2011-01-04",
         "--end", "2011-01-04", "--streams", "1m,5m", "--indicator", "sma:period=0@5m"])
    assert bad.exit_code == 2
    assert "--indicator sma:period=0@5m: bad parameters for indicator 'sma'" in bad.output
    assert "Traceback" not in bad.output


def test_two_runs_with_indicators_give_identical_exports():
    cfg = with_indicators(synthetic_config(historical__trailing_days=1),
                          [{"name": n, "interval": "5m"} for n in BUILTINS])
    assert dumps(run_with(indicator_plugins(), cfg)[1]) == dumps(run_with(indicator_plugins(),
                                                                          cfg)[1])
