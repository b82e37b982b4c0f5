"""Model predictions: per-metric posterior mean and standard error at given configs,
and the model-predicted Pareto frontier."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.stats import norm

from adaptive.analysis.frames import trials_frame
from adaptive.analysis.pareto import pareto_mask
from adaptive.modeling import completed, fit_each_metric
from adaptive.objectives import OptimizationConfig
from adaptive.space import SearchSpace
from adaptive.trial import Trial


def predict_frame(
    space: SearchSpace,
    metrics: Sequence[str],
    trials: Sequence[Trial],
    params_list: Sequence[Mapping[str, Any]],
    *,
    source: str,
    device: torch.device,
    seed: int = 0,
    models: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """One row per config: its parameters, then ``<metric>_mean`` and ``<metric>_sem`` per metric.

    The sem is the posterior standard deviation of the metric's mean (observation
    noise excluded), in the metric's units. Each metric's GP is fitted on the
    completed ``source`` trials that observed it, unless fitted ``models`` (metric ->
    GP, from ``fit_each_metric``) are given to reuse.

    Raises:
        ValidationError: a config is invalid, or a metric has no observation to learn from.
    """
    valid = [space.validate(p) for p in params_list]
    X = space.encode(valid).to(device)
    frame = pd.DataFrame(valid, columns=list(space.parameters))
    if models is None:
        models = fit_each_metric(space, trials, metrics, source=source, seed=seed, device=device)
    for metric in metrics:
        with torch.no_grad():
            posterior = models[metric].posterior(X)
        frame[f"{metric}_mean"] = posterior.mean.squeeze(-1).cpu().numpy()
        frame[f"{metric}_sem"] = posterior.variance.clamp_min(0).sqrt().squeeze(-1).cpu().numpy()
    return frame


def model_frontier(
    space: SearchSpace, config: OptimizationConfig, trials: Sequence[Trial], *, source: str, device: torch.device,
    seed: int = 0, min_feasibility: float = 0.5,
) -> pd.DataFrame:
    """Frontier of the evaluated ``source`` configs by *predicted* means.

    Model predictions smooth out noise: a trial lucky in one noisy observation does
    not make the frontier. Rows are the trials' frame rows (observed values) with
    ``<metric>_pred``/``<metric>_pred_sem`` predictions beside them and ``p_feasible``,
    the probability (independent normal posteriors) that every outcome constraint
    holds; configs below ``min_feasibility`` are left out.
    """
    done = [t for t in completed(trials, source) if t.observations]
    observed = trials_frame(done, list(space.parameters), config.metrics)
    if not done:
        return observed
    predicted = predict_frame(space, config.metrics, trials, [t.params for t in done], source=source, device=device, seed=seed)
    renamed = {}
    for metric in config.metrics:
        renamed[f"{metric}_mean"], renamed[f"{metric}_sem"] = f"{metric}_pred", f"{metric}_pred_sem"
    predicted = predicted[list(renamed)].rename(columns=renamed)
    p_feasible = np.ones(len(done))
    for c in config.outcome_constraints:
        z = (c.bound - predicted[f"{c.metric}_pred"]) / predicted[f"{c.metric}_pred_sem"].clip(lower=1e-12)
        p_feasible *= norm.cdf(z) if c.upper else norm.cdf(-z)
    frame = pd.concat([observed, predicted], axis=1)
    frame["p_feasible"] = p_feasible
    keep = p_feasible >= min_feasibility
    for o in config.objectives:
        if o.threshold is not None:
            keep &= (o.sign * frame[f"{o.metric}_pred"] >= o.sign * o.threshold).to_numpy()
    frame = frame[keep].reset_index(drop=True)
    if frame.empty:
        return frame
    Y = np.column_stack([o.sign * frame[f"{o.metric}_pred"].to_numpy() for o in config.objectives])
    return frame[pareto_mask(Y)].reset_index(drop=True)
