"""The notebooks as a person runs them: each copied to an empty folder, executed there by
Jupyter's own ``nbconvert --to html --execute`` (no demo run beforehand, no database set),
every figure checked in the HTML and, for one notebook, drawn by headless Chromium."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.browser import open_page

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
PLOT_CALL = re.compile(r"ad\.plots\.plot_\w+\(|^fig$", re.MULTILINE)


def run_notebook(name: str, folder: Path) -> tuple[str, dict]:
    """Execute ``name`` in ``folder`` with nbconvert; the HTML text and the executed notebook."""
    source = json.loads((NOTEBOOKS / name).read_text())
    assert all(not c.get("outputs") for c in source["cells"] if c["cell_type"] == "code"), \
        "outputs must be stripped in the repository"
    shutil.copy(NOTEBOOKS / name, folder / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADAPTIVE_")}
    jupyter = [sys.executable, "-m", "nbconvert", "--execute", "--ExecutePreprocessor.timeout=600"]
    result = subprocess.run([*jupyter, "--to", "notebook", "--output", "executed.ipynb", name],
                            cwd=folder, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    html = subprocess.run([sys.executable, "-m", "nbconvert", "--to", "html", "executed.ipynb"],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert html.returncode == 0, html.stderr[-3000:]
    return (folder / "executed.html").read_text(), json.loads((folder / "executed.ipynb").read_text())


def check_every_figure_is_rendered(html: str, executed: dict) -> int:
    """Each figure cell has the interactive figure, its HTML for exports and a PNG for viewers
    without JavaScript, and the exported HTML draws it (no 'not able to be represented')."""
    assert "not able to be represented" not in html
    figure_cells = [c for c in executed["cells"] if c["cell_type"] == "code" and PLOT_CALL.search("".join(c["source"]))]
    assert figure_cells
    for cell in figure_cells:
        bundles = [o.get("data", {}) for o in cell["outputs"] if "application/vnd.plotly.v1+json" in o.get("data", {})]
        assert len(bundles) == 1, "".join(cell["source"])
        assert {"text/html", "image/png"} <= set(bundles[0]), (sorted(bundles[0]), "".join(cell["source"]))
    assert html.count('class="plotly-graph-div"') == len(figure_cells)
    return len(figure_cells)


def test_pareto_review_from_a_fresh_folder(tmp_path):
    html, executed = run_notebook("pareto_review.ipynb", tmp_path)
    figures = check_every_figure_is_rendered(html, executed)
    text = "".join(str(o.get("text", "")) for c in executed["cells"] for o in c.get("outputs", []))
    assert "preview of" in text and "published versions: []" in text  # review does not publish
    assert (tmp_path / "notebook-demo.db").exists()
    page = open_page(tmp_path / "executed.html")
    assert page.console_errors == []
    assert page.figures() == figures


def test_online_offline_from_a_fresh_folder(tmp_path):
    html, executed = run_notebook("online_offline.ipynb", tmp_path)
    assert check_every_figure_is_rendered(html, executed) >= 3
    text = "".join(str(o.get("text", "")) for c in executed["cells"] for o in c.get("outputs", []))
    assert "multi-task model;" in text or "bias-corrected model;" in text
    assert "online LOO RMSE" in text and "bias (online - simulator)" in text


def test_quickstart_from_a_fresh_folder(tmp_path):
    html, executed = run_notebook("quickstart.ipynb", tmp_path)
    assert check_every_figure_is_rendered(html, executed) == 1
    assert (tmp_path / "adaptive.db").exists()  # the quickstart uses the default database, here
