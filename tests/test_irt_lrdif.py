"""Multi-group likelihood-ratio DIF (psychometrics.irt.lrdif, irt.multigroup).

Checks used:
* reference implementation: the Python ``mirt`` package 1.x (``fit_multigroup``,
  ``multigroup_dif(scheme="drop" | "add")``; tests/reference/irt/mirt_lrdif_*.json made by
  mirt_lrdif_reference.py) with the same latent rule (``latent_rule="reweight"``): strict-model
  log L, focal mean/variance, LR χ² of both stages and the BH-adjusted p-values;
* analytic identities: all items free with equal N(0, 1) latent distributions reproduces the sum
  of the separate single-group calibrations' log L; the exact gradient against finite differences
  (both latent rules); Benjamini–Hochberg against R ``p.adjust(method = "BH")``;
* simulation with planted DIF: power and type-I error over seeded replications.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from psychometrics.exceptions import DataError, DataQualityWarning
from psychometrics.irt import calibrate
from psychometrics.irt._models import category_probs
from psychometrics.irt.lrdif import _Fitter, _round, benjamini_hochberg, lr_dif
from psychometrics.irt.multigroup import MultiGroupGRM, prepare_groups
from tests.conftest import REFERENCE

CASES = {"sim_dif": "ref", "sim_dif_binary": "g1"}


def _load(name: str) -> tuple[pd.DataFrame, pd.Series, dict]:
    data = pd.read_csv(REFERENCE / "irt" / f"{name}.csv")
    group = data.pop("group")
    return data, group, json.loads((REFERENCE / "irt" / f"mirt_lrdif_{name}.json").read_text())


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    data, group, ref = _load(request.param)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = lr_dif(data, group, reference=CASES[request.param], latent_rule="reweight")
    return data, group, ref, res, request.param


def test_strict_model_matches_mirt(case):
    data, group, ref, _, name = case
    prepared = prepare_groups(data, group, list(data.columns), CASES[name])
    model, out = _Fitter(prepared, 21, None, "reweight")(frozenset())
    assert out["converged"]
    assert out["loglik"] == pytest.approx(ref["strict"]["loglik"], abs=1e-5)
    mu, sigma = model.latent_params(out["x"])
    focal = next(r for r in ref["strict"]["latent"] if not r["is_reference"])
    assert mu[1] == pytest.approx(focal["mean"], abs=1e-4)
    assert sigma[1] ** 2 == pytest.approx(focal["variance"], abs=1e-4)


def test_stage1_matches_mirt_drop_scheme(case):
    _, _, ref, res, _ = case
    for row in ref["drop"]:
        mine = res.stage1.loc[row["item"]]
        assert mine["chi2"] == pytest.approx(row["chi2"], abs=1e-5, rel=1e-5)
        assert mine["df"] == row["df"]
        assert mine["q"] == pytest.approx(row["p_value_adjusted"], abs=1e-7)
        assert bool(mine["flag"]) == row["flagged"]


def test_anchored_round_matches_mirt_add_scheme(case):
    data, group, ref, _, name = case
    prepared = prepare_groups(data, group, list(data.columns), CASES[name])
    anchors = frozenset(list(data.columns).index(i) for i in ref["anchors"])
    table, _ = _round(_Fitter(prepared, 21, None, "reweight"), anchors, 0.05)
    for row in ref["add"]:
        assert table.loc[row["item"], "chi2"] == pytest.approx(row["chi2"], abs=1e-5, rel=1e-5)
        assert not table.loc[row["item"], "anchor"]


def test_purification_finds_the_planted_items():
    data, group, _ = _load("sim_dif")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = lr_dif(data, group, reference="ref")
    assert set(res.stage1.index[res.stage1["flag"]]) == {"I1", "I2"}
    assert res.stage2 is not None and res.flagged == ("I1", "I2")
    assert res.anchors == ("I3", "I4", "I5", "I6", "I7", "I8")
    assert res.latent.loc["ref", "mean"] == 0 and res.latent.loc["ref", "sd"] == 1
    assert res.latent.loc["foc", "mean"] == pytest.approx(0.5, abs=0.15)  # planted 0.5
    # effect size: the planted shifts make I1 harder (reference scores higher) and I2 easier
    assert res.stage2.loc["I1", "sids"] > 0.2 and res.stage2.loc["I2", "sids"] < -0.2
    assert (res.stage2["uids"] >= res.stage2["sids"].abs() - 1e-12).all()
    frame = res.to_frame()
    assert (frame["stage"] == 2).all() and list(frame.columns[:5]) == ["stage", "chi2", "df", "p", "q"]


def test_identity_all_free_equals_separate_fits():
    data, group, _ = _load("sim_dif")
    prepared = prepare_groups(data, group, list(data.columns), "ref")
    model = MultiGroupGRM(prepared, set(range(data.shape[1])), latent="fixed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pooled = calibrate(data, list(data.columns)).item_arrays()
        separate = sum(calibrate(data[group == g], list(data.columns)).loglik for g in ("ref", "foc"))
    out = model.fit(model.start_pooled(np.array([a for a, _ in pooled]), [c for _, c in pooled]))
    assert out["loglik"] == pytest.approx(separate, abs=1e-6)


@pytest.mark.parametrize("rule", ["shift", "reweight"])
def test_gradient_is_exact(rule):
    data, group, _ = _load("sim_dif_binary")
    prepared = prepare_groups(data, group, list(data.columns), "g1")
    model = MultiGroupGRM(prepared, {2}, latent="free", latent_rule=rule)
    rng = np.random.default_rng(0)
    x = np.concatenate([np.tile([1.2, 0.1], model.n_item_par // 2), [0.3, 0.2]]) + 0.1 * rng.standard_normal(model.n_par)
    _, grad = model.loglik_grad(x)
    h = 1e-6
    fd = [(model.loglik_grad(x + h * e)[0] - model.loglik_grad(x - h * e)[0]) / (2 * h) for e in np.eye(x.size)]
    np.testing.assert_allclose(grad, fd, atol=1e-4)


def test_benjamini_hochberg_matches_r_p_adjust():
    p = np.array([0.01, 0.04, 0.03, 0.2, np.nan, 0.0005, 0.04])
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.2, NA, 0.0005, 0.04), "BH")
    expected = [0.03, 0.048, 0.048, 0.2, np.nan, 0.003, 0.048]
    np.testing.assert_allclose(benjamini_hochberg(p), expected, atol=1e-12)


def _simulate(seed: int, shift: float, n: int = 300) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    a = np.array([1.6, 1.2, 1.8, 1.0, 1.4, 1.5])
    c = np.array([[1.2, -0.8], [1.5, -0.5], [0.8, -1.2], [1.0, -1.0], [1.4, -0.6], [0.9, -1.1]])
    frames = []
    for g, (mu, cc) in enumerate(((0.0, c), (0.4, c - np.array([[shift], [0], [0], [0], [0], [0]])))):
        theta = mu + rng.standard_normal(n)
        p = category_probs("grm", a, cc, theta)
        x = (rng.random((6, n, 1)) > np.cumsum(p, axis=2)[:, :, :-1]).sum(axis=2)
        frames.append(pd.DataFrame(x.T, columns=[f"I{j + 1}" for j in range(6)]))
    return pd.concat(frames, ignore_index=True), pd.Series(["r"] * n + ["f"] * n)


def test_planted_dif_power_and_type1_error():
    """Seeded replications (small for speed): a large planted intercept shift (1.2 logits, N = 300
    per group) is flagged every time; the five DIF-free items together are flagged rarely."""
    hits, false = 0, 0
    reps = 4
    for seed in range(reps):
        data, group = _simulate(seed, 1.2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = lr_dif(data, group, reference="r")
        hits += "I1" in res.flagged
        false += len(set(res.flagged) - {"I1"})
    assert hits == reps
    assert false <= 2  # 20 null tests at FDR .05


def test_same_seed_same_numbers_and_progress():
    data, group = _simulate(7, 0.0, n=200)
    seen: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = lr_dif(data, group, reference="r", progress=seen.append)
        two = lr_dif(data, group, reference="r")
    pd.testing.assert_frame_equal(one.stage1, two.stage1)
    assert seen and seen[-1].startswith("LR DIF:")


def test_bad_input_is_named():
    data, group = _simulate(1, 0.0, n=150)
    data.loc[group == "f", "I2"] = data.loc[group == "f", "I2"].clip(upper=1)  # category 2 unused in group f
    with pytest.warns(DataQualityWarning, match="I2"):
        prepared = prepare_groups(data, group, list(data.columns), "r")
    assert prepared.collapsed == {"I2": 1} and prepared.n_categories[1] == 2
    no_group = group.copy()
    no_group.iloc[:3] = None
    data.iloc[5] = np.nan  # a row without any response
    with pytest.warns(DataQualityWarning):
        assert prepare_groups(data, no_group, list(data.columns), "r").n_dropped_rows == 4
    with pytest.raises(DataError, match="two groups"):
        lr_dif(data, pd.Series(["r"] * len(data)))
    with pytest.raises(DataError, match="reference group"):
        lr_dif(data, group, reference="nobody")
    with pytest.raises(DataError, match="three items"):
        lr_dif(data[["I1", "I2"]], group)


def test_pooled_calibration_reused_gives_the_same_numbers():
    """The pipeline passes its subscale calibration as the pooled start: on exactly the pooled rows it
    replaces the second calibration and every number is identical; on other rows it is ignored."""
    from psychometrics.irt.lrdif import _same_rows

    data, group = _simulate(3, 0.8, n=250)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = calibrate(data, list(data.columns))
        plain = lr_dif(data, group, reference="r")
        reused = lr_dif(data, group, reference="r", pooled_calibration=cal)
    assert _same_rows(cal, prepare_groups(data, group, list(data.columns), "r"), 21)
    for a, b in ((plain.stage1, reused.stage1), (plain.latent, reused.latent)):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    no_group = group.copy()
    no_group.iloc[0] = None
    assert not _same_rows(cal, prepare_groups(data, no_group, list(data.columns), "r"), 21)


def test_grouped_patterns_equal_numpy_unique():
    """prepare_groups' per-group patterns (packed-byte unique) are np.unique(axis=0)'s, in its order."""
    data, group = _simulate(5, 0.0, n=200)
    data.iloc[3, 2] = np.nan
    prepared = prepare_groups(data, group, list(data.columns), "r")
    for g in range(2):
        pats, cnt = np.unique(prepared.codes[prepared.group_index == g], axis=0, return_counts=True)
        y = np.zeros((pats.shape[0], int(prepared.offsets[-1])))
        for j in range(pats.shape[1]):
            ok = pats[:, j] >= 0
            y[np.flatnonzero(ok), prepared.offsets[j] + pats[ok, j]] = 1.0
        np.testing.assert_array_equal(prepared.onehot[g], y)
        np.testing.assert_array_equal(prepared.counts[g], cnt)


def test_group_patterns_from_the_pooled_patterns_equal_the_rows():
    """issue 16 (fifth session): without a collapsed category each group's distinct patterns and counts come
    from the pooled patterns' (group, pattern) counts — np.unique(axis=0) of the group's rows, in its order —
    with a missing answer, a row without a group and one without any answer; and within the step's shared
    coding scope the labels are factorized once per grouping Series, with the same result."""
    from psychometrics.irt._data import _SHARED, shared_category_codes

    data, group = _simulate(6, 0.4, n=300)
    data.iloc[3, 2] = np.nan
    data.iloc[8] = np.nan
    for labels in (group, group.where(np.arange(len(group)) != 5)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plain = prepare_groups(data, labels, list(data.columns), "r")
            with shared_category_codes():
                scoped = prepare_groups(data, labels, list(data.columns), "r")
                again = prepare_groups(data, labels, list(data.columns), "r")
                cached = [k for k in _SHARED.get() if isinstance(k, tuple) and k[0] == "group labels"]
        assert not plain.collapsed and cached == ([("group labels", id(labels))] if labels is group else [])
        for g in range(2):
            pats, cnt = np.unique(plain.codes[plain.group_index == g], axis=0, return_counts=True)
            for prepared in (plain, scoped, again):
                np.testing.assert_array_equal(prepared.patterns[g], pats)
                np.testing.assert_array_equal(prepared.counts[g], cnt)
                np.testing.assert_array_equal(prepared.onehot[g], plain.onehot[g])
                np.testing.assert_array_equal(prepared.group_index, plain.group_index)


# ---------------------------------------------------------------- Newton's method (large n, issue 16)

@pytest.mark.parametrize("name, free", [("sim_dif", frozenset()), ("sim_dif", frozenset({2})),
                                        ("sim_dif_binary", frozenset({1}))])
def test_newton_information_is_the_exact_hessian(name, free):
    """Analytic identity: the Louis Hessian of irt._mg_newton equals central differences of the exact
    gradient (ordinal and binary items, one answer missing, the focal group's μ and log σ free)."""
    from psychometrics.irt._mg_newton import loglik_grad_hess

    data, group, _ = _load(name)
    data.iloc[3, 1] = np.nan
    prepared = prepare_groups(data, group, list(data.columns), CASES[name])
    model = MultiGroupGRM(prepared, free)
    j = data.shape[1]
    x = model.start_pooled(np.ones(j), [np.linspace(1.0, -1.0, k - 1) for k in prepared.n_categories])
    x += 0.05 * np.random.default_rng(1).standard_normal(x.size)
    ll, grad, hess, _ = loglik_grad_hess(model, x, prepared.pairs)
    ll0, grad0 = model.loglik_grad(x)
    assert ll == ll0
    np.testing.assert_allclose(grad, grad0, rtol=1e-12, atol=1e-9)
    h = 1e-5
    fd = np.array([(model.loglik_grad(x + h * e)[1] - model.loglik_grad(x - h * e)[1]) / (2 * h) for e in np.eye(x.size)])
    np.testing.assert_allclose(hess, fd, atol=1e-7 * np.abs(fd).max())


def test_borrowed_information_of_a_fitted_model_is_exact_for_the_freed_item():
    """The per-group Hessians do not depend on which items are free: assembled for the model that frees
    item 3 at the constrained model's estimate they equal that model's own Hessian there."""
    from psychometrics.irt._mg_newton import assemble_hessian, loglik_grad_hess

    data, group = _simulate(2, 0.5)
    prepared = prepare_groups(data, group, list(data.columns), "r")
    base = MultiGroupGRM(prepared, frozenset())
    fit = base.fit(base.start_pooled(np.ones(6), [np.array([1.0, -1.0])] * 6), method="newton")
    freed = MultiGroupGRM(prepared, frozenset({3}))
    x = freed.start_from(base, fit["x"])
    own = loglik_grad_hess(freed, x, prepared.pairs)[2]
    np.testing.assert_allclose(assemble_hessian(freed, base.hessians(fit["x"])), own, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("seed, shift", [(0, 0.8), (3, 0.0)])
def test_newton_and_bfgs_find_the_same_maximum(seed, shift):
    """The large-n optimiser (Newton, to max |∇ℓ|/N < 1e-8) against the previous one (BFGS, 1e-6) on
    small data: every LR χ² to 1e-6 relative, the same flags and anchors; the estimates behind the
    effect sizes and latent means to BFGS's own tolerance."""
    data, group = _simulate(seed, shift)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        newton = lr_dif(data, group, reference="r", optimizer="newton")
        bfgs = lr_dif(data, group, reference="r", optimizer="bfgs")
    assert newton.anchors == bfgs.anchors and newton.rounds == bfgs.rounds
    for a, b in ((newton.stage1, bfgs.stage1), (newton.stage2, bfgs.stage2)):
        if b is None:
            assert a is None
            continue
        np.testing.assert_allclose(a["chi2"].astype(float), b["chi2"].astype(float), rtol=1e-6, atol=1e-8)
        assert (a["flag"] == b["flag"]).all()
        np.testing.assert_allclose(a[["sids", "uids"]].astype(float), b[["sids", "uids"]].astype(float), atol=1e-5)
    np.testing.assert_allclose(newton.latent[["mean", "sd"]], bfgs.latent[["mean", "sd"]], atol=1e-5)
    assert newton.n_fits == bfgs.n_fits


def test_group_codes_by_factorize_equal_the_string_labels():
    """issue 16: prepare_groups codes the groups by factorizing the labels (str() per distinct value, not
    per row): the same codes as str labels with sorted levels — values with equal str() merged, rows
    without a group dropped."""
    data, _ = _simulate(1, 0.0, n=100)
    group = pd.Series([1, "1", "b", None, 2.5] * 40, dtype=object)
    prepared = prepare_groups(data, group, list(data.columns))
    labels = group[group.notna()].astype(str).to_numpy()
    levels = sorted(set(labels))
    assert prepared.groups == tuple(levels) == ("1", "2.5", "b")
    np.testing.assert_array_equal(prepared.group_index, [levels.index(v) for v in labels])
    assert prepared.n_dropped_rows == 40


def test_freed_model_starts_from_its_base_without_an_e_step():
    """A model freeing an item of a fitted model has, at the copied estimate, every group's parameters of
    that model: ℓ and the per-group gradients kept in ``model.at`` give its ℓ and gradient exactly (the
    E-step they save)."""
    data, group = _simulate(4, 0.6)
    prepared = prepare_groups(data, group, list(data.columns), "r")
    base = MultiGroupGRM(prepared, frozenset())
    fit = base.fit(base.start_pooled(np.ones(6), [np.array([1.0, -1.0])] * 6), method="newton")
    base.loglik_grad(fit["x"])
    for j in (0, 3):
        freed = MultiGroupGRM(prepared, frozenset({j}))
        x0 = freed.start_from(base, fit["x"])
        ll, grad = freed.loglik_grad(x0)
        assert base.at[1] == ll
        np.testing.assert_allclose(freed.gradient_from_groups(base.at[2]), grad, rtol=0, atol=1e-12 * np.abs(grad).max())


def test_modified_newton_step_and_a_strongly_non_invariant_item():
    """Where the exact information at the start is not positive definite (freeing an item with a large
    planted shift), Newton continues with the eigenvalues' moduli instead of falling back to BFGS: the
    same maximum as BFGS (χ² to 1e-6, same flags)."""
    from psychometrics.irt.multigroup import _modified_hessian

    h = -np.array([[2.0, 0.0], [0.0, -0.5]])
    np.testing.assert_allclose(_modified_hessian(h), -np.diag([2.0, 0.5]), atol=1e-15)
    assert _modified_hessian(np.eye(2)) is None
    import psychometrics.irt.multigroup as mg

    calls = []
    data, group = _simulate(1, 3.0)  # (freeing item 1 at the constrained estimate: an indefinite information)
    with warnings.catch_warnings(), pytest.MonkeyPatch.context() as mp:
        warnings.simplefilter("ignore")
        mp.setattr(mg, "_modified_hessian", lambda h: calls.append(1) or _modified_hessian(h))
        newton = lr_dif(data, group, reference="r", optimizer="newton")
    assert calls
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bfgs = lr_dif(data, group, reference="r", optimizer="bfgs")
    np.testing.assert_allclose(newton.stage1["chi2"].astype(float), bfgs.stage1["chi2"].astype(float), rtol=1e-6)
    assert (newton.stage1["flag"] == bfgs.stage1["flag"]).all() and newton.anchors == bfgs.anchors


def test_joint_answer_estep_equals_the_onehot_products(monkeypatch):
    """issue 16 (sixth session): the multi-group E-step by joint answers of item chunks (irt/_mg_estep.py:
    table gathers and sparse counts, in probabilities) gives the one-hot products' ℓ, f∘π, π and expected
    counts r (log-sum-exp over the nodes) to rounding — with missing answers, a binary item beside
    three-category ones and several chunks; near underflow (forced here) it takes the log path itself. The
    fitted models' log-likelihoods and gradients agree likewise."""
    import importlib

    mg_estep = importlib.import_module("psychometrics.irt._mg_estep")
    grouped = importlib.import_module("psychometrics.irt._grouped")
    data, group = _simulate(8, 0.6, n=400)
    data["I3"] = (data["I3"] > 1).astype(float)
    data = data.astype(float)
    data.iloc[::9, 1] = np.nan
    data.iloc[::13, 4] = np.nan
    monkeypatch.setattr(grouped, "MAX_CELLS", 20)  # (several chunks of two or three items)
    monkeypatch.setattr(mg_estep, "ONEHOT_CELLS", 0)  # (the joint answers at any size)
    prep = prepare_groups(data, group, list(data.columns), "r")
    model = MultiGroupGRM(prep, frozenset({0, 2}), "free")
    x = model.start_pooled(np.full(6, 1.2), [np.array([1.0, -1.0]) if k == 3 else np.array([0.2])
                                            for k in prep.n_categories])
    x[model.n_item_par:] = [0.3, np.log(1.2)]
    theta = np.random.default_rng(0).normal(size=21)
    logw = np.log(np.random.default_rng(1).dirichlet(np.ones(21)))
    for g in range(2):
        joint = prep.joint[g]
        assert len(joint.codes) > 1
        probs = np.random.default_rng(g).dirichlet(np.ones(3), size=(21, 6)).transpose(1, 2, 0)  # (J, K, Q)
        probs = np.concatenate([probs[j, :k] / probs[j, :k].sum(axis=0) for j, k in enumerate(prep.n_categories)])
        f = prep.counts[g]
        want = mg_estep.estep(None, probs, logw, f, prep.onehot_t[g], prep.onehot[g], post=True)
        got = mg_estep.estep(joint, probs, logw, f, prep.onehot_t[g], prep.onehot[g], post=True)
        assert got[0] == pytest.approx(want[0], rel=1e-13)
        for a, b in zip(got[1:], want[1:]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14 * np.abs(b).max())
        monkeypatch.setattr(mg_estep, "_SAFE", np.inf)
        # the chunks' margins in one sparse product: the sums ItemGroups.marginals forms
        w = got[1]
        np.testing.assert_allclose(joint.counts(w), joint.groups.marginals(joint.onehot_t @ np.ascontiguousarray(w.T)),
                                   rtol=1e-14, atol=0)
        forced = mg_estep.estep(joint, probs, logw, f, prep.onehot_t[g], prep.onehot[g], post=True)
        monkeypatch.setattr(mg_estep, "_SAFE", 1e-250)
        assert forced[0] == want[0]
        for a, b in zip(forced[1:], want[1:]):
            np.testing.assert_array_equal(a, b)
    ll, grad = model.loglik_grad(x)
    # by default a group with few pattern × column cells keeps the one-hot products (ONEHOT_CELLS)
    monkeypatch.setattr(mg_estep, "ONEHOT_CELLS", 40_000)
    assert prepare_groups(data, group, list(data.columns), "r").joint == (None, None)
    monkeypatch.setattr(type(prep), "joint", property(lambda self: (None,) * len(self.groups)))
    ll_ref, grad_ref = MultiGroupGRM(prep, frozenset({0, 2}), "free").loglik_grad(x)
    assert ll == pytest.approx(ll_ref, rel=1e-13)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-9, atol=1e-10 * np.abs(grad_ref).max())
