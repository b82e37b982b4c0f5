"""One runner per method. Each runs ``n_init`` initial and ``n_bo`` model-based
trials in batches of ``batch`` and returns the outcomes in order plus the
seconds of each model-based proposal call (the initial phase is not timed)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from benchmarks.problems import Problem


@dataclass
class RunResult:
    outcomes: list[dict[str, float]]
    seconds: list[float]


def run_adaptive(
    problem: Problem, seed: int, batch: int, n_init: int, n_bo: int, *, center: bool = True, warp: bool = True
) -> RunResult:
    import adaptive as ad

    exp = ad.create_experiment(
        "bench", storage="sqlite://", seed=seed,
        parameters={f"x{i}": ad.Float(0.0, 1.0) for i in range(problem.dim)},
        objectives=[ad.Minimize(m, threshold=t) for m, t in problem.objectives],
        outcome_constraints=[f"{m} <= {b}" for m, b in problem.constraints],
        generation=ad.GenerationSettings(initial_trials=n_init, center_first=center, warp_objective=warp),
    )
    outcomes, seconds = [], []
    while len(outcomes) < n_init + n_bo:
        start = time.perf_counter()
        trials = exp.suggest(min(batch, n_init + n_bo - len(outcomes)))
        if len(outcomes) >= n_init:
            seconds.append(time.perf_counter() - start)
        for t in trials:
            out = problem.evaluate(np.array([t.params[f"x{i}"] for i in range(problem.dim)]))
            exp.complete(t.id, out)
            outcomes.append(out)
    return RunResult(outcomes, seconds)


def run_ax(problem: Problem, seed: int, batch: int, n_init: int, n_bo: int, *, center: bool = True) -> RunResult:
    import logging

    from ax.api.client import Client

    client_logger_names = [n for n in logging.root.manager.loggerDict if n.startswith("ax")]
    for name in client_logger_names + ["ax"]:
        logging.getLogger(name).setLevel(logging.WARNING)
    from ax.api.configs import RangeParameterConfig

    client = Client(random_seed=seed)
    client.configure_experiment(
        parameters=[RangeParameterConfig(name=f"x{i}", bounds=(0.0, 1.0), parameter_type="float") for i in range(problem.dim)]
    )
    objective = ", ".join(f"-{m}" for m, _ in problem.objectives)
    thresholds = [f"{m} <= {t}" for m, t in problem.objectives if t is not None and len(problem.objectives) > 1]
    client.configure_optimization(objective=objective, outcome_constraints=thresholds + [f"{m} <= {b}" for m, b in problem.constraints])
    client.configure_generation_strategy(
        initialization_budget=n_init, initialization_random_seed=seed, initialize_with_center=center
    )
    outcomes, seconds = [], []
    while len(outcomes) < n_init + n_bo:
        start = time.perf_counter()
        trials = client.get_next_trials(max_trials=min(batch, n_init + n_bo - len(outcomes)))
        if len(outcomes) >= n_init:
            seconds.append(time.perf_counter() - start)
        for index, params in trials.items():
            out = problem.evaluate(np.array([params[f"x{i}"] for i in range(problem.dim)]))
            client.complete_trial(trial_index=index, raw_data=out)
            outcomes.append(out)
    return RunResult(outcomes, seconds)


def run_optuna(problem: Problem, seed: int, batch: int, n_init: int, n_bo: int, *, sampler: str) -> RunResult:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def constraints(frozen):
        return frozen.user_attrs["constraints"]

    kwargs = dict(seed=seed, n_startup_trials=n_init)
    if problem.constraints:
        kwargs["constraints_func"] = constraints
    s = optuna.samplers.TPESampler(**kwargs) if sampler == "tpe" else optuna.samplers.GPSampler(**kwargs)
    study = optuna.create_study(directions=["minimize"] * len(problem.objectives), sampler=s)
    outcomes, seconds = [], []
    while len(outcomes) < n_init + n_bo:
        start = time.perf_counter()
        asked = []
        # Optuna's own start-up phase is n_init trials; asks before tells see the batch as running.
        for _ in range(min(batch, n_init + n_bo - len(outcomes))):
            trial = study.ask()
            asked.append((trial, np.array([trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(problem.dim)])))
        if len(outcomes) >= n_init:
            seconds.append(time.perf_counter() - start)
        for trial, x in asked:
            out = problem.evaluate(x)
            trial.set_user_attr("constraints", [out[m] - b for m, b in problem.constraints])
            study.tell(trial, [out[m] for m, _ in problem.objectives])
            outcomes.append(out)
    return RunResult(outcomes, seconds)


def run_sobol(problem: Problem, seed: int, batch: int, n_init: int, n_bo: int) -> RunResult:
    X = torch.quasirandom.SobolEngine(problem.dim, scramble=True, seed=seed).draw(n_init + n_bo, dtype=torch.float64)
    return RunResult([problem.evaluate(x.numpy()) for x in X], [])


METHODS = {
    "adaptive": run_adaptive,
    "adaptive_no_center": lambda *a: run_adaptive(*a, center=False),
    "ax": run_ax,
    "ax_no_center": lambda *a: run_ax(*a, center=False),
    "optuna_tpe": lambda *a: run_optuna(*a, sampler="tpe"),
    "optuna_gp": lambda *a: run_optuna(*a, sampler="gp"),
    "sobol": run_sobol,
}
