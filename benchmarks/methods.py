"""One runner per method. Each runs ``n_init`` initial and ``n_bo`` model-based trials in
batches of ``batch`` on a problem and returns the configs it evaluated, what it was told,
the seconds of each model-based proposal call (the initial phase is not timed) and, on
noisy problems, the config it recommends.

adaptive runs as a cron round does: every call loads the experiment afresh from its SQLite
file (a new :class:`~adaptive.Experiment`, nothing kept between calls), completes the last
batch, then suggests; the time counted is the load and the suggest.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.problems import Problem


@dataclass
class RunResult:
    params: list[dict[str, Any]]
    outcomes: list[dict[str, float]]
    seconds: list[float]
    recommended: dict[str, Any] | None = None


def _noise(seed: int) -> np.random.Generator:
    # The same noise stream for every method on a seed.
    return np.random.default_rng(1000 + seed)


def _best_observed(problem: Problem, result: RunResult) -> dict[str, Any] | None:
    """The feasible evaluated config with the best observed value (one objective)."""
    (metric, _), = problem.objectives
    feasible = [(o[metric], i) for i, (p, o) in enumerate(zip(result.params, result.outcomes)) if problem.feasible(p, o)]
    return result.params[min(feasible)[1]] if feasible else None


def adaptive_parameters(problem: Problem) -> dict:
    import adaptive as ad

    out = {}
    for name, p in problem.parameters.items():
        if p.kind == "float":
            out[name] = ad.Float(p.low, p.high)
        elif p.kind == "int":
            out[name] = ad.Int(int(p.low), int(p.high))
        else:
            out[name] = ad.Choice(list(p.values))
    return out


def run_adaptive(
    problem: Problem, seed: int, batch: int, n_init: int, n_bo: int, *, center: bool = True, warp: bool = True
) -> RunResult:
    import adaptive as ad

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        ad.create_experiment(
            "bench", storage=url, seed=seed, parameters=adaptive_parameters(problem),
            objectives=[ad.Minimize(m, threshold=t) for m, t in problem.objectives],
            outcome_constraints=[f"{m} <= {b}" for m, b in problem.constraints],
            parameter_constraints=problem.linear_texts(),
            generation=ad.GenerationSettings(initial_trials=n_init, center_first=center, warp_objective=warp),
        )
        rng, result, running = _noise(seed), RunResult([], [], []), []
        total = n_init + n_bo
        while len(result.params) < total:
            start = time.perf_counter()
            exp = ad.load_experiment("bench", storage=url)  # a cron round's fresh load
            loaded = time.perf_counter() - start
            for trial_id in running:  # the round first completes what the last one proposed
                exp.complete(trial_id, result.outcomes[trial_id])
            start = time.perf_counter()
            trials = exp.suggest(min(batch, total - len(result.params)))
            if len(result.params) >= n_init:
                result.seconds.append(loaded + time.perf_counter() - start)
            exp.database.close()
            running = []
            for t in trials:
                assert t.id == len(result.params)  # trial ids are dense from 0
                result.params.append(dict(t.params))
                result.outcomes.append(problem.observe(t.params, rng))
                running.append(t.id)
        exp = ad.load_experiment("bench", storage=url)
        for trial_id in running:
            exp.complete(trial_id, result.outcomes[trial_id])
        if problem.noisy and len(problem.objectives) == 1:
            result.recommended = dict(exp.best(model=True).params)
        exp.database.close()
    return result


def _quiet_ax() -> None:
    for name in [n for n in logging.root.manager.loggerDict if n.startswith("ax")] + ["ax"]:
        logging.getLogger(name).setLevel(logging.WARNING)


def run_ax(problem: Problem, seed: int, batch: int, n_init: int, n_bo: int, *, center: bool = True) -> RunResult:
    from ax.api.client import Client
    from ax.api.configs import ChoiceParameterConfig, RangeParameterConfig

    _quiet_ax()
    client = Client(random_seed=seed)
    parameters = []
    for name, p in problem.parameters.items():
        if p.kind == "choice":
            parameters.append(ChoiceParameterConfig(name=name, values=list(p.values), parameter_type="str", is_ordered=False))
        elif p.kind == "int":
            parameters.append(RangeParameterConfig(name=name, bounds=(int(p.low), int(p.high)), parameter_type="int"))
        else:
            parameters.append(RangeParameterConfig(name=name, bounds=(p.low, p.high), parameter_type="float"))
    client.configure_experiment(parameters=parameters, parameter_constraints=problem.linear_texts() or None)
    objective = ", ".join(f"-{m}" for m, _ in problem.objectives)
    thresholds = [f"{m} <= {t}" for m, t in problem.objectives if t is not None and len(problem.objectives) > 1]
    client.configure_optimization(
        objective=objective, outcome_constraints=thresholds + [f"{m} <= {b}" for m, b in problem.constraints]
    )
    client.configure_generation_strategy(
        initialization_budget=n_init, initialization_random_seed=seed, initialize_with_center=center
    )
    rng, result = _noise(seed), RunResult([], [], [])
    while len(result.params) < n_init + n_bo:
        start = time.perf_counter()
        trials = client.get_next_trials(max_trials=min(batch, n_init + n_bo - len(result.params)))
        if len(result.params) >= n_init:
            result.seconds.append(time.perf_counter() - start)
        for index, params in trials.items():
            out = problem.observe(params, rng)
            client.complete_trial(trial_index=index, raw_data=out)
            result.params.append(dict(params))
            result.outcomes.append(out)
    if problem.noisy and len(problem.objectives) == 1:
        try:
            result.recommended = dict(client.get_best_parameterization(use_model_predictions=True)[0])
        except Exception:  # noqa: BLE001 - Ax raises when it has no feasible trial; nothing to ship
            result.recommended = None
    return result


def run_optuna(problem: Problem, seed: int, batch: int, n_init: int, n_bo: int, *, sampler: str) -> RunResult:
    """Optuna has no linear parameter constraints: a config that breaks one counts as an
    infeasible trial through ``constraints_func`` (as its users would declare it)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def constraints(frozen):
        return frozen.user_attrs["constraints"]

    kwargs: dict[str, Any] = dict(seed=seed, n_startup_trials=n_init)
    if problem.constraints or problem.linear:
        kwargs["constraints_func"] = constraints
    s = optuna.samplers.TPESampler(**kwargs) if sampler == "tpe" else optuna.samplers.GPSampler(**kwargs)
    study = optuna.create_study(directions=["minimize"] * len(problem.objectives), sampler=s)
    rng, result = _noise(seed), RunResult([], [], [])
    total = n_init + n_bo
    while len(result.params) < total:
        start = time.perf_counter()
        asked = []
        # Optuna's own start-up phase is n_init trials; asks before tells see the batch as running.
        for _ in range(min(batch, total - len(result.params))):
            trial = study.ask()
            params = {}
            for name, p in problem.parameters.items():
                if p.kind == "float":
                    params[name] = trial.suggest_float(name, p.low, p.high)
                elif p.kind == "int":
                    params[name] = trial.suggest_int(name, int(p.low), int(p.high))
                else:
                    params[name] = trial.suggest_categorical(name, list(p.values))
            asked.append((trial, params))
        if len(result.params) >= n_init:
            result.seconds.append(time.perf_counter() - start)
        for trial, params in asked:
            out = problem.observe(params, rng)
            trial.set_user_attr(
                "constraints", [out[m] - b for m, b in problem.constraints] + problem.linear_slack(params)
            )
            study.tell(trial, [out[m] for m, _ in problem.objectives])
            result.params.append(params)
            result.outcomes.append(out)
    if problem.noisy and len(problem.objectives) == 1:
        result.recommended = _best_observed(problem, result)  # Optuna's best_trial: the best observed feasible
    return result


def run_sobol(problem: Problem, seed: int, batch: int, n_init: int, n_bo: int) -> RunResult:
    """Scrambled Sobol points, decoded like adaptive's search space, infeasible configs rejected."""
    from adaptive.space import SearchSpace

    space = SearchSpace(adaptive_parameters(problem), problem.linear_texts())
    configs, _ = space.sample(n_init + n_bo, seed=seed)
    rng, result = _noise(seed), RunResult([], [], [])
    for params in configs:
        result.params.append(params)
        result.outcomes.append(problem.observe(params, rng))
    if problem.noisy and len(problem.objectives) == 1:
        result.recommended = _best_observed(problem, result)
    return result


METHODS = {
    "adaptive": run_adaptive,
    "adaptive_no_center": lambda *a: run_adaptive(*a, center=False),
    "ax": run_ax,
    "ax_no_center": lambda *a: run_ax(*a, center=False),
    "optuna_tpe": lambda *a: run_optuna(*a, sampler="tpe"),
    "optuna_gp": lambda *a: run_optuna(*a, sampler="gp"),
    "sobol": run_sobol,
}
BASELINES = ["ax", "ax_no_center", "optuna_gp", "optuna_tpe", "sobol"]
