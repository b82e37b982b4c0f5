"""Make the pictures in docs/review.md: the demo experiment's report, drawn by headless Chromium.

    python scripts/report_pictures.py      (about a minute; needs Chromium: apt install chromium)
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "images"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
         "--virtual-time-budget=8000"]


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from adaptive.demo import run_demo
    from adaptive.review.report import write_report

    browser = next((p for n in ("chromium", "chromium-browser", "google-chrome") if (p := shutil.which(n))), None)
    if browser is None:
        print("needs Chromium (apt install chromium)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        exp, _ = run_demo(f"sqlite:///{folder}/demo.db", rounds=5, batch=4)
        exp.export_distribution(prefer="engagement", constraints=["cpu_ms <= 100"], top_k=5)
        report = write_report(exp, Path(folder) / "report.html")
        DOCS.mkdir(parents=True, exist_ok=True)
        out = DOCS / "report.png"
        subprocess.run([browser, *FLAGS, "--window-size=1200,1500", f"--screenshot={out}", report.as_uri()],
                       check=True, capture_output=True)
        logging.info("wrote %s", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
