"""Hypothesis runs the same examples on every `make test` (the `ci` profile): a test that passes
on one run passes on the next, on any machine. `make fuzz` runs the property and API fuzz tests
with fresh random examples (the `explore` profile) to look for new failures."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
