"""Static PNG images of plotly figures, for places where no JavaScript runs.

A notebook's plotly figure is JSON that a browser draws; GitHub's notebook view, e-mail and
some exporters show only images. Kaleido draws the PNG in a headless Chromium (Debian's
``chromium`` package, or Chrome). One Chromium is started on first use and kept for the
process: the first image costs seconds, later ones a fraction of one. Without a browser the
figures stay interactive-only and one warning says how to get the images. Kaleido's server
thread dies silently when its browser cannot start, and a call then waits forever; so the
browser is looked for first, and every drawing is given :data:`TIMEOUT_S` seconds.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
from typing import Any

from plotly.io.base_renderers import MimetypeRenderer

logger = logging.getLogger(__name__)

_state: dict[str, Any] = {"started": False, "failed": None}

# The first image starts Chromium (seconds); a figure takes a fraction of a second after.
TIMEOUT_S = 60.0


def _browser_path() -> str | None:
    """The Chromium-based browser kaleido would start, or None (kaleido's own search)."""
    if os.environ.get("BROWSER_PATH"):
        return os.environ["BROWSER_PATH"]
    from choreographer.browsers.chromium import Chromium

    return Chromium.find_browser(skip_local=False)


def _within_timeout(fn: Any, *args: Any, **kwargs: Any) -> Any:
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            result["error"] = exc

    worker = threading.Thread(target=run, daemon=True, name="adaptive-static-figure")
    worker.start()
    worker.join(TIMEOUT_S)
    if worker.is_alive():
        raise TimeoutError(f"the browser drew nothing in {TIMEOUT_S:g} s")
    if "error" in result:
        raise result["error"]
    return result["value"]


def to_png(fig_dict: dict[str, Any], *, width: int = 900, height: int = 500) -> bytes | None:
    """The figure as PNG bytes, or None where no browser can draw it (logged once)."""
    if _state["failed"] is not None:
        return None
    try:
        import kaleido

        if not _state["started"]:
            if _browser_path() is None:
                raise RuntimeError("no Chrome or Chromium found")
            # MathJax off: its default is a CDN script, and a page waiting for an unreachable
            # CDN never draws (no figure here uses LaTeX).
            kaleido.start_sync_server(mathjax=False, silence_warnings=True)
            _state["started"] = True
        layout = fig_dict.get("layout", {})
        opts = {"format": "png", "width": layout.get("width") or width, "height": layout.get("height") or height}
        return _within_timeout(kaleido.calc_fig_sync, fig_dict, opts=opts)
    except Exception as exc:  # noqa: BLE001 - no browser, or one that failed: images are a fallback
        _state["failed"] = f"{type(exc).__name__}: {exc}"
        logger.warning(
            "figures stay interactive-only (no static PNG beside them): %s. Install Chromium "
            "(apt install chromium) or run 'plotly_get_chrome' for images where JavaScript does not run.",
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        )
        return None


class StaticPNGRenderer(MimetypeRenderer):
    """A plotly renderer that adds ``image/png`` to a figure's output (nothing when it cannot)."""

    def to_mimebundle(self, fig_dict: dict[str, Any]) -> dict[str, str]:
        png = to_png(fig_dict)
        return {"image/png": base64.b64encode(png).decode()} if png else {}
