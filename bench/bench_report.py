"""The HTML report's cost, against the targets of a large run: 10 symbols x a year of 1m
data (about 1M bars, streams 1m, 5m, 15m, 1h, 1d) gives a page under 25 MB, built (exports
read, model, page) in under 10 s.

    python bench/bench_report.py [--days 250] [--symbols 10] [--exports DIR] [--out FILE]

Runs a synthetic-source backtest (with a strategy) with --export-dir into a temporary folder
(or reuses DIR when it already holds day files: the run itself takes minutes), then times
`mismartera report`'s work: `read_exports`, `build_model` and `render` (best of 3), and prints
the page's size, the bars embedded and what each interval covers. `--demo` benches the small
demo run instead (SPY, 1m..1h, three indicators) at the default and a small `--max-bars`.

Then, when chromium and chromedriver are installed (`--no-browser` skips it), it opens the page
in headless chromium and times pan and zoom steps on its largest chart (`tests/report/browser.py`,
`time_steps`): each step a `Plotly.relayout` of the x range by 10 % of its width, awaited with
whatever the page's own handler redraws, up to the next painted frame; median and 95th
percentile of 20 steps at the chart's opening view (pan, zoom) and at a quarter of the run
(pan, the level of detail drawing a coarser interval). Target: a median under 50 ms. Wall-clock
numbers: run it on a quiet machine (the load average is printed beside them)."""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time
from pathlib import Path

SIZE_TARGET = 25 * 1024 * 1024
TIME_TARGET = 10.0
STEP_TARGET = 50.0  # ms, median of a pan or zoom step
ROOT = Path(__file__).resolve().parents[1]

SESSION = """\
[session]
start = {start}
end = {end}
speed = 0

[data]
source = "synthetic"
seed = 7
count = {symbols}
gap_rate = 0.001

[symbols]
list = "all"

[streams]
intervals = ["1m", "5m", "15m", "1h", "1d"]
"""


def _invoke(args: list[str]) -> None:
    from mismartera.plugin_manager import PluginManager
    from mismartera.testing import PluginHarness

    result = PluginHarness(PluginManager(load_entry_points=False)).invoke(args)
    if result.exit_code != 0:
        sys.exit(result.output)


def _run(folder: Path, days: int, symbols: int, demo: bool) -> Path:
    exp = folder / "exp"
    if demo:
        _invoke(["demo", "--quiet", "--end", "2011-01-31", "--strategy",
                 "sma_cross:fast=10,slow=30@5m", "--export-dir", str(exp)])
        return exp
    from mismartera.calendar import TimeManager

    calendar = TimeManager("XNYS")
    start = datetime.date(2014, 1, 2)
    end = start
    n = 0
    while n < days:
        if calendar.is_trading_day(end):
            n += 1
        if n < days:
            end += datetime.timedelta(days=1)
    session = folder / "session.toml"
    session.write_text(SESSION.format(start=start, end=end, symbols=symbols))
    t0 = time.perf_counter()
    _invoke(["backtest", str(session), "--quiet", "--strategy", "sma_cross:fast=10,slow=30@5m",
             "--export-dir", str(exp)])
    print(f"run: {time.perf_counter() - t0:.1f} s")
    return exp


def main(argv: list[str] | None = None) -> dict[str, tuple[float, float]]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=250)
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--exports", type=Path, default=None,
                        help="an export directory to reuse (written first if empty)")
    parser.add_argument("--out", type=Path, default=None, help="also write the page here")
    parser.add_argument("--demo", action="store_true")
    parser.add_argument("--no-browser", action="store_true", help="skip the pan/zoom timing")
    parser.add_argument("--steps", type=int, default=20, help="pan/zoom steps timed per case")
    args = parser.parse_args(argv)
    from mismartera.report import MAX_BARS, build_model, read_exports, render

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.exports is not None and any(args.exports.glob("????-??-??.json")):
            exp = args.exports
        else:
            if args.exports is not None:
                args.exports.mkdir(parents=True, exist_ok=True)
                folder = args.exports.parent
            exp = _run(folder, args.days, args.symbols, args.demo)
        files = sorted(exp.glob("????-??-??.json"))
        print(f"{len(files)} daily exports, {sum(p.stat().st_size for p in files):,} bytes")
        for max_bars in ((MAX_BARS, 20_000) if args.demo else (MAX_BARS,)):
            best_read = best_model = best_page = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                docs = read_exports(exp)
                t1 = time.perf_counter()
                model = build_model(docs, max_bars=max_bars)
                t2 = time.perf_counter()
                page = render(model)
                t3 = time.perf_counter()
                best_read = min(best_read, t1 - t0)
                best_model, best_page = min(best_model, t2 - t1), min(best_page, t3 - t2)
                del docs
            total = best_read + best_model + best_page
            size = len(page.encode())
            series = [s for sym in model["symbols"].values() for s in sym["intervals"].values()]
            bars = sum(len(s["ts"]) for s in series)
            all_bars = sum(s["total_bars"] for s in series)
            print(f"max_bars {max_bars:,}: read {best_read:.2f} s, model {best_model:.2f} s, "
                  f"render {best_page:.2f} s = {total:.2f} s "
                  f"({'met' if total < TIME_TARGET else 'MISSED'}: < {TIME_TARGET:.0f} s); "
                  f"page {size / 2**20:.1f} MB "
                  f"({'met' if size < SIZE_TARGET else 'MISSED'}: < {SIZE_TARGET / 2**20:.0f} MB); "
                  f"{bars:,} of {all_bars:,} bars embedded")
            first = next(iter(model["symbols"].values()))
            for name, s in first["intervals"].items():
                print(f"  {name:>4}: {len(s['ts']):>7,} of {s['total_bars']:>7,} bars a symbol, "
                      f"{s['first_day']} .. {s['last_day']}")
            out = args.out if args.out is not None else Path(tmp) / "report.html"
            out.write_text(page)
            if args.out is not None:
                print(f"wrote {args.out}")
        steps = {} if args.no_browser else pan_steps(out, args.steps)
    return steps


def pan_steps(page: Path, steps: int) -> dict[str, tuple[float, float]]:
    """Median and p95 (ms) of pan and zoom steps on the page's largest chart, in headless
    chromium; {} (and a line saying why) without a browser."""
    import os

    sys.path.insert(0, str(ROOT))
    from tests.report.browser import Browser, find_chromium, summary, time_steps

    found = find_chromium()
    if found is None:
        print("pan/zoom steps: skipped (chromium and chromedriver are not installed)")
        return {}
    browser = Browser(*found)
    result = {}
    try:
        browser.open(page, timeout=600)
        for name, kind, start in (("pan", "pan", "view"), ("zoom", "zoom", "view"),
                                  ("pan (quarter of the run)", "pan", "wide")):
            r = time_steps(browser, kind, steps, share=0.1, start=start)
            result[name] = median, p95 = summary(r["times"])
            verdict = "met" if median < STEP_TARGET else "MISSED"
            print(f"{name} step on {r['chart']} ({r['interval']} drawn): median {median:.1f} ms, "
                  f"p95 {p95:.1f} ms ({verdict}: median < {STEP_TARGET:.0f} ms)")
        errors = [e for e in browser.console() if e["level"] == "SEVERE"]
        print(f"load average {os.getloadavg()[0]:.1f}; console errors: {len(errors)}")
    finally:
        browser.close()
    return result


if __name__ == "__main__":
    main()
