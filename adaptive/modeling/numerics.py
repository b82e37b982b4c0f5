"""Which failures are numerical trouble and which are bugs; the one jitter policy of our own factorizations.

Numerical trouble (a covariance that is not positive definite, a non-finite optimum, an
optimizer that found no candidate) is expected now and then on real data: a fit retries it
and ``suggest`` answers it with quasi-random points, counted in the round record. Anything
else (a ``TypeError`` from an API change, an ``AttributeError``) is a bug and propagates,
so a BoTorch upgrade that breaks the engine fails loudly instead of turning it into Sobol.
"""

from __future__ import annotations

import re

import numpy as np
import scipy.linalg
import torch
from botorch.exceptions.errors import (
    CandidateGenerationError,
    InfeasibilityError,
    InputDataError,
    ModelFittingError,
    OptimizationGradientError,
)
from linear_operator.utils.errors import NanError, NotPSDError

from adaptive.errors import NumericalError

NUMERICAL_ERRORS: tuple[type[BaseException], ...] = (
    NumericalError, torch.linalg.LinAlgError, NotPSDError, NanError, ModelFittingError, CandidateGenerationError,
    InfeasibilityError, InputDataError, OptimizationGradientError, FloatingPointError, ZeroDivisionError,
    OverflowError,
)
# NumPy and SciPy report non-finite numbers as ValueErrors.
_NON_FINITE = re.compile(r"\b(nan|inf|infs|non-?finite|not finite|singular|positive definite|psd)\b", re.IGNORECASE)


def is_numerical(exc: BaseException) -> bool:
    """Whether ``exc`` is numerical trouble (retry or fall back) rather than a bug (propagate)."""
    if isinstance(exc, NUMERICAL_ERRORS):
        return True
    return isinstance(exc, (ValueError, RuntimeError)) and bool(_NON_FINITE.search(str(exc)))


# Jitter for the factorizations our own code takes (the closed-form fits, leave-one-out): none
# first, then these multiples of the mean diagonal, GPyTorch's ladder (psd_safe_cholesky) made
# relative to the matrix's scale. The lean posterior keeps psd_safe_cholesky itself (absolute
# jitter), so that its values equal BoTorch's; its synchronization-free twin in
# modeling/lean_posterior.py follows that ladder.
RELATIVE_JITTERS = (0.0, 1e-8, 1e-7, 1e-6)


def cho_factor(K: np.ndarray, error: type[Exception] = NumericalError) -> tuple[np.ndarray, bool]:
    """SciPy's ``cho_factor(K, lower=True)`` with the jitter ladder; raises ``error`` when every try fails."""
    scale = float(np.mean(np.diag(K)))
    for jitter in RELATIVE_JITTERS:
        try:
            return scipy.linalg.cho_factor(K + jitter * scale * np.eye(len(K)), lower=True, check_finite=False)
        except np.linalg.LinAlgError as exc:
            last = exc
    raise error(f"covariance not positive definite: {last}")


def cholesky(K: torch.Tensor) -> torch.Tensor:
    """The lower Cholesky factor of ``K`` (``n x n``) with the jitter ladder; raises
    ``torch.linalg.LinAlgError`` when every try fails."""
    scale = float(K.diagonal().mean())
    eye = torch.eye(K.shape[-1], dtype=K.dtype, device=K.device)
    for jitter in RELATIVE_JITTERS:
        L, info = torch.linalg.cholesky_ex(K + jitter * scale * eye)
        if int(info) == 0:
            return L
    raise torch.linalg.LinAlgError("covariance not positive definite")
