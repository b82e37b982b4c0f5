"""Pages as a person sees them: headless Chromium (Debian's ``chromium`` package) loads an
HTML file, runs its JavaScript, and returns the DOM it built and the console's errors.

Without Chromium these checks skip locally and fail under CI (``.ci/run`` installs it)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"]


@dataclass
class Page:
    dom: str
    console_errors: list[str]

    def figures(self) -> int:
        """Plotly figures drawn: each has one ``plot-container`` holding its SVG."""
        return len(re.findall(r'class="plot-container plotly"', self.dom))


def browser() -> str:
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("no Chromium; CI must check pages in a browser (.ci/run installs Debian's chromium)")
        pytest.skip("page checks need Chromium (apt install chromium)")
    return found


def open_page(path: Path, *, budget_ms: int = 8000) -> Page:
    """Load ``path`` in headless Chromium, let its scripts run for ``budget_ms`` of virtual time."""
    result = subprocess.run(
        [browser(), *FLAGS, "--enable-logging=stderr", "--v=0", f"--virtual-time-budget={budget_ms}",
         "--dump-dom", path.resolve().as_uri()],
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines()
              if ":CONSOLE" in line and re.search(r"Uncaught|\bError\b|is not defined", line)]
    return Page(result.stdout, errors)


def screenshot(path: Path, out: Path, *, width: int = 1200, height: int = 900) -> Path:
    """A PNG of the page's first ``width x height`` pixels."""
    subprocess.run(
        [browser(), *FLAGS, f"--window-size={width},{height}", "--virtual-time-budget=8000",
         f"--screenshot={out.resolve()}", path.resolve().as_uri()],
        capture_output=True, text=True, timeout=180, check=True,
    )
    return out
