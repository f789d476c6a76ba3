"""Shared by the config tests: the supported intervals as messages list them and a writer for
session files (the `in_tmp` fixture is in tests/core/conftest.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from mismartera.intervals import Interval

INTERVALS = ", ".join(Interval.SUPPORTED)


def write(text: str, name: str = "session.toml") -> str:
    Path(name).write_text(textwrap.dedent(text))
    return name

