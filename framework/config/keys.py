"""The session file's shape: which sections, arrays of tables and keys it may hold, where
each `SessionConfig` field is set (file key path and overriding flag), and the checks that
reject an unknown key with a suggestion of the nearest valid one or an entry missing a
required key. Only the standard library and light mismartera modules are imported.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mismartera.config.values import fail, show
from mismartera.errors import ConfigError

_PATH_KEYS = ("store", "path", "dir", "file")

SECTIONS: dict[str, tuple[str, ...]] = {
    "session": ("exchange", "start", "end", "speed", "mode", "prefetch_days"),
    "data": ("source",),  # any other key is an option for the data source
    "symbols": ("list",),
    "streams": ("intervals", "ticks", "quotes"),
    "historical": ("trailing_days",),
    "export": ("path", "dir", "timings"),
    "quality": ("interval_s",),
    "live": ("gapfill_delay_s", "gapfill_retries", "gapfill_backoff", "close_grace_s"),
    "strategy": ("name", "interval", "params"),
    "broker": ("cash", "commission", "slippage_bps", "volume_cap", "borrow_rate", "allow_short",
               "costs"),
}
_ARRAYS: dict[str, tuple[str, ...]] = {
    "indicators": ("name", "interval", "params"),
    "historical_indicators": ("name", "field", "period", "granularity"),
    "scanners": ("name", "params", "every", "at", "universe"),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "indicators": ("name", "interval"),
    "historical_indicators": ("name", "field", "period"),
    "scanners": ("name",),
}
TOP_SHAPES: dict[str, Any] = {**{s: {} for s in SECTIONS}, **{a: [] for a in _ARRAYS}}

# field -> (where the session file sets it, the flag that overrides it)
FIELD_KEYS: dict[str, tuple[str, str | None]] = {
    "exchange": ("[session] exchange", "--exchange"),
    "start": ("[session] start", "--start"),
    "end": ("[session] end", "--end"),
    "speed": ("[session] speed", "--speed"),
    "mode": ("[session] mode", "--mode"),
    "prefetch_days": ("[session] prefetch_days", None),
    "source": ("[data] source", "--source"),
    "source_options": ("[data]", "--store"),
    "symbols": ("[symbols] list", "--symbols"),
    "intervals": ("[streams] intervals", "--streams"),
    "ticks": ("[streams] ticks", None),
    "quotes": ("[streams] quotes", None),
    "trailing_days": ("[historical] trailing_days", "--trailing-days"),
    "indicators": ("[[indicators]]", "--indicator"),
    "historical_indicators": ("[[historical_indicators]]", None),
    "scanners": ("[[scanners]]", None),
    "export_path": ("[export] path", "--export"),
    "export_dir": ("[export] dir", "--export-dir"),
    "export_timings": ("[export] timings", "--timings"),
    "quality_interval_s": ("[quality] interval_s", None),
    "gapfill_delay_s": ("[live] gapfill_delay_s", None),
    "gapfill_retries": ("[live] gapfill_retries", None),
    "gapfill_backoff": ("[live] gapfill_backoff", None),
    "close_grace_s": ("[live] close_grace_s", None),
    "strategy": ("[strategy]", "--strategy"),
    "broker": ("[broker]", None),
}


def _toml_key(name: str, value: Any) -> str:
    """A top-level key as it is written in TOML: [table], [[array]] or a plain key."""
    if isinstance(value, list):
        return f"[[{name}]]"
    if isinstance(value, Mapping):
        return f"[{name}]"
    return name


def check_keys(table: Mapping[str, Any], valid: Iterable[str], origin: str, where: str) -> None:
    """Unknown keys are errors suggesting the nearest valid key; `where` is "" at the top."""
    valid = tuple(valid)
    for key in table:
        if key in valid:
            continue
        hints = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
        if where:
            shown, options = f"{where} {key}", list(valid)
        else:
            shown = _toml_key(key, table[key])
            options = [_toml_key(name, TOP_SHAPES[name]) for name in valid]
            hints = [_toml_key(hint, TOP_SHAPES[hint]) for hint in hints]
        if hints:
            advice = f"(did you mean {hints[0]}?)"
        else:
            advice = f"(expected one of {', '.join(options)})"
        raise ConfigError(f"{origin}: unknown key {shown} {advice}")


def section_table(data: Mapping[str, Any], name: str, origin: str) -> Mapping[str, Any]:
    """The `[name]` table (empty when absent), its keys checked."""
    table = data.get(name, {})
    if not isinstance(table, Mapping):
        raise fail(f"{origin}: [{name}]", f"expected a table, got {show(table)}")
    valid = tuple(table) if name == "data" else SECTIONS[name]  # [data] options are free-form
    check_keys(table, valid, origin, f"[{name}]")
    return table


def array_of_tables(data: Mapping[str, Any], name: str, origin: str) -> list[Mapping[str, Any]]:
    """The `[[name]]` entries (none when absent), keys checked and required keys present."""
    items = data.get(name, [])
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise fail(
            f"{origin}: [[{name}]]",
            f"expected an array of tables, each written [[{name}]], got {show(items)}",
        )
    for i, item in enumerate(items):
        check_keys(item, _ARRAYS[name], origin, f"[[{name}]][{i}]")
        for key in _REQUIRED[name]:
            if key not in item:
                raise fail(f"{origin}: [[{name}]][{i}]", f"missing key {key}")
    return items


def source_options_of(table: Mapping[str, Any]) -> dict[str, Any]:
    """Every [data] key but `source`; path-like string options get `~` expanded."""
    suffixes = tuple(f"_{k}" for k in _PATH_KEYS)
    options = {}
    for key, value in table.items():
        if key == "source":
            continue
        if isinstance(value, str) and (key in _PATH_KEYS or key.endswith(suffixes)):
            value = str(Path(value).expanduser())
        options[key] = value
    return options

