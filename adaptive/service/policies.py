"""Bandit policies served over HTTP: defined in a TOML file, learning from the decision log.

``adaptive serve --policies FILE``::

    [policies.upload-quality]
    kind = "beta-bernoulli"          # beta-bernoulli | gaussian | linear
    actions = ["low", "mid", "high"]
    reward_window = "1d"             # rewards counted within this long after a decision
    refresh = "1m"                   # the posterior is rebuilt from the log at most this often
    # beta-bernoulli: alpha, beta; gaussian: prior_mean, prior_sd, sigma;
    # linear: context_dim (a context is that many numbers), prior_precision, sigma

The decision log is the only state: each refresh rebuilds the policy's posterior from the
logged decisions whose reward window has closed, joined with their rewards
(``DecisionLog.joined``), so every service
process, and a restarted one, serves the same posterior from the same log. A decision is
written to the log (one committed transaction) before it is answered.
"""

from __future__ import annotations

import math
import threading
import time
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from adaptive._checks import is_integer, is_number
from adaptive._durations import parse_duration
from adaptive.errors import ValidationError

KINDS = ("beta-bernoulli", "gaussian", "linear")
_OPTIONS = {
    "beta-bernoulli": {"alpha", "beta"},
    "gaussian": {"prior_mean", "prior_sd", "sigma"},
    "linear": {"context_dim", "prior_precision", "sigma"},
}
_COMMON = {"kind", "actions", "reward_window", "refresh"}
MAX_ACTIONS = 1000


@dataclass(frozen=True)
class PolicySpec:
    """One served policy's definition."""

    name: str
    kind: str
    actions: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)
    reward_window: timedelta = timedelta(days=1)
    refresh: timedelta = timedelta(minutes=1)

    @property
    def context_dim(self) -> int | None:
        return self.options.get("context_dim") if self.kind == "linear" else None

    def build(self) -> Any:
        """A fresh policy object with this spec's priors (random state from the OS)."""
        from adaptive.bandits import BetaBernoulliTS, GaussianTS, LinearTS

        if self.kind == "beta-bernoulli":
            return BetaBernoulliTS(**self.options)
        if self.kind == "gaussian":
            return GaussianTS(**self.options)
        return LinearTS(actions=list(self.actions), **self.options)


def load_policies(path: str | Path) -> dict[str, PolicySpec]:
    """Read ``[policies.NAME]`` tables from a TOML file.

    Raises:
        ValidationError: naming the field, for an unreadable file, an unknown kind or
            option, no actions, duplicate actions, or a bad duration or prior.
    """
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError("policies", str(path), f"cannot be read as TOML: {exc}") from None
    tables = data.get("policies")
    if not isinstance(tables, dict) or not tables:
        raise ValidationError("policies", str(path), "needs at least one [policies.NAME] table")
    unknown = sorted(set(data) - {"policies"})
    if unknown:
        raise ValidationError(unknown[0], str(path), "unknown table; policies go under [policies.NAME]")
    out = {}
    for name, table in tables.items():
        where = f"policies.{name}"
        if not isinstance(table, dict):
            raise ValidationError(where, table, "must be a table")
        kind = table.get("kind")
        if kind not in KINDS:
            raise ValidationError(f"{where}.kind", kind, f"must be one of {list(KINDS)}")
        extra = sorted(set(table) - _COMMON - _OPTIONS[kind])
        if extra:
            raise ValidationError(f"{where}.{extra[0]}", table[extra[0]], f"not an option of a {kind} policy")
        actions = table.get("actions")
        if (not isinstance(actions, list) or not actions or len(actions) > MAX_ACTIONS
                or not all(isinstance(a, str) and 0 < len(a) <= 200 for a in actions)):
            raise ValidationError(f"{where}.actions", actions, f"must be 1 to {MAX_ACTIONS} names (strings)")
        if len(set(actions)) != len(actions):
            raise ValidationError(f"{where}.actions", actions, "names must be distinct")
        options = {k: table[k] for k in _OPTIONS[kind] if k in table}
        for key, value in options.items():
            if key == "context_dim":
                if not is_integer(value) or not 1 <= value <= 1000:
                    raise ValidationError(f"{where}.context_dim", value, "must be an integer from 1 to 1000")
            elif not is_number(value) or not math.isfinite(value):
                raise ValidationError(f"{where}.{key}", value, "must be a finite number")
        if kind == "linear" and "context_dim" not in options:
            raise ValidationError(f"{where}.context_dim", None, "a linear policy needs the context's length")
        spec = PolicySpec(
            name, kind, tuple(actions), options,
            reward_window=parse_duration(f"{where}.reward_window", table.get("reward_window", "1d")),
            refresh=parse_duration(f"{where}.refresh", table.get("refresh", "1m")),
        )
        spec.build()  # priors checked by the policy itself (positive sds and the like)
        out[name] = spec
    return out


