"""bench/bench_sweep_cost.py still measures (tiny sizes; its times are not checked here)."""

from __future__ import annotations

import sys

from tests.support.bench import load_bench


def test_bench_sweep_cost_runs(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "bench_sweep_cost", None)  # removed again afterwards
    module = load_bench("bench_sweep_cost")
    dataset, store, lo, hi = module.make_data(tmp_path, 3)
    load = module.data_load(dataset, store, lo, hi, repeat=0)
    assert load["bars"] == 3 * 390 and load["parquet"] > 0 and load["store"] > 0
    points = module.per_task(dataset, 0, [1, 3])
    assert [bars for bars, _, _ in points] == [390, 3 * 390]
    assert all(cold > 0 and warm > 0 for _, cold, warm in points)
