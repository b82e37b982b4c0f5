"""Persist bandit decisions and rewards in the experiment database, and join them.

Decisions and rewards live in the same SQL store as experiments, created by the
same Alembic migrations. Each call is one transaction.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.exc import IntegrityError

from adaptive._checks import at_or_now, is_number
from adaptive.bandits._base import Decision
from adaptive.errors import DuplicateNameError, NotFoundError, ValidationError
from adaptive.storage import Database, open_database
from adaptive.storage import decisions as rows_of
from adaptive.storage.decisions import LoggedDecision


def _context_json(context: Any) -> dict[str, Any]:
    if context is None:
        return {}
    if isinstance(context, Mapping):
        data = dict(context)
    else:
        try:
            data = {"features": [float(v) for v in context]}
        except TypeError:
            raise ValidationError("context", context, "must be a dict or a list of numbers") from None
    try:
        json.dumps(data, allow_nan=False)
    except ValueError:
        raise ValidationError("context", context, "must be JSON without NaN or inf") from None
    return data


class DecisionLog:
    """Decisions and rewards of bandit policies, in ``storage`` (URL or :class:`Database`)."""

    def __init__(self, storage: str | Database | None = None) -> None:
        self.database = open_database(storage)

    def record(
        self, policy: str, decision: Decision, *, context: Any = None, at: datetime | None = None,
        decision_id: str | None = None,
    ) -> str:
        """Store a decision; returns its id (a new UUID unless given)."""
        result = self._record_one(_decision_row(policy, decision, context, at, decision_id))
        if isinstance(result, Exception):
            raise result
        return result

    def record_many(
        self, entries: Sequence[tuple[str, Decision, Any, str | None]], *, at: datetime | None = None,
    ) -> list[str | Exception]:
        """Store ``(policy, decision, context, decision_id)`` entries in one transaction (a group
        commit); returns, per entry, its decision id or the error that kept it out (a
        :class:`ValidationError`, or :class:`DuplicateNameError` for an id already logged or
        repeated in ``entries``). The entries without an error are committed together.
        """
        planned: list[LoggedDecision | ValidationError] = []
        for policy, decision, context, decision_id in entries:
            try:
                planned.append(_decision_row(policy, decision, context, at, decision_id))
            except ValidationError as error:
                planned.append(error)
        rows = [p for p in planned if isinstance(p, LoggedDecision)]
        if not rows:
            return [p for p in planned if isinstance(p, Exception)]  # every entry was refused

        def work(session: Any) -> list[str | Exception]:
            logged = rows_of.logged_ids(session, (row.decision_id for row in rows))
            result: list[str | Exception] = []
            new = []
            for p in planned:
                if isinstance(p, Exception):
                    result.append(p)
                elif p.decision_id in logged:
                    result.append(_duplicate(p.decision_id))
                else:
                    logged.add(p.decision_id)
                    new.append(p)
                    result.append(p.decision_id)
            rows_of.add_decisions(session, new)
            return result

        try:
            return self.database.run(work)
        except IntegrityError:
            # Another writer logged one of these ids between the check and the insert: one
            # transaction per entry sorts out which.
            return [p if isinstance(p, Exception) else self._record_one(p) for p in planned]

    def _record_one(self, row: LoggedDecision) -> str | Exception:
        """Store one decision in its own transaction; its id, or the duplicate error."""

        def work(session: Any) -> str:
            rows_of.add_decisions(session, [row])
            return row.decision_id

        try:
            return self.database.run(work)
        except IntegrityError:
            return _duplicate(row.decision_id)

    def record_reward(self, decision_id: str, value: float, *, metric: str = "reward", at: datetime | None = None) -> None:
        """Store a reward for a logged decision."""
        _check_reward(value)

        def work(session: Any) -> None:
            if not rows_of.logged_ids(session, [decision_id]):
                raise NotFoundError("decision_id", decision_id, "no such decision is logged")
            rows_of.add_rewards(session, [(decision_id, metric, float(value), at_or_now(at))])

        self.database.run(work)

    def record_rewards(
        self, rows: Sequence[tuple[str, float, datetime | None]], *, metric: str = "reward", skip_unknown: bool = False,
    ) -> int:
        """Store many ``(decision_id, value, at)`` rewards in one transaction; returns rows written.

        Decisions that are not logged raise :class:`NotFoundError` (nothing is written), or are
        skipped with ``skip_unknown``.
        """
        for _, value, _ in rows:
            _check_reward(value)
        wanted = {decision_id for decision_id, _, _ in rows}

        def work(session: Any) -> int:
            known = rows_of.logged_ids(session, wanted)
            missing = wanted - known
            if missing and not skip_unknown:
                raise NotFoundError("decision_id", sorted(missing)[0], f"{len(missing)} decision(s) are not logged")
            keep = [r for r in rows if r[0] in known]
            rows_of.add_rewards(session, ((d, metric, float(v), at_or_now(at)) for d, v, at in keep))
            return len(keep)

        return self.database.run(work) if rows else 0

    def joined(
        self, policy: str | None = None, *, window: timedelta = timedelta(days=1), metric: str = "reward",
        missing: str = "zero",
    ) -> pd.DataFrame:
        """One row per decision with ``reward``: the sum of its ``metric`` rewards observed within
        ``window`` after the decision. ``missing="zero"`` gives decisions without one a reward of 0
        (e.g. no click); ``"drop"`` leaves them out. Columns: decision_id, policy, policy_version,
        action, propensity, context, decided_at, reward, n_rewards."""
        if missing not in ("zero", "drop"):
            raise ValidationError("missing", missing, "expected 'zero' or 'drop'")
        if window <= timedelta(0):
            raise ValidationError("window", window, "must be positive")

        decisions, rewards = self.database.run(
            lambda session: rows_of.decisions_and_rewards(session, policy, metric), readonly=True
        )
        decided = {d.decision_id: at_or_now(d.decided_at) for d in decisions}
        totals: dict[str, float] = {}
        counts: dict[str, int] = {}
        for decision_id, value, observed_at in rewards:
            start = decided[decision_id]
            if start <= at_or_now(observed_at) <= start + window:
                totals[decision_id] = totals.get(decision_id, 0.0) + value
                counts[decision_id] = counts.get(decision_id, 0) + 1
        rows = [
            {
                "decision_id": d.decision_id, "policy": d.policy, "policy_version": d.policy_version,
                "action": d.action, "propensity": d.propensity, "context": d.context, "decided_at": decided[d.decision_id],
                "reward": totals.get(d.decision_id, 0.0), "n_rewards": counts.get(d.decision_id, 0),
            }
            for d in decisions
            if missing == "zero" or d.decision_id in totals
        ]
        columns = ["decision_id", "policy", "policy_version", "action", "propensity", "context", "decided_at", "reward", "n_rewards"]
        return pd.DataFrame(rows, columns=columns)


def _decision_row(policy: str, decision: Decision, context: Any, at: datetime | None, decision_id: str | None) -> LoggedDecision:
    if not isinstance(policy, str) or not policy:
        raise ValidationError("policy", policy, "must be a non-empty name")
    if not (0 < decision.propensity <= 1):
        raise ValidationError("propensity", decision.propensity, "must be in (0, 1]")
    return LoggedDecision(
        decision_id=decision_id or uuid.uuid4().hex, policy=policy, policy_version=decision.policy_version,
        context=_context_json(context), action=str(decision.action), propensity=float(decision.propensity),
        decided_at=at_or_now(at),
    )


def _duplicate(decision_id: str) -> DuplicateNameError:
    return DuplicateNameError("decision_id", decision_id, "a decision with this id is already logged")


def _check_reward(value: object) -> None:
    if not is_number(value) or not math.isfinite(value):
        raise ValidationError("value", value, "rewards must be finite numbers")
