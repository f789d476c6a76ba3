"""Typed parameters declared as annotated class attributes, shared by the plugin protocols
whose classes take parameters from the session file or the command line (indicators,
strategies): `period: int = 20` declares a parameter `period`, an int, default 20."""

from __future__ import annotations

import inspect
import math
import weakref
from collections.abc import Mapping
from typing import Any, ClassVar


def show_value(value: Any) -> str:
    """A parameter value as the session file writes it: `true`, `20`, `'close'`."""
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
        raise ValueError(f"{name} must be true or false, got {show_value(value)}")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError(f"{name} must be a whole number, got {show_value(value)}")
    if kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise ValueError(f"{name} must be a finite number, got {show_value(value)}")
    if kind is str:
        if isinstance(value, str):
            return value
        raise ValueError(f"{name} must be a string, got {show_value(value)}")
    return value


_DECLARED: weakref.WeakKeyDictionary[type, dict[str, tuple[Any, type | None]]] = (
    weakref.WeakKeyDictionary())
"""Class -> its parameters (from `Parametrized._declare`)."""


def _is_value(obj: Any) -> bool:
    return not (callable(obj) or isinstance(obj, property | staticmethod | classmethod))


class Parametrized:
    """Base of the classes with declared parameters. A protocol's base class (one whose
    body sets `_reserved`, the names a parameter may not take) declares none itself."""

    _reserved: ClassVar[frozenset[str]] = frozenset()

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
            if not (isinstance(klass, type) and issubclass(klass, Parametrized)) or (
                    "_reserved" in klass.__dict__):
                continue
            for key, note in inspect.get_annotations(klass).items():
                if key.startswith("_") or key in cls._reserved or "ClassVar" in str(note):
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
        return ", ".join(f"{k}={show_value(v)}" for k, v in cls.parameters().items()) or "none"


__all__ = ["Parametrized", "show_value"]
