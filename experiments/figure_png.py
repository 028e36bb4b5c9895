"""Save a plotly figure as a PNG that a README can show, rendered by headless Chromium.

plotly's own image export needs kaleido, which is not a dependency; Playwright and Debian's
chromium are already what the report tests use. The page is written with plotly.js inline, so
nothing is fetched.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip


def save_png(figure, path: Path, width: int = 1000, height: int = 520) -> None:
    """Render `figure` (a plotly Figure) at width x height CSS pixels into `path`."""
    from playwright.sync_api import sync_playwright

    figure = figure.update_layout(width=width, height=height)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        page_file = Path(folder) / "figure.html"
        figure.write_html(page_file, include_plotlyjs=True, full_html=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": width + 20, "height": height + 20})
            page.goto(page_file.as_uri())
            page.wait_for_selector(".main-svg")
            page.locator(".plotly-graph-div").screenshot(path=str(path))
            browser.close()