class ServedPolicy:
    """One policy in a service process: its posterior, rebuilt from the log when due."""

    def __init__(self, spec: PolicySpec) -> None:
        self.spec = spec
        self._lock = threading.Lock()
        self._policy: Any = None
        self._built_at = -math.inf
        self._shares: tuple[list[Any], list[float], str] | None = None
        self.learned_from = 0

    def check_context(self, context: Any) -> Any:
        """The context as the policy takes it (linear: ``context_dim`` finite numbers; others: any JSON object or none)."""
        dim = self.spec.context_dim
        if dim is None:
            if context is not None and not isinstance(context, dict):
                raise ValidationError("context", context, "must be an object (or absent) for this policy")
            return context
        if (not isinstance(context, list) or len(context) != dim
                or not all(is_number(v) and math.isfinite(v) for v in context)):
            raise ValidationError("context", context, f"must be a list of {dim} finite numbers")
        return [float(v) for v in context]

    def decide(self, log: Any, context: Any, decision_id: str | None) -> dict[str, Any]:
        """Choose, log (committed), then return the decision."""
        decision = self.choose(log, context)
        return self.answer(decision, log.record(self.spec.name, decision, context=context, decision_id=decision_id))

    def choose(self, log: Any, context: Any) -> Any:
        """The policy's decision for ``context``, not yet logged (the policy is rebuilt from ``log`` when due)."""
        with self._lock:  # one random generator per policy
            if time.monotonic() - self._built_at >= self.spec.refresh.total_seconds():
                self._rebuild(log)
            if self._shares is not None:
                return self._draw()
            return self._policy.select(context, list(self.spec.actions))

    def answer(self, decision: Any, decision_id: str) -> dict[str, Any]:
        """The response body for a logged decision."""
        return {
            "decision_id": decision_id, "policy": self.spec.name, "action": decision.action,
            "propensity": decision.propensity, "policy_version": decision.policy_version,
        }

    def _rebuild(self, log: Any) -> None:
        rows = log.joined(self.spec.name, window=self.spec.reward_window)
        # A decision teaches only once its reward window has closed: counting one still open
        # as a miss (no reward yet) would bias every action towards failure, most of all the
        # ones chosen lately; counting only those already rewarded would bias them up.
        closed = datetime.now(timezone.utc) - self.spec.reward_window
        rows = rows[(rows["decided_at"] <= closed) & rows["action"].isin(self.spec.actions)]
        policy = self.spec.build()
        if len(rows):
            rewards = rows["reward"].astype(float).tolist()
            if self.spec.kind == "beta-bernoulli":
                rewards = [1.0 if r > 0 else 0.0 for r in rewards]  # any positive reward in the window: a success
            contexts = [(c or {}).get("features") for c in rows["context"]] if self.spec.kind == "linear" else [None] * len(rows)
            policy.update(contexts, rows["action"].tolist(), rewards)
        policy.updates = len(rows)  # the version names how many logged decisions it learned from
        self._policy, self._built_at, self.learned_from = policy, time.monotonic(), len(rows)
        self._shares = None
        if self.spec.context_dim is None:
            # Without a context the chance each action has of being Thompson sampling's choice
            # is fixed until the next rebuild: estimate it once (select() does, from its
            # posterior draws) and draw each decision from it. That is select()'s own choice
            # (a uniformly random one of its draws' winners) without redrawing the posterior
            # per request (milliseconds each at the default tolerance).
            shares = policy.select(None, list(self.spec.actions)).propensities
            self._shares = (list(shares), [shares[a] for a in shares], policy.version)

    def _draw(self) -> Any:
        from adaptive.bandits import Decision

        assert self._shares is not None  # a context-free policy, rebuilt
        actions, weights, version = self._shares
        chosen = self._policy.rng.choice(len(actions), p=_normalized(weights))
        action = actions[int(chosen)]
        return Decision(action, weights[int(chosen)], version, dict(zip(actions, weights)))


def _normalized(weights: list[float]) -> list[float]:
    total = math.fsum(weights)
    return [w / total for w in weights]
