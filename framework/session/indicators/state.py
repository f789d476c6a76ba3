"""The running state of one indicator of one symbol: its value, `ready` flag, per-bar
history and error (`RunningIndicator`), kept by a compiled `KernelBank` (`KernelState`) or
fed from Python (`IndicatorState`, which disables the indicator when it raises); and the
bar series the window-based Python indicators read."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from mismartera.bars import Bars
from mismartera.ext.indicator_bank import KernelBank
from mismartera.ext.ring import BarRing
from mismartera.session.indicators.lookback import kernel_of
from mismartera.session.indicators.lookback import lookback as seed_lookback
from mismartera.session.indicators.protocol import F64, I64, Indicator, Window, style_of

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

    def window(self, lo: int = 0, hi: int | None = None) -> Window:
        """A window over the series' rows lo .. hi - 1 (default: every row so far)."""
        t, o, h, low, c, v = self.views
        return Window(t, o, h, low, c, v, lo, self.n if hi is None else hi)

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


class RunningIndicator:
    """What every running indicator of a symbol shows: value, `ready`, per-bar history of the
    current session, the error once it failed, and its export shape. Subclasses say how it
    is fed and where its values are kept (`count`, `_last_values`, `_recorded`)."""

    __slots__ = ("_ring", "error", "indicator", "interval", "key", "name", "outputs", "params",
                 "warmup")

    def __init__(self, key: str, name: str, indicator: Indicator | None,
                 params: Mapping[str, Any], kind: type[Indicator], interval: str) -> None:
        self.key = key
        self.name = name
        self.indicator = indicator
        self.interval = indicator.interval.name if indicator is not None else interval
        self.params = dict(params)
        self.outputs = tuple(kind.outputs)
        self.warmup = max(1, int(indicator.warmup)) if indicator is not None else 1
        self.error: str | None = None
        self._ring: Any = None  # the session's bars of the interval, when they hold the ts

    @property
    def count(self) -> int:
        """Bars fed since the indicator's first appearance, seed bars included."""
        raise NotImplementedError

    def _last_values(self) -> tuple[float, ...] | None:
        """The values at the last bar fed (None before any)."""
        raise NotImplementedError

    def _recorded(self, j: int) -> tuple[int, F64]:
        """(bars fed before the first recorded one, this session's values of output j)."""
        raise NotImplementedError

    def follow(self, ring: Any) -> None:
        """The session's bars of the interval go to `ring` (a `BarRing`) as they are fed
        here: `history_ts()` reads them from there instead of keeping a copy."""
        self._ring = ring

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
        last = self._last_values() if self.error is None and self.count >= self.warmup else None
        return (NAN,) * len(self.outputs) if last is None else last

    @property
    def ready(self) -> bool:
        """Warmed up (`warmup` bars seen) and the value is a number."""
        first = self.value[0]
        return self.error is None and first == first

    def at(self, ago: int = 0, output: int = 0) -> float:
        """The value of output number `output` `ago` bars of the interval before the last
        one (0: the last); NaN while not ready, and before this session's first bar."""
        if ago == 0:
            return self.value[output]
        values = self.history(self.outputs[output])
        return float(values[len(values) - 1 - ago]) if ago < len(values) else NAN

    @property
    def session_count(self) -> int:
        """Values recorded this session (one per closed bar of the interval)."""
        return len(self._recorded(0)[1])

    def history(self, output: str | None = None) -> F64:
        """This session's value per closed bar of the interval (a new array; NaN while not
        ready), for `output` (default: the first)."""
        before, out = self._recorded(0 if output is None else self.outputs.index(output))
        if len(out) and before < self.warmup - 1:  # the first warmup - 1 values are never ready
            out[:self.warmup - 1 - before] = NAN
        return out

    def _ts_parts(self) -> I64:
        raise TypeError(f"indicator {self.key} follows no bars: no timestamps to show")

    def history_ts(self) -> I64:
        """The bar starts that `history()` values belong to."""
        if self._ring is None:
            return self._ts_parts()
        n = len(self._recorded(0)[1])
        ts = self._ring.column("ts")
        if self._ring.evicted == 0 and len(ts) >= n:
            return ts[:n]
        return ts[len(ts) - min(n, len(ts)):]  # a live ring dropped the oldest bars

    def values(self) -> dict[str, float]:
        """Current value of each output."""
        return dict(zip(self.outputs, self.value, strict=True))

    def to_dict(self) -> dict[str, Any]:
        """The export shape: name, interval, params, value, ready (+ values, error)."""
        value = self.value
        doc: dict[str, Any] = {
            "name": self.name,
            "interval": self.interval,
            "params": dict(self.params),
            "value": _num(value[0]),
            "ready": self.ready,
        }
        if len(self.outputs) > 1:
            doc["values"] = {o: _num(v) for o, v in zip(self.outputs, value, strict=True)}
        if self.error is not None:
            doc["error"] = self.error
        return doc

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.key!r}, value={self.value[0]!r}, "
                f"ready={self.ready}{', error' if self.error else ''})")


