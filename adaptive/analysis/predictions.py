"""Model predictions: per-metric posterior mean and standard error at given configs,
and the model-predicted Pareto frontier."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from botorch.models import MultiTaskGP
from scipy.stats import norm

from adaptive.analysis.frames import trials_frame
from adaptive.analysis.pareto import pareto_mask
from adaptive.modeling import completed, fit_each_metric, fit_metric_model, metric_data
from adaptive.modeling.corrected import SourceMean
from adaptive.modeling.loo import loo_predictions
from adaptive.objectives import OptimizationConfig
from adaptive.space import SearchSpace
from adaptive.trial import Observation, Trial


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
            posterior: Any = models[metric].posterior(X)
        frame[f"{metric}_mean"] = posterior.mean.squeeze(-1).cpu().numpy()
        frame[f"{metric}_sem"] = posterior.variance.clamp_min(0).sqrt().squeeze(-1).cpu().numpy()
    return frame


LOO_COLUMNS = ["trial_id", "observed", "observed_sem", "predicted", "predicted_sem", "model"]


def loo_frame(
    space: SearchSpace, trials: Sequence[Trial], metric: str, *, source: str, device: torch.device, seed: int = 0,
    model: Any | None = None,
) -> pd.DataFrame:
    """Leave-one-out predictions of ``metric`` at every completed ``source`` trial that observed it.

    Each trial's ``predicted`` mean (and ``predicted_sem``, the posterior standard deviation
    of its noiseless value) comes from the model the experiment uses for the metric (the
    same sources, the same fitted hyperparameters) conditioned on every other row: closed
    form, no refit (see :mod:`adaptive.modeling.loo`). ``observed``/``observed_sem`` are the
    trial's observation; ``model`` names the model's kind. Units: the metric's.
    """
    data = metric_data(trials, space, metric, source=source, device=device, other_sources=True)
    own = data.only(0)
    if own.n == 0:
        return pd.DataFrame(columns=LOO_COLUMNS)
    if model is None:
        model = fit_metric_model(data, seed=seed)
    multi_task = isinstance(model, MultiTaskGP)  # trained on every source's rows, the target's first
    errors, sd = loo_predictions(model, data.rows_of(0) if multi_task else None)
    observed = own.Y.squeeze(-1).cpu()
    by_id = {t.id: t for t in trials}
    kind = "multi-task" if multi_task else "bias-corrected" if isinstance(model.mean_module, SourceMean) else "single-source"
    return pd.DataFrame({
        "trial_id": list(own.trial_ids),
        "observed": observed.numpy(),
        "observed_sem": [by_id[i].observations[metric].sem or 0.0 for i in own.trial_ids],
        "predicted": (observed - errors.cpu()).numpy(),
        "predicted_sem": sd.cpu().numpy(),
        "model": kind,
    }, columns=LOO_COLUMNS)


def model_frontier(
    space: SearchSpace, config: OptimizationConfig, trials: Sequence[Trial], *, source: str, device: torch.device,
    seed: int = 0, min_feasibility: float = 0.5, models: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Frontier of the evaluated ``source`` configs by *predicted* means.

    Model predictions smooth out noise: a trial lucky in one noisy observation does
    not make the frontier. Rows are the trials' frame rows (observed values) with
    ``<metric>_pred``/``<metric>_pred_sem`` predictions beside them and ``p_feasible``,
    the probability (independent normal posteriors) that every outcome constraint
    holds; configs below ``min_feasibility`` are left out. Fitted ``models`` (metric -> GP,
    from ``fit_each_metric``) are reused where given.
    """
    done = [t for t in completed(trials, source) if t.observations]
    observed = trials_frame(done, list(space.parameters), config.metrics)
    if not done:
        return observed
    predicted = predict_frame(space, config.metrics, trials, [t.params for t in done], source=source, device=device,
                              seed=seed, models=models)
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


@dataclass(frozen=True)
class ModelBest:
    """The evaluated config the model ranks best, with its prediction.

    Attributes:
        trial: the trial (its observed values are in ``trial.observations``).
        prediction: per metric, the posterior mean and standard error of the metric's mean
            at the trial's config (metric units; observation noise excluded).
        p_feasible: probability (independent normal posteriors) that every outcome constraint holds.
    """

    trial: Trial
    prediction: dict[str, Observation]
    p_feasible: float

    @property
    def id(self) -> int:
        return self.trial.id

    @property
    def params(self) -> dict[str, Any]:
        return self.trial.params


def best_by_model(
    space: SearchSpace, config: OptimizationConfig, trials: Sequence[Trial], candidates: Sequence[Trial], *,
    source: str, device: torch.device, seed: int = 0, min_feasibility: float = 0.5,
) -> ModelBest:
    """Among ``candidates`` (evaluated ``source`` trials), the best posterior mean of the single
    objective among those feasible with probability ``min_feasibility`` or more; when none is,
    the one most likely feasible (its ``p_feasible`` says so)."""
    (objective,) = config.objectives
    frame = predict_frame(space, config.metrics, trials, [t.params for t in candidates], source=source, device=device, seed=seed)
    p_feasible = np.ones(len(candidates))
    for c in config.outcome_constraints:
        z = (c.bound - frame[f"{c.metric}_mean"]) / frame[f"{c.metric}_sem"].clip(lower=1e-12)
        p_feasible *= norm.cdf(z) if c.upper else norm.cdf(-z)
    value = objective.sign * frame[f"{objective.metric}_mean"].to_numpy()
    if (p_feasible >= min_feasibility).any():
        # Ties go to the earlier trial.
        i = int(np.argmax(np.where(p_feasible >= min_feasibility, value, -np.inf)))
    else:
        i = int(np.argmax(p_feasible))
    prediction = {m: Observation(float(frame[f"{m}_mean"][i]), float(frame[f"{m}_sem"][i])) for m in config.metrics}
    return ModelBest(candidates[i], prediction, float(p_feasible[i]))
