"""Hypervolume and reference points, in the 'larger is better' signed space.

Signed outcomes are ``sign * value`` per objective (``+1`` maximize, ``-1``
minimize), so every objective is maximized and the reference point is the
worst corner worth counting.
"""

from __future__ import annotations

import numpy as np
import torch
from botorch.utils.multi_objective.hypervolume import Hypervolume, infer_reference_point

from adaptive.analysis.pareto import pareto_mask
from adaptive.objectives import OptimizationConfig


def reference_point(config: OptimizationConfig, Y_signed: np.ndarray) -> np.ndarray:
    """Thresholds where given (signed); the rest inferred from the observed front.

    Args:
        Y_signed: ``n x m`` signed objective values of feasible observed trials (may be empty).

    Returns:
        ``m`` reference values. Inferred ones lie 10% of the front's range below its
        worst point (BoTorch's ``infer_reference_point``).
    """
    m = len(config.objectives)
    given = [o.sign * o.threshold if o.threshold is not None else np.nan for o in config.objectives]
    ref = np.array(given, dtype=float)
    missing = np.isnan(ref)
    if missing.any():
        if len(Y_signed):
            front = Y_signed[pareto_mask(Y_signed)]
            inferred = infer_reference_point(torch.as_tensor(front, dtype=torch.float64)).numpy()
        else:
            inferred = np.zeros(m)
        ref[missing] = inferred[missing]
    return ref


def hypervolume(Y_signed: np.ndarray, ref: np.ndarray) -> float:
    """Volume dominated by ``Y_signed`` (``n x m``) and bounded below by ``ref`` (0 when nothing beats ``ref``)."""
    Y = np.asarray(Y_signed, dtype=float).reshape(-1, len(ref))
    Y = Y[np.all(Y > ref, axis=1)]
    if not len(Y):
        return 0.0
    if Y.shape[1] == 1:
        return float(Y.max() - ref[0])
    Y = Y[pareto_mask(Y)]
    return float(Hypervolume(torch.as_tensor(ref, dtype=torch.float64)).compute(torch.as_tensor(Y, dtype=torch.float64)))
