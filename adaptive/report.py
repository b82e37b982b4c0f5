"""A self-contained HTML report: every figure and the trial table, viewable offline."""

from __future__ import annotations

import html
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import plotly.io as pio

from adaptive.plots import figures

if TYPE_CHECKING:
    from adaptive.experiment import Experiment


def write_report(exp: Experiment, path: str | Path) -> Path:
    """Write ``path`` (one HTML file; plotly.js is embedded once, so it needs no network)."""
    parts = []
    for i, (title, fig) in enumerate(figures(exp).items()):
        parts.append(f"<h2>{html.escape(title)}</h2>")
        parts.append(pio.to_html(fig, full_html=False, include_plotlyjs=i == 0))
    table = exp.trials_frame().to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="", border=0)
    objectives = ", ".join(f"{'minimize' if o.minimize else 'maximize'} {o.metric}" for o in exp.config.objectives)
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    document = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(exp.name)} — adaptive report</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse;font-size:12px}}
td,th{{padding:2px 6px;border-bottom:1px solid #ddd}}</style></head>
<body><h1>{html.escape(exp.name)}</h1><p>{html.escape(objectives)}; report made {created}.</p>
{''.join(parts)}
<h2>Trials</h2>{table}
</body></html>"""
    out = Path(path)
    out.write_text(document)
    return out
