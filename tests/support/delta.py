"""The reference consumer of delta exports: `fold(full, delta)` applies a delta export to the
record its consumer holds (a full export, or the fold of earlier ones), by the rule the
contract states (docs/live.md, "Delta exports")."""

from __future__ import annotations

import copy
from typing import Any


def fold(held: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    """The full export that `held` (a full export or a fold) plus `delta` (a delta export
    whose cursor came from `held`) describe:

    - every field but `delta`, `symbols` and each series' `data` and `indicators` columns
      is the delta's (as of now), as is the set of symbols and of their intervals;
    - per series, the held bars (rows, and the indicator columns beside them) are kept up to
      `replace_from` (all of them when there is none; none when the consumer held no such
      series) and the delta's are appended."""
    out = {k: copy.deepcopy(v) for k, v in delta.items() if k != "delta"}
    for symbol, sym in out["symbols"].items():
        old_sym = held.get("symbols", {}).get(symbol, {})
        for name, block in sym["bars"].items():
            old = old_sym.get("bars", {}).get(name)
            replace_from = block.pop("replace_from", None)
            if old is None:
                continue
            keep = len(old["data"])
            if replace_from is not None:
                # stamps of one zone compare as text only with equal offsets: compare instants
                keep = sum(_instant(row[0]) < _instant(replace_from) for row in old["data"])
            block["data"] = copy.deepcopy(old["data"][:keep]) + block["data"]
            columns = {}
            for key, values in block["indicators"].items():
                before = old["indicators"].get(key, [None] * len(old["data"]))
                columns[key] = list(before[:keep]) + values
            block["indicators"] = columns
    return out


def _instant(stamp: str) -> float:
    import datetime

    return datetime.datetime.fromisoformat(stamp).timestamp()


def fold_all(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fold of a full export and the deltas that follow it, in order."""
    record = docs[0]
    for delta in docs[1:]:
        record = fold(record, delta)
    return record
