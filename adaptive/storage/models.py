"""SQLAlchemy 2 table models. The schema itself is created only by the Alembic
revisions in ``migrations/``; a test checks that these models and the migrated
schema agree on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Double, ForeignKey, Index, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import DateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
VERSION_TABLE = "adaptive_alembic_version"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class ExperimentRow(Base):
    __tablename__ = "experiments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    spec: Mapped[dict[str, Any]]
    target_source: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int]
    # Incremented under the experiment's lock; the unique (experiment_id, index) constraint backs it.
    trial_count: Mapped[int]
    sobol_position: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TrialRow(Base):
    __tablename__ = "trials"
    __table_args__ = (
        UniqueConstraint("experiment_id", "index"),
        Index("ix_trials_experiment_id_status", "experiment_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    index: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]]
    generator: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    failure_reason: Mapped[str | None] = mapped_column(Text)


class ObservationRow(Base):
    __tablename__ = "observations"
    __table_args__ = (UniqueConstraint("trial_id", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(200))
    mean: Mapped[float] = mapped_column(Double)
    sem: Mapped[float | None] = mapped_column(Double)
    created_at: Mapped[datetime]


class RoundRow(Base):
    """One cron round: what it fetched, completed, failed and proposed, and any error."""

    __tablename__ = "rounds"
    __table_args__ = (
        Index("ix_rounds_experiment_id_started_at", "experiment_id", "started_at"),
        UniqueConstraint("experiment_id", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    number: Mapped[int]  # 1, 2, ... within the experiment; the id is shared by all experiments
    status: Mapped[str] = mapped_column(String(16))
    host: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    counts: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)


class ExportRow(Base):
    """An immutable, versioned export of the winning-parameter distribution."""

    __tablename__ = "exports"
    __table_args__ = (UniqueConstraint("experiment_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    version: Mapped[int]
    created_at: Mapped[datetime]
    document: Mapped[dict[str, Any]]


class ModelStateRow(Base):
    """Fitted hyperparameters of a model, kept so that the next suggest, in any process, starts
    from them (``key`` ``warm:<model>``) or reuses the fit of unchanged data (``fit:<fingerprint>``)."""

    __tablename__ = "model_states"
    __table_args__ = (UniqueConstraint("experiment_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    rows: Mapped[int]
    state: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class DecisionRow(Base):
    """One bandit decision: the action taken, its propensity, and the posterior that chose it."""

    __tablename__ = "bandit_decisions"
    __table_args__ = (Index("ix_bandit_decisions_policy_decided_at", "policy", "decided_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[str] = mapped_column(String(64), unique=True)
    policy: Mapped[str] = mapped_column(String(200))
    policy_version: Mapped[str] = mapped_column(String(200))
    context: Mapped[dict[str, Any]]
    action: Mapped[str] = mapped_column(String(200))
    propensity: Mapped[float] = mapped_column(Double)
    decided_at: Mapped[datetime]


class RewardRow(Base):
    """A reward observed for a decision (several may arrive; the join sums those in the window)."""

    __tablename__ = "bandit_rewards"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[str] = mapped_column(
        ForeignKey("bandit_decisions.decision_id", ondelete="CASCADE"), index=True
    )
    metric: Mapped[str] = mapped_column(String(200))
    value: Mapped[float] = mapped_column(Double)
    observed_at: Mapped[datetime]
