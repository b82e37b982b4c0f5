"""How much each offline source tells about the target source: the source report."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch

from adaptive.modeling import compare_sources, metric_data
from adaptive.space import SearchSpace
from adaptive.trial import Trial

SOURCE_REPORT_COLUMNS = [
    "metric", "source", "target_rows", "source_rows", "correlation", "scale", "bias_mean", "bias_std",
    "loo_rmse_target_only", "loo_rmse_all_sources", "loo_rmse_bias_corrected", "model", "reason",
]


def source_report(
    space: SearchSpace, metrics: Sequence[str], trials: Sequence[Trial], *, target: str, device: torch.device,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per metric and offline source that observed it.

    Columns (metric units throughout):
        ``correlation``: the multi-task GP's learned correlation between the source and the target.
        ``scale``: the bias-corrected GP's weight of the source in the target's prior mean.
        ``bias_mean``/``bias_std``: target minus source at the target's observed configs
            (observed target mean minus the source's own GP's prediction there).
        ``loo_rmse_target_only``/``loo_rmse_all_sources``/``loo_rmse_bias_corrected``:
            leave-one-out RMSE on the target's trials from a model of the target's data alone,
            from the multi-task model over every source, and from the bias-corrected model
            (NaN with fewer than 3 target trials).
        ``model``: what suggestions and predictions use for the metric (``single-source``,
            ``multi-task`` or ``bias-corrected``), and ``reason`` why.
    """
    rows = []
    for metric in metrics:
        data = metric_data(trials, space, metric, source=target, device=device, other_sources=True)
        if not data.is_multi_source:
            continue
        target_rows = data.rows_of(0)
        if not bool(target_rows.any()):
            for name in data.sources[1:]:
                rows.append({
                    "metric": metric, "source": name, "target_rows": 0,
                    "source_rows": int(data.rows_of(data.sources.index(name)).sum()),
                    "model": "none", "reason": f"no completed {target!r} trial observes {metric!r} yet",
                })
            continue
        comparison = compare_sources(data, seed=seed)
        choice = comparison.choice
        X_target, y_target = data.X[target_rows], data.Y[target_rows].squeeze(-1)
        for name, source_model in comparison.others.items():
            with torch.no_grad():
                predicted = source_model.posterior(X_target).mean.squeeze(-1)
            bias = (y_target - predicted).cpu().numpy()
            rows.append({
                "metric": metric, "source": name, "target_rows": choice.rows[target], "source_rows": choice.rows[name],
                "correlation": choice.correlations[name], "scale": choice.scales[name], "bias_mean": float(bias.mean()),
                "bias_std": float(bias.std(ddof=1)) if bias.size > 1 else float("nan"),
                "loo_rmse_target_only": choice.loo_rmse_single, "loo_rmse_all_sources": choice.loo_rmse_multi,
                "loo_rmse_bias_corrected": choice.loo_rmse_corrected, "model": choice.model, "reason": choice.reason,
            })
    frame = pd.DataFrame(rows, columns=SOURCE_REPORT_COLUMNS)
    for column in ("target_rows", "source_rows"):
        frame[column] = frame[column].astype("int64")
    for column in ("correlation", "scale", "bias_mean", "bias_std", "loo_rmse_target_only", "loo_rmse_all_sources",
                   "loo_rmse_bias_corrected"):
        frame[column] = frame[column].astype(float)
    return frame
