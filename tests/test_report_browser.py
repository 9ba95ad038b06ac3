"""Open the rendered example report in a real browser (headless Chromium via Playwright).

Uses Debian's ``chromium`` package (``apt-get install -y chromium``); Playwright's own
browser download (``playwright install``) is never used. Skipped, with the reason, when
either Playwright or the chromium executable is missing.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import pytest

from psychometrics.report.build import render_report
from report_example import build_example_context

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)"
)


@pytest.fixture(scope="module")
def browser_run(tmp_path_factory):
    """Load the report once; collect console messages, page errors, requests and outputs."""
    path: Path = tmp_path_factory.mktemp("browser") / "report.html"
    path.write_text(render_report(build_example_context()), encoding="utf-8")
    events: dict[str, list] = {"console": [], "pageerror": [], "requestfailed": [], "requests": []}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("console", lambda m: events["console"].append((m.type, m.text)))
            page.on("pageerror", lambda e: events["pageerror"].append(str(e)))
            page.on("requestfailed", lambda r: events["requestfailed"].append((r.url, r.failure)))
            page.on("request", lambda r: events["requests"].append(r.url))
            page.goto(path.as_uri(), wait_until="load")
            body_text = page.inner_text("body")
            svg_boxes = page.eval_on_selector_all(
                "figure svg", "els => els.map(e => [e.getBoundingClientRect().width, e.getBoundingClientRect().height])"
            )
            screenshot = page.screenshot(full_page=True)
            page.emulate_media(media="print")
            toc_display = page.eval_on_selector("nav.toc", "e => getComputedStyle(e).display")
            pdf = page.pdf(format="A4", print_background=True)
        finally:
            browser.close()
    return {"events": events, "uri": path.as_uri(), "text": body_text, "svg_boxes": svg_boxes,
            "screenshot": screenshot, "toc_print": toc_display, "pdf": pdf}


def test_no_console_errors_or_failed_requests(browser_run):
    events = browser_run["events"]
    assert [m for m in events["console"] if m[0] in ("error", "warning")] == []
    assert events["pageerror"] == []
    assert events["requestfailed"] == []
    # the only request is the document itself: no fonts, scripts, styles or images fetched
    assert events["requests"] == [browser_run["uri"]]


def test_page_is_not_blank(browser_run):
    from PIL import Image

    text = browser_run["text"]
    assert len(text) > 5000
    assert "Evidence Based on Internal Structure" in text
    assert '<script>alert("pwned")</script>' in text  # shown as text, not run
    image = Image.open(io.BytesIO(browser_run["screenshot"])).convert("RGB")
    assert image.height > 3000
    colours = image.resize((200, image.height // 20)).getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50


def test_figures_are_drawn(browser_run):
    boxes = browser_run["svg_boxes"]
    assert len(boxes) == 5
    assert all(w > 150 and h > 100 for w, h in boxes)


def test_print_layout(browser_run):
    assert browser_run["toc_print"] == "none"
    pdf = browser_run["pdf"]
    assert pdf.startswith(b"%PDF")
    # each of the 8 major sections (7 + references) starts on a new page
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))
    assert pages >= 8
