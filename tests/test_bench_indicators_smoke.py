"""bench/bench_indicators.py still runs (tiny sizes; its numbers are not checked here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_indicators.py"


def test_bench_indicators_runs(capsys, monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_indicators", BENCH)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_indicators", module)  # backtrader looks it up
    spec.loader.exec_module(module)
    result = module.main(["--n", "1", "--symbols", "2", "--repeat", "1", "--talipp-n", "1000"])
    assert set(result) == {"kept", "kept_vs_history", "custom_us", "bars_per_s",
                           "bars_per_s_indicators"}
    assert "throughput kept with the 5 built-ins" in capsys.readouterr().out
