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
        task: ``n x 1`` float64 source index of each row (0 for the modelled source, the
            others in ``sources`` order), or ``None`` when every row is from one source.
        sources: source names by task index; ``sources[0]`` is the source being modelled.
        categorical: the one-hot column groups of the space's unordered choices (see
            ``SearchSpace.categorical_groups``): single-source models treat them as categories.
    """

    metric: str
    X: torch.Tensor
    Y: torch.Tensor
    Yvar: torch.Tensor | None
    trial_ids: tuple[int, ...]
    task: torch.Tensor | None = None
    sources: tuple[str, ...] = ()
    categorical: tuple[tuple[int, ...], ...] = ()

    @property
    def n(self) -> int:
        return self.Y.shape[0]

    @property
    def is_multi_source(self) -> bool:
        return self.task is not None

    def rows_of(self, task: int) -> torch.Tensor:
        """Boolean mask (length ``n``) of the rows from source index ``task``."""
        if self.task is None:
            return torch.full((self.n,), task == 0, dtype=torch.bool, device=self.Y.device)
        return self.task.squeeze(-1) == task

    def only(self, task: int = 0) -> MetricData:
        """The rows of one source, as single-source data."""
        mask = self.rows_of(task)
        ids = tuple(i for i, keep in zip(self.trial_ids, mask.tolist()) if keep)
        Yvar = None if self.Yvar is None else self.Yvar[mask]
        return MetricData(
            self.metric, self.X[mask], self.Y[mask], Yvar, ids, None, self.sources[task:task + 1], self.categorical
        )


def completed(trials: Sequence[Trial], source: str) -> list[Trial]:
    return [t for t in trials if t.status == TrialStatus.COMPLETED and t.source == source]


def metric_data(
    trials: Sequence[Trial], space: SearchSpace, metric: str, *, source: str, device: torch.device,
    other_sources: bool = False,
) -> MetricData:
    """Rows for ``metric`` from completed ``source`` trials that observed it.

    With ``other_sources``, completed trials of every other source that observed the
    metric are added, tagged by ``task`` (``source`` first, then the others by name), so a
    multi-task model can learn from them.
    """
    rows = [t for t in completed(trials, source) if metric in t.observations]
    sources = [source]
    if other_sources:
        others = sorted({t.source for t in trials if t.source != source and t.status == TrialStatus.COMPLETED
                         and metric in t.observations})
        sources += others
        for other in others:
            rows += [t for t in completed(trials, other) if metric in t.observations]
    X = space.encode([t.params for t in rows]).to(device)
    Y = torch.tensor([[t.observations[metric].mean] for t in rows], dtype=torch.float64, device=device)
    sems = [t.observations[metric].sem for t in rows]
    Yvar = None
    if rows and all(s is not None for s in sems):
        Yvar = torch.tensor([[s * s] for s in sems], dtype=torch.float64, device=device)
    task = None
    if len(sources) > 1:
        index = {name: i for i, name in enumerate(sources)}
        task = torch.tensor([[float(index[t.source])] for t in rows], dtype=torch.float64, device=device)
    categorical = tuple(tuple(g) for g in space.categorical_groups())
    return MetricData(metric, X, Y, Yvar, tuple(t.id for t in rows), task, tuple(sources), categorical)


def pending_X(trials: Sequence[Trial], space: SearchSpace, *, source: str, device: torch.device) -> torch.Tensor | None:
    """``p x d`` inputs of RUNNING ``source`` trials (None when there are none)."""
    running = [t.params for t in trials if t.status == TrialStatus.RUNNING and t.source == source]
    return space.encode(running).to(device) if running else None
