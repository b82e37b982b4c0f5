"""Per-decision rewards from the logs -> the bandits' decision log and off-policy evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from adaptive.errors import ValidationError
from adaptive.events.compute import EventMetrics, reward_deltas

if TYPE_CHECKING:
    from adaptive.bandits.log import DecisionLog
    from adaptive.bandits.ope import LoggedData


def record_rewards(log: DecisionLog, previous: EventMetrics | None, current: EventMetrics, metric: str) -> int:
    """Add to ``log`` each decision's reward growth since ``previous``; returns rows written.

    Call it after every computation with the one before: the log's summed ``metric``
    rewards then equal the latest computation's, late events are added once, and
    decisions the log does not know (another policy's) are skipped. Rewards are stamped
    with the decision's own time: the attribution window was applied already.
    """
    deltas = reward_deltas(previous, current, metric)
    decided = current.rewards.set_index("decision_id")["decided_at"]
    rows = [
        (decision_id, float(delta), decided[decision_id].to_pydatetime())
        for decision_id, delta in zip(deltas["decision_id"], deltas["delta"])
    ]
    return log.record_rewards(rows, metric=metric, skip_unknown=True)


def logged_data(result: EventMetrics, metric: str, actions: Sequence[str], *, experiment: str | None = None) -> LoggedData:
    """The decisions of ``result`` (of one ``experiment`` when given) as OPE input: action
    index in ``actions``, ``metric``'s intent-to-treat reward, and the logged propensity."""
    from adaptive.bandits.ope import LoggedData

    frame = result.rewards if experiment is None else result.rewards[result.rewards["experiment"] == experiment]
    if metric not in result.event_metrics:
        raise ValidationError("metric", metric, f"is not an event metric of this computation ({result.event_metrics})")
    index = {str(a): i for i, a in enumerate(actions)}
    unknown = sorted(set(frame["arm"]) - set(index))
    if unknown:
        raise ValidationError("actions", unknown[:3], f"arms in the logs missing from actions {list(actions)}")
    return LoggedData.build(
        np.array([index[a] for a in frame["arm"]], dtype=int), frame[metric].to_numpy(float),
        frame["propensity"].to_numpy(float), n_actions=len(actions),
    )

