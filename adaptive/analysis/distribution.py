"""The winning-parameter distribution: Thompson sampling over candidate configs.

For each of ``n_draws`` joint posterior draws of every metric at every
candidate, the winner is the feasible candidate with the best utility; an arm's
weight is the share of draws it wins (the posterior probability that it is the
best config, Thompson 1933; Russo et al., 2018, "A Tutorial on Thompson
Sampling"). Constraints are checked on each draw, so an arm that violates a
constraint with high posterior probability rarely wins.

Utility of a draw ``f``:
- ``prefer=metric``: ``sign * f[metric]`` (the objective's direction);
- ``weights={metric: w}``: ``sum_m w * sign_m * f[m] / scale_m`` with ``scale_m``
  the standard deviation of the observed values, so weights compare metrics
  of different units.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import torch
from linear_operator.utils.warnings import NumericalWarning

from adaptive._checks import is_number
from adaptive.errors import ValidationError
from adaptive.modeling import completed
from adaptive.objectives import OptimizationConfig, OutcomeConstraint
from adaptive.serving import SCHEMA_VERSION
from adaptive.space import SearchSpace
from adaptive.trial import Trial

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Preference:
    """What 'winning' means: a utility over metrics plus constraints checked per draw."""

    weights: dict[str, float]  # metric -> signed weight on the metric's (scaled) value
    constraints: tuple[OutcomeConstraint, ...]
    text: str


def build_preference(
    config: OptimizationConfig, *, prefer: str | None, weights: Mapping[str, float] | None, constraints: Sequence[str]
) -> Preference:
    """Validate the preference arguments of ``export_distribution``."""
    objectives = {o.metric: o for o in config.objectives}
    if prefer is not None and weights is not None:
        raise ValidationError("prefer", prefer, "give prefer or weights, not both")
    if weights is not None:
        if not isinstance(weights, Mapping) or not weights:
            raise ValidationError("weights", weights, "must be a non-empty dict of objective -> weight")
        out = {}
        for metric, w in weights.items():
            if metric not in objectives:
                raise ValidationError(f"weights.{metric}", w, f"not an objective; objectives: {list(objectives)}")
            if not is_number(w) or not math.isfinite(w) or w < 0:
                raise ValidationError(f"weights.{metric}", w, "weights must be finite and >= 0")
            out[metric] = objectives[metric].sign * float(w)
        if not any(out.values()):
            raise ValidationError("weights", weights, "at least one weight must be positive")
        text = " + ".join(f"{w:g}*{m}" for m, w in weights.items())
    else:
        if prefer is None:
            if len(objectives) > 1:
                raise ValidationError("prefer", None, f"several objectives {list(objectives)}: say which to prefer, or give weights")
            prefer = next(iter(objectives))
        if prefer not in objectives:
            raise ValidationError("prefer", prefer, f"not an objective; objectives: {list(objectives)}")
        out = {prefer: objectives[prefer].sign}
        text = f"{'minimize' if objectives[prefer].minimize else 'maximize'} {prefer}"
    if isinstance(constraints, str):
        raise ValidationError("constraints", constraints, "must be a list of strings")
    extra = tuple(OutcomeConstraint.parse(c) for c in constraints)
    thresholds = tuple(
        OutcomeConstraint(o.metric, o.threshold, upper=o.minimize)
        for o in config.objectives
        if o.threshold is not None and out.get(o.metric, 0.0) == 0.0
    )
    return Preference(out, tuple(config.outcome_constraints) + thresholds + extra, text)


@dataclass(frozen=True)
class Candidate:
    name: str
    params: dict[str, Any]


def candidates(
    space: SearchSpace, trials: Sequence[Trial], *, source: str, extra: Sequence[dict[str, Any]]
) -> list[Candidate]:
    """Observed ``source`` configs (most recent last, duplicates once), then ``extra`` ones."""
    seen: set[str] = set()
    out = []
    for t in completed(trials, source):
        key = repr(sorted(t.params.items()))
        if key not in seen:
            seen.add(key)
            out.append(Candidate(f"trial-{t.id}", dict(t.params)))
    for i, params in enumerate(extra):
        key = repr(sorted(params.items()))
        if key not in seen:
            seen.add(key)
            out.append(Candidate(f"model-{i}", dict(params)))
    return out


def model_optimized(
    space: SearchSpace, models: Mapping[str, Any], preference: Preference, scales: Mapping[str, float], *,
    n: int, seed: int, device: torch.device, avoid: torch.Tensor, min_distance: float,
) -> list[dict[str, Any]]:
    """Up to ``n`` configs of a quasi-random pool with the best posterior-mean utility among those
    whose posterior means satisfy the constraints (the best by utility alone when none does).

    Each is at least ``min_distance`` (Euclidean, unit cube) from the others and from
    the ``avoid`` points (``k x d``, the observed configs), so arms are distinct configs
    rather than near-copies sharing one optimum's weight.
    """
    if n <= 0:
        return []
    params, _ = space.sample(max(1024, 4 * n), seed=seed)
    X = space.encode(params).to(device)
    with torch.no_grad():
        means = {m: model.posterior(X).mean.squeeze(-1).cpu() for m, model in models.items()}
    utility = sum(w * means[m] / scales.get(m, 1.0) for m, w in preference.weights.items())
    feasible = torch.ones(len(params), dtype=torch.bool)
    for c in preference.constraints:
        feasible &= means[c.metric] <= c.bound if c.upper else means[c.metric] >= c.bound
    if feasible.any():
        utility = torch.where(feasible, utility, torch.tensor(-math.inf, dtype=utility.dtype))
    chosen: list[int] = []
    taken = avoid.to("cpu", torch.float64)
    X_cpu = X.cpu()
    for i in torch.argsort(utility, descending=True).tolist():
        if min_distance > 0 and len(taken) and torch.cdist(X_cpu[i : i + 1], taken).min() < min_distance:
            continue
        chosen.append(i)
        taken = torch.cat([taken, X_cpu[i : i + 1]])
        if len(chosen) == n:
            break
    return [params[i] for i in chosen]


def posterior_draws(models: Mapping[str, Any], X: torch.Tensor, *, n_draws: int, seed: int) -> dict[str, torch.Tensor]:
    """``n_draws x N`` joint posterior draws of each metric's mean at the ``N x d`` points ``X``."""
    # The caller's random state, on the CPU and on X's GPU, is left as it was.
    with torch.random.fork_rng(devices=[X.device] if X.device.type == "cuda" else []):
        torch.manual_seed(seed)
        draws = {}
        for metric, model in models.items():
            with torch.no_grad(), warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                posterior = model.posterior(X)
                draws[metric] = posterior.rsample(torch.Size([n_draws])).squeeze(-1).cpu()
            _pass_on(caught, metric)
        return draws


