"""Where the real market data lives: `../shared/data` beside the checkout, or the folder named
by MISMARTERA_TEST_DATA. Tests that need it skip, with one reason, when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ENV = "MISMARTERA_TEST_DATA"
ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get(ENV) or ROOT.parent / "shared" / "data")
"""The data folder (it may not exist: use `require_data` or the `shared_data` fixture)."""

REASON = (f"real market data not found at {DATA} "
          f"(put it at ../shared/data beside the checkout, or set {ENV})")


def require_data() -> Path:
    """The data folder; skips the calling test, fixture or module (at import) when it is
    absent."""
    if not (DATA / "minute").is_dir():
        pytest.skip(REASON, allow_module_level=True)
    return DATA
