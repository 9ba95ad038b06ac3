"""Short form selection, re-validation and the `shorten` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.irt import calibrate, information
from psychometrics.irt.shortform import levy_corrected_r, select_items, short_form, short_scale_spec
from psychometrics.irt.simulate import simulate_responses
from psychometrics.scale import Scale

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sim():
    a = np.array([0.6, 2.2, 1.0, 1.8, 0.8, 1.4])
    c = -a[:, None] * np.array([-1.0, 0.0, 1.0])
    data = simulate_responses(a, c, 1500, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return data, calibrate(data)


def test_greedy_selection_follows_information(sim):
    _, cal = sim
    chosen, table, notes = select_items(cal, 3)
    assert chosen == ["I02", "I04", "I06"]  # the three largest slopes, in order of information
    assert list(table.loc[chosen, "step"]) == [1, 2, 3]
    assert table["marginal_reliability_after"].dropna().is_monotonic_increasing
    # the marginal reliability after step 3 is that of the three items' information
    info = information(cal, cal.nodes)[chosen].sum(axis=1).to_numpy()
    assert table.loc["I06", "marginal_reliability_after"] == pytest.approx(1 - np.sum(cal.weights / (info + 1)))
    assert notes == []


def test_exclusions_and_min_reliability(sim):
    _, cal = sim
    chosen, table, _ = select_items(cal, 2, exclude={"I02": "DIF class C"})
    assert "I02" not in chosen and table.loc["I02", "excluded"] == "DIF class C"
    more, _, _ = select_items(cal, 2, min_reliability=0.8)
    assert len(more) > 2
    few, _, notes = select_items(cal, 3, exclude={i: "S-X² misfit" for i in cal.items[:5]})
    assert len(few) == 3 and "taken back" in notes[0]


def test_levy_identity():
    """Short form = full form: the corrected correlation is the short form's reliability."""
    rng = np.random.default_rng(0)
    s = pd.Series(rng.standard_normal(200))
    raw, corr = levy_corrected_r(s, s, 0.8)
    assert raw == pytest.approx(1.0) and corr == pytest.approx(0.8)


def test_short_form_revalidates_on_validation_rows(sim):
    data, _ = sim
    idx = data.index
    res = short_form(data, {"f": list(data.columns)}, idx[:750], idx[750:], per_subscale=3)
    rv = res.revalidation
    assert rv.loc["f", "items_short"] == 3 and rv.loc["f", "items_full"] == 6
    assert 0 < rv.loc["f", "alpha_short"] < 1 and 0 < rv.loc["f", "alpha_full"] < 1
    assert rv.loc["f", "r_short_full_corrected"] < rv.loc["f", "r_short_full"] < 1
    assert res.n_calibration == 750 and res.n_validation == 750


def test_short_scale_spec_is_a_valid_new_version():
    scale = Scale.from_yaml(ROOT / "scales" / "mentorship_supportiveness.yaml")
    chosen = {s.id: scale.items_of(s.id)[:2] for s in scale.subscales}
    spec = short_scale_spec(scale, chosen)
    new = Scale.from_dict(spec)
    assert new.version.split(".")[0] == str(int(scale.version.split(".")[0]) + 1)
    assert len(new.items) == 2 * len(scale.subscales)
    assert new.content_hash != scale.content_hash


def test_shorten_command(tmp_path):
    from psychometrics.simulate import default_study_path, load_study, simulate_study, write_table

    study = load_study(default_study_path())
    df = simulate_study(study, n=300, seed=1)
    data = write_table(df, tmp_path / "responses.csv")
    scale = study.scale_files[study.scale.id]
    out = tmp_path / "short"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "psychometrics", "shorten", str(scale), str(data), "--per-subscale",
                          "2", "--id-column", "id", "--group", "career_stage", "--out", str(out)],
                         capture_output=True, text=True, env=env,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    spec = Scale.from_yaml(out / "mentorship_supportiveness_short.yaml")
    assert len(spec.items) == 2 * len(spec.subscales) and spec.version == "2.0.0"
    res = json.loads((out / "shortform.json").read_text(encoding="utf-8"))
    assert res["provenance"]["source_scale"]["id"] == "mentorship_supportiveness"
    assert len(res["provenance"]["data_sha256"]) == 64
    assert "Re-validation" in (out / "report.html").read_text(encoding="utf-8")
    # invariance across --group on the validation sample (Likert items: the categorical ladder)
    assert res["invariance_method"] in ("WLSMV", "ML") and res["invariance"]["index"][0] == "configural"
    assert res["invariance_level"] and "Measurement invariance of the short form" in (out / "report.html").read_text(
        encoding="utf-8")


