"""Example data for trying adaptive without a production system: the simulated experiments
that ``adaptive demo`` runs (``experiments``: their metric functions, configs and round
loops) and synthetic event logs with known effects (``event_logs``) for the event-log
attribution pipeline. Not test fixtures: the README, the notebooks, the example configs and
docs/events.md use them, and the tests and benchmarks reuse them.

Metric sources name their functions by path (``"adaptive.demo:feed_metrics"`` in configs and
in experiments stored by earlier versions), so those functions are importable from here.
"""

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use, so that importing the event logs does not load the experiments' stack.
_EXPERIMENTS = (
    "DEMO_CONFIG", "DEMO_NAME", "ONLINE_OFFLINE_CONFIG", "ONLINE_OFFLINE_NAME", "feed_metrics", "replay_metrics",
    "run_demo", "run_online_offline_demo", "simulate_feed", "video_metrics",
)
__all__ = sorted(_EXPERIMENTS)


def __getattr__(name: str) -> Any:
    if name in _EXPERIMENTS:
        return getattr(importlib.import_module("adaptive.demo.experiments"), name)
    raise AttributeError(f"module 'adaptive.demo' has no attribute {name!r}")
