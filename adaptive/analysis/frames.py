"""Tabular views of trials (pandas)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from adaptive.analysis.pareto import pareto_mask
from adaptive.objectives import OptimizationConfig
from adaptive.trial import Trial, TrialStatus

BASE_COLUMNS = ["trial_id", "status", "source", "generator", "created_at", "completed_at", "failure_reason"]


def trials_frame(trials: Sequence[Trial], parameter_names: Sequence[str], metric_names: Sequence[str]) -> pd.DataFrame:
    """One row per trial: base columns, then each parameter, then ``<metric>`` and ``<metric>_sem`` per metric.

    ``metric_names`` come first in that order; metrics observed but not declared follow, sorted.
    """
    observed = sorted({m for t in trials for m in t.observations} - set(metric_names))
    metrics = list(metric_names) + observed
    rows = []
    for t in trials:
        row: dict[str, object] = {
            "trial_id": t.id, "status": t.status.value, "source": t.source, "generator": t.generator,
            "created_at": t.created_at, "completed_at": t.completed_at, "failure_reason": t.failure_reason,
        }
        row.update({p: t.params.get(p) for p in parameter_names})
        for m in metrics:
            o = t.observations.get(m)
            row[m] = o.mean if o else np.nan
            row[f"{m}_sem"] = o.sem if o and o.sem is not None else np.nan
        rows.append(row)
    columns = BASE_COLUMNS + list(parameter_names) + [c for m in metrics for c in (m, f"{m}_sem")]
    return pd.DataFrame(rows, columns=columns)


def observed_frontier(
    trials: Sequence[Trial], config: OptimizationConfig, *, source: str, parameter_names: Sequence[str]
) -> pd.DataFrame:
    """Completed ``source`` trials that observe every objective, satisfy every outcome
    constraint and objective threshold, and are not Pareto-dominated (by observed means)."""
    candidates = [
        t for t in trials
        if t.status == TrialStatus.COMPLETED and t.source == source
        and all(o.metric in t.observations for o in config.objectives)
        and config.is_feasible(t.means())
        and all(o.beats_threshold(t.observations[o.metric].mean) for o in config.objectives)
    ]
    frame = trials_frame(candidates, parameter_names, config.metrics)
    if not candidates:
        return frame
    Y = np.array([[o.sign * t.observations[o.metric].mean for o in config.objectives] for t in candidates])
    return frame[pareto_mask(Y)].reset_index(drop=True)
