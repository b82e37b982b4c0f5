"""The notebooks run top to bottom (nbclient) against databases the test creates."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from adaptive.demo import run_demo

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


def execute(name: str, tmp_path, monkeypatch) -> nbformat.NotebookNode:
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code"), "outputs must be stripped in the repository"
    NotebookClient(book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    return book


@pytest.fixture
def database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/notebook.db"
    monkeypatch.setenv("ADAPTIVE_DATABASE_URL", url)
    return url


def test_quickstart(database, tmp_path, monkeypatch):
    book = execute("quickstart.ipynb", tmp_path, monkeypatch)
    assert any("plotly" in str(o.get("data", {})) for c in book.cells for o in c.get("outputs", []))


def test_pareto_review(database, tmp_path, monkeypatch):
    run_demo(database, rounds=4, batch=4)
    book = execute("pareto_review.ipynb", tmp_path, monkeypatch)
    text = "".join(str(o.get("text", "")) for c in book.cells for o in c.get("outputs", []))
    assert "export version 1" in text


def test_online_offline(database, tmp_path, monkeypatch):
    from adaptive.demo import run_online_offline_demo

    run_online_offline_demo(database, rounds=3)
    book = execute("online_offline.ipynb", tmp_path, monkeypatch)
    text = "".join(str(o.get("text", "")) for c in book.cells for o in c.get("outputs", []))
    assert "multi-task model;" in text or "bias-corrected model;" in text
    assert "online LOO RMSE" in text and "bias (online - simulator)" in text
    assert sum("plotly" in str(o.get("data", {})) for c in book.cells for o in c.get("outputs", [])) >= 3
