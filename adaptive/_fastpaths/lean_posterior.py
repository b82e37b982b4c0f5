"""A fitted default ``SingleTaskGP``'s posterior in plain tensors, for the acquisition only.

The acquisition optimizer evaluates the posterior some hundred times per proposal, at a
few dozen points each time (the candidates plus the pruned incumbents). For models that
small, GPyTorch's lazy kernels, linear-operator dispatch and multitask bookkeeping cost
more than the arithmetic (a sizeable share of a suggest on the benchmark problems, see
docs/optimization.md). :class:`LeanGP` precomputes the training-side
Cholesky factor once and computes the predictive mean and covariance with a handful of
batched tensor operations; :class:`LeanPosterior` samples them from the sampler's base
samples. The numbers are the model's own (tested against BoTorch's posterior); only the
way they are computed changes.

BoTorch's noisy acquisitions cache the Cholesky factor of the incumbents' posterior
covariance and sample candidates by a low-rank update of it (``sample_cached_cholesky``),
which reads GPyTorch's distribution objects:
:class:`~adaptive._fastpaths.cached_cholesky.LeanCachedCholesky` does the same update on a
:class:`LeanPosterior`; with it the acquisition values equal those on the GPyTorch model
(tested to 1e-8).

Only the structures ``gp_fit`` fits are handled (ARD RBF kernel without output scale,
Gaussian or fixed-noise likelihood, no input or outcome transform, and a constant prior
mean or the bias-corrected model's :class:`~adaptive.modeling.corrected.SourceMean` over
such GPs with their :class:`~adaptive.modeling.corrected.SourceCovariance`; see :func:`supports`).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
from collections.abc import Iterator
from typing import Any, cast

import torch
from botorch.models import SingleTaskGP
from botorch.models.gpytorch import GPyTorchModel
from botorch.models.transforms.outcome import Standardize
from botorch.posteriors import Posterior
from gpytorch.likelihoods import FixedNoiseGaussianLikelihood, GaussianLikelihood
from gpytorch.means import ConstantMean
from linear_operator.utils.cholesky import psd_safe_cholesky
from torch import Tensor

from adaptive._fastpaths.gp_fit import rbf_kernel
from adaptive.modeling import categorical
from adaptive.modeling.corrected import SourceMean

logger = logging.getLogger(__name__)

_no_host_sync = False
FIRST_JITTER = 1e-8  # as psd_safe_cholesky for float64: added to the diagonal, times 10 per try


@contextlib.contextmanager
def without_host_sync() -> Iterator[None]:
    """Within: the posterior's small Cholesky factors are taken without asking the device
    whether they succeeded (``psd_safe_cholesky`` reads its status back, a host synchronization
    that a CUDA graph cannot hold): every jitter of the ladder is tried at once and the first
    that succeeds is kept, per matrix. Same factors as ``psd_safe_cholesky`` where it succeeds."""
    global _no_host_sync
    previous, _no_host_sync = _no_host_sync, True
    try:
        yield
    finally:
        _no_host_sync = previous


def host_sync_free() -> bool:
    """Whether the caller is inside :func:`without_host_sync`."""
    return _no_host_sync


def cholesky(A: Tensor, max_tries: int = 3) -> Tensor:
    """``psd_safe_cholesky``, or within :func:`without_host_sync` its synchronization-free twin:
    no jitter, then ``FIRST_JITTER * 10**i`` for ``i < max_tries``, all factorized at once; per
    matrix the first that succeeds is kept (NaN where none does)."""
    if not _no_host_sync:
        return psd_safe_cholesky(A, max_tries=max_tries)
    tries = max_tries + 1
    # Built on the device (no host-to-device copy, which a CUDA graph cannot hold).
    powers = torch.arange(tries, dtype=A.dtype, device=A.device)
    jitter = torch.where(powers == 0, 0.0, FIRST_JITTER * 10.0 ** (powers - 1))
    eye = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
    stacked = A.unsqueeze(0) + jitter.reshape(-1, *[1] * A.dim()) * eye  # tries x batch x n x n
    L, ok = _unrolled_cholesky(stacked)  # ok: tries x batch
    first = torch.where(ok.any(0), ok.to(torch.int8).argmax(0), tries - 1)  # batch
    index = first.unsqueeze(0).unsqueeze(-1).unsqueeze(-1).expand(1, *A.shape)
    chosen = L.gather(0, index).squeeze(0)
    return torch.where(ok.any(0).unsqueeze(-1).unsqueeze(-1), chosen, math.nan)


def _unrolled_cholesky(A: Tensor) -> tuple[Tensor, Tensor]:
    """Lower Cholesky factors of the small matrices ``A`` (``... x n x n``) column by column in
    elementwise and matrix-product kernels, and whether each matrix was positive definite.

    ``torch.linalg``'s batched factorizations may run MAGMA, which synchronizes with the host
    internally and so cannot be captured in a CUDA graph. A failed pivot is replaced by 1 (the
    factor is then finite but wrong, and flagged), so that no NaN reaches the gradient of the
    factors that are kept.
    """
    n = A.shape[-1]
    rows = torch.arange(n, device=A.device)
    ok = torch.ones(A.shape[:-2], dtype=torch.bool, device=A.device)
    columns: list[Tensor] = []
    for j in range(n):
        a = A[..., :, j]  # ... x n
        if columns:
            done = torch.stack(columns, dim=-1)  # ... x n x j
            a = a - (done @ done[..., j, :].unsqueeze(-1)).squeeze(-1)
        pivot = a[..., j]
        positive = pivot > 0
        ok = ok & positive
        root = torch.where(positive, pivot, 1.0).sqrt().unsqueeze(-1)
        columns.append(torch.where(rows >= j, a / root, 0.0))
    return torch.stack(columns, dim=-1), ok


def supports(model: object) -> bool:
    """Whether ``model`` is a fitted default ``SingleTaskGP`` :class:`LeanGP` can stand in for:
    a constant prior mean, or the bias-corrected model's :class:`SourceMean` over default GPs;
    or a space-with-choices model (:func:`~adaptive.modeling.categorical.mixed_model`)."""
    if categorical.supports(model):
        return getattr(model, "outcome_transform", None) is None
    if not _default_structure(model) or getattr(model, "outcome_transform", None) is not None:
        return False
    mean = model.mean_module
    if type(mean) is SourceMean:
        return model.num_outputs == 1 and all(
            _default_structure(s) and type(s.mean_module) is ConstantMean and type(getattr(s, "outcome_transform", None)) is Standardize
            for s in mean.sources
        )
    return type(mean) is ConstantMean


def _default_structure(model: object) -> bool:
    if type(model) is not SingleTaskGP or getattr(model, "input_transform", None) is not None:
        return False
    covar = rbf_kernel(model)
    return covar is not None and covar.active_dims is None and type(model.likelihood) in (
        GaussianLikelihood, FixedNoiseGaussianLikelihood,
    )


class _Fitted(torch.nn.Module):
    """The posterior-mean pieces of a fitted ``m``-output default GP: ``constant + K(x, X) alpha``
    in the model's (standardized) units, and the inverse Cholesky factor for covariances."""

    def __init__(
        self, model: SingleTaskGP, prior_mean_at_train: Tensor | None = None, extra_covariance: Tensor | None = None,
    ) -> None:
        """``extra_covariance``: ``n x n`` added to the training covariance (the sources' part)."""
        super().__init__()
        X = model.train_inputs[0]
        m = model.num_outputs
        X = X[0] if X.dim() == 3 else X  # a batched model repeats its inputs per output
        n, d = X.shape
        y = model.train_targets.reshape(m, n)
        lengthscale = rbf_kernel(model).lengthscale.detach().reshape(m, 1, d)
        noise = model.likelihood.noise.detach().reshape(m, -1).expand(m, n)
        constant = model.mean_module.constant.detach().reshape(m, 1)
        prior = constant if prior_mean_at_train is None else prior_mean_at_train.reshape(m, n)
        Z = X / lengthscale  # m x n x d
        K = _rbf(Z, Z) + torch.diag_embed(noise)
        L = psd_safe_cholesky(K if extra_covariance is None else K + extra_covariance)
        alpha = torch.cholesky_solve((y - prior).unsqueeze(-1), L)  # m x n x 1
        # Products with the inverse factor instead of triangular solves per evaluation:
        # a batched solve broadcasts the factor over the candidates (a copy per candidate).
        eye = torch.eye(n, dtype=L.dtype, device=L.device).expand(m, n, n)
        L_inv_T = torch.linalg.solve_triangular(L, eye, upper=False).transpose(-1, -2)
        # Buffers, so that the device of the model can be read off it as off any module.
        self.register_buffer("lengthscale", lengthscale)  # m x 1 x d
        self.register_buffer("constant", constant.squeeze(-1))  # m
        self.register_buffer("Z", Z)  # m x n x d
        self.register_buffer("L_inv_T", L_inv_T.contiguous())  # m x n x n
        self.register_buffer("alpha", alpha.squeeze(-1))  # m x n

    def cross(self, X: Tensor) -> tuple[Tensor, Tensor]:
        """Length-scaled ``X`` (``batch x m x q x d``) and ``K(X, train)`` (``batch x m x q x n``)."""
        Zx = X.unsqueeze(-3) / self.lengthscale
        return Zx, _rbf(Zx, cast(Tensor, self.Z))

    def mean(self, K_xz: Tensor) -> Tensor:
        """``batch x m x q`` posterior mean, given ``K(X, train)``, without the prior-mean term."""
        return (K_xz @ self.alpha.unsqueeze(-1)).squeeze(-1)

    def prior(self, Zx: Tensor) -> Tensor:
        """``batch x m x q x q`` prior covariance among the points :meth:`cross` returned."""
        return _rbf(Zx, Zx, same=True)


