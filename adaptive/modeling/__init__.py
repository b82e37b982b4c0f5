"""Gaussian-process models of metrics (BoTorch/GPyTorch, float64)."""

from adaptive.modeling.data import MetricData, completed, metric_data, pending_X
from adaptive.modeling.device import resolve_device
from adaptive.modeling.fit import (
    ModelFitError,
    SourceChoice,
    SourceComparison,
    WarmStarts,
    compare_sources,
    fit_each_metric,
    fit_metric_model,
    fit_models,
    log_evidence,
)
from adaptive.modeling.threads import single_threaded_blas

__all__ = [
    "MetricData",
    "ModelFitError",
    "SourceChoice",
    "SourceComparison",
    "WarmStarts",
    "compare_sources",
    "completed",
    "fit_each_metric",
    "fit_metric_model",
    "fit_models",
    "log_evidence",
    "metric_data",
    "pending_X",
    "resolve_device",
    "single_threaded_blas",
]
