"""Custom report templates (--template DIR), re-rendering from results.json (`psychometrics
report`), and refusal of older or tampered results files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from psychometrics.exceptions import SpecError
from psychometrics.pipeline import demo
from psychometrics.report.render import CONTENT_SECURITY_POLICY
from psychometrics.report.serialize import RESULTS_FORMAT_VERSION, rerender

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "report-template"
FAST = {"n_boot": 0, "parallel_iter": 20}
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("templates") / "demo"
    demo(out, seed=4, n=300, quiet=True, options=FAST)
    return out


def test_rerendered_default_report_equals_the_written_one(run, tmp_path):
    again = rerender(run / "results.json", tmp_path / "again.html")
    # byte for byte: the timestamp is part of the stored report, so it is the same too
    assert again.read_text(encoding="utf-8") == (run / "report.html").read_text(encoding="utf-8")


def test_report_command(run, tmp_path):
    out = tmp_path / "cli.html"
    proc = subprocess.run([sys.executable, "-m", "psychometrics", "report", str(run / "results.json"), "--out",
                           str(out), "--template", str(EXAMPLE)], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    html = out.read_text(encoding="utf-8")
    assert "Psychometrie-Labor" in html and "Ethikvotum" in html and 'lang="de"' in html
    assert "Bericht zur Skalenvalidierung" in html and "<h2>Literatur</h2>" in html
    assert f'content="{CONTENT_SECURITY_POLICY}"' in html
    # the custom section order: internal structure before test content
    assert html.index('id="internal-structure"') < html.index('id="test-content"')
    # refuses to replace its output without --overwrite
    proc = subprocess.run([sys.executable, "-m", "psychometrics", "report", str(run / "results.json"), "--out",
                           str(out)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2 and "--overwrite" in proc.stderr and "Traceback" not in proc.stderr


def test_validate_with_template(tmp_path):
    res = demo(tmp_path / "d", seed=5, n=300, quiet=True, options=FAST, template=EXAMPLE)
    assert "Psychometrie-Labor" in res.html and f'content="{CONTENT_SECURITY_POLICY}"' in res.html


def test_template_that_drops_the_policy_is_refused(run, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "report.html.j2").write_text("<!DOCTYPE html><html><body>{{ title }}</body></html>", encoding="utf-8")
    with pytest.raises(SpecError, match="Content-Security-Policy"):
        rerender(run / "results.json", tmp_path / "x.html", template_dir=bad)


def test_templates_are_sandboxed_and_escaped(run, tmp_path):
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "report.html.j2").write_text(
        '{% extends "base_report.html.j2" %}{% block extra_sections %}'
        "{{ '<script>x</script>' }}{{ ''.__class__.__mro__[1].__subclasses__() }}{% endblock %}", encoding="utf-8")
    from jinja2.exceptions import SecurityError

    with pytest.raises(SecurityError):
        rerender(run / "results.json", tmp_path / "y.html", template_dir=evil)
    (evil / "report.html.j2").write_text(
        '{% extends "base_report.html.j2" %}{% block extra_sections %}{{ "<script>x</script>" }}{% endblock %}',
        encoding="utf-8")
    html = rerender(run / "results.json", tmp_path / "z.html", template_dir=evil).read_text(encoding="utf-8")
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html


def test_older_format_version_is_refused(run, tmp_path):
    data = json.loads((run / "results.json").read_text(encoding="utf-8"))
    data["format_version"] = 1
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SpecError) as err:
        rerender(old, tmp_path / "o.html")
    assert "version 1" in str(err.value) and f"version {RESULTS_FORMAT_VERSION}" in str(err.value)


def test_tampered_figure_is_refused(run, tmp_path):
    data = json.loads((run / "results.json").read_text(encoding="utf-8"))

    def poison(node):
        if isinstance(node, dict):
            if node.get("type") == "figure":
                node["svg"] = node["svg"].replace("<svg", '<svg onload="alert(1)"', 1)
                return True
            return any(poison(v) for v in node.values())
        return isinstance(node, list) and any(poison(v) for v in node)

    assert poison(data["report"])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SpecError, match="not a plain SVG"):
        rerender(bad, tmp_path / "b.html")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)")
def test_custom_template_renders_in_chromium(run, tmp_path):
    from playwright.sync_api import sync_playwright

    path = rerender(run / "results.json", tmp_path / "custom.html", template_dir=EXAMPLE)
    events = {"console": [], "pageerror": [], "requests": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("console", lambda m: events["console"].append((m.type, m.text)))
            page.on("pageerror", lambda e: events["pageerror"].append(str(e)))
            page.on("request", lambda r: events["requests"].append(r.url))
            page.goto(path.as_uri(), wait_until="load")
            text = page.inner_text("body")
            logo = page.eval_on_selector(".institution svg", "e => e.getBoundingClientRect().width")
            accent = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--accent')")
        finally:
            browser.close()
    shown = text.lower()  # the stylesheet sets some headings in capitals
    assert "psychometrie-labor" in shown and "ethikvotum" in shown and "inhalt" in shown
    assert logo > 0 and accent.strip() == "#7a1f3d"
    assert not events["pageerror"] and not [c for c in events["console"] if c[0] == "error"]
    assert events["requests"] == [path.as_uri()]  # the page itself, nothing else


def test_report_command_output_rules(run, tmp_path, capsys):
    """Issue 14, class 2 and 3 for `psychometrics report`: never onto its input (also not with
    --overwrite), existing report or tables.docx only with --overwrite (then named on stderr),
    and the file names it prints are terminal-safe."""
    from cli_runner import run_cli

    results = tmp_path / "results.json"
    shutil.copy(run / "results.json", results)
    before = results.read_bytes()
    code, out, err = run_cli(capsys, "report", results, "--out", results, "--overwrite")
    assert code == 2 and "input file" in err and results.read_bytes() == before
    out_file = tmp_path / "r\x1b]0;pwned\x07[red]x.html"
    (tmp_path / "tables.docx").write_text("mine")
    code, out, err = run_cli(capsys, "report", results, "--out", out_file, "--tables", "docx")
    assert code == 2 and "tables.docx" in err and "--overwrite" in err and not out_file.exists()
    assert (tmp_path / "tables.docx").read_text() == "mine"
    out_file.write_text("old")
    code, out, err = run_cli(capsys, "report", results, "--out", out_file, "--tables", "docx", "--overwrite")
    assert code == 0, err
    assert "Replaced existing file(s) (--overwrite)" in err and "tables.docx" in err
    assert "\x1b" not in out + err and "\x07" not in out + err and "[red]x.html" in out
    assert out_file.read_text(encoding="utf-8").startswith("<!DOCTYPE html>") or "<html" in out_file.read_text()
    assert not list(tmp_path.glob(".*.tmp*"))  # atomic writes leave no temporary files


def test_compiled_templates_cached_and_a_damaged_cache_is_ignored(tmp_path):
    """The report's environment keeps jinja2's compiled templates in a bytecode cache (compiling them cost
    ≈ 0.2 s per run); a damaged or unwritable cache entry only means compiling again."""
    import jinja2

    from psychometrics.report.render import environment

    cache_cls = type(environment(None).bytecode_cache)
    assert issubclass(cache_cls, jinja2.FileSystemBytecodeCache)
    loader = jinja2.DictLoader({"t.j2": "{% for i in range(n) %}{{ i }},{% endfor %}"})

    def render(cache):
        return jinja2.Environment(loader=loader, bytecode_cache=cache).get_template("t.j2").render(n=3)

    assert render(cache_cls(str(tmp_path))) == "0,1,2,"
    (entry,) = list(tmp_path.iterdir())
    assert render(cache_cls(str(tmp_path))) == "0,1,2,"  # from the cache
    entry.write_bytes(b"damaged")
    assert render(cache_cls(str(tmp_path))) == "0,1,2,"
    assert render(cache_cls(str(tmp_path / "missing" / "folder"))) == "0,1,2,"  # cannot write: compiled