class _KernelFitted(_Fitted):
    """:class:`_Fitted` for a model whose covariance module computes plain tensors itself
    (:class:`~adaptive.modeling.categorical.MixedCovariance`): ``K`` comes from the kernel."""

    def __init__(self, model: SingleTaskGP) -> None:
        torch.nn.Module.__init__(self)
        X = model.train_inputs[0]
        m = model.num_outputs
        X = X[0] if X.dim() == 3 else X
        n = X.shape[0]
        self.kernel = copy.deepcopy(model.covar_module).requires_grad_(False)
        y = model.train_targets.reshape(m, n)
        noise = model.likelihood.noise.detach().reshape(m, -1).expand(m, n)
        constant = model.mean_module.constant.detach().reshape(m, 1)
        K = self.kernel.forward(X, X).reshape(m, n, n) + torch.diag_embed(noise)
        L = psd_safe_cholesky(K)
        alpha = torch.cholesky_solve((y - constant).unsqueeze(-1), L)
        eye = torch.eye(n, dtype=L.dtype, device=L.device).expand(m, n, n)
        self.m = m
        self.register_buffer("X", X.detach())  # n x d
        self.register_buffer("constant", constant.squeeze(-1))  # m
        self.register_buffer("L_inv_T", torch.linalg.solve_triangular(L, eye, upper=False).transpose(-1, -2).contiguous())
        self.register_buffer("alpha", alpha.squeeze(-1))  # m x n

    def cross(self, X: Tensor) -> tuple[Tensor, Tensor]:
        Xe = X.unsqueeze(-3)  # batch x 1 x q x d
        K = self.kernel.forward(Xe, self.X)
        return Xe, K.expand(*K.shape[:-3], self.m, *K.shape[-2:])

    def prior(self, Zx: Tensor) -> Tensor:
        K = self.kernel.forward(Zx, Zx)
        return K.expand(*K.shape[:-3], self.m, *K.shape[-2:])


