"""Create or update an experiment from a config, refusing changes that would invalidate trials."""

from __future__ import annotations

import logging
from typing import Literal

from sqlalchemy.orm import Session

from adaptive.cron.config import ExperimentConfig, incompatibilities, spec_of
from adaptive.errors import DuplicateNameError, NotFoundError, ValidationError
from adaptive.experiment import Experiment, load_experiment
from adaptive.space import SearchSpace
from adaptive.spec import SPEC_VERSION
from adaptive.storage import Database, open_database
from adaptive.storage import repository as repo

logger = logging.getLogger(__name__)

Outcome = Literal["created", "unchanged", "updated"]


def apply_config(config: ExperimentConfig, *, storage: str | Database | None = None) -> tuple[Experiment, Outcome]:
    """Make the database match ``config``; one transaction.

    Returns the experiment and whether it was ``created``, ``unchanged`` (re-applying
    the same config is a no-op) or ``updated``.

    Raises:
        ValidationError: the change would invalidate existing trials (a parameter removed,
            added or retyped; bounds or values that exclude values trials used) or
            changes the target source or seed; the message lists every reason.
    """
    database = open_database(storage)
    spec = spec_of(config, SPEC_VERSION)

    def work(session: Session) -> Outcome:
        try:
            stored = repo.get_experiment(session, config.name, lock=True)
        except NotFoundError:
            repo.add_experiment(session, config.name, spec, target_source=config.target_source, seed=config.seed)
            return "created"
        if stored.spec == spec and stored.target_source == config.target_source and stored.seed == config.seed:
            return "unchanged"
        problems = []
        if stored.target_source != config.target_source:
            problems.append(f"target_source would change from {stored.target_source!r} to {config.target_source!r}")
        if stored.seed != config.seed:
            problems.append(f"seed would change from {stored.seed} (it fixes the quasi-random sequence)")
        trials = repo.load_trials(session, stored)
        old_space = SearchSpace.from_dict(stored.spec["search_space"])
        problems += incompatibilities(old_space, config.search_space, [t.params for t in trials])
        if problems:
            raise ValidationError(
                "config", config.path or config.name,
                "refused, it would invalidate existing trials: " + "; ".join(problems)
                + ". Create a new experiment (another name) for this search space.",
            )
        repo.update_spec(session, stored.id, spec)
        return "updated"

    try:
        outcome = database.run(work)
    except DuplicateNameError:
        # another process (a concurrent first round on another host) created it between our
        # read and our insert: apply again, now against its row
        outcome = database.run(work)
    logger.info("config for %r: %s", config.name, outcome)
    return load_experiment(config.name, storage=database), outcome
