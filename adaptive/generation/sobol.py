"""Quasi-random proposals from the experiment's own scrambled Sobol sequence."""

from __future__ import annotations

from typing import Any

from adaptive.space import SearchSpace


def propose_sobol(space: SearchSpace, n: int, *, seed: int, position: int) -> tuple[list[dict[str, Any]], int]:
    """The next ``n`` feasible points of the sequence after ``position``; returns them and the new position.

    Continuing one sequence across calls (rather than a fresh seed per call)
    keeps the points of consecutive calls as evenly spread as one large batch.
    """
    return space.sample(n, seed=seed, skip=position)