class _SourceTerms(torch.nn.Module):
    """``sum_i scale_i * source_i(x)`` of a :class:`SourceMean`: each source GP's posterior
    mean in metric units, weighted; and the matching
    :class:`~adaptive.modeling.corrected.SourceCovariance` (:meth:`evaluate`)."""

    def __init__(self, mean: SourceMean) -> None:
        super().__init__()
        self.sources = torch.nn.ModuleList(_Fitted(s) for s in mean.sources)
        transforms = [s.outcome_transform for s in mean.sources]
        self.register_buffer("means", torch.stack([t.means.detach().reshape(()) for t in transforms]))
        self.register_buffer("stdvs", torch.stack([t.stdvs.detach().reshape(()) for t in transforms]))
        self.register_buffer("scale", mean.scale.detach().reshape(-1))

    def set_train(self, X: Tensor) -> Tensor:
        """Precompute the training side (``n x d``) of :meth:`evaluate`; returns ``n x n``
        ``sum_i scale_i^2 Cov_i(X, X)``, each source GP's posterior covariance in metric units."""
        total: Any = 0.0
        for i, source in enumerate(self.sources):
            Z, K = source.cross(X)  # 1 x n x d, 1 x n x n_i
            W = K @ source.L_inv_T
            self.register_buffer(f"train_Z{i}", Z)
            self.register_buffer(f"train_W{i}", W)
            total = total + self._weight(i) * (_rbf(Z, Z, same=True) - W @ W.transpose(-1, -2)).squeeze(-3)
        return total

    def _weight(self, i: int) -> Tensor:
        return (self.scale[i] * self.stdvs[i]) ** 2

    def evaluate(self, X: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """At ``X`` (``... x q x d``): the weighted source means (``... x q``), and the
        source covariances to the training rows (``... x q x n``) and among ``X`` (``... x q x q``),
        with one kernel evaluation per source."""
        mean: Any = 0.0
        cross: Any = 0.0
        prior: Any = 0.0
        for i, source in enumerate(self.sources):
            Zx, K_xz = source.cross(X)  # ... x 1 x q x d, ... x 1 x q x n_i
            standardized = source.constant.unsqueeze(-1) + source.mean(K_xz)  # ... x 1 x q
            mean = mean + self.scale[i] * (self.means[i] + self.stdvs[i] * standardized.squeeze(-2))
            W = K_xz @ source.L_inv_T
            train_Z, train_W = getattr(self, f"train_Z{i}"), getattr(self, f"train_W{i}")
            cross = cross + self._weight(i) * (_rbf(Zx, train_Z) - W @ train_W.transpose(-1, -2)).squeeze(-3)
            prior = prior + self._weight(i) * (_rbf(Zx, Zx, same=True) - W @ W.transpose(-1, -2)).squeeze(-3)
        return mean, cross, prior


class LeanGP(GPyTorchModel):
    """The noise-free posterior of a fitted ``SingleTaskGP`` with ``m`` outputs (see module doc).

    A ``GPyTorchModel`` only so that BoTorch's acquisitions take their cached-Cholesky path,
    which :class:`LeanCachedCholesky` then serves; nothing of GPyTorch is used.
    """

    _is_fully_bayesian = False
    _is_ensemble = False

    def __init__(self, model: SingleTaskGP) -> None:
        super().__init__()
        if not supports(model):
            raise TypeError(f"LeanGP needs a default SingleTaskGP without transforms, got {type(model).__name__}")
        self._num_outputs = model.num_outputs
        with torch.no_grad():
            self._sources = _SourceTerms(model.mean_module) if type(model.mean_module) is SourceMean else None
            prior = extra = None
            if self._sources is not None:
                X_train = model.train_inputs[0].detach()
                extra = self._sources.set_train(X_train)
                prior = model.mean_module.constant.detach() + self._sources.evaluate(X_train)[0]
            self._fitted = _KernelFitted(model) if categorical.supports(model) else _Fitted(model, prior, extra)

    @property
    def num_outputs(self) -> int:
        return self._num_outputs

    @property
    def batch_shape(self) -> torch.Size:
        return torch.Size()

    def posterior(
        self, X: Tensor, output_indices: list[int] | None = None, observation_noise: bool | Tensor = False,
        posterior_transform=None, **kwargs,
    ) -> LeanPosterior:
        """Joint posterior of the latent functions at ``X`` (``batch x q x d``)."""
        if observation_noise is not False or posterior_transform is not None:
            raise NotImplementedError("LeanGP gives the noise-free posterior only")
        fitted = self._fitted
        Zx, K_xz = fitted.cross(X)  # batch x m x q x d, batch x m x q x n
        prior = fitted.prior(Zx)  # batch x m x q x q
        if self._sources is not None:
            source_mean, source_cross, source_prior = self._sources.evaluate(X)
            K_xz = K_xz + source_cross.unsqueeze(-3)
            prior = prior + source_prior.unsqueeze(-3)
        mean = fitted.constant.unsqueeze(-1) + fitted.mean(K_xz)  # batch x m x q
        if self._sources is not None:
            mean = mean + source_mean.unsqueeze(-2)
        batch, (m, q, n) = K_xz.shape[:-3], K_xz.shape[-3:]
        # W = K_xz L^-T per output, as one matrix product per output: m x (batch q) x n.
        W = K_xz.movedim(-3, 0).reshape(m, -1, n) @ fitted.L_inv_T
        W = W.reshape(m, *batch, q, n).movedim(0, -3)  # batch x m x q x n
        covariance = prior - W @ W.transpose(-1, -2)  # batch x m x q x q
        if output_indices is not None:
            mean, covariance = mean[..., output_indices, :], covariance[..., output_indices, :, :]
        return LeanPosterior(mean.transpose(-1, -2), covariance)


EXACT_DIFFERENCES_UP_TO = 128


def _rbf(A: Tensor, B: Tensor, same: bool = False) -> Tensor:
    """``exp(-|a - b|^2 / 2)`` between rows of already length-scaled ``A`` (``... x p x d``) and ``B``."""
    if same and A.shape[-2] <= EXACT_DIFFERENCES_UP_TO:
        # Exact differences keep the diagonal at exactly 1 (no cancellation).
        return torch.exp(-0.5 * (A.unsqueeze(-2) - B.unsqueeze(-3)).pow(2).sum(-1))
    if same:
        # Many points (the incumbents' joint posterior when BoTorch prunes them): the p x p x d
        # differences cost far more than the product form (docs/benchmarks.md, Device); its
        # diagonal is set to exactly 1 instead.
        K = _rbf(A, B)
        eye = torch.eye(K.shape[-1], dtype=torch.bool, device=K.device)
        return torch.where(eye, 1.0, K)
    sq = A.pow(2).sum(-1, keepdim=True) + B.pow(2).sum(-1).unsqueeze(-2) - 2 * A @ B.transpose(-1, -2)
    return torch.exp(-0.5 * sq.clamp_min(0.0))


class LeanPosterior(Posterior):
    """Independent multivariate normals per output: ``mean`` ``batch x q x m``, ``covariance`` ``batch x m x q x q``."""

    def __init__(self, mean: Tensor, covariance: Tensor) -> None:
        self._mean = mean
        self._covariance = covariance
        self._scale_tril: Tensor | None = None

    @property
    def mean(self) -> Tensor:
        return self._mean

    @property
    def covariance(self) -> Tensor:
        """``batch x m x q x q``: the joint covariance of the ``q`` points, per output."""
        return self._covariance

    @property
    def variance(self) -> Tensor:
        return torch.diagonal(self._covariance, dim1=-2, dim2=-1).transpose(-1, -2)

    @property
    def device(self) -> torch.device:
        return self._mean.device

    @property
    def dtype(self) -> torch.dtype:
        return self._mean.dtype

    @property
    def batch_shape(self) -> torch.Size:
        return self._mean.shape[:-2]

    @property
    def base_sample_shape(self) -> torch.Size:
        return self._mean.shape

    @property
    def batch_range(self) -> tuple[int, int]:
        return (0, -2)

    def _extended_shape(self, sample_shape: torch.Size = torch.Size()) -> torch.Size:  # noqa: B008
        return sample_shape + self._mean.shape

    def rsample_from_base_samples(self, sample_shape: torch.Size, base_samples: Tensor) -> Tensor:
        """Samples ``sample_shape x batch x q x m`` from base samples ``sample_shape x [batch or 1s] x q x m``."""
        if self._scale_tril is None:
            self._scale_tril = cholesky(self._covariance)
        return self._mean + draw(self._scale_tril, sample_shape, base_samples)

    def rsample(self, sample_shape: torch.Size | None = None) -> Tensor:
        sample_shape = torch.Size() if sample_shape is None else sample_shape
        base = torch.randn(sample_shape + self.base_sample_shape, dtype=self.dtype, device=self.device)
        return self.rsample_from_base_samples(sample_shape, base)


def draw(L: Tensor, sample_shape: torch.Size, base_samples: Tensor) -> Tensor:
    """``L @ z`` per output: ``L`` ``batch x m x r x c``, base samples
    ``sample_shape x [batch or 1s] x c x m``; returns ``sample_shape x batch x r x m``."""
    batch, (m, r, c) = L.shape[:-3], L.shape[-3:]
    if base_samples.shape[len(sample_shape):-2].numel() == 1:
        # The sampler collapses the batch: one matrix product per output, instead of
        # broadcasting the factors over the samples (which copies them sample-fold).
        z = base_samples.reshape(-1, c, m).permute(2, 1, 0)  # m x c x S
        Lm = L.reshape(-1, m, r, c).transpose(0, 1).reshape(m, -1, c)  # m x (batch r) x c
        draws = (Lm @ z).reshape(m, *batch, r, -1)  # m x batch x r x S
        draws = draws.permute(-1, *range(1, len(batch) + 1), -2, 0)  # S x batch x r x m
        return draws.reshape(sample_shape + draws.shape[1:])
    z = base_samples.transpose(-1, -2).unsqueeze(-1)  # ... x m x c x 1
    return (L @ z).squeeze(-1).transpose(-1, -2)
