"""A metric source for round tests: deterministic results for every running trial."""

import multiprocessing
import os
import signal
import time


def metrics(experiment, trials):
    time.sleep(float(os.environ.get("ADAPTIVE_TEST_SOURCE_DELAY", "0")))
    if os.environ.get("ADAPTIVE_TEST_KILL_WORKER_ON") == experiment and multiprocessing.parent_process() is not None:
        os.kill(os.getpid(), signal.SIGKILL)  # a fleet worker dying under its round (never the test process)
    return [(t.id, "y", float(t.params["x"]), 0.01) for t in trials]


def nothing(experiment, trials):
    """No results yet: running trials stay running."""
    return []


def down(experiment, trials):
    raise ConnectionError("warehouse down")


def append_only(experiment, trials):
    """An append-only log: the rows of every trial ever run, finished ones included."""
    return [(i, "y", 0.5, 0.01) for i in range(max(t.id for t in trials) + 1)]
