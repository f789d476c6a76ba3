"""Fixtures shared by the core tests."""

import pytest


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Work in tmp_path so messages name the file as the user typed it: session.toml."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
