"""bench/bench_strategy.py still runs (tiny sizes; its speeds are not checked here), and
its peers trade as mismartera does on the same bars."""

from __future__ import annotations

import sys

from tests.support.bench import load_bench


def test_bench_strategy_runs(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "bench_strategy", None)  # removed again afterwards
    module = load_bench("bench_strategy")
    result = module.main(["--symbols", "2", "--days", "3", "--repeat", "1", "--peer-bars",
                          "500", "--no-nautilus"])
    assert set(result) == {"bars_per_s", "bars5m_per_s", "peers", "skipped", "engine"}
    assert set(result["engine"]) == {"engine", "no-op callback", "sma_cross"}
    assert set(result["peers"]) == {"backtesting.py", "backtrader"}
    assert all(peer["same_trades"] and peer["bars"] >= 500 for peer in result["peers"].values())
    assert result["skipped"] == {"NautilusTrader": "--no-nautilus"}
    assert "target: base bars/s with Python strategy callbacks" in capsys.readouterr().out
