"""The `json` exporter: the contract's schema, one document per file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mismartera import hookimpl
from mismartera.export import atomic_write


class JsonExporter:
    suffixes = (".json",)

    @staticmethod
    def write(doc: dict[str, Any], path: Path) -> None:
        with atomic_write(path) as fh:
            json.dump(doc, fh, indent=1, allow_nan=False)
            fh.write("\n")


@hookimpl
def register_exporters(register):
    register("json", JsonExporter(), description="the mismartera.session/1 JSON document")
