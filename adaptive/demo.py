"""A built-in simulated experiment, for ``adaptive demo`` and the README."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

import adaptive as ad
from adaptive.errors import NotFoundError

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


def demo_experiment(storage: str | None) -> ad.Experiment:
    try:
        return ad.load_experiment(DEMO_NAME, storage=storage)
    except NotFoundError:
        return ad.create_experiment(
            DEMO_NAME,
            storage=storage,
            parameters={
                "viral_weight": ad.Float(0.0, 1.0),
                "learning_rate": ad.Float(1e-4, 1e-1, log=True),
                "posts_to_load": ad.Int(5, 50),
                "ranker": ad.Choice(["gbdt", "dnn", "linear"]),
                "region": ad.Fixed("us"),
            },
            parameter_constraints=["viral_weight + 0.5*posts_to_load <= 20"],
            objectives=[ad.Maximize("engagement", threshold=0.0), ad.Minimize("cpu_ms", threshold=120.0)],
            seed=0,
        )


def run_demo(storage: str | None, *, rounds: int = 3, batch: int = 4, seed: int = 0) -> ad.Experiment:
    """Run ``rounds`` rounds of suggest -> simulate -> complete on the demo experiment."""
    exp = demo_experiment(storage)
    rng = np.random.default_rng(seed)
    for r in range(rounds):
        trials = exp.suggest(batch)
        for t in trials:
            exp.complete(t.id, simulate_feed(t.params, rng))
        logger.info("demo round %d/%d: completed trials %s", r + 1, rounds, [t.id for t in trials])
    return exp
