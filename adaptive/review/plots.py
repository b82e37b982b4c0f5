"""Plotly figures for reviewing an experiment. Each ``plot_*`` returns a figure (never
shows it) drawn from a ``*_data`` function that returns a plain DataFrame, so the
numbers behind every figure can be inspected or tested on their own."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from adaptive.analysis.frames import frontier_flags, trials_frame
from adaptive.analysis.hypervolume import hypervolume, reference_point
from adaptive.analysis.predictions import loo_frame, model_frontier, predict_frame
from adaptive.errors import ValidationError
from adaptive.modeling import fit_each_metric
from adaptive.serving import ServingDistribution
from adaptive.space import Choice, Float, Int
from adaptive.trial import TrialStatus

if TYPE_CHECKING:
    from adaptive.experiment import Experiment

logger = logging.getLogger(__name__)

SOURCE_SYMBOLS = ["circle", "diamond", "square", "x", "triangle-up"]
FEASIBLE, OUTSIDE, INFEASIBLE = "#1f77b4", "#ff7f0e", "#9e9e9e"


def metric_label(exp: Experiment, metric: str) -> str:
    """An axis title: the metric, its unit where the experiment declares one, and for an
    objective its direction and threshold (``"cpu_ms [ms], lower is better, threshold 120"``)."""
    unit = exp.config.units.get(metric)
    label = f"{metric} [{unit}]" if unit else metric
    objective = next((o for o in exp.config.objectives if o.metric == metric), None)
    if objective is not None:
        label += ", lower is better" if objective.minimize else ", higher is better"
        if objective.threshold is not None:
            label += f", threshold {objective.threshold:.4g}"
    return label


def use_notebook_renderer(*, static: bool = True) -> str:
    """Make every figure show wherever the notebook is opened; call it in the first cell.

    Sets plotly's default renderer to: the figure itself (Jupyter, JupyterLab, VS Code),
    HTML with plotly.js embedded once (``jupyter nbconvert --to html`` and other exports,
    offline), and with ``static`` a PNG beside them for viewers without JavaScript (GitHub,
    e-mail; drawn by Chromium through kaleido, skipped with one warning where there is none).
    Returns the renderer string set.
    """
    import plotly.io as pio

    from adaptive.review._static_figures import StaticPNGRenderer

    pio.renderers["adaptive_png"] = StaticPNGRenderer()
    pio.renderers.default = "plotly_mimetype+notebook" + ("+adaptive_png" if static else "")
    return pio.renderers.default


def pareto_data(exp: Experiment) -> pd.DataFrame:
    """Completed trials that observed every objective, with the flags of
    :func:`adaptive.analysis.frontier_flags` (``feasible``, ``beats_thresholds``,
    ``on_frontier``): the same definition ``pareto_frontier()`` and ``adaptive pareto`` use."""
    trials = exp.trials()
    frame = trials_frame(trials, list(exp.search_space.parameters), exp.config.metrics)
    flags = frontier_flags(trials, exp.config, source=exp.target_source).drop(columns="source")
    return frame.merge(flags, on="trial_id").reset_index(drop=True)


def _hover(exp: Experiment, part: pd.DataFrame) -> list[str]:
    names = list(exp.search_space.parameters)
    metrics = [m for m in exp.config.metrics if m in part]
    lines = []
    for _, row in part.iterrows():
        params = "<br>".join(f"{n} = {_fmt(row[n])}" for n in names)
        values = "<br>".join(
            f"{m} = {_fmt(row[m])}" + (f" ± {_fmt(row[f'{m}_sem'])}" if pd.notna(row.get(f"{m}_sem")) else "")
            for m in metrics
        )
        lines.append(f"<b>trial {row['trial_id']}</b> ({row['source']})<br>{values}<br>{params}")
    return lines


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, (float, np.floating)) else str(value)


def _padded_range(values: Sequence[float]) -> list[float] | None:
    finite = [v for v in values if np.isfinite(v)]
    if not finite:
        return None
    lo, hi = min(finite), max(finite)
    pad = 0.06 * (hi - lo) if hi > lo else max(abs(lo) * 0.1, 1.0)
    return [lo - pad, hi + pad]


def plot_pareto(exp: Experiment, *, model: bool = True, models: Mapping[str, Any] | None = None) -> go.Figure:
    """Observed trials and frontiers, one panel per pair of objectives (one panel for two).

    Colour: blue feasible and beating every objective threshold, orange feasible but missing
    a threshold, grey breaking an outcome constraint; symbol: source; error bars: ±1 sem of
    each observation. The observed frontier is drawn as the staircase bounding the region it
    dominates (its corners are not trials); the model frontier is the evaluated configs that
    are non-dominated by predicted means, with ±2 posterior sem. Thresholds are dotted lines,
    drawn where they fall within the data (the axis titles give them too). Hover: the trial,
    its source, its metrics and its parameters. Fitted ``models`` (metric -> GP, from
    ``fit_each_metric``) are reused where given.
    """
    objectives = exp.config.objectives
    if len(objectives) < 2:
        raise ValidationError("objectives", [o.metric for o in objectives], "a Pareto plot needs two or more objectives")
    data = pareto_data(exp)
    if model and len(data):
        predicted = model_frontier(exp.search_space, exp.config, exp.trials(), source=exp.target_source,
                                   device=exp.device, seed=exp.seed, models=models)
    else:
        predicted = pd.DataFrame()
    pairs = list(combinations(range(len(objectives)), 2))
    fig = make_subplots(rows=1, cols=len(pairs), subplot_titles=[f"{objectives[i].metric} vs {objectives[j].metric}" for i, j in pairs])
    sources = sorted(data["source"].unique()) if len(data) else []
    classes = (
        ("", FEASIBLE, data["feasible"] & data["beats_thresholds"] if len(data) else None),
        (" (misses a threshold)", OUTSIDE, data["feasible"] & ~data["beats_thresholds"] if len(data) else None),
        (" (infeasible)", INFEASIBLE, ~data["feasible"] if len(data) else None),
    )
    for col, (i, j) in enumerate(pairs, start=1):
        x, y = objectives[i].metric, objectives[j].metric
        for s_index, source in enumerate(sources):
            for suffix, color, mask in classes:
                part = data[(data["source"] == source) & mask]
                if part.empty:
                    continue
                fig.add_trace(go.Scatter(
                    x=part[x], y=part[y], mode="markers", name=f"{source}{suffix}",
                    legendgroup=f"{source}{suffix}", showlegend=col == 1,
                    marker={"color": color, "symbol": SOURCE_SYMBOLS[s_index % len(SOURCE_SYMBOLS)], "size": 8},
                    error_x={"type": "data", "array": part[f"{x}_sem"].fillna(0), "visible": True, "thickness": 1},
                    error_y={"type": "data", "array": part[f"{y}_sem"].fillna(0), "visible": True, "thickness": 1},
                    text=_hover(exp, part), hovertemplate="%{text}<extra></extra>",
                ), row=1, col=col)
        front = data[data["on_frontier"]].sort_values(x)
        if len(front):
            # The boundary of the dominated region: from each point (in the order of x) it runs
            # first along x when x is minimized, first along y when x is maximized.
            shape = "hv" if objectives[i].minimize else "vh"
            fig.add_trace(go.Scatter(
                x=front[x], y=front[y], mode="lines", line={"color": FEASIBLE, "shape": shape, "width": 1.5},
                name="observed frontier (steps bound the region it dominates)", showlegend=col == 1,
                legendgroup="observed", hoverinfo="skip",
            ), row=1, col=col)
        if len(predicted):
            p = predicted.sort_values(f"{x}_pred")
            fig.add_trace(go.Scatter(
                x=p[f"{x}_pred"], y=p[f"{y}_pred"], mode="lines+markers", name="model frontier (±2 sem)",
                line={"color": "#d62728", "dash": "dash"}, showlegend=col == 1, legendgroup="model",
                error_x={"type": "data", "array": 2 * p[f"{x}_pred_sem"], "visible": True, "color": "rgba(214,39,40,0.35)"},
                error_y={"type": "data", "array": 2 * p[f"{y}_pred_sem"], "visible": True, "color": "rgba(214,39,40,0.35)"},
                text=[f"<b>trial {t}</b> (model)" for t in p["trial_id"]],
                hovertemplate="%{text}<br>" + x + " = %{x:.4g}<br>" + y + " = %{y:.4g}<extra></extra>",
            ), row=1, col=col)
        for axis, o in (("x", objectives[i]), ("y", objectives[j])):
            values = list(data[o.metric]) if len(data) else []
            if len(predicted):
                values += list(predicted[f"{o.metric}_pred"])
            span = _padded_range(values)
            update = fig.update_xaxes if axis == "x" else fig.update_yaxes
            # The axes cover the data; a threshold far outside them would squeeze every point
            # into a corner (a threshold of 0 forced the axis to 0), so it is drawn only inside.
            update(title_text=metric_label(exp, o.metric), range=span, row=1, col=col)
            if o.threshold is not None and span is not None and span[0] <= o.threshold <= span[1]:
                (fig.add_vline if axis == "x" else fig.add_hline)(
                    **{axis: o.threshold}, line_dash="dot", line_color="gray", row=1, col=col,
                )
    fig.update_layout(title=f"{exp.name}: Pareto front ({exp.target_source} trials define the frontier)",
                      template="plotly_white", legend={"title": {"text": "error bars: ±1 sem (observed)"}})
    return fig


def trace_data(exp: Experiment) -> pd.DataFrame:
    """Per completed trial (in id order) and source: the running best feasible value (one
    objective) or hypervolume (several) of that source's trials so far."""
    config = exp.config
    rows: list[dict[str, Any]] = []
    seen: dict[str, list[Any]] = {}
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
    """Leave-one-out check of the model the experiment uses for ``metric`` (default: the first
    objective), at every completed target-source trial: ``observed`` (± ``observed_sem``)
    against ``predicted`` (± ``predicted_sem``) from every other row, and the ``model`` kind
    (see :func:`adaptive.analysis.predictions.loo_frame`). Units: the metric's."""
    metric = metric or exp.config.objectives[0].metric
    _check_metric(exp, metric)
    return loo_frame(
        exp.search_space, exp.trials(), metric, source=exp.target_source, device=exp.device, seed=exp.seed,
        model=(models or {}).get(metric),
    )


