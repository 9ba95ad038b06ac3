"""The shipped scale files (scales/*.yaml): they load, and they are built as designed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from psychometrics.scale import Scale

ROOT = Path(__file__).resolve().parent.parent
SCALES = ROOT / "scales"
SCALE_FILES = sorted(p for p in SCALES.glob("*.yaml") if "study" not in p.name)
MSS = SCALES / "mentorship_supportiveness.yaml"


@pytest.fixture(scope="module")
def scales() -> dict[str, Scale]:
    loaded = [Scale.from_yaml(p) for p in SCALE_FILES]
    return {s.id: s for s in loaded}


@pytest.fixture(scope="module")
def mss(scales) -> Scale:
    return scales["mentorship_supportiveness"]


def test_scale_files_present():
    names = {p.stem for p in SCALE_FILES}
    assert {"mentorship_supportiveness", "self_efficacy", "coping", "wellbeing", "workspace"} <= names


@pytest.mark.parametrize("path", SCALE_FILES, ids=lambda p: p.stem)
def test_every_scale_file_loads(path):
    scale = Scale.from_yaml(path)
    assert scale.id == path.stem  # file name = scale id, so study files can find them
    assert len(scale.items) >= 4
    assert scale.construct.strip()


def test_item_ids_unique_across_scales(scales):
    # Item ids are the column names of a study's data file.
    ids = [it.id for s in scales.values() for it in s.items]
    assert len(ids) == len(set(ids))


def test_mentorship_pool_design(mss):
    assert 24 <= len(mss.items) <= 30
    assert mss.response_format.min == 1 and mss.response_format.max == 5
    assert set(mss.response_format.labels) == {1, 2, 3, 4, 5}
    facets = [s.id for s in mss.subscales]
    assert facets == ["encouragement", "feedback", "safety", "growth", "non_supportive"]
    counts = {f: sum(it.subscale == f for it in mss.items) for f in facets}
    assert all(5 <= c <= 6 for c in counts.values()), counts
    # exactly the non-supportive items are reverse-keyed
    assert {it.id for it in mss.items if it.reverse} == {
        it.id for it in mss.items if it.subscale == "non_supportive"
    }
    assert mss.hierarchy is not None and set(mss.hierarchy.subscales) == set(facets)
    assert mss.scoring.method == "mean" and mss.scoring.min_answered == 0.8
    assert mss.scoring.total


def test_mentorship_items_are_well_formed(mss):
    texts = [it.text for it in mss.items]
    assert len(set(t.lower() for t in texts)) == len(texts)
    for it in mss.items:
        # mentee perspective, one sentence, short, no double-barrel conjunctions
        assert it.text.startswith(("My mentor ", "I ")), it.id
        assert it.text.endswith(".") and it.text.count(".") == 1, it.id
        assert len(it.text.split()) <= 14, it.id
        assert not re.search(r"\b(and|or)\b", it.text), it.id


def test_companion_measures_design(scales):
    se, cop, wb, env = (scales[k] for k in ("self_efficacy", "coping", "wellbeing", "workspace"))
    assert [s.id for s in cop.subscales] == [
        "problem_solving", "stress_management", "emotion_regulation", "avoidance", "rumination",
    ]
    assert not cop.scoring.total  # adaptive and maladaptive coping are not one dimension
    assert [s.id for s in wb.subscales] == ["depression", "anxiety"]
    assert (wb.response_format.min, wb.response_format.max) == (0, 3)
    for s in (se, cop, wb, env):
        for sub in s.subscales:
            assert 4 <= sum(it.subscale == sub.id for it in s.items) <= 6, (s.id, sub.id)
        # each subscale may lose one item and still be scored
        smallest = min(sum(it.subscale == sub.id for it in s.items) for sub in s.subscales)
        assert (smallest - 1) / smallest >= s.scoring.min_answered - 1e-12, s.id


def test_validity_hypotheses_reference_existing_measures(mss, scales):
    own = {"total", *(s.id for s in mss.subscales)}
    for h in mss.validity:
        assert h.scale_score in own, h.id
        assert h.measure in scales, h.id
        companion = scales[h.measure]
        allowed = {s.id for s in companion.subscales} | ({"total"} if companion.scoring.total else set())
        assert h.measure_score in allowed, h.id
    if hasattr(mss, "check_companions"):
        mss.check_companions({k: v for k, v in scales.items() if k != mss.id})


def test_validity_hypotheses_as_designed(mss):
    hyp = {(h.measure, h.measure_score): h for h in mss.validity if h.scale_score == "total"}
    se = hyp[("self_efficacy", "total")]
    assert (se.kind, se.direction, se.min_abs_r) == ("convergent", "positive", 0.30)
    for sub in ("problem_solving", "stress_management", "emotion_regulation"):
        assert hyp[("coping", sub)].direction == "positive"
    for sub in ("avoidance", "rumination"):
        assert hyp[("coping", sub)].direction == "negative"
    for sub in ("depression", "anxiety"):
        assert hyp[("wellbeing", sub)].direction == "negative"
    disc = [h for h in mss.validity if h.kind == "discriminant"]
    assert disc and all(h.max_abs_r is not None and h.max_abs_r <= 0.30 for h in disc)


def test_installed_layout_finds_embedded_study(tmp_path):
    """Mimic an installed wheel: scales/ shipped as package data of psychometrics.scales."""
    site = tmp_path / "site"
    shutil.copytree(
        ROOT / "psychometrics", site / "psychometrics",
        ignore=shutil.ignore_patterns("__pycache__", "*.csv"),
    )
    target = site / "psychometrics" / "scales"
    target.mkdir()
    for p in SCALES.iterdir():
        if p.suffix in (".yaml", ".py"):
            shutil.copy(p, target / p.name)
    code = (
        "from psychometrics.simulate import default_study_path, simulate_study\n"
        "p = default_study_path()\n"
        "import psychometrics.scales, importlib.resources as r\n"
        "assert r.files('psychometrics.scales').joinpath(p.name).is_file()\n"
        "print(p)\n"
        "print(simulate_study(n=30, seed=1).shape)\n"
    )
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    path, shape = out.stdout.strip().splitlines()
    assert Path(path).resolve() == (target / "mentorship_study.yaml").resolve()
    assert shape == "(30, 71)"
