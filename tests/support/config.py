"""Shared by the config tests: the supported intervals as messages list them, a fixture that
works in a temporary directory, and a writer for session files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mismartera.intervals import Interval

INTERVALS = ", ".join(Interval.SUPPORTED)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Work in tmp_path so messages name the file as the user typed it: session.toml."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(text: str, name: str = "session.toml") -> str:
    Path(name).write_text(textwrap.dedent(text))
    return name

