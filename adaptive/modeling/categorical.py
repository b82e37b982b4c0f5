"""A GP covariance that treats unordered choices as categories, and its fit in plain tensors.

The search space encodes an unordered choice of ``k`` values as ``k`` one-hot columns, and
every input a model sees (training rows and the acquisition's candidates, whose choices the
optimizer holds fixed) is exactly one-hot there. Two configs either share a choice's value
or not; the categorical kernel of Ru et al. (2020, "Bayesian Optimisation over Multiple
Continuous and Categorical Inputs", BoTorch's ``CategoricalKernel``) on the one-hot blocks is

.. math::

    k_{cat}(x, x') = \\exp\\Big(-\\frac{1}{G} \\sum_{g=1}^{G} \\frac{1 - \\langle x_g, x'_g \\rangle}{\\ell_g}\\Big)

for ``G`` choices with one-hot blocks ``x_g`` and one lengthscale each. :class:`MixedCovariance`
combines it with an ARD RBF kernel ``k_c`` over the other columns as BoTorch's
``MixedSingleTaskGP`` (Ax's model for spaces with categories) does,

.. math::

    k(x, x') = s_1 \\big(k_{c,1} + s_2 k_{cat,1}\\big) + s_3\\, k_{c,2}\\, k_{cat,2},

a sum for effects shared across the choices and a product for effects that differ by choice,
with BoTorch's dimension-scaled log-normal prior on the RBF lengthscales. It is one kernel
whose ``forward`` is plain tensor code, so its fit can evaluate the loss without GPyTorch's
lazy-tensor bookkeeping (:mod:`adaptive._fastpaths.mixed_fit`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from botorch.models import SingleTaskGP
from gpytorch.constraints import GreaterThan, Positive
from gpytorch.kernels import Kernel
from gpytorch.likelihoods import FixedNoiseGaussianLikelihood, GaussianLikelihood
from gpytorch.means import ConstantMean
from gpytorch.priors import LogNormalPrior
from torch import Tensor


class MixedCovariance(Kernel):
    """:math:`k` above for ``d``-column inputs whose one-hot choice blocks are ``groups``.

    Parameters (each with a leading ``batch_shape``): ``outputscale`` (3: ``s_1, s_2, s_3``),
    ``lengthscale`` (``2 x d_c``: the two RBF kernels over the ``d_c`` other columns) and
    ``category_lengthscale`` (``2 x G``).
    """

    def __init__(self, d: int, groups: Sequence[Sequence[int]], *, batch_shape: torch.Size = torch.Size()) -> None:  # noqa: B008 - immutable
        super().__init__(batch_shape=batch_shape)
        self.groups = [list(g) for g in groups]
        categorical = {c for g in self.groups for c in g}
        self.continuous = [i for i in range(d) if i not in categorical]
        dc, G = len(self.continuous), len(self.groups)
        prior = LogNormalPrior(loc=math.sqrt(2) + 0.5 * math.log(max(dc, 1)), scale=math.sqrt(3))
        self.register_parameter("raw_outputscale", torch.nn.Parameter(torch.zeros(*batch_shape, 3)))
        self.register_constraint("raw_outputscale", Positive())
        self.register_parameter("raw_lengthscale", torch.nn.Parameter(torch.zeros(*batch_shape, 2, dc)))
        # BoTorch's default RBF: lengthscales above 0.025, starting at the prior's mode.
        self.register_constraint("raw_lengthscale", GreaterThan(2.5e-2, transform=None, initial_value=prior.mode))
        self.register_prior("lengthscale_prior", prior, lambda m: m.lengthscale, lambda m, v: m._set("raw_lengthscale", v))
        self.register_parameter("raw_category_lengthscale", torch.nn.Parameter(torch.zeros(*batch_shape, 2, G)))
        self.register_constraint("raw_category_lengthscale", GreaterThan(1e-6))
        with torch.no_grad():
            self.raw_lengthscale.fill_(float(prior.mode))

    def _set(self, name: str, value: Tensor) -> None:
        constraint = self.constraint_for_parameter_name(name)
        getattr(self, name).data.copy_(constraint.inverse_transform(torch.as_tensor(value).to(getattr(self, name))))

    @property
    def outputscale(self) -> Tensor:
        return self.raw_outputscale_constraint.transform(self.raw_outputscale)

    @property
    def lengthscale(self) -> Tensor:
        return self.raw_lengthscale_constraint.transform(self.raw_lengthscale)

    @property
    def category_lengthscale(self) -> Tensor:
        return self.raw_category_lengthscale_constraint.transform(self.raw_category_lengthscale)

    def forward(self, x1: Tensor, x2: Tensor, diag: bool = False, last_dim_is_batch: bool = False, **params) -> Tensor:
        """``... x n x d``, ``... x m x d`` -> ``... x n x m`` (``... x n`` with ``diag``)."""
        if last_dim_is_batch:
            raise NotImplementedError("last_dim_is_batch")
        s, ls, cls = self.outputscale, self.lengthscale, self.category_lengthscale

        def expand(t: Tensor) -> Tensor:  # a batch-shaped parameter against an n x m matrix (or n)
            return t.unsqueeze(-1) if diag else t.unsqueeze(-1).unsqueeze(-1)

        cont = []
        for k in range(2):
            if not self.continuous:
                cont.append(torch.ones(()).to(x1))
                continue
            a = x1[..., self.continuous] / ls[..., k, :].unsqueeze(-2)
            b = x2[..., self.continuous] / ls[..., k, :].unsqueeze(-2)
            if diag:
                sq = (a - b).pow(2).sum(-1)
            else:
                sq = (a.pow(2).sum(-1, keepdim=True) + b.pow(2).sum(-1).unsqueeze(-2) - 2 * a @ b.transpose(-1, -2)).clamp_min(0)
            cont.append(torch.exp(-0.5 * sq))
        cat = []
        for k in range(2):
            distance = torch.zeros(()).to(x1)
            for g, columns in enumerate(self.groups):
                a, b = x1[..., columns], x2[..., columns]
                same = (a * b).sum(-1) if diag else a @ b.transpose(-1, -2)
                distance = distance + (1.0 - same) / expand(cls[..., k, g])
            cat.append(torch.exp(-distance / len(self.groups)))
        return expand(s[..., 0]) * (cont[0] + expand(s[..., 1]) * cat[0]) + expand(s[..., 2]) * cont[1] * cat[1]


def mixed_model(X: Tensor, Y: Tensor, Yvar: Tensor | None, groups: Sequence[Sequence[int]]) -> SingleTaskGP:
    """A ``SingleTaskGP`` (``n x d`` inputs, ``n x m`` outputs, standardized) with :class:`MixedCovariance`."""
    _, batch_shape = SingleTaskGP.get_batch_dimensions(train_X=X, train_Y=Y)
    covariance = MixedCovariance(X.shape[-1], groups, batch_shape=batch_shape).to(X)
    return SingleTaskGP(X, Y, train_Yvar=Yvar, covar_module=covariance)


def supports(model: object) -> bool:
    """Whether ``model`` is a :func:`mixed_model` (constant mean, Gaussian or fixed noise, no input transform)."""
    return (
        type(model) is SingleTaskGP and type(model.covar_module) is MixedCovariance
        and getattr(model, "input_transform", None) is None and type(model.mean_module) is ConstantMean
        and type(model.likelihood) in (GaussianLikelihood, FixedNoiseGaussianLikelihood)
    )
