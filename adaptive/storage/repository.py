"""Reads and writes inside an open session. Functions take a ``Session`` that the
caller opened (one transaction per API call) and return plain domain objects,
never ORM rows."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adaptive._checks import as_utc, utcnow
from adaptive.errors import DuplicateNameError, NotFoundError, TrialStateError
from adaptive.storage.models import ExperimentRow, ExportRow, ModelStateRow, ObservationRow, RoundRow, TrialRow
from adaptive.trial import Observation, Trial, TrialStatus


@dataclass(frozen=True)
class StoredExperiment:
    id: int
    name: str
    spec: dict[str, Any]
    target_source: str
    seed: int
    trial_count: int
    sobol_position: int
    created_at: datetime


def _experiment(row: ExperimentRow) -> StoredExperiment:
    return StoredExperiment(
        id=row.id, name=row.name, spec=row.spec, target_source=row.target_source, seed=row.seed,
        trial_count=row.trial_count, sobol_position=row.sobol_position, created_at=as_utc(row.created_at),  # type: ignore[arg-type]
    )


def add_experiment(session: Session, name: str, spec: dict[str, Any], *, target_source: str, seed: int) -> StoredExperiment:
    if session.scalar(select(ExperimentRow.id).where(ExperimentRow.name == name)) is not None:
        raise DuplicateNameError("name", name, "an experiment with this name exists; use load_experiment()")
    now = utcnow()
    row = ExperimentRow(
        name=name, spec=spec, target_source=target_source, seed=seed,
        trial_count=0, sobol_position=0, created_at=now, updated_at=now,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise DuplicateNameError("name", name, "an experiment with this name exists; use load_experiment()") from None
    return _experiment(row)


def get_experiment(session: Session, name: str, *, lock: bool = False) -> StoredExperiment:
    """Load an experiment; ``lock=True`` holds its row until the transaction ends (the per-experiment lock)."""
    query = select(ExperimentRow).where(ExperimentRow.name == name)
    if lock:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise NotFoundError("name", name, "no such experiment; list_experiments() shows the names")
    return _experiment(row)


def delete_experiment(session: Session, name: str) -> dict[str, int]:
    """Delete the experiment and everything stored with it (the foreign keys cascade);
    returns how many trials, rounds and exports went with it."""
    stored = get_experiment(session, name, lock=True)
    counted: dict[str, Any] = {"trials": TrialRow, "rounds": RoundRow, "exports": ExportRow}
    counts = {
        key: session.scalar(select(func.count()).select_from(table).where(table.experiment_id == stored.id)) or 0
        for key, table in counted.items()
    }
    session.execute(delete(ExperimentRow).where(ExperimentRow.id == stored.id))
    return counts


def experiment_names(session: Session) -> list[str]:
    return list(session.scalars(select(ExperimentRow.name).order_by(ExperimentRow.name)))


def set_sobol_position(session: Session, experiment_id: int, position: int) -> None:
    session.execute(
        update(ExperimentRow).where(ExperimentRow.id == experiment_id).values(sobol_position=position, updated_at=utcnow())
    )


def add_trials(
    session: Session,
    experiment: StoredExperiment,
    params_list: Sequence[dict[str, Any]],
    *,
    source: str,
    generators: Sequence[str],
    status: TrialStatus = TrialStatus.RUNNING,
    observations: dict[str, Observation] | None = None,
) -> list[Trial]:
    """Append trials with dense indices. The experiment row must be locked by this transaction."""
    count = session.scalar(
        select(ExperimentRow.trial_count).where(ExperimentRow.id == experiment.id).with_for_update()
    )
    assert count is not None
    now = utcnow()
    rows = [
        TrialRow(
            experiment_id=experiment.id, index=count + i, status=status.value, source=source, params=dict(p),
            generator=generator, created_at=now, completed_at=now if status != TrialStatus.RUNNING else None,
        )
        for i, (p, generator) in enumerate(zip(params_list, generators, strict=True))
    ]
    session.add_all(rows)
    session.execute(
        update(ExperimentRow)
        .where(ExperimentRow.id == experiment.id)
        .values(trial_count=count + len(rows), updated_at=now)
    )
    session.flush()
    if observations:
        for row in rows:
            _add_observations(session, row.id, observations, now)
    return [_trial(experiment.name, row, observations or {}) for row in rows]


def _add_observations(session: Session, trial_row_id: int, observations: dict[str, Observation], now: datetime) -> None:
    session.add_all(
        ObservationRow(trial_id=trial_row_id, metric=m, mean=o.mean, sem=o.sem, created_at=now)
        for m, o in observations.items()
    )


def _trial(experiment: str, row: TrialRow, observations: dict[str, Observation]) -> Trial:
    return Trial(
        id=row.index, experiment=experiment, status=TrialStatus(row.status), source=row.source,
        params=dict(row.params), generator=row.generator, created_at=as_utc(row.created_at),  # type: ignore[arg-type]
        completed_at=as_utc(row.completed_at), failure_reason=row.failure_reason, observations=dict(observations),
    )


def trial_index(index: Any, experiment: str) -> int:
    """``index`` as a plain int: numpy integers (as ``trials_frame()`` returns ids) are ids too; bools are not."""
    if not isinstance(index, bool):
        try:
            return operator.index(index)
        except TypeError:
            pass
    raise NotFoundError("trial_id", index, f"trial ids are integers; experiment {experiment!r}")


def _locked_trial_row(session: Session, experiment: StoredExperiment, index: Any) -> TrialRow:
    index = trial_index(index, experiment.name)
    row = session.scalar(
        select(TrialRow).where(TrialRow.experiment_id == experiment.id, TrialRow.index == index).with_for_update()
    )
    if row is None:
        raise NotFoundError(
            "trial_id", index, f"experiment {experiment.name!r} has trials 0..{experiment.trial_count - 1}"
        )
    return row


def finish_trial(
    session: Session,
    experiment: StoredExperiment,
    index: int,
    status: TrialStatus,
    *,
    observations: dict[str, Observation] | None = None,
    reason: str | None = None,
) -> Trial:
    """Move a RUNNING trial to ``status`` (with observations when COMPLETED)."""
    row = _locked_trial_row(session, experiment, index)
    if row.status != TrialStatus.RUNNING.value:
        raise TrialStateError(
            "trial_id", index, f"is already {row.status}; only RUNNING trials can be {status.value.lower()}",
            experiment=experiment.name, status=row.status,
        )
    now = utcnow()
    row.status = status.value
    row.completed_at = now
    row.failure_reason = reason
    if observations:
        _add_observations(session, row.id, observations, now)
    session.flush()
    return _trial(experiment.name, row, observations or {})


def load_trials(
    session: Session, experiment: StoredExperiment, *, indices: Iterable[int] | None = None
) -> list[Trial]:
    """All trials of an experiment (or those with ``indices``), ordered by index, with observations."""
    query = select(TrialRow).where(TrialRow.experiment_id == experiment.id).order_by(TrialRow.index)
    if indices is not None:
        query = query.where(TrialRow.index.in_(list(indices)))
    rows = list(session.scalars(query))
    by_row: dict[int, dict[str, Observation]] = {row.id: {} for row in rows}
    if rows:
        obs_query = (
            select(ObservationRow)
            .join(TrialRow, ObservationRow.trial_id == TrialRow.id)
            .where(TrialRow.experiment_id == experiment.id)
            .order_by(ObservationRow.id)
        )
        for obs in session.scalars(obs_query):
            if obs.trial_id in by_row:
                by_row[obs.trial_id][obs.metric] = Observation(obs.mean, obs.sem)
    return [_trial(experiment.name, row, by_row[row.id]) for row in rows]


def add_export(session: Session, experiment: StoredExperiment, document: dict[str, Any]) -> dict[str, Any]:
    """Store ``document`` as the next version (1, 2, ...); the experiment row must be locked."""
    latest = session.scalar(select(func.max(ExportRow.version)).where(ExportRow.experiment_id == experiment.id))
    version = (latest or 0) + 1
    document = {**document, "version": version}
    session.add(ExportRow(experiment_id=experiment.id, version=version, created_at=utcnow(), document=document))
    session.flush()
    return document


def get_export(session: Session, experiment: StoredExperiment, version: int | None = None) -> dict[str, Any]:
    """One stored export (the newest when ``version`` is None)."""
    query = select(ExportRow.document).where(ExportRow.experiment_id == experiment.id)
    if version is None:
        query = query.order_by(ExportRow.version.desc()).limit(1)
    else:
        query = query.where(ExportRow.version == version)
    document = session.scalar(query)
    if document is None:
        raise NotFoundError(
            "version", version, f"experiment {experiment.name!r} has no such export; export_distribution() makes one"
        )
    return document


def latest_export_version(session: Session, experiment: StoredExperiment) -> int | None:
    """The newest export's version number (None before the first export): one indexed query."""
    return session.scalar(select(func.max(ExportRow.version)).where(ExportRow.experiment_id == experiment.id))


