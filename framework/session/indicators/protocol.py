"""The indicator protocol: the `Indicator` base class and the `Window` of closed bars it sees.

Exported as `mismartera.Indicator`; see `mismartera.session.indicators` for how a session
runs indicators and docs/indicators.md for the whole story.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from mismartera.bars import Bars
from mismartera.intervals import Interval
from mismartera.params import Parametrized

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

RESERVED = frozenset({
    "name", "description", "outputs", "per_session", "warmup", "unstable", "window", "interval",
    "parameters", "resolve_params", "describe_params", "update", "compute", "update_many",
    "kernel", "validate", "reset",
})
"""Names a parameter may not take: they are the protocol's own attributes."""


# ---- the window an indicator sees --------------------------------------------------------------


class Window:
    """The closed bars an indicator sees, oldest first, newest last: read-only numpy views.

    `len(window)` bars; `window.close[-1]` is the bar that just closed. Views are valid only
    during the call that received them (copy what you keep)."""

    __slots__ = ("_c", "_h", "_hi", "_l", "_lo", "_o", "_t", "_v")

    def __init__(self, ts: I64, open: F64, high: F64, low: F64,
                 close: F64, volume: F64, lo: int = 0, hi: int | None = None) -> None:
        self._t, self._o, self._h, self._l, self._c, self._v = ts, open, high, low, close, volume
        self._lo = lo
        self._hi = len(ts) if hi is None else hi

    @classmethod
    def of(cls, bars: Bars, lo: int = 0, hi: int | None = None) -> Window:
        """A window over `bars` (rows lo .. hi - 1; default: all of them)."""
        return cls(bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume, lo, hi)

    @property
    def ts(self) -> I64:
        """Bar starts, int64 ns since the epoch (UTC)."""
        return self._t[self._lo:self._hi]

    @property
    def open(self) -> F64:
        return self._o[self._lo:self._hi]

    @property
    def high(self) -> F64:
        return self._h[self._lo:self._hi]

    @property
    def low(self) -> F64:
        return self._l[self._lo:self._hi]

    @property
    def close(self) -> F64:
        return self._c[self._lo:self._hi]

    @property
    def volume(self) -> F64:
        return self._v[self._lo:self._hi]

    def field(self, name: str) -> F64:
        """One column by name: "open", "high", "low", "close" or "volume"."""
        if name not in ("open", "high", "low", "close", "volume"):
            raise ValueError(f"unknown bar field {name!r}")
        return getattr(self, name)

    def bars(self) -> Bars:
        """The window as `Bars` (views)."""
        return Bars(*self.columns())

    def columns(self) -> tuple[I64, F64, F64, F64, F64, F64]:
        """(ts, open, high, low, close, volume) views."""
        lo, hi = self._lo, self._hi
        return (self._t[lo:hi], self._o[lo:hi], self._h[lo:hi], self._l[lo:hi],
                self._c[lo:hi], self._v[lo:hi])

    def __len__(self) -> int:
        return self._hi - self._lo

    def __repr__(self) -> str:
        return f"Window({len(self)} bars)"


# ---- the protocol ------------------------------------------------------------------------------


class Indicator(Parametrized):
    """Base class of session indicators: subclass it, declare its parameters, and implement
    `update` (streaming), `compute` (batch), `update_many` (stateful batch) or `kernel`
    (a compiled kernel of `mismartera.ext.kernels`).

    Parameters are the class attributes annotated with a type and given a default, e.g.
    `period: int = 20`. Values from the session file or `--indicator` are checked against
    the type (bool, int, float, str; ints are accepted for floats) and set on the instance
    (`self.period`). Other class attributes describe the indicator:

        outputs      names of the values it produces; ("value",) unless multi-output
        warmup       bars it needs before its value is ready (an int, or a property of
                     the parameters); `update` is first called when that many bars closed
        unstable     bars beyond `warmup` a recursive indicator needs before its value no
                     longer depends on where it started (default: worked out from the
                     kernel for a compiled indicator, 0 otherwise); see `lookback`
        window       bars `update` receives (default: `warmup`)
        per_session  True to start afresh at every session open, not seeded from history
                     (e.g. a session VWAP)

    An indicator's state carries from one session to the next. At its first appearance it
    is seeded with its last `warmup + unstable` bars of history (see docs/indicators.md).

    The session builds one instance per symbol as `cls(interval, **params)`; the interval
    it runs on is `self.interval` (an `Interval`). Override `validate()` to refuse bad
    parameters (raise ValueError with a short reason) and `reset()` to set up state (keep
    state out of annotated class attributes: those are parameters).
    """

    _reserved = RESERVED
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    outputs: ClassVar[tuple[str, ...]] = ("value",)
    per_session: ClassVar[bool] = False
    if TYPE_CHECKING:  # an int, or a property of the parameters: typed so either overrides
        @property
        def warmup(self) -> int: ...
    else:
        warmup = 1
    unstable: ClassVar[int | None] = None
    window: ClassVar[int | None] = None

    interval: Interval

    def __init__(self, interval: Interval | str = "1m", **params: Any) -> None:
        self.interval = Interval.parse(interval)
        for key, value in self.resolve_params(params).items():
            setattr(self, key, value)
        self.validate()
        self.reset()

    def validate(self) -> None:
        """Raise ValueError (a short reason) when the parameters cannot be used."""

    def reset(self) -> None:
        """Set up state, or forget all of it: called before the first bar the instance sees
        (its seed), and again at every session open when `per_session` (an instance serves
        one symbol and keeps its state from one session to the next)."""

    def update(self, window: Window) -> float | tuple[float, ...]:
        """Streaming: the value(s) at the bar that just closed (`window.close[-1]`)."""
        raise NotImplementedError

    def compute(self, bars: Window) -> Any:
        """Batch: one value per bar of `bars` (an array; a tuple of arrays if multi-output).
        Value i may use bars 0..i only."""
        raise NotImplementedError

    def update_many(self, bars: Window) -> Any:
        """Stateful batch: the value(s) for each of the new closed `bars`, which arrive in
        order, each exactly once (a new array; a tuple of arrays if multi-output)."""
        raise NotImplementedError

    def kernel(self) -> tuple[Any, tuple[str, ...]]:
        """Compiled: a new streaming kernel from `mismartera.ext.kernels` and the bar fields
        it reads, one per kernel input, e.g. `(kernels.EMA(self.period), ("close",))`. The
        session advances it in compiled code together with the symbol's other compiled
        indicators of the interval: no Python runs per bar or per chunk. Called once per
        instance the session runs (and once on a probe instance when the session is
        configured); the kernel's outputs are the indicator's `outputs`, in order."""
        raise NotImplementedError

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={getattr(self, k, None)!r}" for k in self.parameters())
        return f"{type(self).__name__}({self.interval}{', ' if shown else ''}{shown})"


def style_of(cls: type) -> str:
    """"kernel", "update_many", "update" or "compute": the method a subclass implements (in
    that order of preference); "" when it implements none."""
    for method in ("kernel", "update_many", "update", "compute"):
        if getattr(cls, method, None) is not getattr(Indicator, method):
            return method
    return ""


__all__ = ["Indicator", "Window", "style_of"]
