"""The README's examples run exactly as written."""

from __future__ import annotations

import contextlib
import io
import re
import tomllib
from pathlib import Path

from mismartera.config import SessionConfig

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def test_the_python_example_runs_as_written(tmp_path, monkeypatch):
    [code] = blocks("python")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    assert lines[-2].startswith("2011-01-07 15:55:00-05:00  127.15  127.21  127.11  127.12")
    assert lines[-1] == "100.0 []"  # the 1m quality and gaps of the last day


def test_the_session_file_example_is_valid():
    [text] = blocks("toml")
    config = SessionConfig.from_dict(tomllib.loads(text))
    assert (config.symbols, config.start.isoformat(), config.end.isoformat()) == (
        ("AAPL", "MSFT"), "2024-01-02", "2024-01-10")