class KernelState(RunningIndicator):
    """An indicator that is one compiled kernel (`Indicator.kernel()`), run in a
    `KernelBank` with the symbol's other compiled indicators of its interval; the bank
    holds its values."""

    __slots__ = ("bank", "index")

    def __init__(self, key: str, name: str, indicator: Indicator, params: Mapping[str, Any],
                 bank: Any, index: int) -> None:
        super().__init__(key, name, indicator, params, type(indicator), "")
        self.bank = bank
        self.index = index

    @property
    def count(self) -> int:
        return self.bank.count(self.index)

    def _last_values(self) -> tuple[float, ...] | None:
        return self.bank.last(self.index) if self.bank.count(self.index) else None

    def _recorded(self, j: int) -> tuple[int, F64]:
        out = self.bank.history(self.index, j)
        return self.bank.count(self.index) - len(out), out

    def at(self, ago: int = 0, output: int = 0) -> float:
        if self.error is not None:
            return NAN
        return self.bank.value(self.index, output, ago, self.warmup)

    @property
    def session_count(self) -> int:
        return self.bank.recorded(self.index)


class IndicatorState(RunningIndicator):
    """An indicator run from Python (`update`, `compute` or `update_many`): the instance,
    the arrays it returned this session and, once it raised, the error.

    Feeding only keeps the arrays the indicator returned; `value`, `ready` and `history()`
    are worked out from them when read."""

    __slots__ = ("_count", "_last", "_parts", "_window", "series", "size", "start", "style")

    def __init__(self, key: str, name: str, indicator: Indicator | None,
                 params: Mapping[str, Any], *, cls: type[Indicator] | None = None,
                 interval: str = "") -> None:
        """`indicator` None (with `cls` and `interval`) makes a state for an indicator that
        could not be built; call `fail()` on it."""
        kind = type(indicator) if indicator is not None else cls
        assert kind is not None
        super().__init__(key, name, indicator, params, kind, interval)
        self.style = style_of(kind)
        size = indicator.window if indicator is not None else None
        self.size = self.warmup if size is None else max(1, int(size))
        self.restart()

    def restart(self) -> None:
        """Start over: the indicator's `reset()`, no bars seen, no history."""
        self._count = 0
        self._last: list[F64] | None = None
        self.new_session()
        if self.indicator is not None:
            self.indicator.reset()

    def new_session(self) -> None:
        """A new session: no history recorded yet, no series attached; the indicator and
        what it has seen carry on."""
        self.series: Series | None = None
        self.start = 0
        self._window: Window | None = None
        self._parts: list[tuple[int, I64 | None, list[F64]]] = []  # (bars before, ts, values)
        self._ring = None

    @property
    def count(self) -> int:
        return self._count

    @property
    def needs_series(self) -> bool:
        return self.style in ("update", "compute")

    def attach(self, series: Series, start: int) -> None:
        """Read bars from `series`, starting at row `start`."""
        self.series = series
        self.start = start

    def _last_values(self) -> tuple[float, ...] | None:
        last = self._last
        return None if last is None else tuple(float(v[-1]) for v in last)

    def _recorded(self, j: int) -> tuple[int, F64]:
        if not self._parts:
            return self._count, np.empty(0, np.float64)
        return self._parts[0][0], np.concatenate([values[j] for _, _, values in self._parts])

    def _ts_parts(self) -> I64:
        if not self._parts:
            return np.empty(0, np.int64)
        return np.concatenate([ts for _, ts, _ in self._parts])

    # --- feeding ---------------------------------------------------------------------------

    def feed(self, new: Window, record: bool = True) -> None:
        """Advance over the `new` closed bars (in order). For window-based styles they must
        already be the last rows of `self.series`. `record` keeps the values in the
        session history (not while seeding)."""
        k = new._hi - new._lo
        if k == 0:
            return
        if self.style == "update_many":
            assert self.indicator is not None
            out = self.indicator.update_many(new)
            if type(out) is np.ndarray and out.dtype == F8 and out.shape == (k,) and len(
                    self.outputs) == 1:
                values = [out]
            else:
                values = self._many(out, k)
        else:
            values = self._values(k)
        before = self._count
        self._count = before + k
        self._last = values
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
        indicator = self.indicator
        assert indicator is not None
        out = indicator.compute(series.window(self.start))
        return self._check(out, series.n - self.start, "compute", tail=k)

    def _run_updates(self, k: int) -> Any:
        """`update` once per new bar (the series' last k rows), each time with the window of
        the last `size` bars ending there (fewer when the series holds fewer from `start`);
        NaN for the bars seen before `warmup` bars were."""
        series = self.series
        assert series is not None
        window = self._window
        if window is None or window._c is not series.views[4]:
            window = self._window = series.window(0, len(series.views[0]))
        assert self.indicator is not None
        update = self.indicator.update
        size, start, end = self.size, self.start, series.n + 1  # hi: one past the newest bar
        skip = min(k, max(0, self.warmup - self._count - 1))
        blank = NAN if len(self.outputs) == 1 else (NAN,) * len(self.outputs)
        out: list[Any] = [blank] * skip
        append = out.append
        begin = series.n - k + 1 + skip
        full = min(max(begin, start + size), end)  # from there on, lo = hi - size
        window._lo = start
        for hi in range(begin, full):  # fewer than `size` bars from `start`
            window._hi = hi
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


