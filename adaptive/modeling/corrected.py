"""A bias-corrected model of the target: the other sources' predictions as its prior mean.

Kennedy and O'Hagan's (2001) calibration model with the simulator plugged in:
``online(x) = a + sum_i b_i * sim_i(x) + delta(x)``, where ``sim_i`` is the posterior mean of
a GP fitted on source ``i`` alone, ``a`` and ``b_i`` are learned with the rest of the
hyperparameters, and ``delta`` is a GP with its own lengthscales: a discrepancy that
varies with the parameters is modelled directly instead of through a lower inter-task
correlation. It fits in a fraction of a multi-task GP's time.

The simulator GPs' own uncertainty is part of the prior covariance
(:class:`SourceCovariance`, ``sum_i b_i^2 Cov_i(x, x')`` beside ``delta``'s kernel), so the
online rows can correct a source where its GP is unsure (a sharp optimum between simulator
trials) instead of the discrepancy term having to: without it, trials near the optimum of
the `multiplicative` benchmark followed the simulator GP's misplaced peak.
"""

from __future__ import annotations

import torch
from botorch.models import SingleTaskGP
from gpytorch.kernels import AdditiveKernel, Kernel
from gpytorch.means import Mean
from linear_operator.utils.cholesky import psd_safe_cholesky


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

    @property
    def sources(self) -> tuple[SingleTaskGP, ...]:
        """The fitted source GPs, outside the module tree (see the class doc)."""
        return self._sources

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
    mean = SourceMean(sources, mean=float(transform.means.squeeze()), std=float(transform.stdvs.squeeze()))
    model.mean_module = mean
    model.covar_module = AdditiveKernel(model.covar_module, SourceCovariance(mean))
    return model.to(X)


class SourceCovariance(Kernel):
    """``sum_i scale_i^2 Cov_i(x, x')``: the posterior covariance of each source's GP (in its
    metric's units), weighted by the :class:`SourceMean`'s scales (so in the modelled source's
    standardized units). Its only parameters are those scales, owned by the mean."""

    def __init__(self, mean: SourceMean) -> None:
        super().__init__()
        self._mean = (mean,)  # not a submodule: the mean owns the scales
        self._factors = []
        with torch.no_grad():
            for source in mean.sources:
                Xs = source.train_inputs[0]
                noise = source.likelihood.noise.reshape(-1).expand(Xs.shape[-2])
                K = source.covar_module(Xs, Xs).to_dense() + torch.diag_embed(noise)
                self._factors.append(psd_safe_cholesky(K))  # jitter if needed, as the lean posterior does

    def source_covariances(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """``k x ... x n1 x n2``: each source GP's posterior covariance between ``x1`` and
        ``x2`` (``... x n x d``), in the source metric's units."""
        out = []
        for source, L in zip(self._mean[0].sources, self._factors):
            Xs = source.train_inputs[0]
            kernel = source.covar_module
            A1 = torch.linalg.solve_triangular(L, kernel(Xs, x1).to_dense(), upper=False)
            A2 = A1 if x2 is x1 else torch.linalg.solve_triangular(L, kernel(Xs, x2).to_dense(), upper=False)
            stdv = source.outcome_transform.stdvs.reshape(())
            out.append(stdv**2 * (kernel(x1, x2).to_dense() - A1.transpose(-1, -2) @ A2))
        return torch.stack(out)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, diag: bool = False, **params) -> torch.Tensor:
        scale = self._mean[0].scale.to(x1)
        covariance = (self.source_covariances(x1, x2) * scale.pow(2).reshape(-1, *[1] * (x1.dim()))).sum(0)
        return covariance.diagonal(dim1=-2, dim2=-1) if diag else covariance


def source_scales(model: SingleTaskGP) -> torch.Tensor:
    """``k`` learned weights ``b_i`` of the sources, in metric units per metric unit."""
    mean = model.mean_module
    return (mean.scale * model.outcome_transform.stdvs.squeeze()).detach()
