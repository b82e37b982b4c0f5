"""Plotly figures for reviewing an experiment. Each ``plot_*`` returns a figure (never
shows it) drawn from a ``*_data`` function that returns a plain DataFrame, so the
numbers behind every figure can be inspected or tested on their own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from adaptive.analysis.hypervolume import hypervolume, reference_point
from adaptive.analysis.pareto import pareto_mask
from adaptive.analysis.predictions import predict_frame
from adaptive.errors import ValidationError
from adaptive.modeling import fit_each_metric
from adaptive.serving import ServingDistribution
from adaptive.trial import TrialStatus

if TYPE_CHECKING:
    from adaptive.experiment import Experiment

SOURCE_SYMBOLS = ["circle", "diamond", "square", "x", "triangle-up"]


def pareto_data(exp: Experiment) -> pd.DataFrame:
    """Completed trials that observed every objective, with ``feasible`` and ``on_frontier`` flags."""
    frame = exp.trials_frame()
    metrics = [o.metric for o in exp.config.objectives]
    frame = frame[(frame["status"] == "COMPLETED") & frame[metrics].notna().all(axis=1)].reset_index(drop=True)
    feasible = np.ones(len(frame), dtype=bool)
    for c in exp.config.outcome_constraints:
        values = frame[c.metric].to_numpy(dtype=float)
        feasible &= (values <= c.bound) if c.upper else (values >= c.bound)
    frame["feasible"] = feasible
    frame["on_frontier"] = False
    target = (frame["source"] == exp.target_source) & frame["feasible"]
    if target.any():
        Y = np.column_stack([o.sign * frame.loc[target, o.metric].to_numpy(dtype=float) for o in exp.config.objectives])
        frame.loc[target[target].index[pareto_mask(Y)], "on_frontier"] = True
    return frame


def plot_pareto(exp: Experiment, *, model: bool = True) -> go.Figure:
    """Observed trials (colour: feasibility, symbol: source, error bars: sems), the observed
    frontier, the model-predicted frontier with its band, and the objective thresholds.
    Two objectives: one panel; three or more: one panel per pair."""
    objectives = exp.config.objectives
    if len(objectives) < 2:
        raise ValidationError("objectives", [o.metric for o in objectives], "a Pareto plot needs two or more objectives")
    data = pareto_data(exp)
    predicted = exp.pareto_frontier(model=True) if model and len(data) else pd.DataFrame()
    pairs = list(combinations(range(len(objectives)), 2))
    fig = make_subplots(rows=1, cols=len(pairs), subplot_titles=[f"{objectives[i].metric} vs {objectives[j].metric}" for i, j in pairs])
    sources = sorted(data["source"].unique()) if len(data) else []
    for col, (i, j) in enumerate(pairs, start=1):
        x, y = objectives[i].metric, objectives[j].metric
        for s_index, source in enumerate(sources):
            for feasible, color in ((True, "#1f77b4"), (False, "#bbbbbb")):
                part = data[(data["source"] == source) & (data["feasible"] == feasible)]
                if part.empty:
                    continue
                fig.add_trace(go.Scatter(
                    x=part[x], y=part[y], mode="markers", name=f"{source}{'' if feasible else ' (infeasible)'}",
                    legendgroup=f"{source}-{feasible}", showlegend=col == 1,
                    marker={"color": color, "symbol": SOURCE_SYMBOLS[s_index % len(SOURCE_SYMBOLS)], "size": 8},
                    error_x={"type": "data", "array": part[f"{x}_sem"].fillna(0), "visible": True, "thickness": 1},
                    error_y={"type": "data", "array": part[f"{y}_sem"].fillna(0), "visible": True, "thickness": 1},
                    text=[f"trial {t}" for t in part["trial_id"]], hovertemplate="%{text}<br>%{x:.4g}, %{y:.4g}",
                ), row=1, col=col)
        front = data[data["on_frontier"]].sort_values(x)
        if len(front):
            fig.add_trace(go.Scatter(x=front[x], y=front[y], mode="lines", line={"color": "#1f77b4", "shape": "hv"},
                                     name="observed frontier", showlegend=col == 1, legendgroup="observed"), row=1, col=col)
        if len(predicted):
            p = predicted.sort_values(f"{x}_pred")
            fig.add_trace(go.Scatter(
                x=p[f"{x}_pred"], y=p[f"{y}_pred"], mode="lines+markers", name="model frontier (±2 sem)",
                line={"color": "#d62728", "dash": "dash"}, showlegend=col == 1, legendgroup="model",
                error_x={"type": "data", "array": 2 * p[f"{x}_pred_sem"], "visible": True, "color": "rgba(214,39,40,0.35)"},
                error_y={"type": "data", "array": 2 * p[f"{y}_pred_sem"], "visible": True, "color": "rgba(214,39,40,0.35)"},
            ), row=1, col=col)
        for axis, o in (("x", objectives[i]), ("y", objectives[j])):
            if o.threshold is not None:
                line = {"x": o.threshold} if axis == "x" else {"y": o.threshold}
                (fig.add_vline if axis == "x" else fig.add_hline)(
                    **line, line_dash="dot", line_color="gray", row=1, col=col, annotation_text=f"{o.metric} threshold"
                )
        fig.update_xaxes(title_text=x, row=1, col=col)
        fig.update_yaxes(title_text=y, row=1, col=col)
    fig.update_layout(title=f"{exp.name}: Pareto front", template="plotly_white")
    return fig


def trace_data(exp: Experiment) -> pd.DataFrame:
    """Per completed trial (in id order) and source: the running best feasible value (one
    objective) or hypervolume (several) of that source's trials so far."""
    config = exp.config
    rows, seen = [], {}
    for t in exp.trials(status=TrialStatus.COMPLETED):
        if not all(o.metric in t.observations for o in config.objectives) or not config.is_feasible(t.means()):
            point = None
        else:
            point = [o.sign * t.observations[o.metric].mean for o in config.objectives]
        history = seen.setdefault(t.source, [])
        if point is not None:
            history.append(point)
        Y = np.array(history, dtype=float).reshape(-1, len(config.objectives))
        if len(config.objectives) == 1:
            value = float(config.objectives[0].sign * Y.max()) if len(Y) else np.nan
        else:
            value = hypervolume(Y, reference_point(config, Y)) if len(Y) else 0.0
        rows.append({"trial_id": t.id, "source": t.source, "value": value})
    return pd.DataFrame(rows, columns=["trial_id", "source", "value"])


