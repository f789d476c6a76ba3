"""The example strategy plugin: pip-installed into a temporary virtual environment, listed,
and run by a backtest whose exported trades are checked against a plain loop over TA-Lib's
EMA of the 5m closes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import talib

from tests.support.trading import derived_bars, strategy_plugins
from tests.support.venv import PluginVenv

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mismartera-example-strategy"
SESSION = """
[session]
start = 2011-01-03
end = 2011-01-31

[data]
source = "sample"

[symbols]
list = ["SPY"]

[streams]
intervals = ["1m"]

[strategy]
name = "ema_trend"
interval = "5m"
params = { period = 20, qty = 10 }

[broker]
cash = 100000
"""


def expected_trades(period: int, qty: int) -> list[tuple[float, float | None]]:
    """(entry price, exit price) of ema_trend on sample SPY's 5m bars, by a plain loop."""
    source = strategy_plugins().make_source("sample", {}, exchange="XNYS")
    bars = derived_bars(source, "SPY", "2011-01-03", "2011-01-31")
    ema = talib.EMA(bars["close"], period)
    trades, held, entry = [], 0, 0.0
    for i in range(len(ema) - 1):
        if np.isnan(ema[i]):
            continue
        if held == 0 and bars["close"][i] > ema[i]:
            held, entry = qty, float(bars["open"][i + 1])
        elif held and bars["close"][i] < ema[i]:
            trades.append((entry, float(bars["open"][i + 1])))
            held = 0
    if held:
        trades.append((entry, None))
    return trades


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> PluginVenv:
    return PluginVenv.with_plugin(tmp_path_factory.mktemp("strategy-venv") / "venv", EXAMPLE)


@pytest.mark.venv
def test_installed_strategy_is_listed(venv):
    assert venv.listed("ema_trend") == [
        {"name": "ema_trend", "kind": "strategy", "plugin": "example-strategy",
         "distribution": "mismartera-example-strategy", "version": "0.1.0",
         "hooks": ["register_strategies"],
         "description": "long above the EMA of closes (example)"}]


@pytest.mark.venv
def test_installed_strategy_trades_in_a_backtest(venv, tmp_path):
    session, out = tmp_path / "session.toml", tmp_path / "out.json"
    session.write_text(SESSION)
    result = venv.mismartera("backtest", str(session), "--export", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    section = json.loads(out.read_text())["strategy"]
    assert (section["name"], section["params"]) == ("ema_trend", {"period": 20, "qty": 10})
    got = [(t["entry_price"], t["exit_price"]) for t in section["trades"]]
    want = expected_trades(20, 10)
    assert len(want) > 10 and got == want


def test_the_example_strategy_without_installing(monkeypatch):
    """Its class and hook, imported from the source tree."""
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    sys.modules.pop("mismartera_example_strategy", None)
    import mismartera_example_strategy as example

    registered = []
    example.register_strategies(register=lambda *a, **k: registered.append((a, k)))
    assert registered[0][0] == ("ema_trend", example.EmaTrend)
    strategy = example.EmaTrend("15m", period=50)
    assert strategy.indicators() == ("ema:period=50@15m",) and strategy.intervals == ("15m",)
    with pytest.raises(ValueError, match="period must be >= 2, got 1"):
        example.EmaTrend(period=1)
