"""The indicator protocol: the `Indicator` base class and the `Window` of closed bars it sees.

Exported as `mismartera.Indicator`; see `mismartera.session.indicators` for how a session
runs indicators and docs/indicators.md for the whole story.
"""

from __future__ import annotations

import inspect
import math
import weakref
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from mismartera.bars import Bars
from mismartera.intervals import Interval

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
    def of(cls, bars: Bars) -> Window:
        """A window over all of `bars`."""
        return cls(*bars)

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


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


_KINDS = {"bool": bool, "int": int, "float": float, "str": str}


def _kind(note: Any, default: Any) -> type | None:
    """The type a parameter's values must have: its annotation when that is bool, int,
    float or str, else its default's type when that is one of them, else None (any)."""
    name = note if isinstance(note, str) else getattr(note, "__name__", "")
    if name in _KINDS:
        return _KINDS[name]
    return next((t for t in (bool, int, float, str) if isinstance(default, t)), None)


def _coerce(name: str, kind: type | None, value: Any) -> Any:
    """`value` checked against `kind` (ints are accepted for floats); ValueError otherwise."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ValueError(f"{name} must be true or false, got {_show(value)}")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError(f"{name} must be a whole number, got {_show(value)}")
    if kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise ValueError(f"{name} must be a finite number, got {_show(value)}")
    if kind is str:
        if isinstance(value, str):
            return value
        raise ValueError(f"{name} must be a string, got {_show(value)}")
    return value


_DECLARED: weakref.WeakKeyDictionary[type, dict[str, tuple[Any, type | None]]] = (
    weakref.WeakKeyDictionary())
"""Indicator class -> its parameters (from `Indicator._declare`)."""


def _is_value(obj: Any) -> bool:
    return not (callable(obj) or isinstance(obj, property | staticmethod | classmethod))


class Indicator:
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

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    outputs: ClassVar[tuple[str, ...]] = ("value",)
    per_session: ClassVar[bool] = False
    warmup: ClassVar[int] = 1
    unstable: ClassVar[int | None] = None
    window: ClassVar[int | None] = None

    interval: Interval

    def __init__(self, interval: Interval | str = "1m", **params: Any) -> None:
        self.interval = Interval.parse(interval)
        for key, value in self.resolve_params(params).items():
            setattr(self, key, value)
        self.validate()
        self.reset()

    @classmethod
    def _declared(cls) -> dict[str, tuple[Any, type | None]]:
        """Parameter name -> (default, required type), base classes' parameters first
        (worked out once per class)."""
        declared = _DECLARED.get(cls)
        if declared is None:
            declared = _DECLARED[cls] = cls._declare()
        return declared

    @classmethod
    def _declare(cls) -> dict[str, tuple[Any, type | None]]:
        out: dict[str, tuple[Any, type | None]] = {}
        for klass in reversed(cls.__mro__):
            if not (isinstance(klass, type) and issubclass(klass, Indicator)) or klass is Indicator:
                continue
            for key, note in inspect.get_annotations(klass).items():
                if key.startswith("_") or key in RESERVED or "ClassVar" in str(note):
                    continue
                if key in klass.__dict__ and _is_value(klass.__dict__[key]):
                    out[key] = (None, _kind(note, klass.__dict__[key]))
                elif key in out:
                    out[key] = (None, _kind(note, None) or out[key][1])
        return {key: (getattr(cls, key), kind) for key, (_, kind) in out.items()
                if _is_value(getattr(cls, key, len))}

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        """Parameter name -> default, in declaration order."""
        return {key: default for key, (default, _) in cls._declared().items()}

    @classmethod
    def resolve_params(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """The defaults updated with `given`, each checked against its parameter's type.
        ValueError names an unknown parameter or a bad value."""
        declared = cls._declared()
        out = {key: default for key, (default, _) in declared.items()}
        for key, value in given.items():
            if key not in declared:
                raise ValueError(f"unknown parameter {key!r}")
            out[key] = _coerce(key, declared[key][1], value)
        return out

    @classmethod
    def describe_params(cls) -> str:
        """"period=20, field='close'" (or "none"), for messages and listings."""
        return ", ".join(f"{k}={_show(v)}" for k, v in cls.parameters().items()) or "none"

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
