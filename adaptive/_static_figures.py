"""Static PNG images of plotly figures, for places where no JavaScript runs.

A notebook's plotly figure is JSON that a browser draws; GitHub's notebook view, e-mail and
some exporters show only images. Kaleido draws the PNG in a headless Chromium (Debian's
``chromium`` package, or Chrome). One Chromium is started on first use and kept for the
process: the first image costs seconds, later ones a fraction of one. Without a browser the
figures stay interactive-only and one warning says how to get the images.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from plotly.io.base_renderers import MimetypeRenderer

logger = logging.getLogger(__name__)

_state: dict[str, Any] = {"started": False, "failed": None}


def to_png(fig_dict: dict[str, Any], *, width: int = 900, height: int = 500) -> bytes | None:
    """The figure as PNG bytes, or None where no browser can draw it (logged once)."""
    if _state["failed"] is not None:
        return None
    try:
        import kaleido

        if not _state["started"]:
            # MathJax off: its default is a CDN script, and a page waiting for an unreachable
            # CDN never draws (no figure here uses LaTeX).
            kaleido.start_sync_server(mathjax=False, silence_warnings=True)
            _state["started"] = True
        layout = fig_dict.get("layout", {})
        opts = {"format": "png", "width": layout.get("width") or width, "height": layout.get("height") or height}
        return kaleido.calc_fig_sync(fig_dict, opts=opts)
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
