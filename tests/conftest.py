"""Hypothesis profiles: ``ci`` (set by ``make test``) runs more examples without deadlines,
since a loaded 2-core CI machine makes per-example timing meaningless."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
