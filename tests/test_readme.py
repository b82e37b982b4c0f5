"""The README's Python example runs as written."""

import re
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the example writes sqlite:///adaptive.db in the working directory
    monkeypatch.delenv("ADAPTIVE_DATABASE_URL", raising=False)
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    exp = namespace["exp"]
    assert len(exp.trials()) == 11 and namespace["arm"].name in {a.name for a in namespace["dist"].arms}
