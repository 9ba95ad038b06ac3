"""The IRT step's large-n path (issue 16): above ``_PATTERNS_ABOVE`` rows S-X², M2/C2, LD and the
ordinal DIF run on each subscale's distinct (pattern[, group]) rows with counts. Here the threshold is
lowered to 0 on the demo study at n = 1,500 and every table is compared with the row path:
identical, except Q3 and the M2 moments (weighted sums: 1e-10 relative)."""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from psychometrics.pipeline.options import merge_options
from psychometrics.pipeline.steps import irt as step
from psychometrics.scale import Scale
from psychometrics.simulate import default_study_path, load_study, simulate_study

ROOT = Path(__file__).resolve().parents[1]


def _run(monkeypatch, above: int):
    monkeypatch.setattr(step, "_PATTERNS_ABOVE", above)
    monkeypatch.setattr(step, "_DISTINCT_SHARE", 1.0)  # (n = 1,500: about 1,000 distinct (pattern, group) rows)
    # the row path as it runs at large n: EAP θ̂ once per distinct pattern (scores._DISTINCT_ABOVE), then per row
    monkeypatch.setattr(importlib.import_module("psychometrics.irt.scores"), "_DISTINCT_ABOVE", 0)
    monkeypatch.setattr(step, "_lr_dif", lambda *args, **kwargs: {})  # (multi-group LR DIF: not on this path)
    scale = Scale.from_yaml(ROOT / "scales" / "mentorship_supportiveness.yaml")
    df = simulate_study(load_study(default_study_path()), n=1500, seed=3)
    ids = [i for s in scale.subscales for i in scale.items_of(s.id)]
    work = SimpleNamespace(items=df[ids].astype(float), group=df["career_stage"])
    opts = merge_options(None, {"group": "career_stage"}, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return step.irt_step(work, scale, opts, SimpleNamespace(non_invariant_items=(), result=None))


def test_pattern_path_equals_row_path(monkeypatch):
    rows, fast = _run(monkeypatch, 10**9), _run(monkeypatch, 0)
    pd.testing.assert_frame_equal(fast.dif, rows.dif, check_exact=True)
    assert fast.item_fit.keys() == rows.item_fit.keys() and fast.local_dependence.keys() == rows.local_dependence.keys()
    for sid in rows.item_fit:
        pd.testing.assert_frame_equal(fast.item_fit[sid], rows.item_fit[sid], check_exact=True)
        a, b = fast.local_dependence[sid], rows.local_dependence[sid]
        pd.testing.assert_frame_equal(a.drop(columns=["q3", "q3_star"]), b.drop(columns=["q3", "q3_star"]),
                                      check_exact=True)
        np.testing.assert_allclose(a[["q3", "q3_star"]], b[["q3", "q3_star"]], rtol=1e-10, atol=1e-13)
        for key, value in rows.global_fit[sid].items():
            if isinstance(value, float):
                assert fast.global_fit[sid][key] == pytest.approx(value, rel=1e-10)


def test_sampled_se_information_is_a_note_of_the_step(monkeypatch):
    """issue 16: the method change above calibrate.SE_ROWS distinct patterns (the SEs' missing information
    from a subsample of respondents) is shown in the report through the step's notes."""
    monkeypatch.setattr(importlib.import_module("psychometrics.irt.calibrate"), "SE_ROWS", 500)
    res = _run(monkeypatch, 10**9)
    notes = [n for n in res.notes if "standard errors:" in n]
    assert notes and all("fixed random 500 of the 1,500 respondents" in n for n in notes)
    assert any(n.startswith("total: ") for n in notes)
