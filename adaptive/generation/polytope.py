"""Linear parameter constraints for the acquisition optimizer, without a constrained optimizer.

The feasible set of a search space with linear constraints is a polytope inside the unit
cube: ``{x in [0, 1]^d : A x <= b}``. BoTorch maximizes over it with SLSQP, one joint problem
over every restart, and draws starting points by hit-and-run; on Hartmann6 with one
constraint each took many times as long as the whole unconstrained suggest (the figures are in
docs/optimization.md, under Optimizer).

Here instead:

- starting points are quasi-random points of the cube kept when feasible (hit-and-run only
  tops them up when the polytope is a sliver of the cube), a quarter of them projected onto
  the constraints' faces, where constrained optima often lie;
- the acquisition is maximized over the cube by L-BFGS-B (all restarts in one batch, as
  without constraints) through a *radial retraction* onto the polytope: a point ``y`` of the
  cube maps to ``c + t (y - c)``, where ``c`` is the polytope's Chebyshev centre and
  ``t = min(1, min_k (b_k - a_k c) / a_k (y - c))`` is the largest step from ``c`` towards ``y``
  that stays feasible. The map is the identity on the polytope, continuous, and onto it; the
  cube is convex and ``c`` inside it, so the image stays in the cube. Optima on the boundary
  are reached from outside it along the rays that end there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from botorch.acquisition import AcquisitionFunction
from scipy.optimize import linprog

from adaptive.space import SearchSpace

# Quasi-random draws tried before topping up with hit-and-run: enough for a polytope of 1%
# of the cube to give 512 starting points.
MAX_REJECTION_DRAWS = 1 << 16

# The share of the raw samples placed on the constraints' faces. Optima of constrained
# problems often lie on a face (a constraint that binds), where points drawn inside land only
# by chance: on BraninCurrin-linear the acquisition's peak sat on the face while no raw
# sample came near it, and every restart ended in an interior local optimum.
FACE_SHARE = 0.25


@dataclass(frozen=True)
class Polytope:
    """``{x in [0, 1]^d : A x <= b}`` with a strictly feasible ``center``.

    Attributes:
        A: ``k x d`` constraint rows in unit-cube coordinates.
        b: ``k`` right-hand sides.
        center: ``d``, the Chebyshev centre (the deepest point inside the polytope and the cube).
    """

    A: torch.Tensor
    b: torch.Tensor
    center: torch.Tensor

    @property
    def columns(self) -> torch.Tensor:
        """The columns some constraint involves; the retraction moves only these."""
        return (self.A != 0).any(0)

    @classmethod
    def from_space(cls, space: SearchSpace, *, device: torch.device) -> Polytope | None:
        """The space's linear constraints (continuous relaxation of Int parameters), or None without any."""
        rows = space.unit_cube_constraints()
        if not rows:
            return None
        d = space.dim
        A, b = np.zeros((len(rows), d)), np.zeros(len(rows))
        for k, (columns, coefficients, rhs) in enumerate(rows):
            # BoTorch's form is sum(coef * x) >= rhs; ours is A x <= b.
            A[k, columns] = -np.asarray(coefficients)
            b[k] = -rhs
        center = _chebyshev_center(A, b)
        as_tensor = lambda a: torch.as_tensor(a, dtype=torch.float64, device=device)  # noqa: E731
        return cls(as_tensor(A), as_tensor(b), as_tensor(center))

    def contains(self, X: torch.Tensor, tol: float = 1e-9) -> torch.Tensor:
        """``...`` boolean mask of the points of ``X`` (``... x d``) inside the polytope."""
        return ((X @ self.A.T) <= self.b + tol * self.b.abs().clamp_min(1.0)).all(-1)

    def retract(self, Y: torch.Tensor) -> torch.Tensor:
        """Map points of the cube (``... x d``) onto the polytope (see the module docstring); differentiable.

        Only the constrained columns move (the ray is in their subspace): a choice's one-hot
        columns or an unconstrained parameter stay where they are."""
        V = (Y - self.center) * self.columns
        AV = V @ self.A.T
        slack = self.b - self.A @ self.center  # > 0: the centre is strictly inside
        outward = AV > 0
        ratio = torch.where(outward, slack / torch.where(outward, AV, torch.ones_like(AV)), torch.full_like(AV, torch.inf))
        t = ratio.min(-1, keepdim=True).values.clamp(max=1.0)
        return torch.where(t >= 1.0, Y, Y + (t - 1.0) * V)

    def sample(self, n: int, *, seed: int) -> torch.Tensor:
        """``n x d`` feasible points: a quarter on the constraints' faces (:meth:`on_faces`, where
        the faces meet the cube), the rest inside (:meth:`inside`)."""
        X = self.inside(n, seed=seed)
        faces = self.on_faces(X, int(n * FACE_SHARE))
        return torch.cat([X[: n - len(faces)], faces]) if len(faces) else X

    def on_faces(self, X: torch.Tensor, n: int) -> torch.Tensor:
        """Up to ``n`` points (``<= n x d``) on the faces ``a_k x = b_k``, shared equally among the
        constraints: the points of ``X`` (feasible, ``m x d``) projected orthogonally onto each
        face, kept where they stay in the cube and within the other constraints. A face that
        does not meet the cube contributes none."""
        out = []
        per = max(n // self.A.shape[0], 1)
        for row, rhs in zip(self.A, self.b):
            P = X + ((rhs - X @ row) / (row @ row)).unsqueeze(-1) * row
            kept = ((P >= -1e-12) & (P <= 1.0 + 1e-12)).all(-1) & self.contains(P)
            out.append(P[kept][:per].clamp(0.0, 1.0))
        return torch.cat(out)[:n]

    def inside(self, n: int, *, seed: int) -> torch.Tensor:
        """``n x d`` feasible points: scrambled Sobol points of the cube kept when feasible, topped up
        by hit-and-run (BoTorch's polytope sampler) when fewer than ``n`` of ``MAX_REJECTION_DRAWS`` are."""
        d = self.A.shape[-1]
        engine = torch.quasirandom.SobolEngine(d, scramble=True, seed=seed)
        kept: list[torch.Tensor] = []
        drawn = 0
        while sum(len(k) for k in kept) < n and drawn < MAX_REJECTION_DRAWS:
            chunk = min(max(4 * n, 1024), MAX_REJECTION_DRAWS - drawn)
            X = engine.draw(chunk, dtype=torch.float64).to(self.A.device)
            drawn += chunk
            kept.append(X[self.contains(X)])
        X = torch.cat(kept)[:n]
        if len(X) < n:
            from botorch.utils.sampling import get_polytope_samples

            bounds = torch.stack([torch.zeros(d), torch.ones(d)]).to(self.A)
            rows = [
                (torch.arange(d, device=self.A.device), -self.A[k], float(-self.b[k])) for k in range(self.A.shape[0])
            ]
            extra = get_polytope_samples(n - len(X), bounds, inequality_constraints=rows, seed=seed)
            X = torch.cat([X, self.retract(extra.clamp(0.0, 1.0))])
        return X


def _chebyshev_center(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The centre of the largest ball inside ``{x in [0, 1]^d : A x <= b}`` (a linear program)."""
    k, d = A.shape
    norms = np.linalg.norm(A, axis=1)
    # Variables (x, r); maximize r.
    a_ub = np.vstack([np.hstack([A, norms[:, None]]), np.hstack([-np.eye(d), np.ones((d, 1))]),
                      np.hstack([np.eye(d), np.ones((d, 1))])])
    b_ub = np.concatenate([b, np.zeros(d), np.ones(d)])
    c = np.zeros(d + 1)
    c[-1] = -1.0
    result = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=[(0.0, 1.0)] * d + [(0.0, None)], method="highs")
    if result.status != 0:  # the space was checked feasible when created; keep a valid point anyway
        return np.full(d, 0.5)
    return np.clip(result.x[:d], 0.0, 1.0)


class RetractedAcquisition(AcquisitionFunction):
    """``acqf`` evaluated at the retraction of its input onto ``polytope``: defined on the whole cube."""

    def __init__(self, acqf: AcquisitionFunction, polytope: Polytope) -> None:
        super().__init__(model=acqf.model)
        self.acqf = acqf
        self.polytope = polytope

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """``b x q x d`` -> ``b``."""
        return self.acqf(self.polytope.retract(X))