def _check_metric(exp: Experiment, metric: str) -> None:
    if metric not in exp.config.metrics:
        raise ValidationError("metric", metric, f"not an objective or constrained metric; those are {exp.config.metrics}")


def plot_calibration(
    exp: Experiment, metrics: str | Sequence[str] | None = None, *, models: Mapping[str, Any] | None = None
) -> go.Figure:
    """Leave-one-out predicted vs observed, one panel per metric (default: every objective and
    constrained metric), target-source trials only, with the identity line: a point far off
    the line is a trial the model could not have predicted without it."""
    names = [metrics] if isinstance(metrics, str) else list(metrics or exp.config.metrics)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.08)
    for col, metric in enumerate(names, start=1):
        data = calibration_data(exp, metric, models=models)
        kind = data["model"].iloc[0] if len(data) else "no model"
        fig.layout.annotations[col - 1].text = f"{metric} ({kind} GP)"
        fig.add_trace(go.Scatter(
            x=data["observed"], y=data["predicted"], mode="markers", name=f"{exp.target_source} trials",
            legendgroup="trials", showlegend=col == 1, marker={"color": FEASIBLE},
            error_x={"type": "data", "array": 2 * data["observed_sem"], "visible": True, "thickness": 1},
            error_y={"type": "data", "array": 2 * data["predicted_sem"], "visible": True, "thickness": 1},
            text=[f"<b>trial {t}</b>" for t in data["trial_id"]],
            hovertemplate="%{text}<br>observed %{x:.4g}<br>predicted without it %{y:.4g}<extra></extra>",
        ), row=1, col=col)
        if len(data):
            lo = float(min(data["predicted"].min(), data["observed"].min()))
            hi = float(max(data["predicted"].max(), data["observed"].max()))
            fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="identity", legendgroup="identity",
                                     showlegend=col == 1, line={"dash": "dot", "color": "gray"}, hoverinfo="skip"),
                          row=1, col=col)
        unit = exp.config.units.get(metric)
        suffix = f" [{unit}]" if unit else ""
        fig.update_xaxes(title_text=f"observed{suffix} (±2 sem)", row=1, col=col)
        fig.update_yaxes(title_text=f"predicted leaving the trial out{suffix} (±2 sd)", row=1, col=col)
    fig.update_layout(title=f"{exp.name}: leave-one-out predictions of {exp.target_source} trials",
                      template="plotly_white")
    return fig