def export_versions(session: Session, experiment: StoredExperiment) -> list[int]:
    return list(
        session.scalars(select(ExportRow.version).where(ExportRow.experiment_id == experiment.id).order_by(ExportRow.version))
    )


def update_spec(session: Session, experiment_id: int, spec: dict[str, Any]) -> None:
    session.execute(update(ExperimentRow).where(ExperimentRow.id == experiment_id).values(spec=spec, updated_at=utcnow()))


def start_round(session: Session, experiment: StoredExperiment, *, host: str) -> tuple[int, int]:
    """Record a RUNNING round; returns its (row id, number within the experiment). Rounds still
    RUNNING are marked ABORTED: the caller holds the experiment's round lock, so their processes
    are gone (the lock also keeps the next number free; the unique constraint makes sure)."""
    session.execute(
        update(RoundRow)
        .where(RoundRow.experiment_id == experiment.id, RoundRow.status == "RUNNING")
        .values(status="ABORTED", finished_at=utcnow(), error="the process ended before the round finished")
    )
    last = session.scalar(select(func.max(RoundRow.number)).where(RoundRow.experiment_id == experiment.id))
    row = RoundRow(experiment_id=experiment.id, number=(last or 0) + 1, status="RUNNING", host=host,
                   started_at=utcnow(), counts={})
    session.add(row)
    session.flush()
    return row.id, row.number


