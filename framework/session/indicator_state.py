"""The running state of one indicator of one symbol, and the bar series window-based
indicators read: how a session feeds an indicator, keeps its value, `ready` flag and
per-bar history, and disables it when it raises."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from mismartera.bars import Bars
from mismartera.session.indicator_protocol import F64, I64, Indicator, Window, style_of

NAN = float("nan")
F8 = np.dtype(np.float64)


# ---- one indicator of one symbol ---------------------------------------------------------------


class Series:
    """Bars of one symbol at one interval for the window-based indicators: the seed
    (historical) bars, then the session's bars, in one growing columnar buffer."""

    __slots__ = ("cols", "n", "seed_len", "synced", "views")

    def __init__(self, seed: Window, capacity: int) -> None:
        n = len(seed)
        size = max(n + capacity, 16)
        self.cols = [np.empty(size, np.int64)] + [np.empty(size, np.float64) for _ in range(5)]
        for col, values in zip(self.cols, seed.columns(), strict=True):
            col[:n] = values
        self.n = n
        self.seed_len = n
        self.synced = 0  # session bars copied from the ring (appended + evicted)
        self.views = self._views()

    def _views(self) -> list[np.ndarray]:
        views = [col.view() for col in self.cols]
        for v in views:
            v.flags.writeable = False
        return views

    def append(self, new: tuple[np.ndarray, ...]) -> None:
        k = len(new[0])
        if self.n + k > len(self.cols[0]):
            size = max(2 * len(self.cols[0]), self.n + k)
            grown = []
            for col in self.cols:
                bigger = np.empty(size, col.dtype)
                bigger[:self.n] = col[:self.n]
                grown.append(bigger)
            self.cols = grown
            self.views = self._views()
        for col, values in zip(self.cols, new, strict=True):
            col[self.n:self.n + k] = values
        self.n += k

    def sync(self, ring: Any) -> None:
        """Copy the ring's bars not copied yet (idempotent: several indicators share one)."""
        total = len(ring) + ring.evicted
        missing = total - self.synced
        if missing > 0:
            self.append(ring.arrays(missing, copy=False))
            self.synced = total


