"""Shared test configuration: hypothesis profiles, the real-data fixtures, plugin isolation.

`dev` (default) keeps a local run quick; `ci` (selected when CI is set, or with
HYPOTHESIS_PROFILE=ci) runs every property test with at least 500 examples.
Installed third-party mismartera plugins are not loaded (in-process or in subprocesses), so
the suite sees the built-ins only; tests of autoloading pass their own environment."""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.support import scanners
from tests.support.data import require_data

pytest_plugins = ["mismartera.testing"]

os.environ["MISMARTERA_DISABLE_PLUGIN_AUTOLOAD"] = "1"

settings.register_profile(
    "ci", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real market data folder; the test skips with one clear reason when it is absent."""
    return require_data()


@pytest.fixture(scope="module")
def aug(shared_data, tmp_path_factory) -> Path:
    """A folder with the real AAPL, MSFT and TSLA minute bars of August 2021."""
    return scanners.copy_aug(shared_data, tmp_path_factory.mktemp("aug2021"))


@pytest.fixture(scope="module")
def aug_full(aug) -> dict:
    """The export documents per day of a run that had all three symbols from the start, no
    scanners."""
    _, docs, _ = scanners.run(None, scanners.config(aug, ["AAPL", "MSFT", "TSLA"],
                                                    scanners.AUG[0], scanners.AUG[-1]))
    return docs


@pytest.fixture
def harness(mismartera_plugins):
    """The plugin harness with the built-in scanners and the test scanners registered."""
    scanners.with_builtins(mismartera_plugins)
    mismartera_plugins.register(scanners.ScannersForTests, name="test-scanners")
    return mismartera_plugins
