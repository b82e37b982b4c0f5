"""A metric source for round tests: deterministic results for every running trial."""

import os
import time


def metrics(experiment, trials):
    time.sleep(float(os.environ.get("ADAPTIVE_TEST_SOURCE_DELAY", "0")))
    return [(t.id, "y", float(t.params["x"]), 0.01) for t in trials]


def nothing(experiment, trials):
    """No results yet: running trials stay running."""
    return []
