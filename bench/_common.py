"""What the benchmarks share: best-of timing and the tables that put our numbers beside a
peer's from the same run. Imported by the bench scripts (run as `python bench/<name>.py`,
or loaded by the tests' smoke runs)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import NamedTuple


class Row(NamedTuple):
    """One line of a ratio table: our rate and, when there is one, the peer's."""

    name: str
    ours: float  # per second
    peer_name: str
    peer: float  # per second, or nan without a peer


def best_time(fn: Callable[[], object], repeat: int) -> float:
    """The shortest wall time of `repeat` calls of fn(), after one warm-up call."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def rate(x: float) -> str:
    """A per-second rate in millions ("-" for nan)."""
    return "-" if x != x else f"{x / 1e6:,.1f}M"


def target_line(what: str, value: float, target: float, unit: str) -> str:
    verdict = "met" if value >= target else "NOT met"
    return f"target: {what} >= {rate(target)} {unit}: {verdict}"


def ratio_table(title: str, first: str, unit: str, rows: Sequence[Row]) -> list[str]:
    """Our rate beside the peer's from the same run, and the ratio, as aligned lines."""
    head = (first, unit, "peer in the same run", f"peer {unit}", "ratio")
    body = [(r.name, rate(r.ours), r.peer_name or "-", rate(r.peer),
             "-" if r.peer != r.peer else f"{r.ours / r.peer:.2f}x") for r in rows]
    widths = [max(len(line[i]) for line in (head, *body)) for i in range(5)]
    fmt = "  ".join(f"{{:{'<' if i in (0, 2) else '>'}{w}}}" for i, w in enumerate(widths))
    return [title, "", fmt.format(*head), fmt.format(*("-" * w for w in widths)),
            *(fmt.format(*line) for line in body)]


def timing_table(title: str, n: int, rows: Sequence[tuple[str, float]]) -> list[str]:
    """Seconds per run of each way over the same `n` bars; the first row is ours."""
    ours = rows[0][1]
    lines = [title, f"{'kernel':<26} {'ms':>9} {'M bars/s':>10} {'ours is x faster':>17}"]
    lines += [f"{name:<26} {seconds * 1e3:>9.2f} {n / seconds / 1e6:>10.1f} "
              f"{seconds / ours:>17.2f}" for name, seconds in rows]
    return lines
