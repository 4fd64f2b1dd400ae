"""Hypothesis settings: ``ci`` (chosen when the environment has ``CI`` set) draws the same examples on
every run, so a CI failure reproduces locally with ``HYPOTHESIS_PROFILE=ci``; ``dev`` explores new
examples each run and remembers failing ones in ``.hypothesis/``. No deadline in either: timings
on a shared 2-core machine vary too much for one."""

import os

from hypothesis import settings

settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
