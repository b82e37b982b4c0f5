"""The acquisition side of the lean posterior (:mod:`adaptive._fastpaths.lean_posterior`): BoTorch's
cached-Cholesky hooks served from a :class:`~adaptive._fastpaths.lean_posterior.LeanPosterior`, and the
sampler BoTorch picks for one.

BoTorch's noisy acquisitions cache the Cholesky factor of the incumbents' posterior covariance
and sample candidates by a low-rank update of it (``sample_cached_cholesky``), which reads
GPyTorch's distribution objects; :class:`LeanCachedCholesky` does the same update on a lean
posterior, so the acquisition values equal those on the GPyTorch model (tested to 1e-8).
"""

from __future__ import annotations

import logging

import torch
from botorch.sampling import IIDNormalSampler, SobolQMCNormalSampler
from botorch.sampling.base import MCSampler
from botorch.sampling.get_sampler import GetSampler
from linear_operator.utils.cholesky import psd_safe_cholesky
from linear_operator.utils.errors import NotPSDError
from torch import Tensor
from torch.quasirandom import SobolEngine

from adaptive._fastpaths.lean_posterior import LeanPosterior, cholesky, draw, host_sync_free

logger = logging.getLogger(__name__)


class LeanCachedCholesky:
    """Overrides of BoTorch's ``CachedCholeskyMCSamplerMixin`` hooks for a :class:`LeanGP`:
    mix in before a noisy acquisition class (see ``acquisition.build_acquisition``)."""

    def _compute_root_decomposition(self, posterior: LeanPosterior) -> Tensor:
        """``m x n x n``: the Cholesky factor of the incumbents' posterior covariance."""
        return psd_safe_cholesky(posterior.covariance)

    def _baseline_L_inverse(self) -> Tensor:
        """The inverse of the cached incumbents' factor, computed once per factor (outside any capture:
        the first, eager steps compute it)."""
        L = self._baseline_L
        cached = getattr(self, "_baseline_L_inv", None)
        if cached is None or cached[0] is not L:
            eye = torch.eye(L.shape[-1], dtype=L.dtype, device=L.device).expand(L.shape)
            cached = (L, torch.linalg.solve_triangular(L, eye, upper=False))
            self._baseline_L_inv = cached
        return cached[1]

    def _get_f_X_samples(self, posterior: LeanPosterior, q_in: int) -> Tensor:
        """Samples ``sample_shape x batch x q_in x m`` at the last ``q_in`` points of a joint
        posterior over (incumbents, candidates), as ``botorch.utils.low_rank.sample_cached_cholesky``.

        Without cached incumbents (none observed yet), the joint posterior is sampled as a whole,
        as BoTorch does.
        """
        if not hasattr(self, "_baseline_L"):
            return self.get_posterior_samples(posterior)[..., -q_in:, :]
        bottom = posterior.covariance[..., -q_in:, :]
        cross, corner = bottom.split([bottom.shape[-1] - q_in, q_in], dim=-1)
        if host_sync_free():
            # A product with the factor's inverse: no triangular solve kernel (see lean_posterior's _unrolled_cholesky).
            cross_chol = cross @ self._baseline_L_inverse().transpose(-2, -1)
        else:
            cross_chol = torch.linalg.solve_triangular(self._baseline_L, cross.transpose(-2, -1), upper=False).transpose(-2, -1)
        try:
            corner_chol = cholesky(corner - cross_chol @ cross_chol.transpose(-2, -1), max_tries=6)
        except NotPSDError:
            # As BoTorch does when the low-rank update fails: sample the joint posterior.
            logger.debug("low-rank Cholesky update failed; sampling the joint posterior")
            return self.get_posterior_samples(posterior)[..., -q_in:, :]
        rows = torch.cat([cross_chol, corner_chol], dim=-1)  # batch x m x q_in x (n + q_in)
        draws = draw(rows, self.sampler.sample_shape, self.sampler.base_samples)
        return posterior.mean[..., -q_in:, :] + draws


@GetSampler.register(LeanPosterior)
def _sampler_for_lean_posterior(posterior: LeanPosterior, sample_shape: torch.Size, *, seed: int | None = None) -> MCSampler:
    """The sampler BoTorch picks for a GPyTorch posterior of the same shape (pruning asks for one)."""
    sampler = SobolQMCNormalSampler(sample_shape=sample_shape, seed=seed)
    if sampler._get_collapsed_shape(posterior)[len(sample_shape):].numel() > SobolEngine.MAXDIM:
        return IIDNormalSampler(sample_shape=sample_shape, seed=seed)
    return sampler
