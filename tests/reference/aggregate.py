"""Slow, obviously-correct pure-Python versions of `mismartera.ext.aggregate`.

Plain loops and dicts over Python ints and floats; each derived bar is rebuilt from the
definition (bucket k of a session is `[open + k*interval, min(open + (k+1)*interval, close))`).
Results are tuples of six lists `(ts, open, high, low, close, volume)`.
"""

from __future__ import annotations

Columns = tuple[list[int], list[float], list[float], list[float], list[float], list[float]]


def bucket_of(ts: int, open_ns: int, close_ns: int, interval_ns: int) -> tuple[int, int]:
    """`(start, end)` of the session-anchored bucket holding `ts` (open <= ts < close)."""
    start = open_ns + (ts - open_ns) // interval_ns * interval_ns
    return start, min(start + interval_ns, close_ns)


def session_of(ts: int, opens, closes) -> int | None:
    """Index of the session `[open, close)` holding `ts`, or None."""
    for i, (open_ns, close_ns) in enumerate(zip(opens, closes, strict=True)):
        if int(open_ns) <= ts < int(close_ns):
            return i
    return None


def aggregate_bars(ts, open, high, low, close, volume, opens, closes, interval_ns) -> Columns:
    """Derived bars: first open, max high, min low, last close, summed volume per bucket."""
    buckets: dict[int, list[float]] = {}  # bucket start -> [o, h, l, c, v]; ts in order
    for i in range(len(ts)):
        t = int(ts[i])
        s = session_of(t, opens, closes)
        if s is None:
            continue
        start, _ = bucket_of(t, int(opens[s]), int(closes[s]), interval_ns)
        o, h, lo, c, v = (float(x[i]) for x in (open, high, low, close, volume))
        if start not in buckets:
            buckets[start] = [o, h, lo, c, v]
        else:
            bar = buckets[start]
            if h > bar[1]:
                bar[1] = h
            if lo < bar[2]:
                bar[2] = lo
            bar[3] = c
            bar[4] += v
    starts = sorted(buckets)
    return (starts, *([buckets[k][j] for k in starts] for j in range(5)))  # type: ignore[return-value]


class StreamingAggregator:
    """Reference for `mismartera.ext.aggregate.StreamingAggregator` (same rules, plain
    Python): a bar closes when a later bucket's base bar arrives, when a base bar reaches
    the bucket end, or on `close_until(now)` with bucket end <= now."""

    def __init__(self, base_ns: int, interval_ns: int) -> None:
        self.base_ns = base_ns
        self.interval_ns = interval_ns
        self.session_open: int | None = None
        self.session_close: int | None = None
        self.closed: list[tuple[int, float, float, float, float, float]] = []
        self.late = 0
        self._forming: list | None = None  # [start, end, o, h, l, c, v]
        self._last: int | None = None
        self._closed_starts: set[int] = set()

    def start_session(self, open_ns: int, close_ns: int) -> None:
        self.session_open, self.session_close = open_ns, close_ns
        self._forming = None
        self._last = None
        self._closed_starts = set()

    def _emit(self) -> None:
        start, _end, o, h, lo, c, v = self._forming
        self.closed.append((start, o, h, lo, c, v))
        self._closed_starts.add(start)
        self._forming = None

    def update(self, ts: int, o: float, h: float, lo: float, c: float, v: float) -> int:
        if not self.session_open <= ts < self.session_close:
            return 0
        if self._last is not None and ts < self._last:
            raise ValueError("base bars must arrive in time order")
        self._last = ts
        closed = 0
        start, end = bucket_of(ts, self.session_open, self.session_close, self.interval_ns)
        if self._forming is not None and self._forming[0] != start:
            self._emit()
            closed += 1
        if self._forming is None:
            if start in self._closed_starts:
                self.late += 1
                return closed
            self._forming = [start, end, o, h, lo, c, v]
        else:
            f = self._forming
            if h > f[3]:
                f[3] = h
            if lo < f[4]:
                f[4] = lo
            f[5] = c
            f[6] += v
        if ts + self.base_ns >= self._forming[1]:
            self._emit()
            closed += 1
        return closed

    def close_until(self, now_ns: int) -> int:
        if self._forming is not None and self._forming[1] <= now_ns:
            self._emit()
            return 1
        return 0

    def forming(self) -> tuple | None:
        if self._forming is None:
            return None
        start, _end, o, h, lo, c, v = self._forming
        return (start, o, h, lo, c, v)

    def pop_closed(self) -> Columns:
        bars, self.closed = self.closed, []
        return tuple([b[j] for b in bars] for j in range(6))  # type: ignore[return-value]
