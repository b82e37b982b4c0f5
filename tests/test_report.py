"""``adaptive report`` as a person opens it: written by the CLI, drawn by headless Chromium."""

import re
import subprocess
import sys

from adaptive.demo import run_demo
from tests.browser import open_page


def test_report_draws_every_figure_in_a_browser(tmp_path):
    url = f"sqlite:///{tmp_path}/demo.db"
    exp, _ = run_demo(url, rounds=3, batch=4)
    exp.export_distribution(prefer="engagement", top_k=3)
    out = tmp_path / "report.html"
    result = subprocess.run([sys.executable, "-m", "adaptive", "report", exp.name, "-o", str(out), "--storage", url],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "drawing figures" in result.stderr and "written in" in result.stderr  # progress, with timestamps
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", result.stderr, re.MULTILINE)
    titles = re.findall(r"<h2>([^<]+)</h2>", out.read_text())
    figures = [t for t in titles if t != "Trials"]
    assert {"Pareto front", "Leave-one-out predictions", "Parameter importance", "Parallel coordinates",
            "Exported distribution"} <= set(figures)
    page = open_page(out)
    assert page.console_errors == []
    assert page.figures() == len(figures)
    assert "engagement [% lift], higher is better" in page.dom  # axis titles drawn into the SVG
