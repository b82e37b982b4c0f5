"""Outcome transforms applied before modelling, for acquisition only.

Bilog around a constraint bound (Eriksson & Poloczek, 2021, "Scalable Constrained
Bayesian Optimization"; Ax's ``BilogY``): ``y -> sign(y - b) * log(1 + |y - b|)``.
It is monotone and zero at the bound, so ``y <= b`` exactly when the transformed
value is ``<= 0``, and it compresses values far from the bound, where a GP on the
raw metric wastes its fit, while keeping resolution near the boundary that
matters for feasibility.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import torch

from adaptive.modeling import MetricData
from adaptive.objectives import OptimizationConfig


def bilog(y: torch.Tensor, bound: float) -> torch.Tensor:
    d = y - bound
    return torch.sign(d) * torch.log1p(d.abs())


def bilog_constraint_metrics(datas: list[MetricData], config: OptimizationConfig) -> tuple[list[MetricData], set[str]]:
    """Bilog-transform each metric bounded by exactly one outcome constraint (and not an objective).

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
        Yvar = None if d.Yvar is None else d.Yvar / (1.0 + (d.Y - b).abs()) ** 2
        out.append(replace(d, Y=bilog(d.Y, b), Yvar=Yvar))
        transformed.add(d.metric)
    return out, transformed