def plot_trace(exp: Experiment) -> go.Figure:
    """Optimization trace: best feasible value or hypervolume per trial, one line per source."""
    data = trace_data(exp)
    label = "hypervolume" if len(exp.config.objectives) > 1 else f"best feasible {exp.config.objectives[0].metric}"
    fig = go.Figure()
    for source, part in data.groupby("source"):
        fig.add_trace(go.Scatter(x=part["trial_id"], y=part["value"], mode="lines+markers", name=str(source), line={"shape": "hv"}))
    fig.update_layout(title=f"{exp.name}: optimization trace", xaxis_title="trial", yaxis_title=label, template="plotly_white")
    return fig


def _predict(exp: Experiment, params_list: list[dict], models: Mapping[str, Any] | None) -> pd.DataFrame:
    return predict_frame(
        exp.search_space, exp.config.metrics, exp.trials(), params_list, source=exp.target_source,
        device=exp.device, seed=exp.seed, models=models,
    )


def calibration_data(exp: Experiment, metric: str | None = None, *, models: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Observed vs predicted target-source values of ``metric`` at every completed trial of each
    source (the model is fitted on target-source data): how well each source predicts online."""
    metric = metric or exp.config.objectives[0].metric
    done = [t for t in exp.trials(status=TrialStatus.COMPLETED) if metric in t.observations]
    if not done:
        return pd.DataFrame(columns=["trial_id", "source", "observed", "observed_sem", "predicted", "predicted_sem"])
    predicted = _predict(exp, [t.params for t in done], models)
    return pd.DataFrame({
        "trial_id": [t.id for t in done], "source": [t.source for t in done],
        "observed": [t.observations[metric].mean for t in done],
        "observed_sem": [t.observations[metric].sem or 0.0 for t in done],
        "predicted": predicted[f"{metric}_mean"], "predicted_sem": predicted[f"{metric}_sem"],
    })


def plot_calibration(exp: Experiment, metric: str | None = None, *, models: Mapping[str, Any] | None = None) -> go.Figure:
    """Predicted (target-source model) vs observed, by source, with the identity line."""
    metric = metric or exp.config.objectives[0].metric
    data = calibration_data(exp, metric, models=models)
    fig = go.Figure()
    for source, part in data.groupby("source"):
        fig.add_trace(go.Scatter(
            x=part["predicted"], y=part["observed"], mode="markers", name=str(source),
            error_x={"type": "data", "array": part["predicted_sem"], "visible": True},
            error_y={"type": "data", "array": part["observed_sem"], "visible": True},
        ))
    if len(data):
        lo = float(min(data["predicted"].min(), data["observed"].min()))
        hi = float(max(data["predicted"].max(), data["observed"].max()))
        fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="identity", line={"dash": "dot", "color": "gray"}))
    fig.update_layout(title=f"{exp.name}: {metric}, predicted vs observed", xaxis_title=f"predicted {metric}",
                      yaxis_title=f"observed {metric}", template="plotly_white")
    return fig


def slice_data(
    exp: Experiment, parameter: str, metric: str | None = None, *, points: int = 50, models: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Model mean and sem of ``metric`` along a Float/Int ``parameter``, the others held at the
    best observed target-source trial (or the first completed one)."""
    from adaptive.space import Float, Int

    metric = metric or exp.config.objectives[0].metric
    p = exp.search_space.parameters.get(parameter)
    if not isinstance(p, (Float, Int)):
        raise ValidationError("parameter", parameter, "slices need a Float or Int parameter")
    done = [t for t in exp.trials(status=TrialStatus.COMPLETED, source=exp.target_source) if metric in t.observations]
    if not done:
        raise ValidationError("metric", metric, "no completed target-source trial observes it yet")
    objective = next((o for o in exp.config.objectives if o.metric == metric), None)
    sign = objective.sign if objective else 1.0
    base = max(done, key=lambda t: sign * t.observations[metric].mean).params
    grid = np.unique([p.from_unit(u) for u in np.linspace(0, 1, points)])
    candidates = []
    for value in grid:
        params = {**base, parameter: value}
        if exp.search_space.is_feasible(params):
            candidates.append(params)
    frame = _predict(exp, candidates, models)
    return pd.DataFrame({parameter: [c[parameter] for c in candidates], "mean": frame[f"{metric}_mean"], "sem": frame[f"{metric}_sem"]})


def plot_slice(
    exp: Experiment, parameter: str, metric: str | None = None, *, models: Mapping[str, Any] | None = None
) -> go.Figure:
    """The model along one parameter (others at the best trial), with a ±2 sem band."""
    metric = metric or exp.config.objectives[0].metric
    data = slice_data(exp, parameter, metric, models=models)
    x = data[parameter]
    fig = go.Figure([
        go.Scatter(x=pd.concat([x, x[::-1]]), y=pd.concat([data["mean"] + 2 * data["sem"], (data["mean"] - 2 * data["sem"])[::-1]]),
                   fill="toself", line={"width": 0}, fillcolor="rgba(31,119,180,0.2)", name="±2 sem", hoverinfo="skip"),
        go.Scatter(x=x, y=data["mean"], mode="lines", name=f"model {metric}"),
    ])
    log = getattr(exp.search_space.parameters[parameter], "log", False)
    fig.update_layout(title=f"{exp.name}: {metric} along {parameter}", xaxis_title=parameter, yaxis_title=metric,
                      xaxis_type="log" if log else "linear", template="plotly_white")
    return fig


def distribution_data(dist: ServingDistribution) -> pd.DataFrame:
    rows = [{"arm": a.name, "weight": a.weight, **{f"param_{k}": v for k, v in a.params.items()}} for a in dist.arms]
    return pd.DataFrame(rows)


def plot_distribution(dist: ServingDistribution) -> go.Figure:
    """Weights of an exported distribution's arms."""
    data = distribution_data(dist)
    params = [c for c in data.columns if c.startswith("param_")]
    hover = ["<br>".join(f"{c[6:]}={row[c]}" for c in params) for _, row in data.iterrows()]
    fig = go.Figure(go.Bar(x=data["arm"], y=data["weight"], hovertext=hover))
    fig.update_layout(title=f"{dist.experiment}: export v{dist.version} weights", xaxis_title="arm",
                      yaxis_title="weight (share of members)", template="plotly_white")
    return fig


def figures(exp: Experiment, *, parameters: Sequence[str] = ()) -> dict[str, go.Figure]:
    """Every figure that applies to ``exp`` (for reports)."""
    out: dict[str, go.Figure] = {}
    has_data = bool(exp.trials(status=TrialStatus.COMPLETED, source=exp.target_source))
    if len(exp.config.objectives) > 1 and has_data:
        out["Pareto front"] = plot_pareto(exp)
    out["Optimization trace"] = plot_trace(exp)
    if has_data:
        # one fit per metric, shared by the calibration plot and every slice
        models = fit_each_metric(
            exp.search_space, exp.trials(), exp.config.metrics, source=exp.target_source, seed=exp.seed, device=exp.device
        )
        out["Predicted vs observed"] = plot_calibration(exp, models=models)
        from adaptive.space import Float, Int

        names = list(parameters) or [n for n, p in exp.search_space.parameters.items() if isinstance(p, (Float, Int))][:3]
        for name in names:
            out[f"Slice: {name}"] = plot_slice(exp, name, models=models)
    if exp.export_versions():
        out["Exported distribution"] = plot_distribution(exp.exported())
    return out


__all__ = [
    "calibration_data", "distribution_data", "figures", "pareto_data", "plot_calibration", "plot_distribution",
    "plot_pareto", "plot_slice", "plot_trace", "slice_data", "trace_data",
]
