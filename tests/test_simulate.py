"""Study simulator: schema validation, reproducibility and the planted problems."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from psychometrics.exceptions import SpecError
from psychometrics.simulate import (
    Study,
    default_study_path,
    embedded_scales_dir,
    load_study,
    simulate_study,
    write_table,
)

ROOT = Path(__file__).resolve().parent.parent
STUDY = ROOT / "scales" / "mentorship_study.yaml"


@pytest.fixture(scope="module")
def study() -> Study:
    return load_study(STUDY)


@pytest.fixture(scope="module")
def data(study) -> pd.DataFrame:
    return simulate_study(study, seed=0)


@pytest.fixture(scope="module")
def clean_scored(study, data) -> pd.DataFrame:
    """Scored (reverse keys undone) items of the respondents who were not careless."""
    sim = data.attrs["simulation"]
    careless = set(sim["straight_liners"]) | set(sim["random_responders"])
    df = data[~data["id"].isin(careless)].reset_index(drop=True)
    out = df[list(study.item_ids)].copy()
    for s in study.scales:
        lo, hi = s.response_format.min, s.response_format.max
        for it in s.items:
            if it.reverse:
                out[it.id] = lo + hi - out[it.id]
    out.insert(0, "career_stage", df["career_stage"])
    return out


def _mss_ids(study, subscale=None):
    return [it.id for it in study.scale.items if subscale is None or it.subscale == subscale]


def _corr(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = ~(np.isnan(a) | np.isnan(b))
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


# ------------------------------------------------------------------- the study file
def test_embedded_default_is_the_study_in_scales():
    assert default_study_path().resolve() == STUDY.resolve()
    assert (embedded_scales_dir() / "mentorship_supportiveness.yaml").is_file()


def test_study_loads_as_designed(study):
    assert study.id == "mentorship_demo"
    assert study.scale.id == "mentorship_supportiveness"
    assert [m.id for m in study.measures] == ["self_efficacy", "coping", "wellbeing", "workspace"]
    assert study.group_column == "career_stage"
    assert study.groups == ("undergraduate", "graduate", "early_career")
    assert 1000 <= study.n <= 1500
    assert len(study.item_ids) == 28 + 6 + 20 + 10 + 5
    phi = study.factor_correlations.to_numpy()
    assert np.allclose(phi, phi.T) and np.linalg.eigvalsh(phi).min() > 0
    # planted: MSS11 has the lowest loading, MSS19 the only cross-loading, MSS17 the DIF
    mss_loadings = study.loadings.loc[_mss_ids(study)]
    assert mss_loadings.max(axis=1).idxmin() == "MSS11"
    assert ((study.loadings != 0).sum(axis=1) > 1).loc[lambda s: s].index.tolist() == ["MSS19"]
    assert [(d.item, d.group) for d in study.spec.population.dif] == [("MSS17", "early_career")]


def test_planted_summary(study):
    planted = study.planted
    assert planted["weak_items"] == ["MSS11"]
    assert planted["cross_loading_items"] == {"MSS19": ["encouragement", "growth"]}
    assert planted["dif"] == [{"item": "MSS17", "group": "early_career", "shift": -1.25}]
    assert planted["missing_rate"] == 0.02
    assert planted["straight_liners"] == planted["random_responders"] == 0.01


def test_thresholds_follow_response_distribution(study):
    from statistics import NormalDist

    props = study.spec.population.response_distributions["mentorship_supportiveness"]
    expected = [NormalDist().inv_cdf(float(c)) for c in np.cumsum(props)[:-1]]
    np.testing.assert_allclose(study.thresholds["MSS01"], expected, atol=1e-12)
    assert study.thresholds["MSS26"] == (-1.55, -0.85, -0.20, 0.80)  # explicit override


def _broken(tmp_path, edit) -> Path:
    """Copy the study (and its scales) to tmp_path and apply ``edit`` to its dict."""
    for p in STUDY.parent.glob("*.yaml"):
        (tmp_path / p.name).write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
    spec = yaml.safe_load(STUDY.read_text(encoding="utf-8"))
    edit(spec)
    target = tmp_path / "broken_study.yaml"
    target.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return target


def _set(path: str, value):
    def edit(spec):
        *parents, last = path.split(".")
        node = spec
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if value is KeyError:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (_set("sample_size", 10), "sample_size", "unknown field 'sample_size'"),
        (_set("group.colum", "x"), "group.colum", "did you mean 'column'"),
        (_set("n", 0), "n", "greater than or equal to 1"),
        (_set("population.loadings.MSS11", 1.2), "population.loadings.MSS11", "(-1, 1)"),
        (_set("population.loadings.MSS05", KeyError), "population.loadings", "MSS05"),
        (_set("population.loadings.MSS99", 0.5), "population.loadings.MSS99", "no item 'MSS99'"),
        (_set("population.cross_loadings.MSS19", {"encouragment": 0.3}),
         "population.cross_loadings.MSS19.encouragment", "unknown factor"),
        (_set("population.correlations.2", [0.9, -0.9, 1.0]), "population.correlations", "positive definite"),
        (_set("population.correlations.2", [0.5, 1.0]), "population.correlations[2]", "lower triangle"),
        (_set("group.levels.0.proportion", 0.5), "group.levels", "sum to 1"),
        (_set("population.dif", [{"item": "MSS17", "group": "postdoc", "shift": -1}]),
         "population.dif[0].group", "unknown group level 'postdoc'"),
        (_set("population.latent_means.graduate", {"growht": 0.1}),
         "population.latent_means.graduate.growht", "unknown factor"),
        (_set("population.response_distributions.coping", [0.5, 0.5]),
         "population.response_distributions.coping", "needs 4 proportions"),
        (_set("population.thresholds.MSS26", [0.5, 0.1, 0.9, 1.2]),
         "population.thresholds.MSS26", "strictly increasing"),
        (_set("measures.1", "copying.yaml"), "measures[1]", "not found"),
        (_set("missing.code", 7), "missing.code", "not a missing-value code"),
        (_set("careless.random", 0.7), "careless.random", "less than 0.5"),
    ],
)
def test_bad_study_names_file_and_field(tmp_path, edit, field, words):
    path = _broken(tmp_path, edit)
    with pytest.raises(SpecError) as info:
        load_study(path)
    message = str(info.value)
    assert "broken_study.yaml" in message
    assert field in message
    assert words in message


def test_study_file_not_found(tmp_path):
    with pytest.raises(SpecError, match="not found"):
        load_study(tmp_path / "nope.yaml")


# ------------------------------------------------------------------------ simulation
def test_shape_columns_and_groups(study, data):
    assert data.shape == (study.n, 2 + len(study.item_ids))
    assert list(data.columns) == ["id", "career_stage", *study.item_ids]
    assert data["id"].tolist() == list(range(1, study.n + 1))
    counts = data["career_stage"].value_counts()
    expected = {lv.id: lv.proportion * study.n for lv in study.spec.group.levels}
    assert {k: int(counts[k]) for k in expected} == {k: round(v) for k, v in expected.items()}


def test_same_seed_same_data_different_seed_differs(study):
    a = simulate_study(study, n=300, seed=7)
    b = simulate_study(study, n=300, seed=7)
    c = simulate_study(study, n=300, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    # a study path and the loaded study give the same data
    pd.testing.assert_frame_equal(a, simulate_study(STUDY, n=300, seed=7))


def test_values_within_response_formats(study, data):
    for s in study.scales:
        ids = [it.id for it in s.items]
        values = data[ids].to_numpy()
        present = values[~np.isnan(values)]
        assert present.min() >= s.response_format.min and present.max() <= s.response_format.max, s.id
        assert np.all(present == np.round(present)), s.id
        # every category is used
        assert set(np.unique(present).astype(int)) == set(range(int(s.response_format.min), int(s.response_format.max) + 1))


def test_missing_share_as_designed(study, data):
    share = float(data[list(study.item_ids)].isna().to_numpy().mean())
    assert share == pytest.approx(study.spec.missing.rate, abs=0.004)
    assert data[["id", "career_stage"]].notna().all().all()


def test_missing_code_written_instead_of_nan(tmp_path):
    path = _broken(tmp_path, _set("missing.code", -9))
    df = simulate_study(path, n=200, seed=1)
    items = df.columns[2:]
    assert not df[items].isna().any().any()
    assert (df[items] == -9).to_numpy().mean() == pytest.approx(0.02, abs=0.01)


def test_careless_responders_planted(study, data):
    sim = data.attrs["simulation"]
    n = study.n
    assert len(sim["straight_liners"]) == round(n * study.spec.careless.straight_liners)
    assert len(sim["random_responders"]) == round(n * study.spec.careless.random)
    assert not set(sim["straight_liners"]) & set(sim["random_responders"])
    rows = data.set_index("id").loc[sim["straight_liners"]]
    for s in study.scales:
        block = rows[[it.id for it in s.items]]
        assert (block.nunique(axis=1, dropna=True) == 1).all(), s.id


def test_reverse_keyed_items_written_in_raw_coding(study, data):
    # Raw answers to "My mentor dismisses my ideas." run against the supportive items;
    # after re-reversal they run with them.
    positive = data[_mss_ids(study, "encouragement")].mean(axis=1)
    raw = data["MSS24"]
    assert _corr(raw, positive) < -0.3
    assert _corr(6 - raw, positive) > 0.3


def test_low_loading_item_has_lowest_item_rest_correlation(study, clean_scored):
    ids = _mss_ids(study)
    x = clean_scored[ids]
    total = x.mean(axis=1)  # mean of answered items
    rest = {c: _corr(x[c], x.drop(columns=c).mean(axis=1)) for c in ids}
    assert min(rest, key=rest.get) == "MSS11"
    others = sorted(v for k, v in rest.items() if k != "MSS11")
    assert rest["MSS11"] < others[0] - 0.1
    assert _corr(total, x["MSS11"]) > 0  # weak, but still keyed in the right direction


def test_cross_loading_item_relates_to_encouragement(study, clean_scored):
    enc = clean_scored[_mss_ids(study, "encouragement")].mean(axis=1)
    growth = _mss_ids(study, "growth")
    # relation to encouragement relative to the item's own facet: highest for MSS19
    ratio = {}
    for c in growth:
        own = clean_scored[[g for g in growth if g != c]].mean(axis=1)
        ratio[c] = _corr(clean_scored[c], enc) / _corr(clean_scored[c], own)
    assert max(ratio, key=ratio.get) == "MSS19"


def test_dif_item_differs_between_groups(study, clean_scored):
    """At equal rest score, early-career staff answer MSS17 clearly lower (planted DIF)."""
    ids = _mss_ids(study)
    x = clean_scored[ids].to_numpy()
    early = (clean_scored["career_stage"] == "early_career").to_numpy(float)
    effect = {}
    for j, c in enumerate(ids):
        y = x[:, j]
        rest = np.nanmean(np.delete(x, j, axis=1), axis=1)
        ok = ~np.isnan(y)
        design = np.column_stack([np.ones(ok.sum()), rest[ok], early[ok]])
        coef = np.linalg.lstsq(design, y[ok], rcond=None)[0]
        effect[c] = coef[2]
    assert min(effect, key=effect.get) == "MSS17"
    assert effect["MSS17"] < -0.5
    assert all(abs(v) < 0.3 for k, v in effect.items() if k != "MSS17")


def test_validity_hypotheses_hold_in_simulated_data(study, clean_scored):
    """The demo data support every hypothesis of the scale (so the report has a clean story)."""

    def score(scale, which):
        ids = [it.id for it in scale.items if which == "total" or it.subscale == which]
        return clean_scored[ids].mean(axis=1)

    measures = {m.id: m for m in study.measures}
    for h in study.scale.validity:
        r = _corr(score(study.scale, h.scale_score), score(measures[h.measure], h.measure_score))
        if h.direction == "positive":
            assert r > 0, h.id
        elif h.direction == "negative":
            assert r < 0, h.id
        if h.min_abs_r is not None:
            assert abs(r) >= h.min_abs_r + 0.02, (h.id, r)
        if h.max_abs_r is not None:
            assert abs(r) <= h.max_abs_r - 0.05, (h.id, r)


def test_n_override_and_bad_n(study):
    assert len(simulate_study(study, n=17, seed=2)) == 17
    with pytest.raises(SpecError, match="n must be a positive integer"):
        simulate_study(study, n=0)


def test_generator_seed_accepted(study):
    a = simulate_study(study, n=50, seed=np.random.default_rng(5))
    b = simulate_study(study, n=50, seed=np.random.default_rng(5))
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".xlsx", ".parquet"])
def test_write_table_round_trip(study, tmp_path, suffix):
    df = simulate_study(study, n=40, seed=3)
    path = write_table(df, tmp_path / f"sim{suffix}")
    if suffix in (".csv", ".tsv"):
        back = pd.read_csv(path, sep="," if suffix == ".csv" else "\t")
    elif suffix == ".xlsx":
        back = pd.read_excel(path)
    else:
        back = pd.read_parquet(path)
    np.testing.assert_array_equal(back[list(study.item_ids)].to_numpy(float), df[list(study.item_ids)].to_numpy(float))
    assert back["career_stage"].tolist() == df["career_stage"].tolist()


def test_write_table_unknown_format(tmp_path):
    with pytest.raises(SpecError, match="unknown output format '.sav'"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "x.sav")


# ---------------------------------------------------------------------------- CLI
def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "psychometrics", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_cli_simulate_reproducible_and_check_accepts_it(study, tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    out = _cli("simulate", "default", "-n", "400", "--seed", "11", "-o", str(first))
    assert out.returncode == 0, out.stderr
    assert "400 respondents" in out.stderr
    out = _cli("simulate", str(STUDY), "-n", "400", "--seed", "11", "-o", str(second))
    assert out.returncode == 0, out.stderr
    assert first.read_bytes() == second.read_bytes()
    written = pd.read_csv(first)
    expected = simulate_study(study, n=400, seed=11)
    np.testing.assert_array_equal(
        written[list(study.item_ids)].to_numpy(float), expected[list(study.item_ids)].to_numpy(float)
    )
    # the simulated file passes `check` against the scale
    out = _cli("check", "scales/mentorship_supportiveness.yaml", str(first),
               "--group", "career_stage", "--id-column", "id")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "400 read" in out.stdout


# `psychometrics check scales/mentorship_supportiveness.yaml` alone is tested in
# tests/test_cli.py::test_check_mentorship_scale_and_simulated_data.


def test_cli_simulate_bad_input_is_clear(tmp_path):
    out = _cli("simulate", "-n", "10", "-o", str(tmp_path / "x.txt"))
    assert out.returncode == 2 and "unknown format '.txt'" in out.stderr
    out = _cli("simulate", "missing_study.yaml", "-n", "10")
    assert out.returncode == 2 and "missing_study.yaml not found" in out.stderr
    assert "Traceback" not in out.stderr


def test_load_responses_recovers_construct_direction(study, data):
    from psychometrics import load_responses

    responses = load_responses(data, study.scale, group="career_stage", id_column="id")
    scored = responses.items
    enc = scored[_mss_ids(study, "encouragement")].mean(axis=1)
    for item in _mss_ids(study, "non_supportive"):
        assert _corr(scored[item], enc) > 0.3, item
    assert responses.n == study.n


def test_study_without_groups_or_problems(tmp_path):
    def edit(spec):
        for key in ("group", "missing", "careless"):
            del spec[key]
        for key in ("latent_means", "dif", "cross_loadings", "thresholds"):
            del spec["population"][key]

    plain = load_study(_broken(tmp_path, edit))
    assert plain.group_column is None and plain.groups == ()
    assert plain.planted["dif"] == [] and plain.planted["cross_loading_items"] == {}
    df = simulate_study(plain, n=100, seed=4)
    assert list(df.columns) == ["id", *plain.item_ids]
    assert not df.isna().any().any()
    assert df.attrs["simulation"]["straight_liners"] == df.attrs["simulation"]["random_responders"] == []
