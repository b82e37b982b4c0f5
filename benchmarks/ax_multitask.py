"""Ax 1.3.1 driven as a multi-task optimizer (online target, simulator auxiliary), for comparison.

Its Client has no task option, so the experiment is built from ``ax.core`` with a
task ``ChoiceParameter`` (``is_task=True``, target ``"online"``) and installed with
``Client.set_experiment``; the generation strategy is a Sobol node (with
``TaskChoiceToIntTaskChoice`` added to its transforms) then an ``ST_MTGP`` node
whose transforms are ``MBM_MTGP_trans`` without ``TrialAsTask`` (which needs a
status-quo target trial). Simulator points are attached trials; online proposals
fix the task to ``"online"``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

TASK = "task"
METRIC = "m"


class AxMultiTask:
    def __init__(self, names: Sequence[str], *, seed: int, n_init: int) -> None:
        from ax.adapter.registry import Cont_X_trans, Generators, MBM_MTGP_trans
        from ax.adapter.transforms.task_encode import TaskChoiceToIntTaskChoice
        from ax.adapter.transforms.trial_as_task import TrialAsTask
        from ax.api.client import Client
        from ax.core.experiment import Experiment
        from ax.core.metric import Metric
        from ax.core.objective import Objective
        from ax.core.optimization_config import OptimizationConfig
        from ax.core.parameter import ChoiceParameter, ParameterType, RangeParameter
        from ax.core.search_space import SearchSpace
        from ax.generation_strategy.generation_node import GenerationStep
        from ax.generation_strategy.generation_strategy import GenerationStrategy

        for name in [n for n in logging.root.manager.loggerDict if n.startswith("ax")] + ["ax"]:
            logging.getLogger(name).setLevel(logging.WARNING)
        self.names = list(names)
        parameters = [RangeParameter(n, ParameterType.FLOAT, 0.0, 1.0) for n in self.names]
        parameters.append(ChoiceParameter(
            TASK, ParameterType.STRING, ["online", "simulator"], is_task=True, target_value="online", is_ordered=False,
            sort_values=False,
        ))
        experiment = Experiment(
            name="multitask", search_space=SearchSpace(parameters),
            optimization_config=OptimizationConfig(objective=Objective(metric=Metric(METRIC), minimize=False)),
        )
        self.client = Client(random_seed=seed)
        self.client.set_experiment(experiment)
        strategy = GenerationStrategy(nodes=[
            GenerationStep(
                generator=Generators.SOBOL, num_trials=n_init,
                generator_kwargs={"seed": seed, "transforms": Cont_X_trans + [TaskChoiceToIntTaskChoice]},
            ),
            GenerationStep(
                generator=Generators.ST_MTGP, num_trials=-1,
                generator_kwargs={"transforms": [t for t in MBM_MTGP_trans if t is not TrialAsTask]},
            ),
        ])
        self.client.set_generation_strategy(strategy)

    def attach_simulator(self, params: dict[str, float], value: float) -> None:
        index = self.client.attach_trial({**params, TASK: "simulator"})
        self.client.complete_trial(trial_index=index, raw_data={METRIC: value})

    def suggest_online(self) -> tuple[int, dict[str, float]]:
        trials = self.client.get_next_trials(max_trials=1, fixed_parameters={TASK: "online"})
        ((index, params),) = trials.items()
        return index, {n: float(params[n]) for n in self.names}

    def complete(self, index: int, value: float) -> None:
        self.client.complete_trial(trial_index=index, raw_data={METRIC: value})

    def predict_online(self, points: Sequence[dict[str, float]]) -> np.ndarray | None:
        """Predicted online means, or ``None`` where Ax's adapter cannot predict."""
        try:
            predictions = self.client.predict([{**p, TASK: "online"} for p in points])
        except Exception:  # noqa: BLE001 - report "not available" rather than fail the run
            logging.getLogger(__name__).warning("Ax could not predict", exc_info=True)
            return None
        return np.array([p[METRIC][0] for p in predictions])
