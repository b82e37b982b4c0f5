"""Multi-task GPs over sources: many cheap offline rows sharpen the model of the target source.

An intrinsic coregionalization model (BoTorch's ``MultiTaskGP``): one kernel over
parameters times a learned positive inter-source covariance, a constant mean and
a noise level per source. A simulator that is off by a constant is absorbed by
its own mean, one off by a factor by its own variance, and a smooth bias that
depends on the parameters lowers the learned correlation.
"""

from __future__ import annotations

import torch
from botorch.models import MultiTaskGP
from gpytorch.kernels import IndexKernel

from adaptive.modeling.data import MetricData

INITIAL_FACTOR = 1.0
INITIAL_VAR = 0.1


def build_multitask(data: MetricData, Yvar: torch.Tensor | None) -> MultiTaskGP:
    """An unfitted ``MultiTaskGP`` on ``[X, task]`` whose output is source 0 (``data.sources[0]``).

    Args:
        data: multi-source data (``data.task`` set).
        Yvar: ``n x 1`` observation variances, or ``None`` to infer one noise level per source.
    """
    if data.task is None:
        raise ValueError(f"metric {data.metric!r} has rows from one source only")
    train_X = torch.cat([data.X, data.task], dim=-1)
    model = MultiTaskGP(train_X, data.Y, task_feature=-1, train_Yvar=Yvar, output_tasks=[0])
    # GPyTorch starts the inter-source covariance factor at random, and the fit's optimum
    # depends on where it starts. Start from sources that agree (equal factors, a small
    # independent part): the prior belief that makes a simulator worth attaching; the fit
    # lowers the correlation where the data say so.
    kernel = next(k for k in model.covar_module.modules() if isinstance(k, IndexKernel))
    with torch.no_grad():
        # Setters: the attributes are constrained transforms of raw parameters.
        kernel.covar_factor = torch.full_like(kernel.covar_factor, INITIAL_FACTOR)
        kernel.var = torch.full_like(kernel.var, INITIAL_VAR)
    return model


def task_covariance(model: MultiTaskGP) -> torch.Tensor:
    """``k x k`` learned covariance between sources (task index order)."""
    kernel = next(k for k in model.covar_module.modules() if isinstance(k, IndexKernel))
    with torch.no_grad():
        return kernel._eval_covar_matrix().detach()


def task_correlations(model: MultiTaskGP) -> torch.Tensor:
    """``k x k`` learned correlation between sources; row 0 is the modelled source."""
    B = task_covariance(model)
    d = B.diagonal().clamp_min(1e-12).sqrt()
    return B / d.unsqueeze(-1) / d.unsqueeze(-2)
