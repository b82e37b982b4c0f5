"""The decision log's rows: bandit decisions and their rewards, read and written in a caller's transaction.

The SQL side of :class:`adaptive.bandits.DecisionLog`, which validates and opens the transactions;
nothing outside ``storage/`` touches these ORM rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.storage.models import DecisionRow, RewardRow

IN_LIST = 500  # ids per IN (...) list: every backend takes this many


@dataclass(frozen=True)
class LoggedDecision:
    """A decision as the log holds it."""

    decision_id: str
    policy: str
    policy_version: str
    context: dict[str, Any]
    action: str
    propensity: float
    decided_at: datetime


def add_decisions(session: Session, decisions: Sequence[LoggedDecision]) -> None:
    """Insert ``decisions`` (flushed: an id already logged raises ``IntegrityError``)."""
    session.add_all(
        DecisionRow(decision_id=d.decision_id, policy=d.policy, policy_version=d.policy_version, context=d.context,
                    action=d.action, propensity=d.propensity, decided_at=d.decided_at)
        for d in decisions
    )
    session.flush()


def logged_ids(session: Session, decision_ids: Iterable[str]) -> set[str]:
    """Those of ``decision_ids`` that are logged."""
    ids = sorted(set(decision_ids))
    found: set[str] = set()
    for start in range(0, len(ids), IN_LIST):
        found.update(session.scalars(select(DecisionRow.decision_id).where(DecisionRow.decision_id.in_(ids[start:start + IN_LIST]))))
    return found


def add_rewards(session: Session, rewards: Iterable[tuple[str, str, float, datetime]]) -> None:
    """Insert ``(decision_id, metric, value, observed_at)`` rewards of logged decisions."""
    session.add_all(RewardRow(decision_id=d, metric=m, value=v, observed_at=at) for d, m, v, at in rewards)


def decisions_and_rewards(
    session: Session, policy: str | None, metric: str,
) -> tuple[list[LoggedDecision], list[tuple[str, float, datetime]]]:
    """Every decision (of ``policy``, or all), oldest first, and every ``metric`` reward of them."""
    q = select(DecisionRow)
    if policy is not None:
        q = q.where(DecisionRow.policy == policy)
    decisions = [
        LoggedDecision(d.decision_id, d.policy, d.policy_version, d.context, d.action, d.propensity, d.decided_at)
        for d in session.scalars(q.order_by(DecisionRow.decided_at, DecisionRow.id))
    ]
    r = select(RewardRow.decision_id, RewardRow.value, RewardRow.observed_at).join(
        DecisionRow, DecisionRow.decision_id == RewardRow.decision_id
    ).where(RewardRow.metric == metric)
    if policy is not None:
        r = r.where(DecisionRow.policy == policy)
    return decisions, [(d, v, at) for d, v, at in session.execute(r)]
