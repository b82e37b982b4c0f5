"""An experiment's stored definition (``experiments.spec``): its layout version, reading it
back, and the export options checked alike by the API and a config's ``[export]`` table.

Below both the experiment API and the cron configs (``adaptive.cron.config``), which build on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adaptive._checks import is_integer, is_number
from adaptive.errors import ValidationError
from adaptive.generation.settings import GenerationSettings
from adaptive.objectives import OptimizationConfig
from adaptive.space import SearchSpace

SPEC_VERSION = 1  # the layout of experiments.spec


def check_export_options(options: Mapping[str, Any], where: str = "") -> None:
    """Types and ranges of ``export_distribution``'s numeric options, for the API and ``[export]`` alike."""
    for key, low in (("top_k", 1), ("n_draws", 1), ("model_candidates", 0)):
        if key not in options or (key == "top_k" and options[key] is None):
            continue
        value = options[key]
        if not is_integer(value) or value < low:
            raise ValidationError(f"{where}{key}", value, f"must be an integer >= {low}")
    if "min_weight" in options:
        w = options["min_weight"]
        if not is_number(w) or not 0 <= w < 1:
            raise ValidationError(f"{where}min_weight", w, "must be a number in [0, 1)")


def read_spec(spec: Mapping[str, Any], spec_version: int) -> tuple[SearchSpace, OptimizationConfig, GenerationSettings]:
    """An experiment's stored definition, validated (without torch: ``adaptive status`` reads it)."""
    if spec.get("version") != spec_version:
        raise ValidationError("spec.version", spec.get("version"), f"this adaptive reads version {spec_version}")
    space = SearchSpace.from_dict(spec["search_space"])
    config = OptimizationConfig.from_dict(spec["optimization"], parameter_names=space.parameters)
    return space, config, GenerationSettings.from_dict(spec.get("generation"))
