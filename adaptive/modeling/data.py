"""Trials -> training tensors, one set per metric."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from adaptive.space import SearchSpace
from adaptive.trial import Trial, TrialStatus


@dataclass(frozen=True)
class MetricData:
    """Training data for one metric.

    Attributes:
        X: ``n x d`` float64 unit-cube inputs.
        Y: ``n x 1`` observed means, in the metric's units.
        Yvar: ``n x 1`` observed variances (sem squared), or ``None`` when any sem is unknown
            (the noise level is then inferred).
        trial_ids: the ``n`` trials the rows come from.
    """

    metric: str
    X: torch.Tensor
    Y: torch.Tensor
    Yvar: torch.Tensor | None
    trial_ids: tuple[int, ...]

    @property
    def n(self) -> int:
        return self.Y.shape[0]


def completed(trials: Sequence[Trial], source: str) -> list[Trial]:
    return [t for t in trials if t.status == TrialStatus.COMPLETED and t.source == source]


def metric_data(
    trials: Sequence[Trial], space: SearchSpace, metric: str, *, source: str, device: torch.device
) -> MetricData:
    """Rows for ``metric`` from completed ``source`` trials that observed it."""
    rows = [t for t in completed(trials, source) if metric in t.observations]
    X = space.encode([t.params for t in rows]).to(device)
    Y = torch.tensor([[t.observations[metric].mean] for t in rows], dtype=torch.float64, device=device)
    sems = [t.observations[metric].sem for t in rows]
    Yvar = None
    if rows and all(s is not None for s in sems):
        Yvar = torch.tensor([[s * s] for s in sems], dtype=torch.float64, device=device)  # type: ignore[operator]
    return MetricData(metric, X, Y, Yvar, tuple(t.id for t in rows))


def pending_X(trials: Sequence[Trial], space: SearchSpace, *, source: str, device: torch.device) -> torch.Tensor | None:
    """``p x d`` inputs of RUNNING ``source`` trials (None when there are none)."""
    running = [t.params for t in trials if t.status == TrialStatus.RUNNING and t.source == source]
    return space.encode(running).to(device) if running else None