class IndicatorState:
    """One indicator of one symbol: the instance, its current value and `ready` flag, the
    per-bar history of the current session and, once it raised, the error.

    Feeding only keeps the arrays the indicator returned; `value`, `ready` and `history()`
    are worked out from them when read."""

    __slots__ = ("_last", "_parts", "_ring", "_window", "count", "error", "indicator", "interval",
                 "key", "name", "outputs", "params", "series", "size", "start", "style",
                 "warmup")

    def __init__(self, key: str, name: str, indicator: Indicator | None,
                 params: Mapping[str, Any], *, cls: type[Indicator] | None = None,
                 interval: str = "") -> None:
        """`indicator` None (with `cls` and `interval`) makes a state for an indicator that
        could not be built; call `fail()` on it."""
        kind = type(indicator) if indicator is not None else cls
        assert kind is not None
        self.key = key
        self.name = name
        self.indicator = indicator
        self.interval = indicator.interval.name if indicator is not None else interval
        self.params = dict(params)
        self.outputs = tuple(kind.outputs)
        self.style = style_of(kind)
        warmup = indicator.warmup if indicator is not None else 1
        self.warmup = max(1, int(warmup))
        size = indicator.window if indicator is not None else None
        self.size = self.warmup if size is None else max(1, int(size))
        self.error: str | None = None
        self.restart()

    def restart(self) -> None:
        """Start over for a new session: the indicator's `reset()`, no bars, no history."""
        self.count = 0
        self.series: Series | None = None
        self.start = 0
        self._window: Window | None = None
        self._parts: list[tuple[int, I64 | None, list[F64]]] = []  # (bars before, ts, values)
        self._last: tuple[int, list[F64]] | None = None
        self._ring: Any = None  # the session's bars of the interval, when they hold the ts
        if self.indicator is not None:
            self.indicator.reset()

    @property
    def needs_series(self) -> bool:
        return self.style in ("update", "compute")

    @property
    def active(self) -> bool:
        return self.error is None

    def attach(self, series: Series, start: int) -> None:
        """Read bars from `series`, starting at row `start`."""
        self.series = series
        self.start = start

    def follow(self, ring: Any) -> None:
        """The session's bars of the interval go to `ring` (a `BarRing`) as they are fed
        here: `history_ts()` reads them from there instead of keeping a copy."""
        self._ring = ring

    # --- feeding ---------------------------------------------------------------------------

    def feed(self, new: Window, record: bool = True) -> None:
        """Advance over the `new` closed bars (in order). For window-based styles they must
        already be the last rows of `self.series`. `record` keeps the values in the
        session history (not while seeding)."""
        k = new._hi - new._lo
        if k == 0:
            return
        if self.style == "update_many":
            out = self.indicator.update_many(new)
            if type(out) is np.ndarray and out.dtype == F8 and out.shape == (k,) and len(
                    self.outputs) == 1:
                values = [out]
            else:
                values = self._many(out, k)
        else:
            values = self._values(k)
        before = self.count
        self.count = before + k
        self._last = (before, values)
        if record:
            self._parts.append((before, None if self._ring is not None else new.ts.copy(),
                                values))

    def _many(self, out: Any, k: int) -> list[F64]:
        """What `update_many` returned, as one float64 array of k values per output."""
        if type(out) is tuple and len(out) == len(self.outputs) > 1:
            for o in out:
                if type(o) is not np.ndarray or o.dtype != F8 or o.shape != (k,):
                    break
            else:
                return list(out)
        return self._check(out, k, "update_many")

    def _values(self, k: int) -> list[F64]:
        """`update` or `compute` over the series' last k bars: one array per output."""
        if self.style == "update":
            return self._check(self._run_updates(k), k, "update")
        series = self.series
        assert series is not None
        out = self.indicator.compute(Window(*series.views, lo=self.start, hi=series.n))
        return self._check(out, series.n - self.start, "compute", tail=k)

    def _run_updates(self, k: int) -> Any:
        series = self.series
        assert series is not None
        window = self._window
        if window is None or window._c is not series.views[4]:
            window = self._window = Window(*series.views)
        stop = series.n - self.start  # bars seen after this chunk
        first = stop - k + 1  # bars seen once the first new bar is in
        update = self.indicator.update
        size, offset, warmup = self.size, self.start, self.warmup
        skip = min(k, max(0, warmup - first))
        blank = NAN if len(self.outputs) == 1 else (NAN,) * len(self.outputs)
        out: list[Any] = [blank] * skip
        append = out.append
        begin, end = offset + first + skip, offset + stop + 1  # hi: one past the newest bar
        full = min(max(begin, offset + size + 1), end)  # from there on, lo = hi - size
        window._lo = offset
        for hi in range(begin, full):  # fewer than `size` bars so far: the window starts
            window._hi = hi            # at the indicator's first bar
            append(update(window))
        for lo, hi in zip(range(full - size, end - size), range(full, end), strict=True):
            window._lo = lo
            window._hi = hi
            append(update(window))
        return out

    def _check(self, out: Any, n: int, method: str, tail: int | None = None) -> list[F64]:
        """`out` as one float64 array of n values per output (the last `tail` of them)."""
        m = len(self.outputs)
        try:
            arr = np.array(out, dtype=np.float64)
        except (TypeError, ValueError):
            arr = None
        if method == "update":
            want = (n,) if m == 1 else (n, m)
            if arr is None or arr.shape != want:
                what = "a float" if m == 1 else f"a tuple of {m} floats ({', '.join(self.outputs)})"
                raise TypeError(f"update() must return {what}")
            cols = [arr] if m == 1 else [np.ascontiguousarray(arr[:, j]) for j in range(m)]
        else:
            want = (n,) if m == 1 else (m, n)
            if arr is None or arr.shape != want:
                shape = "an array" if m == 1 else f"a tuple of {m} arrays"
                got = "something else" if arr is None else f"shape {arr.shape}"
                raise TypeError(f"{method}() must return {shape} of {n} values, got {got}")
            cols = [arr] if m == 1 else list(arr)
        if tail is not None:
            cols = [c[len(c) - tail:].copy() for c in cols]
        return cols

    def fail(self, exc: BaseException, symbol: str) -> str:
        """Disable the indicator; returns the one-line error message."""
        lines = str(exc).strip().splitlines()
        reason = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
        self.error = f"{symbol}: indicator {self.key} raised {reason}"
        return self.error

    # --- reading ---------------------------------------------------------------------------

    @property
    def value(self) -> tuple[float, ...]:
        """The value of each output at the last closed bar (NaN while not ready)."""
        last = self._last
        if last is None or self.error is not None or self.count < self.warmup:
            return (NAN,) * len(self.outputs)
        return tuple(float(v[-1]) for v in last[1])

    @property
    def ready(self) -> bool:
        """Warmed up (`warmup` bars seen) and the value is a number."""
        if self.error is not None or self.count < self.warmup or self._last is None:
            return False
        first = self._last[1][0][-1]
        return bool(first == first)

    def history(self, output: str | None = None) -> F64:
        """This session's value per closed bar of the interval (a new array; NaN while not
        ready), for `output` (default: the first)."""
        j = 0 if output is None else self.outputs.index(output)
        if not self._parts:
            return np.empty(0, np.float64)
        out = np.concatenate([values[j] for _, _, values in self._parts])
        first = self._parts[0][0]
        if first < self.warmup - 1:  # the first warmup - 1 values are never ready
            out[:self.warmup - 1 - first] = NAN
        return out

    def history_ts(self) -> I64:
        """The bar starts that `history()` values belong to."""
        if not self._parts:
            return np.empty(0, np.int64)
        if self._ring is not None:
            n = sum(len(values[0]) for _, _, values in self._parts)
            ts = self._ring.column("ts")
            if self._ring.evicted == 0 and len(ts) >= n:
                return ts[:n]
            return ts[len(ts) - min(n, len(ts)):]  # a live ring dropped the oldest bars
        return np.concatenate([ts for _, ts, _ in self._parts])

    def values(self) -> dict[str, float]:
        """Current value of each output."""
        return dict(zip(self.outputs, self.value, strict=True))

    def to_dict(self) -> dict[str, Any]:
        """The export shape: name, interval, params, value, ready (+ values, error)."""
        doc: dict[str, Any] = {
            "name": self.name,
            "interval": self.interval,
            "params": dict(self.params),
            "value": _num(self.value[0]),
            "ready": self.ready,
        }
        if len(self.outputs) > 1:
            doc["values"] = {o: _num(v) for o, v in zip(self.outputs, self.value, strict=True)}
        if self.error is not None:
            doc["error"] = self.error
        return doc

    def __repr__(self) -> str:
        return (f"IndicatorState({self.key!r}, value={self.value[0]!r}, ready={self.ready}"
                f"{', error' if self.error else ''})")


def _num(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def drive(indicator: Indicator, bars: Bars, chunks: Any = None) -> IndicatorState:
    """Run `indicator` over `bars` the way a session does, handing it the bars in chunks of
    the given sizes (default: all at once); returns its state, whose `history()` holds one
    value per bar. Raises whatever the indicator raises."""
    n = len(bars.ts)
    sizes = [n] if chunks is None else [int(c) for c in chunks]
    if any(c < 0 for c in sizes) or sum(sizes) != n:
        raise ValueError(f"chunk sizes {sizes} do not add up to the {n} bars")
    state = IndicatorState("", indicator.name, indicator, {})
    if state.needs_series:
        state.attach(Series(Window.of(Bars.empty()), n), 0)
    done = 0
    for size in sizes:
        if size == 0:
            continue
        new = Window(*bars, lo=done, hi=done + size)
        if state.series is not None:
            state.series.append(new.columns())
        state.feed(new)
        done += size
    return state


__all__ = ["IndicatorState", "Series", "drive"]
