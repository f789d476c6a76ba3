"""Slow, obviously-correct pure-Python versions of `mismartera.ext.gaps`.

Gaps come from a set difference of the expected bucket grid and the bar stamps, walked in
order; `classify` checks each bar against the rules one by one.
"""

from __future__ import annotations

import math

Runs = tuple[list[int], list[int], list[int]]


def expected_starts(open_ns: int, end_ns: int, step_ns: int) -> list[int]:
    """Bucket starts `open, open + step, ...` strictly before `end_ns`."""
    starts = []
    t = open_ns
    while t < end_ns:
        starts.append(t)
        t += step_ns
    return starts


def expected_count(opens, ends, step_ns: int) -> int:
    pairs = zip(opens, ends, strict=True)
    return sum(len(expected_starts(int(o), int(e), step_ns)) for o, e in pairs)


def quality(present: int, expected: int) -> float:
    return 100.0 if expected <= 0 else 100.0 * present / expected


def find_gaps(ts, opens, ends, step_ns: int) -> Runs:
    """Maximal runs of missing bucket starts per session: (starts, last starts, counts)."""
    seen = {int(t) for t in ts}
    starts: list[int] = []
    lasts: list[int] = []
    counts: list[int] = []
    for open_ns, end_ns in zip(opens, ends, strict=True):
        run: list[int] = []
        for b in [*expected_starts(int(open_ns), int(end_ns), step_ns), None]:
            if b is not None and b not in seen:
                run.append(b)
            elif run:
                starts.append(run[0])
                lasts.append(run[-1])
                counts.append(len(run))
                run = []
    return starts, lasts, counts


def is_valid_bar(o: float, h: float, lo: float, c: float, v: float) -> bool:
    if not all(math.isfinite(x) for x in (o, h, lo, c, v)):
        return False
    return lo <= min(o, c) and max(o, c) <= h and v >= 0


def classify(ts, opens, closes, step_ns: int, open=None, high=None, low=None, close=None,
             volume=None) -> tuple[list[bool], int, int, int, int]:
    """(mask, invalid, duplicate, misaligned, outside), first matching category wins."""
    mask: list[bool] = []
    counts = {"invalid": 0, "duplicate": 0, "misaligned": 0, "outside": 0}
    last_kept: int | None = None
    for i, t in enumerate(int(x) for x in ts):
        session = [int(o) for o, c in zip(opens, closes, strict=True) if int(o) <= t < int(c)]
        if not session:
            reason = "outside"
        elif (t - session[0]) % step_ns != 0:
            reason = "misaligned"
        elif last_kept is not None and t <= last_kept:
            reason = "duplicate"
        elif open is not None and not is_valid_bar(
            float(open[i]), float(high[i]), float(low[i]), float(close[i]), float(volume[i])
        ):
            reason = "invalid"
        else:
            reason = None
        mask.append(reason is None)
        if reason is None:
            last_kept = t
        else:
            counts[reason] += 1
    return mask, counts["invalid"], counts["duplicate"], counts["misaligned"], counts["outside"]


class GapTracker:
    """Reference for `mismartera.ext.gaps.GapTracker`: keeps the accepted stamps and
    recomputes everything from them."""

    def __init__(self, step_ns: int) -> None:
        self.step_ns = step_ns
        self.session_open: int | None = None
        self.session_close: int | None = None

    def start_session(self, open_ns: int, close_ns: int) -> None:
        self.session_open, self.session_close = open_ns, close_ns
        self.kept: list[int] = []
        self.duplicates = self.misaligned = self.outside = 0

    def add(self, ts: int) -> bool:
        if not self.session_open <= ts < self.session_close:
            self.outside += 1
        elif (ts - self.session_open) % self.step_ns != 0:
            self.misaligned += 1
        elif self.kept and ts <= self.kept[-1]:
            self.duplicates += 1
        else:
            self.kept.append(ts)
            return True
        return False

    @property
    def present(self) -> int:
        return len(self.kept)

    def _end(self, end_ns: int) -> int:
        return min(end_ns, self.session_close)

    def expected(self, end_ns: int) -> int:
        return len(expected_starts(self.session_open, self._end(end_ns), self.step_ns))

    def gaps(self, end_ns: int) -> Runs:
        return find_gaps(self.kept, [self.session_open], [self._end(end_ns)], self.step_ns)

    def missing(self, end_ns: int) -> int:
        return sum(self.gaps(end_ns)[2])

    def quality(self, end_ns: int) -> float:
        end = self._end(end_ns)
        present = sum(1 for t in self.kept if t < end)
        return quality(present, self.expected(end_ns))
