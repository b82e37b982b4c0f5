"""Every fast path in one place, and the one gate that decides when each may run.

A fast path computes what BoTorch or GPyTorch computes (the same loss, posterior,
acquisition value or box decomposition) in plain tensors or NumPy, at a fraction of the
cost for the small models of online experiments, and leans on the libraries' internals to
do it. Each module here says what it replaces:

| module | replaces | internals it relies on |
|---|---|---|
| ``gp_fit`` | ``fit_gpytorch_mll`` for a default ``SingleTaskGP`` | the priors' and constraints' parametrization |
| ``mixed_fit`` | the same for a space-with-choices model | the same |
| ``multitask_mll`` | the loss closure of a default ``MultiTaskGP`` | ``_split_inputs``, ``_eval_covar_matrix`` |
| ``lean_posterior`` (with ``cached_cholesky``) | a fitted model's posterior, and qLogNEI's cached-Cholesky hooks | ``_compute_root_decomposition``, ``_get_f_X_samples``, ``_baseline_L`` |
| ``single_point_ehvi`` | qLogNEHVI's per-candidate value | ``_compute_log_qehvi``, ``_FusedLogAreas``, ``tau_relu``, ``tau_max`` |
| ``partitioning`` | ``FastNondominatedPartitioning`` for 3+ objectives | ``_get_partitioning`` |

The parity tests in ``tests/fastpaths/`` hold each to the library path it replaces, on the
library series in :data:`VERIFIED`, which ``pyproject.toml`` pins as upper bounds
(``tests/fastpaths/test_gate.py`` checks the two agree and that the installed versions are
these). Nothing outside this package decides whether a fast path applies: callers ask
:func:`fit_path`, :func:`lean_posterior_applies` and :func:`acquisition_fast`. On any other
library version every answer is "BoTorch's own path" (slower, same answers), one warning
says why, and the rounds count the detours (``slow_paths`` in ``adaptive status``).
Submodules never import this gate (it imports them).
"""

from __future__ import annotations

import functools
import logging
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the gate itself loads no torch: callers that get a closure have it
    from botorch.optim.closures import ForwardBackwardClosure
    from gpytorch.mlls import ExactMarginalLogLikelihood

logger = logging.getLogger(__name__)

# package -> the major.minor series the parity tests passed on
VERIFIED = {"botorch": "0.18", "gpytorch": "1.15", "linear_operator": "0.6"}

# What fit_path answers: a closed-form NumPy fit, a plain-tensor loss for BoTorch's
# optimizer, or BoTorch's own fit.
CLOSED_FORM, CLOSED_FORM_CATEGORICAL = "closed-form", "closed-form-categorical"
LEAN_MLL, LEAN_MLL_CATEGORICAL = "lean-mll", "lean-mll-categorical"
BOTORCH = "botorch"


def _series(text: str) -> str:
    return ".".join(text.split("+")[0].split(".")[:2])


@functools.cache
def verified() -> bool:
    """Whether the installed BoTorch, GPyTorch and linear_operator are the series the fast
    paths were verified on (checked once per process)."""
    off = []
    for package, series in VERIFIED.items():
        try:
            installed = version(package)
        except PackageNotFoundError:
            installed = "absent"
        if _series(installed) != series:
            off.append(f"{package} {installed} (verified: {series}.x)")
    if off:
        logger.warning("fast paths off, BoTorch's own paths used (slower, same answers): %s", ", ".join(off))
    return not off


def fit_path(model: object) -> str:
    """How to fit ``model``: :data:`CLOSED_FORM` (``gp_fit.fit``), :data:`CLOSED_FORM_CATEGORICAL`
    (``mixed_fit.fit``), :data:`LEAN_MLL` or :data:`LEAN_MLL_CATEGORICAL` (BoTorch's
    optimizer on :func:`mll_closure`), or :data:`BOTORCH` (``fit_gpytorch_mll`` as is)."""
    if not verified():
        return BOTORCH
    from adaptive._fastpaths import gp_fit, multitask_mll
    from adaptive.modeling import categorical

    if gp_fit.supports(model):
        return CLOSED_FORM
    if categorical.supports(model):
        return CLOSED_FORM_CATEGORICAL if model.covar_module.continuous else LEAN_MLL_CATEGORICAL
    if multitask_mll.supports(model):
        return LEAN_MLL
    return BOTORCH


def fit_closed_form(model: object, path: str, *, maxiter: int) -> None:
    """Fit ``model`` in place by the closed-form ``path`` that :func:`fit_path` chose.

    Raises:
        FastFitError: the covariance is not positive definite or the optimum not finite.
    """
    from adaptive._fastpaths import gp_fit, mixed_fit

    fit = {CLOSED_FORM: gp_fit.fit, CLOSED_FORM_CATEGORICAL: mixed_fit.fit}[path]
    fit(model, maxiter=maxiter)  # type: ignore[arg-type]  # fit_path checked the model's type


def mll_closure(mll: ExactMarginalLogLikelihood, path: str) -> ForwardBackwardClosure:
    """The plain-tensor loss closure for ``fit_gpytorch_mll`` on the ``path`` :func:`fit_path`
    chose (:data:`LEAN_MLL` or :data:`LEAN_MLL_CATEGORICAL`)."""
    from adaptive._fastpaths import mixed_fit, multitask_mll

    closure = {LEAN_MLL: multitask_mll.closure, LEAN_MLL_CATEGORICAL: mixed_fit.closure}[path]
    return closure(mll)


def lean_posterior_applies(model: object) -> bool:
    """Whether a fitted ``model``'s posterior may be served by
    :class:`~adaptive._fastpaths.lean_posterior.LeanGP`."""
    if not verified():
        return False
    from adaptive._fastpaths import lean_posterior

    return lean_posterior.supports(model)


def acquisition_fast() -> bool:
    """Whether qLogNEHVI may score single candidates and partition 3+ objectives by the fast
    paths (``single_point_ehvi``, ``partitioning``)."""
    return verified()
