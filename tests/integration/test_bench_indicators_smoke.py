"""bench/bench_indicators.py still runs (tiny sizes; its numbers are not checked here)."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.bench import load_bench

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_indicators.py"


def test_bench_indicators_runs(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "bench_indicators", None)  # removed again afterwards
    module = load_bench("bench_indicators")
    result = module.main(["--n", "1", "--symbols", "2", "--repeat", "1", "--talipp-n", "1000"])
    assert set(result) == {"kept", "custom_us", "bars_per_s",
                           "bars_per_s_indicators"}
    assert "throughput kept with the 5 built-ins" in capsys.readouterr().out
