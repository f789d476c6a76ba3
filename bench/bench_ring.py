"""BarRing against collections.deque, in one run.

    .venv/bin/python bench/bench_ring.py [--n 1000000] [--capacity 100000] [--repeat 5]

Every row times our operation and its deque peer on the same bars (one-minute OHLCV, a
random walk) in the same process, keeping the best of --repeat runs of each, and prints
bars/s and the ratio. The append rows feed both sides from the same Python loop over
Python values, as a data source would; the "loop alone" row is that loop with no call in
it, the ceiling any per-bar Python call sits under.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mismartera.ext.ring import BarRing

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Row, best_time, ratio_table, target_line

APPEND_TARGET = 10e6  # bars/s for BarRing.append called from Python (issue 3)
SESSION = 390  # one XNYS regular session of one-minute bars


def make_bars(n: int, seed: int = 7) -> list[np.ndarray]:
    """n one-minute bars as six columns: a random-walk close and consistent OHLCV."""
    rng = np.random.default_rng(seed)
    ts = np.int64(1_704_205_800_000_000_000) + np.arange(n, dtype=np.int64) * 60_000_000_000
    close = 100.0 + np.cumsum(rng.normal(0.0, 0.05, n))
    open_ = np.concatenate(([100.0], close[:-1]))
    spread = np.abs(rng.normal(0.0, 0.03, n))
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    volume = rng.integers(100, 10_000, n).astype(np.float64)
    return [ts, open_, high, low, close, volume]


def bench_append(cols: list[list], capacity: int, repeat: int) -> list[Row]:
    ts, o, h, low, c, v = cols
    n = len(ts)

    def loop_alone() -> None:
        for _t, _o, _h, _l, _c, _v in zip(ts, o, h, low, c, v, strict=True):
            pass

    def ring_append() -> None:
        append = BarRing(capacity).append
        for t, oo, hh, ll, cc, vv in zip(ts, o, h, low, c, v, strict=True):
            append(t, oo, hh, ll, cc, vv)

    def deque_append() -> None:
        append = deque(maxlen=capacity).append
        for t, oo, hh, ll, cc, vv in zip(ts, o, h, low, c, v, strict=True):
            append((t, oo, hh, ll, cc, vv))

    def ring_map() -> None:
        deque(map(BarRing(capacity).append, ts, o, h, low, c, v), 0)

    def deque_map() -> None:
        deque(map(deque(maxlen=capacity).append, zip(ts, o, h, low, c, v, strict=True)), 0)

    return [
        Row("Python loop alone (ceiling)", n / best_time(loop_alone, repeat), "", float("nan")),
        Row(
            "BarRing.append, Python loop",
            n / best_time(ring_append, repeat),
            "deque.append(tuple)",
            n / best_time(deque_append, repeat),
        ),
        Row(
            "BarRing.append, C-driven map",
            n / best_time(ring_map, repeat),
            "deque.append(tuple)",
            n / best_time(deque_map, repeat),
        ),
    ]


def bench_extend(arrays: list[np.ndarray], cols: list[list], capacity: int, repeat: int) -> Row:
    n = len(arrays[0])

    def ring_extend() -> None:
        BarRing(capacity).extend(*arrays)

    def deque_extend() -> None:
        deque(zip(*cols, strict=True), maxlen=capacity)

    return Row(
        "BarRing.extend (arrays)",
        n / best_time(ring_extend, repeat),
        "deque.extend(zip(...))",
        n / best_time(deque_extend, repeat),
    )


def bench_arrays(
    arrays: list[np.ndarray], cols: list[list], capacity: int, repeat: int
) -> list[Row]:
    ring = BarRing(capacity)
    ring.extend(*arrays)
    peer = deque(zip(*cols, strict=True), maxlen=capacity)
    rows = []
    for window in (SESSION, capacity):
        window = min(window, len(ring))
        calls = max(1, 200_000 // max(window, 1))

        def ours(window: int = window, calls: int = calls) -> None:
            for _ in range(calls):
                ring.arrays(window)

        def theirs(window: int = window, calls: int = calls) -> None:
            for _ in range(calls):
                chosen = itertools.islice(peer, len(peer) - window, None)
                ts, *values = zip(*chosen, strict=True)
                np.array(ts, dtype=np.int64)
                for col in values:
                    np.array(col, dtype=np.float64)

        bars = window * calls
        rows.append(
            Row(
                f"BarRing.arrays({window}) copy",
                bars / best_time(ours, repeat),
                "deque -> 6 numpy arrays",
                bars / best_time(theirs, repeat),
            )
        )

    def views(window: int = SESSION, calls: int = 20_000) -> None:
        for _ in range(calls):
            ring.arrays(window, copy=False)

    window = min(SESSION, len(ring))
    rows.append(
        Row(
            f"BarRing.arrays({window}, copy=False)",
            window * 20_000 / best_time(views, repeat),
            "",
            float("nan"),
        )
    )
    return rows


def run(n: int, capacity: int, repeat: int) -> list[Row]:
    arrays = make_bars(n)
    cols = [a.tolist() for a in arrays]
    rows = bench_append(cols, capacity, repeat)
    rows.append(bench_extend(arrays, cols, capacity, repeat))
    rows += bench_arrays(arrays, cols, capacity, repeat)
    return rows


def format_table(rows: Sequence[Row], n: int, capacity: int) -> str:
    lines = ratio_table(f"BarRing vs collections.deque: n={n:,} bars, capacity={capacity:,}",
                        "operation", "bars/s", rows)
    append = next(r for r in rows if r.name == "BarRing.append, Python loop")
    lines += ["", target_line("BarRing.append from Python", append.ours, APPEND_TARGET, "bars/s")]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="bars (default 1,000,000)")
    parser.add_argument("--capacity", type=int, default=100_000, help="ring capacity")
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing; best is kept")
    args = parser.parse_args(argv)
    if args.n <= 0 or args.capacity <= 0 or args.repeat <= 0:
        parser.error("--n, --capacity and --repeat must be positive")
    table = format_table(run(args.n, args.capacity, args.repeat), args.n, args.capacity)
    print(table)
    return table


if __name__ == "__main__":
    main()
