"""Pareto dominance over observed outcomes, in NumPy.

The same definition as BoTorch's ``is_non_dominated(Y, deduplicate=False)`` (a test holds the
two to the same answers), written here so that the observed frontier (``adaptive pareto``,
``Experiment.pareto_frontier``, trial frames) loads neither torch nor BoTorch.
"""

from __future__ import annotations

import numpy as np


def pareto_mask(Y: np.ndarray) -> np.ndarray:
    """Which rows of ``Y`` (``n x m``, larger is better in every column) no other row dominates.

    A row is dominated when another is at least as good in every column and
    strictly better in one. Identical rows do not dominate each other: all of them stay.
    """
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 2:
        raise ValueError(f"Y must be n x m, got shape {Y.shape}")
    n = Y.shape[0]
    mask = np.ones(n, dtype=bool)
    for i in range(n):
        others = Y[np.arange(n) != i]
        dominated = np.all(others >= Y[i], axis=1) & np.any(others > Y[i], axis=1)
        mask[i] = not dominated.any()
    return mask
