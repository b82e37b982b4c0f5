"""The non-dominated box decomposition of 3+ objectives, in NumPy.

qLogNEHVI partitions the space not dominated by the baseline's front once per posterior
sample (128 of them) when it is built. For two objectives BoTorch does that in closed form;
for three or more it runs Lacour et al.'s incremental algorithm ("A box decomposition
algorithm to compute the hypervolume indicator", 2017) twice per sample, as
``FastNondominatedPartitioning``, on tensors of a few dozen numbers: thousands of small
torch operations whose dispatch costs far more than their arithmetic (most of a suggest on
VehicleSafety; measured in docs/optimization.md).

:class:`NumpyNondominatedPartitioning` runs the same algorithm, step for step and in the
same order, on NumPy arrays, so its cells are BoTorch's bit for bit (only copies,
comparisons and maxima; tested), at a fraction of the cost. :class:`NumpyCells` hands it to
qLogNEHVI in place of BoTorch's class.
"""

from __future__ import annotations

import numpy as np
import torch
from botorch.utils.multi_objective.box_decompositions.non_dominated import FastNondominatedPartitioning


def local_upper_bounds(points: np.ndarray, U: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lacour et al.'s Algorithm 1 (minimization), adding ``points`` (``n x m``) one by one
    to the local upper bounds ``U`` (``u x m``) and their defining points ``Z`` (``u x m x m``).

    New bounds are appended in BoTorch's order: by the coordinate ``j`` they were cut along,
    then by the order of the zones they came from."""
    m = U.shape[-1]
    diagonal = np.arange(m)
    for z in points:
        inside = (U > z).all(axis=-1)  # the search zones that contain z
        if not inside.any():
            continue
        A, A_Z = U[inside], Z[inside]
        # The largest j-th coordinate among a zone's other defining points: z cuts the zone
        # along j where z[j] reaches it.
        others = A_Z.copy()
        others[:, diagonal, diagonal] = -np.inf
        cut_j, zone = np.nonzero((z >= others.max(axis=1)).T)
        rows = np.arange(zone.shape[0])
        new_U = A[zone]
        new_U[rows, cut_j] = z[cut_j]
        new_Z = A_Z[zone]
        new_Z[rows, cut_j] = z
        U = np.concatenate([U[~inside], new_U], axis=0)
        Z = np.concatenate([Z[~inside], new_Z], axis=0)
    return U, Z


def partition_bounds(Z: np.ndarray, U: np.ndarray, ref_point: np.ndarray) -> np.ndarray:
    """Cells (``2 x cells x m``: lower, upper) from local upper bounds, Lacour et al.'s
    equation 2, empty cells dropped (``get_partition_bounds``)."""
    bounds = np.empty((2, *U.shape), dtype=U.dtype)
    bounds[0, :, 0] = Z[:, 0, 0]
    bounds[1, :, 0] = ref_point[0]
    for j in range(1, U.shape[-1]):
        bounds[0, :, j] = Z[:, :j, j].max(axis=-1)
        bounds[1, :, j] = U[:, j]
    empty = (bounds[1] <= bounds[0]).any(axis=-1)
    return bounds[:, ~empty]


class NumpyNondominatedPartitioning(FastNondominatedPartitioning):
    """``FastNondominatedPartitioning`` (maximization, no batch dimensions) with both of its
    passes in NumPy; the same cells in the same order."""

    def _partition_space(self) -> None:
        if len(self.batch_shape) > 0:
            return super()._partition_space()
        m = self.num_outcomes
        neg_ref = self._neg_ref_point.detach().cpu().numpy()
        U = neg_ref[None, :].copy()
        Z = np.zeros((1, m, m), dtype=U.dtype)
        for j in range(m):
            Z[0, j] = -np.inf
            Z[0, j, j] = U[0, j]
        U, Z = local_upper_bounds(self._neg_pareto_Y.detach().cpu().numpy(), U, Z)
        self.register_buffer("_U", torch.from_numpy(U).to(self.Y))
        self._Z = torch.from_numpy(Z).to(self.Y)
        self._get_partitioning()

    def _get_partitioning(self) -> None:
        m = self.num_outcomes
        ref = self.ref_point.detach().cpu().numpy()
        U2 = np.full((1, m), np.inf, dtype=ref.dtype)
        Z2 = np.broadcast_to(ref, (1, m, m)).copy()
        for j in range(m):
            Z2[0, j, j] = U2[0, j]
        U2, Z2 = local_upper_bounds(-self._U.detach().cpu().numpy(), U2, Z2)
        self.hypercell_bounds = torch.from_numpy(partition_bounds(Z2, U2, np.full(m, np.inf))).to(self.Y)


class NumpyCells:
    """Mix in before qLogNEHVI: its per-sample partitionings of 3+ objectives use
    :class:`NumpyNondominatedPartitioning` wherever BoTorch would use
    ``FastNondominatedPartitioning`` (the exact decomposition)."""

    @property
    def p_class(self) -> type:
        chosen = self.__dict__.get("_botorch_p_class", FastNondominatedPartitioning)
        return NumpyNondominatedPartitioning if chosen is FastNondominatedPartitioning else chosen

    @p_class.setter
    def p_class(self, value: type) -> None:
        self.__dict__["_botorch_p_class"] = value