def last_round_starts(session: Session) -> dict[str, datetime]:
    """Experiment name -> when its latest round started (experiments without rounds are absent)."""
    rows = session.execute(
        select(ExperimentRow.name, func.max(RoundRow.started_at))
        .join(RoundRow, RoundRow.experiment_id == ExperimentRow.id)
        .group_by(ExperimentRow.name)
    )
    return {name: started for name, started in ((n, as_utc(s)) for n, s in rows) if started is not None}


def finish_round(session: Session, round_id: int, *, status: str, counts: dict[str, Any], error: str | None) -> None:
    session.execute(
        update(RoundRow).where(RoundRow.id == round_id).values(status=status, counts=counts, error=error, finished_at=utcnow())
    )


def rounds(session: Session, experiment: StoredExperiment, *, limit: int = 20) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(RoundRow).where(RoundRow.experiment_id == experiment.id).order_by(RoundRow.id.desc()).limit(limit)
    )
    return [
        {"number": r.number, "status": r.status, "host": r.host, "started_at": as_utc(r.started_at),
         "finished_at": as_utc(r.finished_at), "counts": r.counts, "error": r.error}
        for r in rows
    ]


def model_states(session: Session, experiment_id: int) -> dict[str, tuple[int, dict[str, Any]]]:
    """The experiment's stored model states: key -> (rows, state)."""
    rows = session.scalars(
        select(ModelStateRow).where(ModelStateRow.experiment_id == experiment_id).order_by(ModelStateRow.updated_at, ModelStateRow.id)
    )
    return {row.key: (row.rows, row.state) for row in rows}


def save_model_states(
    session: Session, experiment_id: int, states: dict[str, tuple[int, dict[str, Any]]], *, keep: set[str] | None = None,
) -> None:
    """Insert or replace ``states`` (key -> (rows, state)); with ``keep``, delete every other stored key."""
    now = utcnow()
    existing = {row.key: row for row in session.scalars(
        select(ModelStateRow).where(ModelStateRow.experiment_id == experiment_id)
    )}
    for key, (rows, state) in states.items():
        row = existing.get(key)
        if row is None:
            session.add(ModelStateRow(experiment_id=experiment_id, key=key, rows=rows, state=state, updated_at=now))
        else:
            row.rows, row.state, row.updated_at = rows, state, now
    if keep is not None:
        stale = [key for key in existing if key not in keep and key not in states]
        if stale:
            session.execute(delete(ModelStateRow).where(
                ModelStateRow.experiment_id == experiment_id, ModelStateRow.key.in_(stale)
            ))
    session.flush()
