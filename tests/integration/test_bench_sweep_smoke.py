"""bench/bench_sweep.py still runs (a tiny grid, no Ray; its speeds are not checked here): the
sweep's rows equal the in-process ones and the peers' optimisers ran every grid point."""

from __future__ import annotations

import sys

from tests.support.bench import load_bench


def test_bench_sweep_runs(capsys, monkeypatch):
    for name in ("bench_strategy", "bench_sweep"):  # removed again afterwards
        monkeypatch.setitem(sys.modules, name, None)
    load_bench("bench_strategy")
    module = load_bench("bench_sweep")
    result = module.main(["--tasks", "2", "--sessions", "3", "--no-ray"])
    assert result["tasks"] == 2 and result["same_rows"]
    assert set(result["runs"]) == {"local/1", "local/2", "backtesting.py optimize/1",
                                   "backtesting.py optimize/2", "backtrader optstrategy/1",
                                   "backtrader optstrategy/2"}
    for name, run in result["runs"].items():
        assert run["tasks_per_s"] > 0, name
        if "/" in name and not name.startswith("local"):
            low, high = run["trades_diff"]  # ours may warm up a trade more at the start
            assert 0 <= low <= high <= 2, name
    out = capsys.readouterr().out
    assert "target: local engine, 2 workers >= 1.8x 1 worker" in out
    assert "Ray: skipped (--no-ray)" in out
