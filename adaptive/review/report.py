"""A self-contained HTML report: every figure and the trial table, viewable offline."""

from __future__ import annotations

import html
import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import plotly.io as pio

from adaptive.review.plots import figures

if TYPE_CHECKING:
    from adaptive.experiment import Experiment

logger = logging.getLogger(__name__)

# How to read each figure, under its title (figures whose title starts with the key).
CAPTIONS = {
    "Pareto front": "Each trial by its observed objectives (±1 sem); blue: feasible and beating every threshold, "
                    "orange: missing a threshold, grey: breaking an outcome constraint. The steps bound the region "
                    "the observed frontier dominates; the dashed line is the frontier by model predictions (±2 sem).",
    "Optimization trace": "Best feasible value (one objective) or hypervolume (several) of each source's trials so "
                          "far; sources measure different things, so compare each line with itself.",
    "Parallel coordinates": "Every completed trial as a line through its parameters and metrics; drag along an "
                            "axis to select a range.",
    "Leave-one-out predictions": "Each trial predicted by the model from every other trial: points near the "
                                 "identity line are results the model could have predicted without seeing them.",
    "Parameter importance": "Share of each metric's model-mean variance over the search space explained by each "
                            "parameter alone (first-order Sobol index).",
    "Slice": "The model along one parameter, the others at the best trial, with a ±2 sem band; dotted: thresholds "
             "and constraint bounds.",
    "Exported distribution": "The newest published export: the share of members each config gets.",
}


def write_report(exp: Experiment, path: str | Path) -> Path:
    """Write ``path`` (one HTML file; plotly.js is embedded once, so it needs no network).

    Progress (figures drawn, the file written) is logged at INFO under ``adaptive.review.report``.
    """
    start = time.perf_counter()
    logger.info("report for %r: drawing figures", exp.name)
    parts = []
    for i, (title, fig) in enumerate(figures(exp).items()):
        parts.append(f"<h2>{html.escape(title)}</h2>")
        caption = next((text for key, text in CAPTIONS.items() if title.startswith(key)), None)
        if caption:
            parts.append(f'<p class="caption">{html.escape(caption)}</p>')
        parts.append(pio.to_html(fig, full_html=False, include_plotlyjs=i == 0))
    table = exp.trials_frame().to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="", border=0)
    units = exp.config.units
    objectives = ", ".join(
        f"{'minimize' if o.minimize else 'maximize'} {o.metric}" + (f" [{units[o.metric]}]" if o.metric in units else "")
        for o in exp.config.objectives
    )
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    document = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(exp.name)} — adaptive report</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse;font-size:12px}}
td,th{{padding:2px 6px;border-bottom:1px solid #ddd}} .caption{{color:#555;max-width:60em}}</style></head>
<body><h1>{html.escape(exp.name)}</h1><p>{html.escape(objectives)}; report made {created}.</p>
{''.join(parts)}
<h2>Trials</h2>{table}
</body></html>"""
    out = Path(path)
    out.write_text(document)
    logger.info("report for %r: %s written in %.1fs", exp.name, out, time.perf_counter() - start)
    return out
