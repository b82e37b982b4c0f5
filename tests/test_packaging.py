"""The built wheel holds the whole package: every module (packages are found, not listed),
the Alembic revisions and their template, and the typing marker."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def test_the_wheel_holds_every_module_and_the_migrations(tmp_path):
    setuptools = pytest.importorskip("setuptools", reason="building the wheel without network needs setuptools installed")
    if int(setuptools.__version__.split(".")[0]) < 68:  # pyproject's [build-system] requirement
        pytest.skip(f"setuptools {setuptools.__version__} is older than the build needs (68)")
    source = tmp_path / "source"  # a copy: the build leaves its build/ folder beside pyproject.toml
    shutil.copytree(ROOT / "adaptive", source / "adaptive", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(source)],
        check=True, capture_output=True, cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("adaptive_experiments-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {str(p.relative_to(ROOT)) for p in (ROOT / "adaptive").rglob("*.py")}
    assert expected - names == set()
    assert {"adaptive/py.typed", "adaptive/storage/migrations/script.py.mako"} <= names
    assert any(n.startswith("adaptive/storage/migrations/versions/0001_") for n in names)
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)
