"""One cron round: fetch metrics for running trials, complete them, fail stale ones,
propose up to the parallelism limit, export if configured, and record the round.

Safe to start at any time, twice at once, or to kill halfway: the round holds the
experiment's round lock (see :mod:`adaptive.storage.locks`), and each step is its own
transaction that the next round can redo (it completes only trials still RUNNING and
proposes only up to the limit).
"""

from __future__ import annotations

import logging
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from adaptive import _paths as paths
from adaptive.cron.config import EXPORT_OPTIONS, NEVER, RoundPolicy, default_trial_age
from adaptive.errors import AdaptiveError
from adaptive.experiment import Experiment, load_experiment
from adaptive.sources import collect, make_source
from adaptive.storage import Database, open_database
from adaptive.storage import repository as repo
from adaptive.storage.locks import RoundBusyError, round_lock
from adaptive.trial import TrialStatus

logger = logging.getLogger(__name__)



@dataclass
class RoundResult:
    """What a round did. ``status``: DONE; DEGRADED (done, but the metric source failed or
    sent rows that were refused: ``errors`` says which); BUSY (another round held the
    lock; nothing done); SKIPPED (another process ran it since the caller's pass began;
    nothing done); or ERROR (the round stopped)."""

    experiment: str
    status: str
    round_number: int | None = None  # 1, 2, ... within the experiment
    counts: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_round(
    name: str, *, storage: str | Database | None = None, skip_if_started_after: datetime | None = None,
) -> RoundResult:
    """Run one round of experiment ``name`` with the round policy, metric source and
    export settings stored with it (from its config).

    ``skip_if_started_after``: do nothing (status SKIPPED) when, once the lock is held, the
    experiment's latest round started after this time: another host of a fleet ran it
    since this host read the schedules (see :mod:`adaptive.cron.fleet`).
    """
    database = open_database(storage)
    exp = load_experiment(name, storage=database)
    start = time.perf_counter()
    try:
        with round_lock(database, name):
            if skip_if_started_after is not None:
                last = database.run(lambda s: repo.rounds(s, repo.get_experiment(s, name), limit=1), readonly=True)
                latest = last[0]["started_at"] if last else None
                if latest is not None and latest > skip_if_started_after:
                    logger.info("experiment %r: a round started at %s, after this pass began; skipped", name, latest)
                    return RoundResult(name, "SKIPPED", seconds=time.perf_counter() - start)
            return _locked_round(exp, database, start)
    except RoundBusyError:
        logger.info("experiment %r: another round holds the lock", name)
        return RoundResult(name, "BUSY", seconds=time.perf_counter() - start)


def _locked_round(exp: Experiment, database: Database, start: float) -> RoundResult:
    stored = database.run(lambda s: repo.get_experiment(s, exp.name), readonly=True)
    policy = RoundPolicy.from_dict(stored.spec.get("rounds"))
    round_id, number = database.run(
        lambda s: repo.start_round(s, repo.get_experiment(s, exp.name), host=socket.gethostname())
    )
    result = RoundResult(exp.name, "DONE", number)
    timings: dict[str, float] = {}
    try:
        step = time.perf_counter()
        result.counts["completed"] = _complete_from_source(exp, database, stored.spec.get("metrics") or {}, result)
        timings["fetch_and_complete"] = time.perf_counter() - step
        step = time.perf_counter()
        result.counts["failed_stale"] = _fail_stale(exp, policy)
        with paths.recording() as taken:
            result.counts["proposed"], generators = _propose(exp, policy)
        # Quasi-random points after numerical trouble, and fits or posteriors that left the fast
        # paths: both show in 'adaptive rounds' and 'adaptive status' (see adaptive._paths).
        result.counts["fallbacks"] = generators.get("sobol-fallback", 0)
        if taken:
            result.counts["paths"] = dict(sorted(taken.items()))
        timings["propose"] = time.perf_counter() - step
        export = stored.spec.get("export") or {}
        if export.get("every_round"):
            step = time.perf_counter()
            if _has_target_results(exp):
                result.counts["export_version"] = _export(exp, export)
            else:
                # A new experiment has nothing to export yet; that is not a failed round.
                result.counts["export_version"] = None
                logger.info("experiment %r: no completed %r trial yet, export skipped", exp.name, exp.target_source)
            timings["export"] = time.perf_counter() - step
        if result.errors:
            result.status = "DEGRADED"
    except AdaptiveError as exc:
        result.status = "ERROR"
        result.errors.append(str(exc))
    except Exception as exc:  # noqa: BLE001 - recorded on the round, then reported by the CLI
        logger.exception("round of %r failed", exp.name)
        result.status = "ERROR"
        result.errors.append(f"{type(exc).__name__}: {exc}")
    result.seconds = time.perf_counter() - start
    counts = {**result.counts, "errors": result.errors, "seconds": {**timings, "total": result.seconds}}
    error = "; ".join(result.errors) or None
    database.run(lambda s: repo.finish_round(s, round_id, status=result.status, counts=counts, error=error))
    logger.info("experiment %r: round %d %s %s", exp.name, number, result.status, result.counts)
    return result


