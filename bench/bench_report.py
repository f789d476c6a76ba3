"""The HTML report's cost: building the model from a run's daily exports and rendering the
page, at the default `--max-points` and at a small one (how decimation bounds the page).

    python bench/bench_report.py [--end 2011-01-31]

Runs the demo (SPY, 1m..1h, three indicators, a strategy) with --export-dir into a
temporary folder, then times `build_model` and `render` (best of 3)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--end", default="2011-01-31")
    args = parser.parse_args()
    from mismartera.plugin_manager import PluginManager
    from mismartera.report import build_model, read_exports, render
    from mismartera.testing import PluginHarness

    with tempfile.TemporaryDirectory() as tmp:
        exp = Path(tmp) / "exp"
        result = PluginHarness(PluginManager(load_entry_points=False)).invoke(
            ["demo", "--quiet", "--end", args.end, "--strategy",
             "sma_cross:fast=10,slow=30@5m", "--export-dir", str(exp)])
        if result.exit_code != 0:
            sys.exit(result.output)
        docs = read_exports(exp)
        print(f"{len(docs)} daily exports, {sum(p.stat().st_size for p in exp.iterdir()):,} bytes")
        for max_points in (50_000, 2_000):
            best_model = best_page = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                model = build_model(docs, max_points)
                t1 = time.perf_counter()
                page = render(model)
                t2 = time.perf_counter()
                best_model, best_page = min(best_model, t1 - t0), min(best_page, t2 - t1)
            bars = sum(len(s["ts"]) for sym in model["symbols"].values()
                       for s in sym["intervals"].values())
            print(f"max_points {max_points:>6,}: model {best_model * 1000:7.1f} ms, render "
                  f"{best_page * 1000:7.1f} ms, {bars:,} bars embedded, page {len(page):,} bytes")


if __name__ == "__main__":
    main()
