"""Open the pipeline's own report (a small simulated study) in headless Chromium.

Same set-up as ``tests/test_report_browser.py`` (Debian's chromium driven by Playwright;
skipped with the reason when either is missing): no console errors, no requests besides
the document, a non-blank page with every figure drawn, and escaped user text.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from test_report_browser import ARGS, CHROMIUM, sync_api  # skips this module like that one

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def page_run(tmp_path_factory):
    from psychometrics.pipeline import validate
    from psychometrics.simulate import simulate_study, write_table

    tmp = tmp_path_factory.mktemp("pipeline_browser")
    data = write_table(simulate_study(None, n=240, seed=5), tmp / "responses.csv")
    validate(ROOT / "scales" / "mentorship_supportiveness.yaml", data, group="career_stage", id_column="id",
             out=tmp / "out", quiet=True, options={"n_boot": 0, "parallel_iter": 20})
    path = tmp / "out" / "report.html"
    events: dict[str, list] = {"console": [], "pageerror": [], "requests": []}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("console", lambda m: events["console"].append((m.type, m.text)))
            page.on("pageerror", lambda e: events["pageerror"].append(str(e)))
            page.on("request", lambda r: events["requests"].append(r.url))
            page.goto(path.as_uri(), wait_until="load")
            text = page.inner_text("body")
            boxes = page.eval_on_selector_all(
                "figure svg", "els => els.map(e => [e.getBoundingClientRect().width, e.getBoundingClientRect().height])")
            shot = page.screenshot(full_page=True)
        finally:
            browser.close()
    return {"events": events, "uri": path.as_uri(), "text": text, "boxes": boxes, "shot": shot}


def test_pipeline_report_loads_cleanly(page_run):
    ev = page_run["events"]
    assert [m for m in ev["console"] if m[0] in ("error", "warning")] == []
    assert ev["pageerror"] == []
    assert ev["requests"] == [page_run["uri"]]


def test_pipeline_report_is_not_blank(page_run):
    from PIL import Image

    text = page_run["text"]
    for heading in ("Executive Summary", "Evidence Based on Internal Structure", "Data Quality", "Provenance",
                    "Confirmatory Factor Analysis", "Validity Hypotheses"):
        assert heading in text
    assert len(page_run["boxes"]) >= 4  # responses, scree, loadings, path diagram (+ invariance)
    assert all(w > 150 and h > 100 for w, h in page_run["boxes"])
    image = Image.open(io.BytesIO(page_run["shot"])).convert("RGB")
    assert image.height > 5000
