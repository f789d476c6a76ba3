"""The example indicator plugin: pip-installed into a temporary virtual environment, listed,
and used by a backtest whose exported values are checked against pandas."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support.data import require_data
from tests.support.venv import PluginVenv

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mismartera-example-indicator"


def five_minute_closes(day: str) -> np.ndarray:
    """The 5m closes of one regular session of the real file, with pandas."""
    frame = pd.read_csv(require_data() / "minute" / "SPY_2011-01.csv")
    stamps = pd.to_datetime(frame["timestamp"], utc=True).dt.tz_convert("America/New_York")
    close = pd.Series(frame["close"].to_numpy(), index=stamps)
    close = close[(close.index.date == pd.Timestamp(day).date())]
    clock = close.index.hour * 60 + close.index.minute
    close = close[(clock >= 570) & (clock < 960)]
    return close.resample("5min", origin="start").last().dropna().to_numpy()


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> PluginVenv:
    return PluginVenv.with_plugin(tmp_path_factory.mktemp("indicator-venv") / "venv", EXAMPLE)


@pytest.mark.venv
def test_installed_indicator_is_listed(venv):
    assert venv.listed("momentum") == [
        {"name": "momentum", "kind": "indicator", "plugin": "example-indicator",
         "distribution": "mismartera-example-indicator", "version": "0.1.0",
         "hooks": ["register_indicators"],
         "description": "close minus the close n bars ago (example)"}]


@pytest.mark.venv
def test_installed_indicator_runs_in_a_backtest(venv, tmp_path):
    out = tmp_path / "out.json"
    result = venv.mismartera("backtest", "--source", "sample", "--symbols", "SPY", "--start",
                             "2011-01-03", "--end", "2011-01-05", "--streams", "1m,5m",
                             "--indicator", "momentum:period=10@5m", "--export", str(out),
                             "--quiet")
    assert result.returncode == 0, result.stderr
    entry = json.loads(out.read_text())["symbols"]["SPY"]["indicators"]["momentum_10_5m"]
    closes = five_minute_closes("2011-01-05")
    assert len(closes) == 78
    assert entry == {"name": "momentum", "interval": "5m", "params": {"period": 10},
                     "value": pytest.approx(closes[-1] - closes[-11], abs=1e-9),
                     "ready": True}
    bad = venv.mismartera("backtest", "--source", "sample", "--symbols", "SPY", "--start",
                          "2011-01-03", "--end", "2011-01-03", "--streams", "1m,5m",
                          "--indicator", "momentum:period=0@5m")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1].endswith(
        "bad parameters for indicator 'momentum': period must be >= 1, got 0; "
        "valid parameters: period=10")


def test_the_example_unit_tests_with_mismartera_testing(monkeypatch):
    """The example's own tests (no installation needed: its source is put on the path)."""
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    monkeypatch.syspath_prepend(str(EXAMPLE / "tests"))
    sys.modules.pop("test_momentum", None)
    import test_momentum

    test_momentum.test_momentum_is_the_change_over_period_bars()
    test_momentum.test_chunks_do_not_change_the_values()
