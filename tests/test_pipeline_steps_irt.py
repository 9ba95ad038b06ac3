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


def _calibrations_only(monkeypatch, threads: int, df: pd.DataFrame, scale: Scale):
    """The step's calibration loop (the later parts stubbed out) with ``threads`` subscale threads."""
    monkeypatch.setattr(step, "CONCURRENT_CALIBRATIONS", threads)
    monkeypatch.setattr(step, "_CONCURRENT_ROWS", 0)
    monkeypatch.setattr(step, "_dif", lambda *args, **kwargs: None)
    monkeypatch.setattr(step, "_lr_dif", lambda *args, **kwargs: {})
    monkeypatch.setattr(step, "_global_and_local_fit", lambda *args, **kwargs: ({}, {}))
    monkeypatch.setattr(importlib.import_module("psychometrics.irt.fit"), "item_fit", lambda *a, **k: pd.DataFrame())
    work = SimpleNamespace(items=df, group=None)
    opts = merge_options(None, {}, None)
    return step.irt_step(work, scale, opts, SimpleNamespace(non_invariant_items=(), result=None))


def test_concurrent_calibrations_equal_sequential(monkeypatch, recwarn):
    """issue 16: at large n the subscale calibrations run on two threads, each recording its own warnings
    (irt._data.recorded_warnings instead of the process-wide warnings.catch_warnings). Notes, diagnostics
    (extreme patterns, a redundant item), a failed calibration's note and every number are bit-identical to
    the one-thread run, and no PsychometricsWarning escapes the step."""
    from psychometrics.exceptions import PsychometricsWarning

    scale = Scale.from_yaml(ROOT / "scales" / "mentorship_supportiveness.yaml")
    df = simulate_study(load_study(default_study_path()), n=600, seed=5)
    subs = [list(scale.items_of(s.id)) for s in scale.subscales]
    df = df[[i for ids in subs for i in ids]].astype(float)
    df[subs[1][1]] = 6 - df[subs[1][0]]  # a reversed copy: the redundancy warning (a diagnostic)
    df[subs[2][0]] = 3.0  # one answer only: that subscale and the total cannot be calibrated (notes)
    one, two = (_calibrations_only(monkeypatch, t, df, scale) for t in (1, 2))
    assert one.notes == two.notes and one.diagnostics == two.diagnostics
    assert any("could not be calibrated" in n for n in one.notes)
    assert any("linearly dependent" in d.message for d in one.diagnostics)
    assert any("extreme response patterns" in d.message for d in one.diagnostics)
    assert one.calibrations.keys() == two.calibrations.keys() and len(one.calibrations) >= 3
    for sid, a in one.calibrations.items():
        b = two.calibrations[sid]
        pd.testing.assert_frame_equal(a.parameters, b.parameters, check_exact=True)
        pd.testing.assert_frame_equal(a.covariance, b.covariance, check_exact=True)
        assert (a.loglik, a.diagnostics, a.em_cycles, a.newton_steps) == (b.loglik, b.diagnostics, b.em_cycles,
                                                                          b.newton_steps)
        pd.testing.assert_frame_equal(one.sum_scores[sid], two.sum_scores[sid], check_exact=True)
    assert not [w for w in recwarn if issubclass(w.category, PsychometricsWarning)]


def test_recorded_warnings_are_the_warnings_of_calibrate():
    """The public calibrate warns as before; within recorded_warnings (this thread only) the same
    categories and messages are recorded instead, in the same order."""
    from psychometrics.irt import calibrate
    from psychometrics.irt._data import recorded_warnings

    df = simulate_study(load_study(default_study_path()), n=300, seed=1)
    scale = Scale.from_yaml(ROOT / "scales" / "mentorship_supportiveness.yaml")
    ids = list(scale.items_of(scale.subscales[0].id))
    data = df[ids].astype(float)
    data[ids[1]] = 6 - data[ids[0]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        calibrate(data, ids, "grm", categories={ids[2]: [1, 2, 3, 4, 5, 6]})
    issued = [(w.category, str(w.message)) for w in caught if w.category.__module__.startswith("psychometrics")]
    with warnings.catch_warnings(record=True) as caught2:
        warnings.simplefilter("always")
        with recorded_warnings() as recorded:
            calibrate(data, ids, "grm", categories={ids[2]: [1, 2, 3, 4, 5, 6]})
    assert len(issued) >= 2 and recorded == issued
    assert not [w for w in caught2 if w.category.__module__.startswith("psychometrics")]