def _grouped_short_form(sim, **kwargs):
    """The short form of the simulated data with a two-level group; the model and validation rows
    (with the group as column ``g``) for the reference ladder."""
    from psychometrics.cfa import models

    data, _ = sim
    idx = data.index
    group = pd.Series(np.where(np.arange(len(data)) % 3 == 0, "a", "b"), index=idx, name="grp")
    subs = {"f": list(data.columns[:3]), "h": list(data.columns[3:])}
    res = short_form(data, subs, idx[:750], idx[750:], per_subscale=2, group=group, **kwargs)
    frame = data.loc[idx[750:], [i for v in res.items.values() for i in v]].assign(g=group.loc[idx[750:]])
    return res, models.correlated_factors({k: list(v) for k, v in res.items.items()}), frame


def test_short_form_invariance_reuses_the_invariance_module_on_validation_rows(sim):
    """With a group, the short form's invariance ladder is psychometrics.invariance's on the validation rows."""
    from psychometrics.invariance import measurement_invariance

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res, model, frame = _grouped_short_form(sim)
        ref = measurement_invariance(model, frame, "g")
    assert list(res.invariance.index) == list(ref.table.index)
    np.testing.assert_allclose(res.invariance["chisq"], ref.table["chisq"], rtol=1e-10)
    np.testing.assert_allclose(res.invariance["cfi"], ref.table["cfi"], rtol=1e-10)
    assert res.invariance_level.split(" ")[0] == ref.level
    data, _ = sim
    subs = {"f": list(data.columns[:3]), "h": list(data.columns[3:])}
    no_group = short_form(data, subs, data.index[:750], data.index[750:], per_subscale=2)
    assert no_group.invariance is None  # no group: not assessed


def test_short_form_invariance_of_ordinal_items_is_the_categorical_ladder(sim):
    """ordinal=True: the WLSMV ladder of psychometrics.invariance.categorical_invariance on the validation rows."""
    from psychometrics.invariance import categorical_invariance

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res, model, frame = _grouped_short_form(sim, ordinal=True)
        ref = categorical_invariance(model, frame, "g", empty_categories="collapse")
    assert res.invariance_method == "WLSMV"
    assert list(res.invariance.index) == list(ref.table.index) and res.invariance.index[1] == "thresholds"
    np.testing.assert_allclose(res.invariance["chisq"], ref.table["chisq"], rtol=1e-10)
    assert res.invariance_level.split(" ")[0] == ref.level


def test_short_form_report_part_without_result_or_group(sim):
    """The report subsection says why there is no short form, and that invariance needs --group."""
    from types import SimpleNamespace

    from psychometrics.report.context import Paragraph, Table
    from psychometrics.report.sections.shortform import short_form_part

    part = short_form_part(SimpleNamespace(result=None, per_subscale=3, note="DataError: too few rows"))
    assert "too few rows" in part.intro[0] and not part.blocks
    data, _ = sim
    idx = data.index
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sf = short_form(data, {"f": list(data.columns)}, idx[:750], idx[750:], per_subscale=3)
    part = short_form_part(SimpleNamespace(result=sf, per_subscale=3, note=None))
    titles = [b.title for b in part.blocks if isinstance(b, Table)]
    assert "Short Form: Re-Validation on the Validation Sample" in titles
    assert any(isinstance(b, Paragraph) and "--group" in b.text for b in part.blocks)
    assert "Levy (1967)" in part.cites


def test_shorten_output_rules(tmp_path, capsys):
    """Issue 14, classes 2 and 3 for `psychometrics shorten` (added after the issue was filed):
    an output that is an input is refused also with --overwrite; existing outputs need
    --overwrite, and are then named on stderr; files are written atomically; the printed
    subscale ids and paths are terminal-safe."""
    import shutil

    from cli_runner import run_cli

    spec = tmp_path / "mini_short.yaml"  # named like the short form of scale 'mini'
    shutil.copy(ROOT / "tests" / "data" / "mini_scale.yaml", spec)
    scale = Scale.from_yaml(spec)
    rng = np.random.default_rng(2)
    f = rng.normal(size=160)
    frame = pd.DataFrame({i: np.clip(np.round(3 + f + rng.normal(size=160)), 1, 5).astype(int)
                          for i in scale.item_ids})
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    before = spec.read_bytes()
    code, _, err = run_cli(capsys, "shorten", spec, data, "--per-subscale", "2", "--out", tmp_path, "--overwrite")
    assert code == 2 and "input file" in err and spec.read_bytes() == before
    out = tmp_path / "out\x1b[31m"
    out.mkdir()
    (out / "report.html").write_text("mine")
    code, _, err = run_cli(capsys, "shorten", spec, data, "--per-subscale", "2", "--out", out)
    assert code == 2 and "report.html" in err and "--overwrite" in err
    assert (out / "report.html").read_text() == "mine" and len(list(out.iterdir())) == 1
    code, stdout, err = run_cli(capsys, "shorten", spec, data, "--per-subscale", "2", "--out", out, "--overwrite")
    assert code == 0, err
    assert "Replaced existing file(s) (--overwrite)" in err and "report.html" in err
    assert "\x1b" not in stdout + err
    assert (out / "report.html").read_text() != "mine" and Scale.from_yaml(out / "mini_short.yaml")
    assert not list(out.glob(".*.tmp*"))