def _pass_on(caught: list[warnings.WarningMessage], metric: str) -> None:
    """Candidates close to each other (a config observed several times, a model-optimized one
    beside it) make the joint covariance nearly singular, and linear_operator adds jitter to
    factor it: expected, harmless for the draws, so one DEBUG line; any other warning goes on."""
    for w in caught:
        if issubclass(w.category, NumericalWarning):
            logger.debug("posterior draws of %r: %s", metric, w.message)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def win_shares(
    draws: Mapping[str, torch.Tensor], preference: Preference, scales: Mapping[str, float]
) -> tuple[np.ndarray, int]:
    """Share of draws each of the ``N`` candidates wins, and the number of draws with no feasible candidate."""
    any_metric = next(iter(draws.values()))
    utility = torch.zeros_like(any_metric)
    for metric, w in preference.weights.items():
        utility += w * draws[metric] / scales.get(metric, 1.0)
    feasible = torch.ones_like(any_metric, dtype=torch.bool)
    for c in preference.constraints:
        feasible &= draws[c.metric] <= c.bound if c.upper else draws[c.metric] >= c.bound
    utility = torch.where(feasible, utility, torch.tensor(-math.inf, dtype=utility.dtype))
    has_feasible = feasible.any(dim=1)
    winners = utility[has_feasible].argmax(dim=1)
    counts = torch.bincount(winners, minlength=any_metric.shape[1]).numpy().astype(float)
    return counts / max(int(has_feasible.sum()), 1), int((~has_feasible).sum())


def build_document(
    *, experiment: str, version: int, cands: Sequence[Candidate], shares: np.ndarray, draws: Mapping[str, torch.Tensor],
    preference: Preference, top_k: int | None, min_weight: float, n_draws: int, infeasible_draws: int,
    n_trials: int, source: str,
) -> dict[str, Any]:
    """The export as a JSON-able dict (what the database stores and ``adaptive.serving.load`` reads)."""
    order = [i for i in np.argsort(-shares, kind="stable") if shares[i] > 0 and shares[i] >= min_weight]
    if top_k:
        order = order[:top_k]
    if not order:
        raise ValidationError(
            "constraints", [c.text for c in preference.constraints],
            f"no candidate is feasible in any of {n_draws} posterior draws; relax the constraints",
        )
    total = float(sum(shares[i] for i in order))
    arms = []
    for i in order:
        predictions = {}
        for metric, d in draws.items():
            column = d[:, i].numpy()
            predictions[metric] = {
                "mean": float(column.mean()), "lower": float(np.quantile(column, 0.025)),
                "upper": float(np.quantile(column, 0.975)),
            }
        arms.append({"name": cands[i].name, "params": cands[i].params, "weight": float(shares[i]) / total, "predictions": predictions})
    return {
        "schema_version": SCHEMA_VERSION,
        "experiment": experiment,
        "version": version,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "salt": experiment,
        "preference": {"utility": preference.text, "constraints": [c.text for c in preference.constraints]},
        "model": {
            "source": source, "trials": n_trials, "candidates": len(cands), "draws": n_draws,
            "draws_without_feasible_candidate": infeasible_draws, "kind": "independent GP per metric",
        },
        "arms": arms,
    }
