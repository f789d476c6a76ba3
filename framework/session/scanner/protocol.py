"""What a scanner plugin implements and returns: `Param` declares one parameter (default and
accepted values) and `parse_params` checks an entry's values against the declarations with
one-line errors; `ScanResult` is the symbols a scan wants added and removed; `Scanner` is the
convenient base class and `ScannerProtocol` the minimum the manager needs (a `scan(ctx)`).
"""

from __future__ import annotations

import datetime
import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from mismartera.errors import ConfigError
from mismartera.params import show_value
from mismartera.symbols import check_symbol

if TYPE_CHECKING:
    from mismartera.session.scanner.context import ScanContext


# --- parameters -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One scanner parameter: its default and the values it accepts.

    `kind` is `float`, `int`, `bool` or `str`; `minimum` bounds numbers (excluded when
    `strict`); `choices` lists the accepted strings. A default of None makes the parameter
    optional (None means "not set")."""

    default: Any
    kind: type = float
    minimum: float | None = None
    strict: bool = False
    choices: tuple[str, ...] | None = None
    help: str = ""

    def expected(self) -> str:
        """What the parameter accepts, as a message says it."""
        if self.choices:
            quoted = [repr(c) for c in self.choices]
            return "expected " + (", ".join(quoted[:-1]) + f" or {quoted[-1]}"
                                  if len(quoted) > 1 else quoted[0])
        what = {float: "a number", int: "a whole number", bool: "true or false",
                str: "a non-empty string"}.get(self.kind, self.kind.__name__)
        if self.minimum is not None and self.kind in (float, int):
            what += f" {'>' if self.strict else '>='} {self.minimum:g}"
        return f"expected {what}"

    def check(self, value: Any) -> Any:
        """The value converted to `kind`; ValueError(what was expected) when it is not valid."""
        if value is None and self.default is None:
            return None
        out: Any = None
        if self.kind is bool:
            out = value if isinstance(value, bool) else None
        elif self.kind is int:
            if isinstance(value, int) and not isinstance(value, bool):
                out = value
            elif isinstance(value, float) and value.is_integer():
                out = int(value)
        elif self.kind is float:
            if isinstance(value, int | float) and not isinstance(value, bool):
                out = float(value)
                if not math.isfinite(out):
                    out = None
        elif self.kind is str:
            out = value.strip() if isinstance(value, str) and value.strip() else None
        else:
            out = value if isinstance(value, self.kind) else None
        if out is not None and self.minimum is not None and self.kind in (float, int) and (
            out < self.minimum or (self.strict and out == self.minimum)
        ):
            out = None
        if out is not None and self.choices is not None and out not in self.choices:
            out = None
        if out is None:
            raise ValueError(self.expected())
        return out


def parse_params(scanner: str, specs: Mapping[str, Param], given: Mapping[str, Any],
                 where: str = "") -> dict[str, Any]:
    """Every declared parameter's value (given, else its default), checked.

    Raises a one-line ConfigError naming `where` (e.g. the `[[scanners]]` entry), the scanner
    and the parameter, and listing the valid parameters."""
    prefix = f"{where}: " if where else ""
    valid = ", ".join(sorted(specs)) or "none"
    for key in given:
        if key not in specs:
            near = difflib.get_close_matches(str(key), list(specs), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ConfigError(f"{prefix}scanner {scanner!r} has no param {key!r}{hint}; "
                              f"valid params: {valid}")
    values: dict[str, Any] = {}
    for key, spec in specs.items():
        value = given.get(key, spec.default)
        try:
            values[key] = spec.check(value)
        except ValueError as exc:
            raise ConfigError(f"{prefix}scanner {scanner!r} param {key!r}: {exc}, got "
                              f"{show_value(value)}; valid params: {valid}") from None
    return values


# --- what a scanner returns ------------------------------------------------------------


def _symbols(items: Iterable[Any] | None, what: str) -> tuple[str, ...]:
    if items is None:
        return ()
    if isinstance(items, str):
        raise TypeError(f"{what} must be a list of symbols, not a string")
    out = []
    for item in items:
        out.append(check_symbol(item, f"{what} holds an invalid symbol", TypeError))
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class ScanResult:
    """Symbols a scan wants added to and removed from the session (upper-cased, de-duplicated,
    in the order given; removals are applied before additions)."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "add", _symbols(self.add, "ScanResult.add"))
        object.__setattr__(self, "remove", _symbols(self.remove, "ScanResult.remove"))

    @classmethod
    def of(cls, value: Any) -> ScanResult:
        """A scan's return value as a ScanResult: a ScanResult, an `(add, remove)` pair, or
        None (nothing); TypeError otherwise."""
        if isinstance(value, ScanResult):
            return value
        if value is None:
            return cls()
        if isinstance(value, tuple | list) and len(value) == 2:
            return cls(tuple(value[0] or ()), tuple(value[1] or ()))
        raise TypeError(f"scan() must return a ScanResult or an (add, remove) pair, "
                        f"got {type(value).__name__}")

    @classmethod
    def of_picks(cls, ctx: ScanContext, chosen: Iterable[str], judged: Iterable[str],
                 remove: bool) -> ScanResult:
        """The usual result of a scan that picked `chosen` out of the `judged` symbols: add
        the chosen ones not yet in the session; with `remove`, also remove the symbols this
        scanner entry added earlier that were judged again and no longer qualify."""
        chosen = list(chosen)
        add = [s for s in chosen if not ctx.in_session(s)]
        dropped: list[str] = []
        if remove:
            keep, seen = set(chosen), set(judged)
            dropped = sorted(s for s in ctx.added if s in seen and s not in keep)
        return cls(tuple(add), tuple(dropped))


@runtime_checkable
class ScannerProtocol(Protocol):
    """What the manager needs from a scanner instance (`setup` and `teardown` optional)."""

    def scan(self, ctx: ScanContext) -> ScanResult | tuple[Iterable[str], Iterable[str]]: ...


class Scanner:
    """A convenient base class: stores each parameter value as an attribute of the same
    name; `setup(session_date)` and `teardown()` are called once per trading day."""

    params: ClassVar[dict[str, Param]] = {}

    def __init__(self, **values: Any) -> None:
        for key, value in values.items():
            setattr(self, key, value)

    def setup(self, session_date: datetime.date) -> None:
        """Before the day's first scan (reset per-day caches here)."""

    def teardown(self) -> None:
        """After the day's session ended."""

    def scan(self, ctx: ScanContext) -> ScanResult:
        raise NotImplementedError