def slice_data(
    exp: Experiment, parameter: str, metric: str | None = None, *, points: int = 50, models: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Model mean and sem of ``metric`` along a Float/Int ``parameter``, the others held at the
    best observed target-source trial (or the first completed one)."""
    metric = metric or exp.config.objectives[0].metric
    p = exp.search_space.parameters.get(parameter)
    if not isinstance(p, (Float, Int)):
        raise ValidationError("parameter", parameter, "slices need a Float or Int parameter")
    done = [t for t in exp.trials(status=TrialStatus.COMPLETED, source=exp.target_source) if metric in t.observations]
    if not done:
        raise ValidationError("metric", metric, "no completed target-source trial observes it yet")
    objective = exp.config.objectives[0]
    ranked = [t for t in done if objective.metric in t.observations] or done
    key = objective.metric if objective.metric in ranked[0].observations else metric
    base = max(ranked, key=lambda t: objective.sign * t.observations[key].mean).params
    grid = np.unique([p.from_unit(u) for u in np.linspace(0, 1, points)])
    candidates = []
    for value in grid:
        params = {**base, parameter: value}
        if exp.search_space.is_feasible(params):
            candidates.append(params)
    frame = _predict(exp, candidates, models)
    return pd.DataFrame({parameter: [c[parameter] for c in candidates], "mean": frame[f"{metric}_mean"], "sem": frame[f"{metric}_sem"]})


def plot_slice(
    exp: Experiment, parameter: str, metrics: str | Sequence[str] | None = None, *,
    models: Mapping[str, Any] | None = None,
) -> go.Figure:
    """The model along one parameter, the others at the best trial by the first objective, one
    panel per metric (default: every objective and constrained metric), with a ±2 sem band
    and the metric's threshold or bound as a dotted line."""
    names = [metrics] if isinstance(metrics, str) else list(metrics or exp.config.metrics)
    fig = make_subplots(rows=len(names), cols=1, shared_xaxes=True, vertical_spacing=0.06)
    bounds = {o.metric: o.threshold for o in exp.config.objectives if o.threshold is not None}
    for row, metric in enumerate(names, start=1):
        data = slice_data(exp, parameter, metric, models=models)
        x = data[parameter]
        upper, lower = data["mean"] + 2 * data["sem"], data["mean"] - 2 * data["sem"]
        fig.add_trace(go.Scatter(x=pd.concat([x, x[::-1]]), y=pd.concat([upper, lower[::-1]]), fill="toself",
                                 line={"width": 0}, fillcolor="rgba(31,119,180,0.2)", name="±2 sem", legendgroup="band",
                                 showlegend=row == 1, hoverinfo="skip"), row=row, col=1)
        fig.add_trace(go.Scatter(x=x, y=data["mean"], mode="lines", name="model mean", legendgroup="mean",
                                 showlegend=row == 1, line={"color": FEASIBLE}), row=row, col=1)
        for value in [bounds.get(metric)] + [c.bound for c in exp.config.outcome_constraints if c.metric == metric]:
            span = _padded_range(list(upper) + list(lower))
            if value is not None and span is not None and span[0] <= value <= span[1]:
                fig.add_hline(y=value, line_dash="dot", line_color="gray", row=row, col=1)
        fig.update_yaxes(title_text=metric_label(exp, metric), row=row, col=1)
    log = getattr(exp.search_space.parameters[parameter], "log", False)
    fig.update_xaxes(title_text=parameter, type="log" if log else "linear", row=len(names), col=1)
    fig.update_layout(title=f"{exp.name}: the model along {parameter} (others at the best trial)",
                      template="plotly_white", height=max(350, 230 * len(names)))
    return fig


def importance_data(
    exp: Experiment, *, models: Mapping[str, Any] | None = None, samples: int = 512
) -> pd.DataFrame:
    """How much each parameter moves each metric's model mean: the first-order Sobol index
    (share of the mean's variance over the search space explained by the parameter alone),
    estimated with Saltelli's pick-freeze scheme on ``samples`` quasi-random configs per
    parameter. One row per (metric, parameter); ``importance`` in [0, 1]."""
    import torch

    space = exp.search_space
    names = [n for n, p in space.parameters.items() if p.width > 0]
    if models is None:
        models = fit_each_metric(space, exp.trials(), exp.config.metrics, source=exp.target_source,
                                 seed=exp.seed, device=exp.device)
    engine = torch.quasirandom.SobolEngine(2 * space.dim, scramble=True, seed=exp.seed)
    AB = engine.draw(samples, dtype=torch.float64)
    A, B = AB[:, : space.dim], AB[:, space.dim:]
    # decode-encode snaps each row to a valid config (integers, one-hot choices)
    A, B = (space.encode(space.decode(M)) for M in (A, B))
    rows = []
    for metric, model in models.items():
        with torch.no_grad():
            fA = _mean(model, A.to(exp.device))
            fB = _mean(model, B.to(exp.device))
            variance = float(torch.cat([fA, fB]).var())
            for name in names:
                columns = space.columns_of(name)
                ABi = A.clone()
                ABi[:, columns] = B[:, columns]
                fABi = _mean(model, ABi.to(exp.device))
                first = float((fB * (fABi - fA)).mean()) / variance if variance > 0 else 0.0
                rows.append({"metric": metric, "parameter": name, "importance": min(max(first, 0.0), 1.0)})
    return pd.DataFrame(rows, columns=["metric", "parameter", "importance"])


def plot_importance(exp: Experiment, *, models: Mapping[str, Any] | None = None) -> go.Figure:
    """Parameter importance per metric (first-order Sobol indices of the model mean), as grouped bars."""
    data = importance_data(exp, models=models)
    fig = go.Figure([
        go.Bar(x=part["parameter"], y=part["importance"], name=str(metric),
               hovertemplate="%{x}: %{y:.2f} of the variance<extra>" + str(metric) + "</extra>")
        for metric, part in data.groupby("metric", sort=False)
    ])
    fig.update_layout(title=f"{exp.name}: parameter importance (share of each model mean's variance, first order)",
                      yaxis_title="first-order Sobol index", yaxis_range=[0, 1], barmode="group", template="plotly_white")
    return fig


def plot_parallel(exp: Experiment) -> go.Figure:
    """Parallel coordinates: every completed target-source trial as a line through its
    parameters and metrics, coloured by the first objective (choices on categorical axes)."""
    trials = [t for t in exp.trials(status=TrialStatus.COMPLETED, source=exp.target_source)]
    frame = trials_frame(trials, list(exp.search_space.parameters), exp.config.metrics)
    dimensions = []
    for name, p in exp.search_space.parameters.items():
        if p.width == 0:
            continue
        values = frame[name]
        if isinstance(p, Choice):  # one tick per value
            labels = [str(v) for v in p.values]
            index = {v: i for i, v in enumerate(p.values)}
            dimensions.append({"label": name, "values": [index[v] for v in values],
                               "tickvals": list(range(len(labels))), "ticktext": labels})
        elif isinstance(p, (Float, Int)):
            dimensions.append({"label": name, "values": values.astype(float), "range": [p.low, p.high]})
    for metric in exp.config.metrics:
        dimensions.append({"label": metric_label(exp, metric).split(",")[0], "values": frame[metric].astype(float)})
    first = exp.config.objectives[0]
    fig = go.Figure(go.Parcoords(
        dimensions=dimensions,
        line={"color": frame[first.metric].astype(float), "colorscale": "Viridis", "showscale": True,
              "reversescale": first.minimize, "colorbar": {"title": {"text": first.metric}}},
    ))
    fig.update_layout(title=f"{exp.name}: parameters and metrics of every {exp.target_source} trial "
                            f"(colour: {first.metric}, {'lower' if first.minimize else 'higher'} is better)",
                      template="plotly_white")
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
    """Every figure that applies to ``exp`` (for reports), with one model fit per metric
    shared by the calibration, slice and importance figures."""
    from adaptive.space import Float, Int

    logger.info("experiment %r: drawing figures", exp.name)
    out: dict[str, go.Figure] = {}
    has_data = bool(exp.trials(status=TrialStatus.COMPLETED, source=exp.target_source))
    models = None
    if has_data:
        logger.info("experiment %r: fitting %d metric model(s)", exp.name, len(exp.config.metrics))
        models = fit_each_metric(
            exp.search_space, exp.trials(), exp.config.metrics, source=exp.target_source, seed=exp.seed, device=exp.device
        )
    if len(exp.config.objectives) > 1 and has_data:
        out["Pareto front"] = plot_pareto(exp, models=models)
    out["Optimization trace"] = plot_trace(exp)
    if models is not None:
        out["Parallel coordinates"] = plot_parallel(exp)
        out["Leave-one-out predictions"] = plot_calibration(exp, models=models)
        out["Parameter importance"] = plot_importance(exp, models=models)
        names = list(parameters) or [n for n, p in exp.search_space.parameters.items() if isinstance(p, (Float, Int))][:3]
        for name in names:
            out[f"Slice: {name}"] = plot_slice(exp, name, models=models)
    if exp.export_versions():
        out["Exported distribution"] = plot_distribution(exp.exported())
    return out


__all__ = [
    "use_notebook_renderer", "calibration_data", "distribution_data", "figures", "importance_data", "metric_label", "pareto_data",
    "plot_calibration", "plot_distribution", "plot_importance", "plot_parallel", "plot_pareto", "plot_slice",
    "plot_trace", "slice_data", "trace_data",
]


def _mean(model: Any, X: Any) -> Any:
    """The posterior mean of a single-output model at ``X`` (``n x d``), as an ``n`` CPU tensor."""
    return model.posterior(X).mean.squeeze(-1).cpu()
