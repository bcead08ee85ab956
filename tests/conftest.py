"""Suite-wide test settings.

Hypothesis runs derandomized (the same examples every run, so CI is
reproducible) and without deadlines (the machines are shared and noisy);
``HYPOTHESIS_PROFILE=explore`` searches with fresh randomness instead.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
