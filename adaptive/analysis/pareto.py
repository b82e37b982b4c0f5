"""Pareto dominance over observed outcomes: BoTorch's definition, on NumPy arrays."""

from __future__ import annotations

import numpy as np
import torch
from botorch.utils.multi_objective.pareto import is_non_dominated


def pareto_mask(Y: np.ndarray) -> np.ndarray:
    """Which rows of ``Y`` (``n x m``, larger is better in every column) no other row dominates
    (BoTorch's ``is_non_dominated``, the definition its hypervolume and partitions use).

    A row is dominated when another is at least as good in every column and
    strictly better in one. Identical rows do not dominate each other: all of them stay.
    """
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 2:
        raise ValueError(f"Y must be n x m, got shape {Y.shape}")
    if Y.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    return is_non_dominated(torch.from_numpy(Y), deduplicate=False).numpy()