def _complete_from_source(exp: Experiment, database: Database, spec: dict[str, Any], result: RoundResult) -> int:
    trials = exp.trials()
    if not spec or not any(t.status == TrialStatus.RUNNING for t in trials):
        return 0
    fetched = collect(make_source(spec), exp.name, trials)
    result.errors.extend(fetched.errors)
    if fetched.ignored:
        logger.debug("experiment %r: %d rows for finished trials ignored", exp.name, fetched.ignored)
    needed = set(exp.config.metrics)
    ready = {tid: obs for tid, obs in fetched.observations.items() if needed <= set(obs)}

    def work(session: Session) -> int:
        stored = repo.get_experiment(session, exp.name)
        # a trial finished since we read it (e.g. failed by hand) is skipped rather than failing the round
        still_running = {t.id for t in repo.load_trials(session, stored, indices=list(ready)) if t.status == TrialStatus.RUNNING}
        for trial_id in still_running:
            repo.finish_trial(session, stored, trial_id, TrialStatus.COMPLETED, observations=ready[trial_id])
        return len(still_running)

    return database.run(work)


def _fail_stale(exp: Experiment, policy: RoundPolicy) -> int:
    if policy.max_trial_age == NEVER:
        return 0
    trials = exp.trials()
    if isinstance(policy.max_trial_age, timedelta):
        limit, what = policy.max_trial_age, "max_trial_age"
    else:
        took = [t.completed_at - t.created_at for t in trials if t.status == TrialStatus.COMPLETED and t.completed_at]
        limit, what = default_trial_age(took), "the default max_trial_age"
    now = datetime.now(timezone.utc)
    stale = [t for t in trials if t.status == TrialStatus.RUNNING and now - t.created_at > limit]
    for t in stale:
        exp.fail(t.id, reason=f"no metrics within {what} ({limit})")
    return len(stale)


def _propose(exp: Experiment, policy: RoundPolicy) -> tuple[dict[str, int], Counter[str]]:
    """Proposals per source, and how many of them each generator made."""
    proposed: dict[str, int] = {}
    generators: Counter[str] = Counter()
    running = exp.trials(status=TrialStatus.RUNNING)
    for source, limit in policy.max_parallel.items():
        gap = limit - sum(1 for t in running if t.source == source)
        made = exp.suggest(gap, source=source) if gap > 0 else []
        proposed[source] = len(made)
        generators.update(t.generator for t in made)
    return proposed, generators


def _has_target_results(exp: Experiment) -> bool:
    objectives = [o.metric for o in exp.config.objectives]
    return any(
        all(m in t.observations for m in objectives)
        for t in exp.trials(status=TrialStatus.COMPLETED, source=exp.target_source)
    )


def _export(exp: Experiment, spec: dict[str, Any]) -> int:
    options = {k: v for k, v in spec.items() if k in EXPORT_OPTIONS}
    if spec.get("path"):
        Path(spec["path"]).parent.mkdir(parents=True, exist_ok=True)
    dist = exp.export_distribution(**options, path=spec.get("path") or None)
    return dist.version
