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


def frontier_flags(trials: Sequence[Trial], config: OptimizationConfig, *, source: str) -> pd.DataFrame:
    """The one definition of feasibility and of the observed frontier, shared by
    :func:`observed_frontier`, ``adaptive pareto`` and every plot.

    One row per completed trial (any source) that observes every objective: ``trial_id``,
    ``source``, ``feasible`` (every outcome constraint holds on the observed means),
    ``beats_thresholds`` (every objective is on the good side of its threshold) and
    ``on_frontier`` (a ``source`` trial that is feasible, beats the thresholds and is not
    Pareto-dominated by another such trial, by observed means).
    """
    done = [
        t for t in trials
        if t.status == TrialStatus.COMPLETED and all(o.metric in t.observations for o in config.objectives)
    ]
    frame = pd.DataFrame({
        "trial_id": [t.id for t in done],
        "source": [t.source for t in done],
        "feasible": [config.is_feasible(t.means()) for t in done],
        "beats_thresholds": [all(o.beats_threshold(t.observations[o.metric].mean) for o in config.objectives) for t in done],
        "on_frontier": False,
    })
    eligible = (frame["source"] == source) & frame["feasible"] & frame["beats_thresholds"]
    if eligible.any():
        chosen = [t for t, ok in zip(done, eligible) if ok]
        Y = np.array([[o.sign * t.observations[o.metric].mean for o in config.objectives] for t in chosen])
        frame.loc[eligible[eligible].index[pareto_mask(Y)], "on_frontier"] = True
    return frame


def observed_frontier(
    trials: Sequence[Trial], config: OptimizationConfig, *, source: str, parameter_names: Sequence[str]
) -> pd.DataFrame:
    """Completed ``source`` trials that observe every objective, satisfy every outcome
    constraint and objective threshold, and are not Pareto-dominated (by observed means);
    see :func:`frontier_flags`."""
    flags = frontier_flags(trials, config, source=source)
    on = set(flags.loc[flags["on_frontier"], "trial_id"])
    return trials_frame([t for t in trials if t.id in on], parameter_names, config.metrics)
