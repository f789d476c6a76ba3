"""The HTML report's cost, against the targets of a large run: 10 symbols x a year of 1m
data (about 1M bars, streams 1m, 5m, 15m, 1h, 1d) gives a page under 25 MB, built (exports
read, model, page) in under 10 s.

    python bench/bench_report.py [--days 250] [--symbols 10] [--exports DIR] [--out FILE]

Runs a synthetic-source backtest (with a strategy) with --export-dir into a temporary folder
(or reuses DIR when it already holds day files: the run itself takes minutes), then times
`mismartera report`'s work: `read_exports`, `build_model` and `render` (best of 3), and prints
the page's size, the bars embedded and what each interval covers. `--demo` benches the small
demo run instead (SPY, 1m..1h, three indicators) at the default and a small `--max-bars`."""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time
from pathlib import Path

SIZE_TARGET = 25 * 1024 * 1024
TIME_TARGET = 10.0

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=250)
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--exports", type=Path, default=None,
                        help="an export directory to reuse (written first if empty)")
    parser.add_argument("--out", type=Path, default=None, help="also write the page here")
    parser.add_argument("--demo", action="store_true")
    args = parser.parse_args()
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
            if args.out is not None:
                args.out.write_text(page)
                print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
