"""The `json` exporter: the contract's schema, one document per file."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from mismartera import hookimpl
from mismartera.errors import DataError
from mismartera.export import atomic_write


class JsonExporter:
    suffixes = (".json",)

    @staticmethod
    def write(doc: dict[str, Any], path: Path) -> None:
        """Write `doc`; a number JSON cannot hold (inf, NaN) is a DataError naming where it
        is, and the file is left as it was. Of trades and quotes only the count and the last
        record are written (their series go to Parquet)."""
        doc = without_tick_series(doc)
        try:
            with atomic_write(path) as fh:
                json.dump(doc, fh, indent=1, allow_nan=False)
                fh.write("\n")
        except ValueError:
            where = first_non_finite(doc)
            if where is None:
                raise
            raise DataError(f"cannot export {path}: {where} is not a finite number, which "
                            "JSON cannot hold; nothing was written") from None


def without_tick_series(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with each symbol's `ticks` / `quotes` block cut to `count` and `last`."""
    symbols = doc.get("symbols")
    if not isinstance(symbols, dict) or not any(
            kind in s for s in symbols.values() if isinstance(s, dict)
            for kind in ("ticks", "quotes")):
        return doc
    cut = {}
    for name, s in symbols.items():
        s = dict(s)
        for kind in ("ticks", "quotes"):
            if kind in s:
                s[kind] = {k: v for k, v in s[kind].items() if k in ("count", "last")}
        cut[name] = s
    return {**doc, "symbols": cut}


def first_non_finite(value: Any, at: str = "") -> str | None:
    """The path (`symbols.SPY.bars.5m.data[3][5]`) of the first float in `value` that is
    infinite or NaN, or None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else at or "the document"
    if isinstance(value, dict):
        items: Any = ((f"{at}.{k}" if at else str(k), v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{at}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for key, item in items:
        found = first_non_finite(item, key)
        if found is not None:
            return found
    return None


@hookimpl
def register_exporters(register):
    register("json", JsonExporter(), description="the mismartera.session/1 JSON document")
