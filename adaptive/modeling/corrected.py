"""A bias-corrected model of the target: the other sources' predictions as its prior mean.

Kennedy and O'Hagan's (2001) calibration model with the simulator plugged in:
``online(x) = a + sum_i b_i * sim_i(x) + delta(x)``, where ``sim_i`` is the posterior mean of
a GP fitted on source ``i`` alone, ``a`` and ``b_i`` are learned with the rest of the
hyperparameters, and ``delta`` is a GP with its own lengthscales: a discrepancy that
varies with the parameters is modelled directly instead of through a lower inter-task
correlation. It fits in a fraction of a multi-task GP's time; the simulator's own
uncertainty is left out (it is small where simulator trials are dense).
"""

from __future__ import annotations

import torch
from botorch.models import SingleTaskGP
from gpytorch.means import Mean


class SourceMean(Mean):
    """``constant + sum_i scale_i * source_i(x)`` in the modelled source's standardized units.

    The source GPs are held outside the module tree on purpose: their hyperparameters stay
    fixed while this model is fitted, and switching this model to train mode leaves them
    in eval mode.
    """

    def __init__(self, sources: list[SingleTaskGP], *, mean: float, std: float) -> None:
        super().__init__()
        self._sources = tuple(sources)
        dtype = torch.float64
        self.register_parameter("constant", torch.nn.Parameter(torch.tensor([-mean / std], dtype=dtype)))
        self.register_parameter("scale", torch.nn.Parameter(torch.full((len(sources),), 1.0 / std, dtype=dtype)))

    def source_means(self, x: torch.Tensor) -> torch.Tensor:
        """``... x n x k``: each source GP's posterior mean at ``x`` (``... x n x d``)."""
        return torch.stack([s.posterior(x).mean.squeeze(-1) for s in self._sources], dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.constant.to(x) + (self.source_means(x) * self.scale.to(x)).sum(-1)


def build_corrected(X: torch.Tensor, Y: torch.Tensor, Yvar: torch.Tensor | None, sources: list[SingleTaskGP]) -> SingleTaskGP:
    """An unfitted ``SingleTaskGP`` on the target's ``n x d`` inputs and ``n x 1`` outcomes whose
    prior mean is :class:`SourceMean` over the fitted ``sources`` (one GP per other source)."""
    model = SingleTaskGP(X, Y, train_Yvar=Yvar)
    transform = model.outcome_transform
    model.mean_module = SourceMean(sources, mean=float(transform.means.squeeze()), std=float(transform.stdvs.squeeze()))
    return model.to(X)


def source_scales(model: SingleTaskGP) -> torch.Tensor:
    """``k`` learned weights ``b_i`` of the sources, in metric units per metric unit."""
    mean = model.mean_module
    return (mean.scale * model.outcome_transform.stdvs.squeeze()).detach()