def _num(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def indicator_arrays(indicators: Mapping[str, Any], interval: str,
                     ts: np.ndarray) -> dict[str, np.ndarray]:
    """A symbol's session indicators (`SymbolSessionData.indicators`) of `interval` as
    float64 columns beside its bars stamped `ts` (NaN until ready); a multi-output indicator
    gives one column per output, `KEY.OUTPUT`."""
    columns: dict[str, np.ndarray] = {}
    for key, state in indicators.items():
        if not isinstance(state, RunningIndicator) or state.interval != interval:
            continue
        stamps = state.history_ts()
        at = np.searchsorted(ts, stamps)
        hit = at < len(ts)
        hit[hit] = ts[at[hit]] == stamps[hit]
        for output in state.outputs:
            values = np.full(len(ts), np.nan)
            history = state.history(output)
            values[at[hit]] = history[len(history) - len(stamps):][hit]
            columns[key if len(state.outputs) == 1 else f"{key}.{output}"] = values
    return columns


def add_kernel(bank: Any, key: str, indicator: Indicator, params: Mapping[str, Any],
               seed_days: int = 0, lookback: int | None = None) -> KernelState:
    """Put a compiled indicator's kernel into `bank` (a `KernelBank`), seeded with its last
    `lookback` bars (default: `lookback.lookback`) of its last `seed_days` days;
    its state. TypeError when `kernel()` does not give a kernel with the indicator's
    outputs."""
    kernel, fields = kernel_of(indicator)
    if lookback is None:
        lookback = seed_lookback(indicator, kernel)
    try:
        index = bank.add(kernel, fields, lookback, seed_days, type(indicator).per_session)
    except ValueError as exc:
        raise TypeError(f"kernel() fields: {exc}") from None
    return KernelState(key, indicator.name, indicator, params, bank, index)


def drive(indicator: Indicator, bars: Bars, chunks: Any = None) -> RunningIndicator:
    """Run `indicator` over `bars` the way a session does, handing it the bars in chunks of
    the given sizes (default: all at once); returns its state, whose `history()` holds one
    value per bar. Raises whatever the indicator raises."""
    n = len(bars.ts)
    sizes = [n] if chunks is None else [int(c) for c in chunks]
    if any(c < 0 for c in sizes) or sum(sizes) != n:
        raise ValueError(f"chunk sizes {sizes} do not add up to the {n} bars")
    if style_of(type(indicator)) == "kernel":
        bank, ring = KernelBank(n), BarRing(max(n, 1))
        kernel_state = add_kernel(bank, "", indicator, {})
        kernel_state.follow(ring)
        done = 0
        for size in sizes:
            ring.extend(*Window.of(bars, done, done + size).columns())
            bank.advance(ring, size)
            done += size
        return kernel_state
    state = IndicatorState("", indicator.name, indicator, {})
    if state.needs_series:
        state.attach(Series(Window.of(Bars.empty()), n), 0)
    done = 0
    for size in sizes:
        if size == 0:
            continue
        new = Window.of(bars, done, done + size)
        if state.series is not None:
            state.series.append(new.columns())
        state.feed(new)
        done += size
    return state


__all__ = ["IndicatorState", "KernelState", "RunningIndicator", "Series", "add_kernel", "drive",
           "indicator_arrays"]
