"""Built-in simulated experiments, for ``adaptive demo``, the README and the example configs.

The demo runs real cron rounds: each round fetches simulated A/B results for the
running trials through a Python metric source (``feed_metrics`` below), completes
them, and proposes the next batch.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from adaptive.cron.apply_config import apply_config
from adaptive.cron.config import parse_config
from adaptive.cron.rounds import RoundResult, run_round
from adaptive.experiment import Experiment
from adaptive.storage import Database
from adaptive.trial import Trial

logger = logging.getLogger(__name__)

DEMO_NAME = "demo-feed-ranking"


def simulate_feed(params: dict[str, Any], rng: np.random.Generator) -> dict[str, tuple[float, float]]:
    """A toy feed-ranking A/B test: engagement (relative lift, %) against CPU cost (ms per request).

    More viral content and more posts raise engagement with diminishing returns
    but cost CPU; the DNN ranker is best and most expensive.
    """
    ranker_gain = {"linear": 0.0, "gbdt": 0.4, "dnn": 0.7}[params["ranker"]]
    ranker_cost = {"linear": 20.0, "gbdt": 35.0, "dnn": 60.0}[params["ranker"]]
    v, posts, lr = params["viral_weight"], params["posts_to_load"], params["learning_rate"]
    engagement = (
        2.0 * math.log1p(posts / 10) + 1.5 * v - 1.2 * v**2 + ranker_gain - 0.3 * (math.log10(lr) + 2.5) ** 2
    )
    cpu = ranker_cost + 1.8 * posts + 10 * v
    sem_e, sem_c = 0.05, 1.0
    return {
        "engagement": (float(engagement + rng.normal(0, sem_e)), sem_e),
        "cpu_ms": (float(cpu + rng.normal(0, sem_c)), sem_c),
    }


def feed_metrics(experiment: str, trials: Sequence[Trial]) -> list[tuple[int, str, float, float]]:
    """Metric source for the demo: simulated results for every running trial (seeded by trial id)."""
    rows = []
    for t in trials:
        for metric, (mean, sem) in simulate_feed(t.params, np.random.default_rng(t.id)).items():
            rows.append((t.id, metric, mean, sem))
    return rows


def video_metrics(experiment: str, trials: Sequence[Trial]) -> list[tuple[int, str, float, float]]:
    """Simulated source for ``configs/video_upload_quality.toml``: watch time rises with quality
    until uploads on slow connections start to fail."""
    rows = []
    for t in trials:
        rng = np.random.default_rng(t.id)
        kbps, res, chunk = t.params["bitrate_kbps"], t.params["resolution"], t.params["chunk_size_kb"]
        watch = 2.0 * math.log(kbps / 500) / math.log(16) + res / 1080 - 0.5 * (math.log2(chunk / 512)) ** 2 / 9
        failure = 0.002 * (kbps / 1000) ** 1.5 - 0.01 + 0.001 * abs(math.log2(chunk / 512))
        rows += [(t.id, "watch_time", watch + rng.normal(0, 0.05), 0.05),
                 (t.id, "upload_failure_rate_change", failure + rng.normal(0, 0.001), 0.001)]
    return rows


DEMO_CONFIG = {
    "name": DEMO_NAME,
    "seed": 0,
    "parameters": {
        "viral_weight": {"type": "float", "low": 0.0, "high": 1.0},
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        "posts_to_load": {"type": "int", "low": 5, "high": 50},
        "ranker": {"type": "choice", "values": ["gbdt", "dnn", "linear"]},
        "region": {"type": "fixed", "value": "us"},
    },
    "parameter_constraints": ["viral_weight + 0.5*posts_to_load <= 20"],
    "objectives": [
        {"metric": "engagement", "direction": "maximize", "threshold": 0.0},
        {"metric": "cpu_ms", "direction": "minimize", "threshold": 120.0},
    ],
    "units": {"engagement": "% lift", "cpu_ms": "ms per request"},
    "generation": {"initial_trials": 8},
    "rounds": {"max_parallel": 4},
    "metrics": {"kind": "python", "function": "adaptive.demo:feed_metrics"},
}


def run_demo(storage: str | Database | None, *, rounds: int = 3, batch: int = 4) -> tuple[Experiment, list[RoundResult]]:
    """Apply the demo config (``batch`` trials in flight) and run ``rounds`` rounds."""
    return _run_rounds({**DEMO_CONFIG, "rounds": {"max_parallel": batch}}, storage, rounds)


def _run_rounds(config: dict[str, Any], storage: str | Database | None, rounds: int) -> tuple[Experiment, list[RoundResult]]:
    exp, _ = apply_config(parse_config(config), storage=storage)
    results = []
    logger.info("%s: running %d rounds", exp.name, rounds)
    for r in range(rounds):
        results.append(run_round(exp.name, storage=exp.database))
        logger.info("%s round %d/%d: %s in %.1fs", exp.name, r + 1, rounds, results[-1].counts, results[-1].seconds)
    return exp, results


ONLINE_OFFLINE_NAME = "demo-online-offline"


def replay_metrics(experiment: str, trials: Sequence[Trial]) -> list[tuple[int, str, float, float]]:
    """Metric source for the online/offline demo: online results are noisy; the offline replay
    ("simulator") is cheap and precise but biased (scaled, shifted, and off along diversity)."""
    rows = []
    for t in trials:
        rng = np.random.default_rng(1000 + t.id)
        w, fresh, div = t.params["ranking_weight"], t.params["freshness_hours"], t.params["diversity"]
        minutes = 3.0 - 6.0 * (w - 0.65) ** 2 - 0.4 * (math.log(fresh / 12.0)) ** 2 + 1.2 * div * (1.0 - div)
        if t.source == "simulator":
            rows.append((t.id, "watch_minutes", 0.8 * minutes + 0.6 + 0.5 * div + rng.normal(0, 0.02), 0.02))
        else:
            rows.append((t.id, "watch_minutes", minutes + rng.normal(0, 0.08), 0.08))
    return rows


ONLINE_OFFLINE_CONFIG = {
    "name": ONLINE_OFFLINE_NAME,
    "seed": 0,
    "parameters": {
        "ranking_weight": {"type": "float", "low": 0.0, "high": 1.0},
        "freshness_hours": {"type": "float", "low": 1.0, "high": 72.0, "log": True},
        "diversity": {"type": "float", "low": 0.0, "high": 1.0},
    },
    "objectives": [{"metric": "watch_minutes", "direction": "maximize"}],
    "units": {"watch_minutes": "min per member"},
    "generation": {"initial_trials": 4},
    "rounds": {"max_parallel": {"online": 2, "simulator": 6}},
    "metrics": {"kind": "python", "function": "adaptive.demo:replay_metrics"},
}


def run_online_offline_demo(storage: str | Database | None, *, rounds: int = 4) -> tuple[Experiment, list[RoundResult]]:
    """Apply the online/offline demo config and run ``rounds`` rounds: each keeps 6 offline
    replay trials and 2 online trials in flight."""
    return _run_rounds(ONLINE_OFFLINE_CONFIG, storage, rounds)
