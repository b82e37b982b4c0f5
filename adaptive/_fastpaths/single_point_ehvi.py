"""qLogNEHVI's value for one candidate at a time, without the batch bookkeeping.

``maximize`` proposes a batch one point at a time, the earlier points pending (cached in
the incumbents), so every evaluation of the multi-objective acquisition scores a single
candidate per restart. BoTorch's ``_compute_log_qehvi`` runs the general
inclusion-exclusion over subsets of the ``q`` candidates: for ``q = 1`` that is one subset,
and its log-sum-exp over one subset, the accumulation into -inf-filled even and odd terms
and their log-difference are identities that still cost a large share of an evaluation and
its backward pass (measured in docs/optimization.md).

:class:`SinglePointLogEHVI` keeps only what changes the value: the fused log-areas of the
candidate in each cell, the log feasibility weight, the log-sum over cells and the log-mean
over samples. Each skipped step is exact in floating point (``logsumexp`` over one
element, ``logplusexp(-inf, x)`` and ``logdiffexp(x, -inf)`` all return ``x``), so values
and proposals are BoTorch's own (tested). Anything else (``q > 1``, a GPU, no fused
kernel, the non-fat variant) takes BoTorch's path.
"""

from __future__ import annotations

import botorch.acquisition.multi_objective.logei as botorch_logei
from botorch.utils.objective import compute_smoothed_feasibility_indicator
from botorch.utils.safe_math import logmeanexp, logsumexp
from torch import Tensor


class SinglePointLogEHVI:
    """Mix in before ``qLogNoisyExpectedHypervolumeImprovement`` (or ``qLogExpectedHypervolumeImprovement``)."""

    def _compute_log_qehvi(self, samples: Tensor, X: Tensor | None = None) -> Tensor:
        """``samples``: ``mc x batch x q' x m'`` posterior samples; returns ``batch`` log-EHVI values."""
        fused = getattr(botorch_logei, "_FusedLogAreas", None)
        if (
            samples.shape[-2] != 1 or samples.device.type != "cpu" or not self.fat
            or getattr(botorch_logei, "_C", None) is None or fused is None
        ):
            return super()._compute_log_qehvi(samples, X=X)
        obj = self.objective(samples, X=X)  # mc x batch x 1 x m
        batch_shape = obj.shape[:-2]
        lower, upper = self.cell_lower_bounds, self.cell_upper_bounds  # [mc x] cells x m
        extra = len(batch_shape) - (lower.ndim - 2)
        if lower.ndim > 2 and extra > 0:
            # Per-sample cells broadcast over the restarts, as BoTorch's fused path does.
            shape = (lower.shape[0], *[1] * extra, *lower.shape[1:])
            lower = lower.view(shape).expand(*batch_shape, *lower.shape[-2:])
            upper = upper.view(shape).expand(*batch_shape, *upper.shape[-2:])
        # The candidate as the only subset of size one: mc x batch x 1 (subsets) x 1 (size) x m.
        log_areas = fused.apply(obj.unsqueeze(-2), lower, upper, self.tau_relu, self.tau_max)[..., 0]  # mc x batch x cells
        if self.constraints is not None:
            log_areas = log_areas + compute_smoothed_feasibility_indicator(
                constraints=self.constraints, samples=samples, eta=self.eta, log=True, fat=self.fat,
            )  # mc x batch x 1
        return logmeanexp(logsumexp(log_areas, dim=-1), dim=0)
