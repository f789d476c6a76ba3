"""The other built-in strategies in whole sessions on the bundled and real data:
`opening_range_breakout` is flat before every close (the early close of 2014-11-28
included) and trades once a day at most, beyond its opening range; `rsi_reversion` exits
by its stop or above its upper band."""

from __future__ import annotations

import shutil

import numpy as np
import talib

from mismartera.calendar import TimeManager
from mismartera.session.run import run_backtest
from tests.support.data import require_data
from tests.support.trading import derived_bars, strategy_config, strategy_plugins

MIN = 60 * 10**9


def test_opening_range_breakout_is_flat_before_each_close_early_close_too(tmp_path):
    shutil.copy(require_data() / "minute" / "SPY_2014-11.csv", tmp_path)
    result = run_backtest(strategy_config(
        {"source": "csv", "path": str(tmp_path)}, ["SPY"], "2014-11-19", "2014-12-03",
        "opening_range_breakout", None, {"minutes": 30, "qty": 10}), plugins=strategy_plugins()
    ).strategy
    assert result.errors == []
    calendar = TimeManager("XNYS")
    table = calendar.sessions("2014-11-19", "2014-12-03")
    trades = result.trade_dicts()
    assert 0 < len(trades) <= len(table)
    source = strategy_plugins().make_source("csv", {"path": str(tmp_path)}, exchange="XNYS")
    minute = derived_bars(source, "SPY", "2014-11-19", "2014-12-03", "1m")
    days = set()
    for t in trades:
        i = int(np.searchsorted(table.opens, t["entry_ts"], side="right")) - 1
        open_ns, close_ns = int(table.opens[i]), int(table.closes[i])
        assert i not in days  # once a day
        days.add(i)
        assert open_ns + 30 * MIN < t["entry_ts"] and t["exit_ts"] <= close_ns - 5 * MIN
        inside = (minute["ts"] >= open_ns) & (minute["ts"] < open_ns + 30 * MIN)
        high, low = minute["high"][inside].max(), minute["low"][inside].min()
        signal = int(np.searchsorted(minute["ts"], t["entry_ts"])) - 1  # the bar before
        if t["side"] == "long":
            assert minute["close"][signal] > high
            assert t["exit_price"] >= min(low, minute["open"][signal + 1:].min()) - 1e-9
        else:
            assert minute["close"][signal] < low
    early = calendar.session(table.dates[-4])  # 2014-11-28, 13:00
    assert (early[1] - early[0]) == 210 * MIN


def test_rsi_reversion_exits_by_the_stop_or_above_the_upper_band():
    params = {"period": 14, "lower": 30.0, "upper": 70.0, "stop_pct": 0.3, "qty": 10}
    result = run_backtest(strategy_config({"source": "sample"}, ["SPY"], "2011-01-03",
                                          "2011-01-31", "rsi_reversion", "5m", params),
                          plugins=strategy_plugins()).strategy
    assert result.errors == []
    source = strategy_plugins().make_source("sample", {}, exchange="XNYS")
    five = derived_bars(source, "SPY", "2011-01-03", "2011-01-31")
    rsi = talib.RSI(five["close"], 14)
    trades = [t for t in result.trade_dicts() if t["exit_ts"] is not None]
    assert len(trades) > 3
    for t in trades:
        j = int(np.searchsorted(five["ts"], t["entry_ts"], side="right")) - 1
        assert rsi[j - 1] < 30.0 <= rsi[j - 2]  # the signal bar crossed below the band
        k = int(np.searchsorted(five["ts"], t["exit_ts"], side="right")) - 1
        stop = five["close"][j - 1] * (1 - 0.003)
        by_band = five["ts"][k] == t["exit_ts"] and rsi[k - 1] > 70.0
        assert by_band or t["exit_price"] <= stop + 1e-9
