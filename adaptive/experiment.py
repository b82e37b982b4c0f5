"""The ask/tell API: ``Experiment`` and the functions that create and load one."""

from __future__ import annotations

import difflib
import functools
import logging
import os
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from sqlalchemy.orm import Session

from adaptive import serving
from adaptive._checks import is_integer, is_number
from adaptive._expressions import check_experiment_name
from adaptive.errors import DuplicateNameError, NoAdaptiveDatabaseError, NotFoundError, ValidationError
from adaptive.generation.settings import GenerationSettings
from adaptive.objectives import Objective, OptimizationConfig, OutcomeConstraint
from adaptive.serving import ServingDistribution
from adaptive.space import Parameter, SearchSpace
from adaptive.spec import SPEC_VERSION, check_export_options, read_spec
from adaptive.storage import Database, open_database
from adaptive.storage import repository as repo
from adaptive.trial import TARGET_SOURCE, Trial, TrialStatus, check_source, parse_observations

if TYPE_CHECKING:
    # The modelling stack (torch, BoTorch, pandas) is imported by the methods that model:
    # a cron round with nothing to propose, and every read of trials, start without it.
    import pandas as pd
    import torch

    from adaptive.analysis.predictions import ModelBest

logger = logging.getLogger(__name__)

MAX_BATCH = 10_000
# Proposals made outside the lock and found stale before one is made under it (see suggest).
OPTIMISTIC_ATTEMPTS = 3


def _check_output_path(path: object) -> None:
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise ValidationError("path", path, "expected a file path")
    target = Path(path)
    if target.is_dir():
        raise ValidationError("path", str(path), "is a directory; give a file name")
    if not target.parent.is_dir():
        raise ValidationError("path", str(path), f"folder {str(target.parent)!r} does not exist")


def _stage_export(document: Mapping[str, Any], path: str | Path) -> Path:
    try:
        return serving.stage_file(path, serving.to_json(document) + "\n")
    except OSError as exc:
        raise ValidationError("path", str(path), f"cannot be written ({exc.strerror or exc})") from None


