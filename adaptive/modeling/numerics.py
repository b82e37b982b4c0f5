"""Which failures are numerical trouble and which are bugs.

Numerical trouble (a covariance that is not positive definite, a non-finite optimum, an
optimizer that found no candidate) is expected now and then on real data: a fit retries it
and ``suggest`` answers it with quasi-random points, counted in the round record. Anything
else (a ``TypeError`` from an API change, an ``AttributeError``) is a bug and propagates,
so a BoTorch upgrade that breaks the engine fails loudly instead of turning it into Sobol.
"""

from __future__ import annotations

import re

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
