"""Shared test configuration: hypothesis profiles.

`dev` (default) keeps a local run quick; `ci` (selected when CI is set, or with
HYPOTHESIS_PROFILE=ci) runs every property test with at least 500 examples."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