class Experiment:
    """One optimization problem and its trials, backed by a database.

    Obtain one with :func:`create_experiment` or :func:`load_experiment`.
    Every method that changes state is one SQL transaction.
    """

    def __init__(
        self, name: str, *, search_space: SearchSpace, config: OptimizationConfig, target_source: str,
        seed: int, database: Database, generation: GenerationSettings | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.name = name
        self.search_space = search_space
        self.config = config
        self.target_source = target_source
        self.seed = seed
        self.database = database
        self.generation = generation or GenerationSettings()
        self._device: torch.device | None = None
        self._device_spec = device
        if device is not None:  # a device asked for by name is checked at once
            _ = self.device

    @property
    def device(self) -> torch.device:
        """The torch device models run on (resolved from ``$ADAPTIVE_DEVICE`` on first use when not given)."""
        if self._device is None:
            from adaptive.modeling.device import resolve_device

            self._device = resolve_device(self._device_spec)
        return self._device

    def _device_for(self, trials: Sequence[Trial]) -> torch.device:
        """:attr:`device`, or the CPU where the device is ``auto`` and the data too small for
        CUDA to pay (see :func:`adaptive.modeling.device.device_for_data`)."""
        from adaptive.modeling.device import device_for_data, is_automatic

        observations = sum(1 for t in trials if t.source == self.target_source and t.status == TrialStatus.COMPLETED)
        return device_for_data(self.device, automatic=is_automatic(self._device_spec), observations=observations)

    def __repr__(self) -> str:
        return f"Experiment({self.name!r}, storage={self.database.masked_url!r})"

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return self.config.objectives

    @property
    def outcome_constraints(self) -> tuple[OutcomeConstraint, ...]:
        return self.config.outcome_constraints

    # -- asking -----------------------------------------------------------------------------
    def suggest(self, n: int = 1, *, source: str = TARGET_SOURCE) -> list[Trial]:
        """Propose ``n`` new trials for ``source`` and persist them as RUNNING."""
        if not is_integer(n) or not 1 <= n <= MAX_BATCH:
            raise ValidationError("n", n, f"must be an integer from 1 to {MAX_BATCH}")
        check_source(source)

        from adaptive.generation import propose
        from adaptive.modeling import WarmStarts

        def snapshot(session: Session) -> tuple[Any, dict, list[Trial]]:
            stored = repo.get_experiment(session, self.name)
            return stored, repo.model_states(session, stored.id), repo.load_trials(session, stored)

        def proposal_for(stored: Any, states: dict, trials: list[Trial]) -> tuple[Any, Any]:
            # Model fits start from the stored ones (see WarmStarts), whichever process stored them.
            warm = WarmStarts(states)
            return warm, propose(
                self.search_space, self.config, trials, n, source=source,
                target=self.target_source, seed=stored.seed, sobol_position=stored.sobol_position, settings=self.generation,
                device=self._device_for(trials), warm=warm,
            )

        def save(session: Session, stored: Any, warm: Any, proposal: Any) -> list[Trial]:
            repo.save_model_states(session, stored.id, warm.records(), keep=warm.keys())
            if proposal.sobol_position != stored.sobol_position:
                repo.set_sobol_position(session, stored.id, proposal.sobol_position)
            logger.info(
                "experiment %r: %d proposal(s) for %s (%s) in %.2fs%s",
                self.name, n, source, ", ".join(sorted(set(proposal.generators))), proposal.seconds,
                "; paths " + ", ".join(f"{k}={v}" for k, v in sorted(proposal.paths.items())) if proposal.paths else "",
            )
            return repo.add_trials(session, stored, proposal.params, source=source, generators=proposal.generators)

        # Propose outside any write transaction (a SQLite write transaction locks the whole
        # file, so a fleet's rounds of other experiments would queue behind this one's model
        # fits), then write only if nothing the proposal read has changed meanwhile: the
        # experiment's row is locked, and its trials (every status and observation) and Sobol
        # position are compared with the snapshot. Otherwise another call added or finished
        # trials: propose again, now seeing them (so concurrent calls never propose the same
        # point), and after OPTIMISTIC_ATTEMPTS such races, under the lock throughout.
        def write_if_unchanged(
            session: Session, stored: Any, trials: list[Trial], warm: Any, proposal: Any,
        ) -> list[Trial] | None:
            current = repo.get_experiment(session, self.name, lock=True)
            if current.sobol_position != stored.sobol_position or repo.load_trials(session, current) != trials:
                return None
            return save(session, current, warm, proposal)

        for _ in range(OPTIMISTIC_ATTEMPTS):
            stored, states, trials = self.database.run(snapshot, readonly=True)
            warm, proposal = proposal_for(stored, states, trials)
            written = self.database.run(functools.partial(write_if_unchanged, stored=stored, trials=trials, warm=warm,
                                                          proposal=proposal))
            if written is not None:
                return written
            logger.info("experiment %r: trials changed while proposing; proposing again", self.name)

        def under_lock(session: Session) -> list[Trial]:
            stored = repo.get_experiment(session, self.name, lock=True)
            warm, proposal = proposal_for(stored, repo.model_states(session, stored.id), repo.load_trials(session, stored))
            return save(session, stored, warm, proposal)

        return self.database.run(under_lock)

    # -- telling ----------------------------------------------------------------------------
    def complete(self, trial_id: int, metrics: Mapping[str, Any]) -> Trial:
        """Record ``metrics`` (``{name: mean | (mean, sem)}``, in each metric's units) and mark the trial COMPLETED.

        Every objective's metric must be among them (other metrics are kept for review);
        a trial that produced no usable result is :meth:`fail`-ed instead.

        Raises:
            ValidationError: a metric is missing (field ``metrics``), malformed or a parameter name.
        """
        observations = parse_observations(metrics)
        self._check_metric_names(observations)
        return self.database.run(
            lambda s: repo.finish_trial(
                s, repo.get_experiment(s, self.name), trial_id, TrialStatus.COMPLETED, observations=observations
            )
        )

    def fail(self, trial_id: int, reason: str | None = None) -> Trial:
        """Mark a RUNNING trial FAILED (it produced no usable data), with an optional reason."""
        return self._finish(trial_id, TrialStatus.FAILED, reason)

    def abandon(self, trial_id: int, reason: str | None = None) -> Trial:
        """Mark a RUNNING trial ABANDONED (never deployed; no longer pending)."""
        return self._finish(trial_id, TrialStatus.ABANDONED, reason)

    def _finish(self, trial_id: int, status: TrialStatus, reason: str | None) -> Trial:
        if reason is not None and not isinstance(reason, str):
            raise ValidationError("reason", reason, "must be a string")
        return self.database.run(
            lambda s: repo.finish_trial(s, repo.get_experiment(s, self.name), trial_id, status, reason=reason)
        )

    def attach(self, params: Mapping[str, Any], metrics: Mapping[str, Any], *, source: str = TARGET_SOURCE) -> Trial:
        """Add an already evaluated configuration (e.g. a simulator run) as a COMPLETED trial."""
        check_source(source)
        valid = self.search_space.validate(params)
        observations = parse_observations(metrics)
        self._check_metric_names(observations)

        def work(session: Session) -> Trial:
            stored = repo.get_experiment(session, self.name, lock=True)
            (trial,) = repo.add_trials(
                session, stored, [valid], source=source, generators=["manual"],
                status=TrialStatus.COMPLETED, observations=observations,
            )
            return trial

        return self.database.run(work)

    def _check_metric_names(self, observations: Mapping[str, Any]) -> None:
        for metric in observations:
            if metric in self.search_space.parameters:
                raise ValidationError(f"metrics.{metric}", observations[metric], "is a parameter name, not a metric")
        missing = [o.metric for o in self.config.objectives if o.metric not in observations]
        if missing:
            # a trial COMPLETED without its objective would be ignored by every model forever
            hints = []
            for name in missing:
                close = difflib.get_close_matches(name, [m for m in observations if m not in self.config.metrics], n=1)
                hints += [f"{close[0]!r} for {name!r}?"] if close else []
            hint = f" (a typo: {', '.join(hints)})" if hints else ""
            raise ValidationError(
                "metrics", sorted(observations), f"missing objective metric(s) {missing}{hint}; "
                "a trial without a result is failed with exp.fail(trial_id, reason)",
            )

    # -- reading ----------------------------------------------------------------------------
    def trials(self, *, status: TrialStatus | str | None = None, source: str | None = None) -> list[Trial]:
        """All trials, ordered by id, optionally filtered by status and source."""
        wanted = None
        if status is not None:
            try:  # a status name in any case: "completed", "COMPLETED", TrialStatus.COMPLETED
                wanted = TrialStatus(status.upper() if isinstance(status, str) else status)
            except ValueError:
                raise ValidationError("status", status, f"expected one of {[s.value for s in TrialStatus]}") from None
        if source is not None:
            check_source(source)
        trials = self.database.run(lambda s: repo.load_trials(s, repo.get_experiment(s, self.name)), readonly=True)
        return [t for t in trials if (wanted is None or t.status == wanted) and (source is None or t.source == source)]

    def trial(self, trial_id: int) -> Trial:
        def work(session: Session) -> list[Trial]:
            stored = repo.get_experiment(session, self.name)
            found = repo.load_trials(session, stored, indices=[repo.trial_index(trial_id, self.name)])
            if not found:
                raise NotFoundError("trial_id", trial_id, f"experiment {self.name!r} has no such trial")
            return found

        return self.database.run(work, readonly=True)[0]

    def trials_frame(self) -> pd.DataFrame:
        """One row per trial: id, status, source, generator, times, parameters, ``<metric>`` and ``<metric>_sem``."""
        from adaptive.analysis import trials_frame

        return trials_frame(self.trials(), list(self.search_space.parameters), self.config.metrics)

    def pareto_frontier(self, *, model: bool = False) -> pd.DataFrame:
        """The target source's Pareto frontier.

        ``model=False``: observed frontier: feasible, threshold-beating, non-dominated trials
        by observed means. ``model=True``: the frontier of evaluated configs by model-predicted
        means, with ``<metric>_pred``/``<metric>_pred_sem`` and ``p_feasible`` beside the observed columns.
        """
        trials = self.trials()
        if model:
            from adaptive.analysis.predictions import model_frontier

            return model_frontier(
                self.search_space, self.config, trials, source=self.target_source, device=self.device, seed=self.seed
            )
        from adaptive.analysis import observed_frontier

        return observed_frontier(
            trials, self.config, source=self.target_source, parameter_names=list(self.search_space.parameters)
        )

    def hypervolume(self) -> float:
        """Hypervolume of the feasible observed target-source trials, in the objectives' units
        multiplied together. The reference point is the objective thresholds (inferred from the
        observed front where absent). With one objective: best feasible value minus its threshold."""
        from adaptive.analysis.hypervolume import hypervolume, reference_point
        from adaptive.generation import feasible_signed_objectives

        Y = feasible_signed_objectives(self.config, self.trials(), self.target_source)
        return hypervolume(Y, reference_point(self.config, Y))

    def predict(self, params_list: Sequence[Mapping[str, Any]], *, source: str | None = None) -> pd.DataFrame:
        """Model predictions of ``source`` (default: the target) at ``params_list``: per metric
        ``<metric>_mean`` and ``<metric>_sem`` (posterior standard deviation of the mean, metric
        units). The model learns from ``source``'s trials and, where leave-one-out evidence says
        they help, every other source's (see :meth:`source_report`)."""
        from adaptive.analysis.predictions import predict_frame

        source = check_source(source or self.target_source)
        return predict_frame(
            self.search_space, self.config.metrics, self.trials(), params_list, source=source, device=self.device,
            seed=self.seed,
        )

    def source_report(self) -> pd.DataFrame:
        """Per metric and offline source: learned correlation with the target source, bias
        (target minus source at the target's observed configs, mean and spread), leave-one-out
        RMSE on target trials without and with the offline data, and which model is used and
        why. See :func:`adaptive.analysis.sources.source_report` for the columns."""
        from adaptive.analysis.sources import source_report

        return source_report(
            self.search_space, self.config.metrics, self.trials(), target=self.target_source, device=self.device,
            seed=self.seed,
        )

    @overload
    def best(self, *, model: Literal[False] = False, min_feasibility: float = ...) -> Trial: ...

    @overload
    def best(self, *, model: Literal[True], min_feasibility: float = ...) -> ModelBest: ...

    def best(self, *, model: bool = False, min_feasibility: float = 0.9) -> Trial | ModelBest:
        """The best feasible completed target-source trial (single objective only).

        ``model=False``: by observed mean. ``model=True``: by the model's posterior mean among
        the evaluated configs, each predicted from every trial (see :meth:`predict`), among
        those whose outcome constraints all hold with probability ``min_feasibility`` or more;
        returns the trial with its prediction. With noisy metrics a lucky observation does
        not win, so this is the config to ship; the default 0.9 keeps it off a noisy
        constraint's boundary, where the best configs are and each is as likely infeasible
        as not.
        """
        if len(self.config.objectives) != 1:
            raise ValidationError(
                "objectives", [o.metric for o in self.config.objectives],
                "best() needs one objective; use pareto_frontier() for several",
            )
        if not isinstance(model, bool):
            raise ValidationError("model", model, "must be true or false")
        if not is_number(min_feasibility) or not 0 <= min_feasibility <= 1:
            raise ValidationError("min_feasibility", min_feasibility, "must be a probability in [0, 1]")
        objective = self.config.objectives[0]
        trials = self.trials()
        candidates = [
            t for t in trials
            if t.status == TrialStatus.COMPLETED and t.source == self.target_source and objective.metric in t.observations
        ]
        if not model:
            candidates = [t for t in candidates if self.config.is_feasible(t.means())]
        if not candidates:
            raise ValidationError("trials", 0, f"no feasible completed {self.target_source!r} trial observes {objective.metric!r} yet")
        if not model:
            return max(candidates, key=lambda t: (objective.sign * t.observations[objective.metric].mean, -t.id))
        from adaptive.analysis.predictions import best_by_model

        return best_by_model(
            self.search_space, self.config, trials, candidates, source=self.target_source, device=self.device,
            seed=self.seed, min_feasibility=float(min_feasibility),
        )

    # -- exporting ---------------------------------------------------------------------------
    def export_distribution(
        self,
        *,
        prefer: str | None = None,
        constraints: Sequence[str] = (),
        weights: Mapping[str, float] | None = None,
        top_k: int | None = None,
        min_weight: float = 0.0,
        n_draws: int = 1000,
        model_candidates: int = 8,
        min_distance: float = 0.05,
        path: str | Path | None = None,
        store: bool = True,
    ) -> ServingDistribution:
        """Export a distribution over winning configs and store it as a new immutable version.

        Each arm's weight is the posterior probability (Thompson sampling over ``n_draws``
        joint posterior draws) that it is the best candidate under the preference; see
        :mod:`adaptive.analysis.distribution`. Candidates are the observed target-source
        configs plus ``model_candidates`` configs with the best posterior-mean utility.

        Args:
            prefer: the objective to optimize (its direction); the other objectives'
                thresholds and the outcome constraints are enforced on every draw.
            constraints: extra bounds on metrics, e.g. ``["cpu_ms <= 110"]``.
            weights: instead of ``prefer``: objective -> weight on its scaled value.
            top_k: keep at most this many arms; ``min_weight``: drop smaller arms.
                Remaining weights are renormalized to sum to 1.
            n_draws: posterior draws; weights are accurate to about ``1/sqrt(n_draws)``.
            model_candidates: model-optimized configs added to the observed ones, each at
                least ``min_distance`` (unit-cube Euclidean) from every other candidate.
            path: also write the JSON document there, replacing the file atomically. The
                version is stored only if the file could be written: a bad path raises
                :class:`ValidationError` (field ``path``) and stores nothing.
            store: ``False`` previews: the same distribution, computed but neither stored
                nor written (its ``version`` is 0), for review before publishing.
        """
        check_export_options(
            {"n_draws": n_draws, "model_candidates": model_candidates, "top_k": top_k, "min_weight": min_weight}
        )
        if not isinstance(store, bool):
            raise ValidationError("store", store, "must be true or false")
        if path is not None and not store:
            raise ValidationError("path", str(path), "a preview (store=False) is not written; publish with store=True")
        if path is not None:
            _check_output_path(path)
        import numpy as np

        from adaptive.analysis import distribution as dist_lib
        from adaptive.modeling import fit_each_metric

        preference = dist_lib.build_preference(self.config, prefer=prefer, weights=weights, constraints=constraints)
        trials = self.trials()
        source = self.target_source
        metrics = list(dict.fromkeys([*preference.weights, *(c.metric for c in preference.constraints)]))
        logger.info("experiment %r: export: fitting %d metric model(s)", self.name, len(metrics))
        models = fit_each_metric(
            self.search_space, trials, metrics, source=source, seed=self.seed, device=self.device
        )
        scales = {
            m: float(np.std([t.observations[m].mean for t in trials if t.source == source and m in t.observations]) or 1.0)
            for m in preference.weights
        }
        observed = [t.params for t in trials if t.source == source and t.status == TrialStatus.COMPLETED]
        extra = dist_lib.model_optimized(
            self.search_space, models, preference, scales, n=model_candidates, seed=self.seed, device=self.device,
            avoid=self.search_space.encode(observed), min_distance=float(min_distance),
        )
        cands = dist_lib.candidates(self.search_space, trials, source=source, extra=extra)
        X = self.search_space.encode([c.params for c in cands]).to(self.device)
        logger.info("experiment %r: export: %d posterior draws over %d candidates", self.name, n_draws, len(cands))
        draws = dist_lib.posterior_draws(models, X, n_draws=n_draws, seed=self.seed)
        shares, infeasible = dist_lib.win_shares(draws, preference, scales)
        document = dist_lib.build_document(
            experiment=self.name, version=0, cands=cands, shares=shares, draws=draws, preference=preference,
            top_k=top_k, min_weight=min_weight, n_draws=n_draws, infeasible_draws=infeasible,
            n_trials=sum(1 for t in trials if t.source == source), source=source,
        )
        if not store:
            logger.info("experiment %r: previewed a distribution of %d arms (not stored)", self.name, len(document["arms"]))
            return serving.load(document)

        staged: list[Path] = []

        def work(session: Session) -> dict[str, Any]:
            stored = repo.add_export(session, repo.get_experiment(session, self.name, lock=True), document)
            if path is not None:  # staged inside the transaction: a failed write rolls the version back
                for old in staged:
                    old.unlink(missing_ok=True)
                staged[:] = [_stage_export(stored, path)]
            return stored

        try:
            stored = self.database.run(work)
            if staged and path is not None:
                os.replace(staged[0], path)
        finally:
            for leftover in staged:
                leftover.unlink(missing_ok=True)
        logger.info("experiment %r: exported version %d with %d arms", self.name, stored["version"], len(stored["arms"]))
        return serving.load(stored)

    def exported(self, version: int | None = None) -> ServingDistribution:
        """A stored export (the newest when ``version`` is None)."""
        document = self.database.run(
            lambda s: repo.get_export(s, repo.get_experiment(s, self.name), version), readonly=True
        )
        return serving.load(document)

    def export_versions(self) -> list[int]:
        return self.database.run(lambda s: repo.export_versions(s, repo.get_experiment(s, self.name)), readonly=True)


def create_experiment(
    name: str,
    *,
    parameters: Mapping[str, Parameter],
    objectives: Objective | Sequence[Objective],
    parameter_constraints: Sequence[str] = (),
    outcome_constraints: Sequence[str] = (),
    storage: str | Database | None = None,
    target_source: str = TARGET_SOURCE,
    seed: int | None = None,
    generation: GenerationSettings | None = None,
    device: str | None = None,
    exist_ok: bool = False,
    units: Mapping[str, str] | None = None,
) -> Experiment:
    """Create and persist a new experiment (or, with ``exist_ok``, load the one already there).

    Args:
        name: unique within the database.
        parameters: name -> ``Float`` / ``Int`` / ``Choice`` / ``Fixed``.
        objectives: ``Maximize(...)`` / ``Minimize(...)``, one or several.
        parameter_constraints: linear inequalities over Float/Int parameters, e.g. ``"a + 2*b <= 3"``.
        outcome_constraints: bounds on metrics, e.g. ``"reliability >= -0.01"``.
        units: metric -> unit for axes and reports, e.g. ``{"cpu_ms": "ms"}`` (objective and
            constrained metrics; presentation only, stored with the definition).
        storage: database URL or :class:`~adaptive.storage.Database`; default ``$ADAPTIVE_DATABASE_URL``,
            else ``sqlite:///adaptive.db``.
        target_source: the source optimization targets; others only inform the model.
        seed: seeds the experiment's quasi-random sequence (random when omitted).
        generation: when to switch from quasi-random to BO and how hard to optimize; stored.
        device: torch device for models (not stored): ``auto``, ``cpu``, ``cuda[:N]``;
            default ``$ADAPTIVE_DEVICE``, else ``auto``.
        exist_ok: get-or-create (Optuna's ``load_if_exists``): when the experiment exists
            with the same parameters, constraints, objectives and target source (and the
            same seed and generation settings, where given), load it; safe when several
            processes start at once.

    Raises:
        DuplicateNameError: the name exists (without ``exist_ok``), or exists with another
            definition (the message lists the differences).
    """
    check_experiment_name(name)
    seed_given, generation_given = seed is not None, generation is not None
    space = SearchSpace(parameters, parameter_constraints)
    config = OptimizationConfig.build(objectives, outcome_constraints, parameter_names=space.parameters, units=units)
    check_source(target_source)
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    if not is_integer(seed) or not 0 <= seed < 2**31:
        raise ValidationError("seed", seed, "must be an integer in [0, 2**31)")
    generation = generation if generation is not None else GenerationSettings()
    if not isinstance(generation, GenerationSettings):
        raise ValidationError("generation", generation, "must be adaptive.GenerationSettings(...)")
    _resolve_device(device)  # a bad or absent device is refused before anything is written
    spec = {
        "version": SPEC_VERSION, "search_space": space.to_dict(), "optimization": config.to_dict(),
        "generation": generation.to_dict(),
    }
    database = open_database(storage)
    try:
        database.run(lambda s: repo.add_experiment(s, name, spec, target_source=target_source, seed=seed))
    except DuplicateNameError:
        if not exist_ok:
            raise
        existing = load_experiment(name, storage=database, device=device)
        differences = _differences(
            existing, spec, target_source, seed if seed_given else None, generation if generation_given else None
        )
        if differences:
            raise DuplicateNameError(
                "name", name, "exists with another definition: " + "; ".join(differences)
                + ". Use another name, or load_experiment() to use the stored one",
            ) from None
        logger.info("loaded the existing experiment %r from %s", name, database.masked_url)
        return existing
    logger.info("created experiment %r in %s", name, database.masked_url)
    return Experiment(
        name, search_space=space, config=config, target_source=target_source, seed=seed, database=database,
        generation=generation, device=device,
    )


def _differences(
    existing: Experiment, spec: Mapping[str, Any], target_source: str, seed: int | None,
    generation: GenerationSettings | None,
) -> list[str]:
    out = []
    if existing.search_space.to_dict() != spec["search_space"]:
        out.append("the parameters or parameter constraints differ")
    if existing.config.to_dict() != spec["optimization"]:
        out.append("the objectives or outcome constraints differ")
    if existing.target_source != target_source:
        out.append(f"target_source is {existing.target_source!r}, not {target_source!r}")
    if seed is not None and existing.seed != seed:
        out.append(f"seed is {existing.seed}, not {seed}")
    if generation is not None and existing.generation.to_dict() != generation.to_dict():
        out.append("the generation settings differ")
    return out


def load_experiment(name: str, *, storage: str | Database | None = None, device: str | None = None) -> Experiment:
    """Load an experiment created earlier (by any process) from the database; creates nothing.

    Raises:
        NotFoundError: no such experiment, also when there is no adaptive database at all.
    """
    try:
        database = open_database(storage, create=False)
    except NoAdaptiveDatabaseError as exc:
        raise NotFoundError("name", name, f"no such experiment (list_experiments() shows them): {exc}") from None
    stored = database.run(lambda s: repo.get_experiment(s, name), readonly=True)
    return _from_stored(stored, database, device)


def _from_stored(stored: repo.StoredExperiment, database: Database, device: str | None) -> Experiment:
    space, config, generation = read_spec(stored.spec, SPEC_VERSION)
    return Experiment(
        stored.name, search_space=space, config=config, target_source=stored.target_source,
        seed=stored.seed, database=database, generation=generation, device=device,
    )


def _resolve_device(device: str | torch.device | None) -> torch.device | None:
    """The named device, checked now; ``None`` stays None (resolved from the environment on first use)."""
    if device is None:
        return None
    from adaptive.modeling.device import resolve_device

    return resolve_device(device)


def delete_experiment(name: str, *, storage: str | Database | None = None) -> dict[str, int]:
    """Delete experiment ``name`` with its trials, observations, rounds, exports and model
    states, for good; returns how many ``trials``, ``rounds`` and ``exports`` were deleted.

    Raises:
        NotFoundError: no such experiment.
        RoundBusyError: a round of it is running (nothing is deleted).
    """
    from adaptive.storage.locks import round_lock  # the round lock, so no running round writes into it

    try:
        database = open_database(storage, create=False)
    except NoAdaptiveDatabaseError as exc:
        raise NotFoundError("name", name, f"no such experiment (list_experiments() shows them): {exc}") from None
    with round_lock(database, name):
        counts = database.run(lambda s: repo.delete_experiment(s, name))
    logger.info("experiment %r deleted with %s", name, counts)
    return counts


def list_experiments(*, storage: str | Database | None = None) -> list[str]:
    """Names of all experiments in the database, sorted (none where there is no adaptive database yet)."""
    try:
        database = open_database(storage, create=False)
    except NoAdaptiveDatabaseError:
        return []
    return database.run(repo.experiment_names, readonly=True)
