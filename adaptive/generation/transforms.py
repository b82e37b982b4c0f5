"""Outcome transforms applied before modelling, for acquisition only.

Predictions, frontiers and reports model the metrics in their own units; only the
models that ``suggest`` optimizes over see these transforms.

Bilog around a constraint bound (Eriksson & Poloczek, 2021, "Scalable Constrained
Bayesian Optimization"; Ax's ``BilogY``): ``y -> sign(y - b) * log(1 + |y - b|)``.
It is monotone and zero at the bound, so ``y <= b`` exactly when the transformed
value is ``<= 0``, and it compresses values far from the bound, where a GP on the
raw metric wastes its fit, while keeping resolution near the boundary that
matters for feasibility. It is applied where a GP models the metric better with it
(both fitted, compared by their likelihood of the values in the metric's units: the
warped-GP choice of an output transform). An earlier rule asked only whether bilog made
the values, taken alone, more Gaussian; smooth constraints that are heavy-tailed across
the box (two of DiscBrake's four) chose bilog by it and lost to their own units (the
A/B is in docs/benchmarks.md).

A single objective is Yeo-Johnson-warped (:func:`warp_single_objective`); of several,
only the values worse than the reference point are log-compressed
(:func:`compress_beyond_reference`), which leaves every hypervolume as it is.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import replace

import numpy as np
import torch
from scipy import stats

from adaptive.errors import ModelFitError
from adaptive.modeling import MetricData, log_evidence
from adaptive.objectives import OptimizationConfig

logger = logging.getLogger(__name__)

# Fewer rows than this leave the power's likelihood too flat to say anything.
MIN_ROWS_TO_WARP = 3

# An objective is compressed beyond its reference point only where its worst value lies more
# than this many good-side spans beyond it (two decades): see compress_beyond_reference.
COMPRESS_SPAN_RATIO = 100.0


def bilog(y: torch.Tensor, bound: float) -> torch.Tensor:
    # BoTorch's Bilog outcome transform is this map around 0, but it refuses observation
    # noise ("does not yet support transforming observation noise"): metrics with sems need
    # the delta method (_bilogged) and the bound moved to 0, so the map is applied here.
    d = y - bound
    return torch.sign(d) * torch.log1p(d.abs())


def bilog_constraint_metrics(
    datas: list[MetricData], config: OptimizationConfig, *, seed: int = 0,
) -> tuple[list[MetricData], set[str]]:
    """Bilog-transform each metric bounded by exactly one outcome constraint (and not an
    objective) that a GP models better bilogged (see :func:`_bilog_models_better`).

    Returns the data (transformed where applicable; sems by the delta method) and the
    names of the transformed metrics, whose constraint bound becomes 0.
    """
    objectives = {o.metric for o in config.objectives}
    counts = Counter(c.metric for c in config.outcome_constraints)
    bounds = {c.metric: c.bound for c in config.outcome_constraints if counts[c.metric] == 1 and c.metric not in objectives}
    out, transformed = [], set()
    for d in datas:
        if d.metric not in bounds or d.n == 0:
            out.append(d)
            continue
        b = bounds[d.metric]
        if not _bilog_models_better(d, b, seed):
            out.append(d)
            continue
        out.append(_bilogged(d, b))
        transformed.add(d.metric)
    if bounds:
        logger.debug("constrained metrics modelled bilog-transformed: %s; in their units: %s",
                     sorted(transformed), sorted(set(bounds) - transformed))
    return out, transformed


def _bilog_models_better(data: MetricData, bound: float, seed: int = 0) -> bool:
    """Whether a GP models the metric's values better bilog-transformed than in their units.

    Both are fitted (one batched fit of two columns) and compared by their likelihood of
    the values in the metric's units (:func:`~adaptive.modeling.fit.log_evidence` plus
    bilog's log-Jacobian). Asking only whether bilog makes the values more Gaussian
    ignores that they are a function of the parameters: a smooth constraint whose values
    are heavy-tailed across the box is fitted better in its units, and values that grow
    exponentially away from the bound are fitted better bilogged. Data from several
    sources are judged on the modelled source's rows (too few rows: bilog).
    """
    own = data.only(0) if data.is_multi_source else data
    if own.n < MIN_ROWS_TO_WARP:
        return True
    t = _bilogged(own, bound)
    Y = torch.cat([own.Y, t.Y], dim=-1)
    Yvar = None if own.Yvar is None or t.Yvar is None else torch.cat([own.Yvar, t.Yvar], dim=-1)
    try:
        identity, bilogged = log_evidence(own.X, Y, Yvar, categorical=own.categorical, seed=seed).tolist()
    except ModelFitError:
        return True
    log_jacobian = -float(torch.log1p((own.Y - bound).abs()).sum())
    return bilogged + log_jacobian > identity


def _bilogged(d: MetricData, bound: float) -> MetricData:
    """``d`` bilog-transformed around ``bound``; known sems by the delta method."""
    Yvar = None if d.Yvar is None else d.Yvar / (1.0 + (d.Y - bound).abs()) ** 2
    return replace(d, Y=bilog(d.Y, bound), Yvar=Yvar)


def compress_beyond_reference(
    datas: list[MetricData], config: OptimizationConfig, ref_point: np.ndarray | None,
) -> tuple[list[MetricData], set[str]]:
    """With several objectives, log-compress each objective's values worse than its
    reference point, leaving the values that beat it as they are.

    In the signed space (larger is better) with reference value ``r`` and scale ``s``::

        v -> v                                 if v >= r
        v -> r - s * log(1 + (r - v) / s)      if v < r

    The map is increasing, continuous with slope 1 at ``r``, and the identity on every
    value the hypervolume counts, so the hypervolume improvement of any posterior sample
    is the same before and after: the acquisition needs no inverse and the reference point
    stays. What changes is the model: a GP fitted to an objective whose bad values span
    decades beyond the reference point (a welded beam's deflection: 0.0002 to 17,500
    against a threshold of 0.015) spends its amplitude and lengthscales on those, and
    fits the sliver where the front lies badly. Hard clipping there (Ax's ``Winsorize``)
    helps such a metric but cuts plateaus into smooth objectives (Branin's far corner),
    which lost hypervolume; a logarithm keeps the order and the slope.

    ``s`` is how far the best observed value beats ``r`` (the good side's span; while no
    value beats it, how far the best one falls short), so the compression is mild where
    bad values are of the good side's size and strong where they are decades larger: the
    warped bad side is ``s`` times the log of its distance to ``r`` in units of ``s``, so a
    small ``s`` squeezes it without flattening it.

    Only objectives whose worst value lies more than ``COMPRESS_SPAN_RATIO`` (100) spans
    ``s`` beyond ``r`` are compressed. A milder compression of smooth objectives whose bad
    values are a few good-side spans away (Branin's far corner: 16 spans) made
    BraninCurrin's runs worse, as every other transform of them tried did (see
    ``benchmarks/results/constraint_transform_ab.md``); the GP in units fits those well
    enough, and the gain is where values run decades out. Left as they are:
    one objective, rows from several sources (those models relate sources in units), fewer than
    ``MIN_ROWS_TO_WARP`` rows, constant values. Known sems follow by the delta method.

    Returns the data and the names of the objectives compressed.
    """
    if ref_point is None or len(config.objectives) < 2:
        return datas, set()
    signed_ref = {o.metric: (o.sign, float(r)) for o, r in zip(config.objectives, ref_point)}
    out, compressed = [], set()
    for d in datas:
        if d.metric not in signed_ref or d.is_multi_source or d.n < MIN_ROWS_TO_WARP or not math.isfinite(signed_ref[d.metric][1]):
            out.append(d)
            continue
        sign, r = signed_ref[d.metric]
        v = sign * d.Y
        scale = abs(float(v.max()) - r)
        if not (scale > 0 and math.isfinite(scale)) or float(r - v.min()) <= COMPRESS_SPAN_RATIO * scale:
            out.append(d)
            continue
        beyond = (r - v).clamp_min(0.0)
        warped = v + beyond - scale * torch.log1p(beyond / scale)
        Yvar = None if d.Yvar is None else d.Yvar / (1.0 + beyond / scale) ** 2
        out.append(replace(d, Y=sign * warped, Yvar=Yvar))
        compressed.add(d.metric)
    if compressed:
        logger.debug("objectives log-compressed beyond the reference point: %s", sorted(compressed))
    return out, compressed


def yeo_johnson(z: np.ndarray, lam: float) -> np.ndarray:
    """The Yeo-Johnson power transform of ``z`` with power ``lam`` (increasing in ``z``)."""
    return stats.yeojohnson(np.asarray(z, dtype=float), lmbda=lam)


def yeo_johnson_slope(z: np.ndarray, lam: float) -> np.ndarray:
    """d yeo_johnson(z, lam) / dz."""
    z = np.asarray(z, dtype=float)
    return np.where(z >= 0, np.power(np.abs(z) + 1.0, lam - 1.0), np.power(np.abs(z) + 1.0, 1.0 - lam))


def warp_single_objective(datas: list[MetricData], config: OptimizationConfig) -> list[MetricData]:
    """Yeo-Johnson-transform the objective when it is the only one (Ax's ``PowerTransformY``,
    HEBO's output warping).

    A monotone map leaves a single objective's optimum where it is, and a GP fits the
    warped values better: objectives such as Hartmann, Branin or Rosenbrock are mostly flat
    with a few far better (or far worse) values, which a stationary GP on the raw values
    either smooths away or treats as noise. The power is fitted by maximum likelihood to
    the standardized observations (``scipy.stats.yeojohnson``), known sems follow by the
    delta method. On noiseless benchmark problems this made log-EI clearly better; on
    Hartmann6 with inferred noise it did not help (the warp stretches the noise unevenly,
    the GP assumes one level; see docs/benchmarks.md). With several objectives it made
    hypervolume runs worse (the hypervolume of warped values weights the front differently
    from the one that counts), so it is not applied there.

    Left in the metric's units: several objectives, rows from several sources
    (the multi-source models relate sources in the metric's units), fewer than
    ``MIN_ROWS_TO_WARP`` rows, constant values.
    """
    if len(config.objectives) != 1:
        return datas
    metric = config.objectives[0].metric
    out = []
    for d in datas:
        if d.metric == metric and d.task is None and d.n >= MIN_ROWS_TO_WARP:
            d = _warped(d)
        out.append(d)
    return out


def _warped(d: MetricData) -> MetricData:
    y = d.Y.detach().squeeze(-1).cpu().numpy()
    std = float(y.std())
    if not std > 0:
        return d
    z = (y - y.mean()) / std
    lam = float(stats.yeojohnson_normmax(z))
    warped = yeo_johnson(z, lam)
    if not (math.isfinite(lam) and np.isfinite(warped).all()):
        logger.info("metric %r: Yeo-Johnson fit failed (power %s); modelling it unwarped", d.metric, lam)
        return d
    Y = torch.as_tensor(warped, dtype=d.Y.dtype, device=d.Y.device).unsqueeze(-1)
    Yvar = None
    if d.Yvar is not None:
        slope = torch.as_tensor(yeo_johnson_slope(z, lam) / std, dtype=d.Y.dtype, device=d.Y.device).unsqueeze(-1)
        Yvar = d.Yvar * slope**2
    return replace(d, Y=Y, Yvar=Yvar)
