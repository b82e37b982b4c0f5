"""Every Python code block in docs/ runs, file by file, in a fresh directory and database."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).parent.parent / "docs"
FILES = sorted(p for p in DOCS.glob("*.md") if "```python" in p.read_text())


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_python_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ADAPTIVE_DATABASE_URL", f"sqlite:///{tmp_path}/docs.db")
    namespace: dict = {}
    for i, block in enumerate(re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)):
        exec(compile(block, f"{path.name}[block {i}]", "exec"), namespace)


def test_every_doc_with_code_is_covered():
    assert {p.name for p in FILES} >= {"optimization.md", "serving.md", "bandits.md"}
