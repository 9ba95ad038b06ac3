"""The WLSMV trace identities of ``psychometrics.cfa.wls`` (issue 16) against their dense forms.

``scaled_shifted`` and ``satorra2000_difference`` compute tr(UΓ̃) and tr((UΓ̃)²) as k × k
regroupings instead of forming the (Σ_g m_g)² matrix UΓ̃; here both are compared with the dense
products written out as before (independent implementation, 1e-10 relative: the same sums in
another order). The lavaan fixtures (``test_cfa_categorical.py``, ``test_invariance.py``) check
the statistics themselves.
"""

from __future__ import annotations

import numpy as np
import pytest

from psychometrics.cfa import wls
from psychometrics.cfa.compare import scaled_difference_test
from test_cfa_categorical import fitted


def _dense_satorra_traces(e1, e0):
    """tr₁, tr₂ of lavaan's satorra.2000 exactly as the dense implementation before issue 16."""
    groups, deltas1, deltas0, P_inv = e1.moments, e1.deltas, e0.deltas, e1.A_inv
    N = sum(gm.n for gm in groups)
    fg = [gm.n / N for gm in groups]
    D1, D0 = np.vstack(deltas1), np.vstack(deltas0)
    H = np.linalg.pinv(D1) @ D0
    U_, s, _ = np.linalg.svd(H, full_matrices=True)
    rank = int(np.sum(s > max(H.shape) * np.finfo(float).eps * s[0] * 1e3))
    A = U_[:, rank:].T
    PA = P_inv @ A.T
    Pt = PA @ np.linalg.pinv(A @ PA) @ PA.T
    tr1 = sum(f * float(np.sum(((D * gm.w[:, None]).T @ gm.gamma @ (D * gm.w[:, None])) * Pt.T))
              for D, gm, f in zip(deltas1, groups, fg))
    WD = np.vstack([D * gm.w[:, None] for D, gm in zip(deltas1, groups)])
    sizes = [len(gm.s) for gm in groups]
    Gf = np.zeros((sum(sizes), sum(sizes)))
    off = 0
    for gm, f, k in zip(groups, fg, sizes):
        Gf[off:off + k, off:off + k] = f * gm.gamma
        off += k
    UG = WD @ Pt @ WD.T @ Gf
    return tr1, float(np.sum(UG * UG.T))


@pytest.mark.parametrize("name", ["hs_ord", "inv_hs_configural", "inv_hs_loadings", "inv_bfi_intercepts",
                                  "partial_bfi_loadings"])
def test_ugamma_traces_equal_dense_product(name):
    e = fitted(name)._engine
    UG = wls._ugamma(e.deltas, e.moments, e.A_inv)
    tr1, tr2 = wls._ugamma_traces(e.deltas, e.moments, e.A_inv)
    assert tr1 == pytest.approx(float(np.trace(UG)), rel=1e-10)
    assert tr2 == pytest.approx(float(np.sum(UG * UG.T)), rel=1e-10)


@pytest.mark.parametrize("less,more", [("inv_bfi_configural", "inv_bfi_thresholds"),
                                       ("inv_hs_thresholds", "inv_hs_loadings"),
                                       ("inv_bfi_loadings", "inv_bfi_intercepts")])
def test_satorra_traces_equal_dense_product(less, more):
    f1, f0 = fitted(less), fitted(more)
    test = scaled_difference_test(f1, f0)
    assert test["df_diff"] > 0
    tr1, tr2 = _dense_satorra_traces(f1._engine, f0._engine)
    assert test["trace_ugamma"] == pytest.approx(tr1, rel=1e-10)
    assert test["trace_ugamma2"] == pytest.approx(tr2, rel=1e-10)


@pytest.mark.parametrize("name", ["hs_ord", "inv_hs_loadings", "inv_bfi_intercepts"])
def test_dwls_derivatives_on_a_group_s_columns_equal_the_full_product(name, monkeypatch):
    # issue 16: the information and gradient of each group are accumulated over the columns of Δ_g that
    # are not zero; the full products (as before) are the reference
    import psychometrics.cfa.categorical_model as cm
    from psychometrics.cfa.categorical_model import dwls_derivatives

    e = fitted(name)._engine
    if len(e.moments) > 1:
        assert sum(gm.n for gm in e.moments) < cm.SPARSE_INFORMATION_ROWS  # small fixtures: lower the bound
    monkeypatch.setattr(cm, "SPARSE_INFORMATION_ROWS", 0)
    f, grad, A = dwls_derivatives(e.model, e.moments, e.fg, e.x)
    deltas = [e.model.jacobian(g, part) for g, part in enumerate(e.model.parts(e.x))]
    ref_g, ref_A = np.zeros_like(grad), np.zeros_like(A)
    for g, (part, gm) in enumerate(zip(e.model.parts(e.x), e.moments)):
        r = gm.s - e.model.sigma(part)
        WD = deltas[g] * gm.w[:, None]
        ref_g -= e.fg[g] * (WD.T @ r)
        ref_A += e.fg[g] * (WD.T @ deltas[g])
    np.testing.assert_allclose(A, ref_A, rtol=1e-12, atol=1e-14 * np.abs(ref_A).max())
    np.testing.assert_allclose(grad, ref_g, rtol=0, atol=1e-12 * max(1.0, np.abs(ref_g).max()))


@pytest.mark.parametrize("name", ["hs_ord", "inv_hs_configural", "inv_bfi_configural", "inv_bfi_intercepts"])
def test_catml_trace_by_groups_equals_dense_product(name, monkeypatch):
    # issue 16: from CATML_BLOCKS_N rows on catML's ĉ trace is regrouped by group; the dense (Σ m_g)²
    # products (the path below the bound, as before) are the reference, 1e-10 relative
    e = fitted(name)._engine
    args = (e.deltas, e.moments, e.A_inv, [s.cor for s in e.stats], [e.implied_cor(g) for g in range(len(e.stats))],
            10)
    monkeypatch.setattr(wls, "CATML_BLOCKS_N", 10 ** 12)
    dense = wls.catml_robust(*args)
    monkeypatch.setattr(wls, "CATML_BLOCKS_N", 0)
    blocks = wls.catml_robust(*args)
    assert np.isfinite(dense["c_hat3"])
    for key, value in dense.items():
        assert blocks[key] == pytest.approx(value, rel=1e-10), key


@pytest.mark.parametrize("less,more", [("inv_bfi_configural", "inv_bfi_thresholds"),
                                       ("inv_hs_thresholds", "inv_hs_loadings")])
def test_satorra_with_the_fits_meat_equals_recomputed(less, more, monkeypatch):
    # issue 16: from SHARED_MEAT_N rows on the Satorra test takes model 1's meat Σ_g f_g Δ_g'W_gΓ_gW_gΔ_g from
    # its fit (engine.B, the sandwich's meat) instead of recomputing it; the statistics agree to 1e-12
    f1, f0 = fitted(less), fitted(more)
    monkeypatch.setattr(wls, "SHARED_MEAT_N", 10 ** 12)
    before = scaled_difference_test(f1, f0)
    monkeypatch.setattr(wls, "SHARED_MEAT_N", 0)
    after = scaled_difference_test(f1, f0)
    for key, value in before.items():
        assert after[key] == pytest.approx(value, rel=1e-12), key


def _dense_meat(deltas, groups):
    """M = Σ_g f_g Δ_g'W_gΓ_gW_gΔ_g over all columns, as before issue 16's sparse form."""
    N = sum(gm.n for gm in groups)
    return sum(gm.n / N * (D * gm.w[:, None]).T @ gm.gamma @ (D * gm.w[:, None]) for D, gm in zip(deltas, groups))


@pytest.mark.parametrize("name", ["hs_ord", "inv_hs_configural", "inv_hs_loadings", "inv_bfi_intercepts",
                                  "partial_bfi_loadings"])
def test_large_n_meat_and_traces_over_nonzero_columns_equal_dense(name, monkeypatch):
    """From SHARED_MEAT_N rows on the meat and the traces use each group's non-zero Jacobian columns, the
    fit's meat and R_g = L_gᵀ (symmetric Γ_g): the same sums regrouped (1e-10 relative to the dense forms)."""
    e = fitted(name)._engine
    UG = wls._ugamma(e.deltas, e.moments, e.A_inv)
    M0 = _dense_meat(e.deltas, e.moments)
    monkeypatch.setattr(wls, "SHARED_MEAT_N", 0)
    parts: dict = {}
    M = wls.meat(e.deltas, e.moments, parts)
    np.testing.assert_allclose(M, M0, rtol=1e-10, atol=1e-12 * np.abs(M0).max())
    assert (len(parts) == len(e.moments)) == (len(e.moments) > 1)  # the multi-group path keeps Δ_g'W_gΓ_g
    assert all(gm.gamma_terms[2] for gm in e.moments)  # (symmetric to rounding)
    for given, kept in ((None, None), (M, None), (M, parts)):  # kept: the meat's products reused by the traces
        tr1, tr2 = wls._ugamma_traces(e.deltas, e.moments, e.A_inv, given, kept)
        assert tr1 == pytest.approx(float(np.trace(UG)), rel=1e-10)
        assert tr2 == pytest.approx(float(np.sum(UG * UG.T)), rel=1e-10)
    assert wls._ugamma_traces(e.deltas, e.moments, e.A_inv, M, parts) == wls._ugamma_traces(e.deltas, e.moments,
                                                                                           e.A_inv, M)
    # a Γ that is not symmetric to rounding takes R_g = Γ_g W_g Δ_g (no symmetry assumed); one asymmetric at the
    # rounding of a NACOV's block products (≈ 1e-16 relative) counts as symmetric: R_g = L_gᵀ, the traces the same
    # to 1e-10 (issue 16, sixth session)
    from dataclasses import replace

    rng = np.random.default_rng(0)
    near = [replace(gm, gamma=gm.gamma * (1 + 2e-16 * np.triu(rng.normal(size=gm.gamma.shape)))) for gm in e.moments]
    assert all(gm.gamma_terms[2] for gm in near)
    assert any(not np.array_equal(gm.gamma, gm.gamma.T) for gm in near)
    UG = wls._ugamma(e.deltas, near, e.A_inv)
    tr1, tr2 = wls._ugamma_traces(e.deltas, near, e.A_inv)
    assert tr1 == pytest.approx(float(np.trace(UG)), rel=1e-10)
    assert tr2 == pytest.approx(float(np.sum(UG * UG.T)), rel=1e-10)
    groups = [replace(gm, gamma=gm.gamma + 1e-3 * np.abs(gm.gamma).max() * rng.normal(size=gm.gamma.shape))
              for gm in e.moments]
    UG = wls._ugamma(e.deltas, groups, e.A_inv)
    tr1, tr2 = wls._ugamma_traces(e.deltas, groups, e.A_inv)
    assert tr1 == pytest.approx(float(np.trace(UG)), rel=1e-10)
    assert tr2 == pytest.approx(float(np.sum(UG * UG.T)), rel=1e-10)


@pytest.mark.parametrize("name", ["hs_ord", "inv_hs_loadings", "inv_bfi_intercepts", "inv_bfi_configural"])
def test_jacobian_columns_equal_the_full_jacobian_s_nonzero_columns(name):
    # issue 16: the Gauss–Newton steps build only Δ_g's non-zero columns; bit for bit the full Jacobian's, in
    # its column-selection's (Fortran) layout, so every later product is the same BLAS call on the same numbers
    e = fitted(name)._engine
    for g, part in enumerate(e.model.parts(e.x)):
        D = e.model.jacobian(g, part)
        ref = D[:, np.flatnonzero(np.any(D != 0.0, axis=0))]
        Dg, cols = e.model.jacobian_columns(g, part)
        assert np.array_equal(cols, np.flatnonzero(np.any(D != 0.0, axis=0)))
        assert np.array_equal(Dg, ref) and Dg.flags.f_contiguous == ref.flags.f_contiguous


def test_complement_rows_and_pinv_times():
    # issue 16: from SHARED_MEAT_N rows on, the Satorra test's restriction matrix A comes from a complete QR of H
    # (another orthonormal basis of the complement of range(H) than the SVD's: the same projector), and — where the
    # normal equations decline — D1⁺D0 from a reduced QR of the stacked Jacobian (pinv when it is rank deficient)
    rng = np.random.default_rng(2)
    H = rng.normal(size=(40, 25))
    A = wls._complement_rows(H)
    U_, s, _ = np.linalg.svd(H, full_matrices=True)
    A_svd = U_[:, 25:].T
    np.testing.assert_allclose(A @ A.T, np.eye(15), atol=1e-12)
    np.testing.assert_allclose(A @ H, 0.0, atol=1e-12)
    np.testing.assert_allclose(A.T @ A, A_svd.T @ A_svd, atol=1e-12)
    H[:, 3] = H[:, 1] + H[:, 2]  # rank deficient: left to the SVD
    assert wls._complement_rows(H) is None
    D, X = rng.normal(size=(60, 12)), rng.normal(size=(60, 5))
    ref = np.linalg.pinv(D) @ X
    np.testing.assert_allclose(wls._pinv_times(D, X), ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    D[:, 4] = D[:, 2] - D[:, 3]  # rank deficient: pinv
    ref = np.linalg.pinv(D) @ X
    np.testing.assert_allclose(wls._pinv_times(D, X), ref, rtol=0, atol=1e-12 * np.abs(ref).max())


@pytest.mark.parametrize("less,more", [("inv_bfi_configural", "inv_bfi_thresholds"),
                                       ("inv_hs_thresholds", "inv_hs_loadings")])
def test_satorra_twice_against_the_same_model_is_the_same(less, more, monkeypatch):
    # the QR fallback of the large-n path (the normal equations forced to decline) keeps no state between tests
    f1, f0 = fitted(less), fitted(more)
    monkeypatch.setattr(wls, "SHARED_MEAT_N", 0)
    monkeypatch.setattr(wls, "NORMAL_EQUATIONS_RCOND", np.inf)
    first = scaled_difference_test(f1, f0)
    second = scaled_difference_test(f1, f0)
    assert first == second


@pytest.mark.parametrize("name", ["inv_hs_loadings", "inv_bfi_intercepts", "inv_bfi_configural"])
def test_information_over_nonzero_columns_equals_dense(name, monkeypatch):
    # issue 16: from SHARED_MEAT_N rows on, A = Σ_g f_g Δ_g'W_gΔ_g is summed over each group's non-zero columns
    e = fitted(name)._engine
    dense = sum(f * (D.T * gm.w) @ D for D, gm, f in zip(e.deltas, e.moments, e.fg))
    monkeypatch.setattr(wls, "SHARED_MEAT_N", 0)
    np.testing.assert_allclose(wls.information(e.deltas, e.moments, e.fg), dense, rtol=1e-12,
                               atol=1e-14 * np.abs(dense).max())


@pytest.mark.parametrize("name", ["inv_hs_loadings", "inv_bfi_intercepts", "inv_bfi_thresholds"])
def test_scale_columns_at_once_equal_the_loop_per_item(name):
    # issue 16: the Jacobian's columns of the free scales δ are written by one indexed add (distinct entries);
    # bit for bit the loop over items it replaces
    e = fitted(name)._engine
    model = e.model
    assert any(len(model.delta_plan[g][0]) for g in range(model.G))
    fast = [model.jacobian(g, part) for g, part in enumerate(model.parts(e.x))]
    saved = model._delta_rows
    try:
        model._delta_rows = [(False, *rest) for _, *rest in saved]
        loop = [model.jacobian(g, part) for g, part in enumerate(model.parts(e.x))]
    finally:
        model._delta_rows = saved
    assert all(np.array_equal(a, b) for a, b in zip(fast, loop))


def _table_row_by_row(spec, values, V, standardize):
    """cfa._tables.parameter_table as it was before issue 16's column-wise version (the reference)."""
    import math

    import pandas as pd
    from scipy import special

    from psychometrics.cfa._tables import _Z975

    var_free = np.diag(V) if V.size else np.zeros(0)
    se_free = np.full(var_free.shape, np.nan)
    positive = var_free > 0
    se_free[positive] = np.sqrt(var_free[positive])
    rec = []
    for prm, v in zip(spec.parameters, values):
        se = float(se_free[prm.index]) if prm.free else 0.0
        if prm.free and se > 0:
            z = v / se
            pval = 2 * float(special.ndtr(-abs(z)))
        else:
            z = pval = math.nan
        std_lv, std_all = standardize(prm, float(v))
        rec.append({"lhs": prm.lhs, "op": prm.op, "rhs": prm.rhs, "group": spec.groups[prm.group],
                    "label": prm.label, "free": prm.free, "est": float(v), "se": se, "z": z, "pvalue": pval,
                    "ci_lower": v - _Z975 * se if prm.free else float(v),
                    "ci_upper": v + _Z975 * se if prm.free else float(v),
                    "std_lv": float(std_lv), "std_all": float(std_all)})
    return pd.DataFrame.from_records(rec)


@pytest.mark.parametrize("name", ["hs_ord", "inv_bfi_intercepts", "partial_bfi_loadings"])
def test_parameter_table_columns_at_once_equal_row_by_row(name):
    # issue 16: the parameter table is built column-wise (the same elementwise operations); identical to the
    # row-by-row table, also with a non-positive sampling variance (NaN se, z, p and interval)
    from psychometrics.cfa._tables import parameter_table

    e = fitted(name)._engine
    for V in (e.V, np.where(np.eye(e.V.shape[0], dtype=bool) & (np.arange(e.V.shape[0]) % 7 == 0), -1.0, e.V)):
        got = parameter_table(e.spec, e.values(), V, e.standardize)
        ref = _table_row_by_row(e.spec, e.values(), V, e.standardize)
        assert list(got.columns) == list(ref.columns) and list(got.dtypes) == list(ref.dtypes)
        assert got.equals(ref)


@pytest.mark.parametrize("less,more", [("inv_bfi_configural", "inv_bfi_thresholds"),
                                       ("inv_hs_thresholds", "inv_hs_loadings"),
                                       ("inv_bfi_loadings", "inv_bfi_intercepts"),
                                       ("inv_hs_loadings", "inv_hs_intercepts")])
def test_nested_map_by_normal_equations_equals_pinv(less, more, monkeypatch):
    """Issue 16: H = D1⁺D0 by the normal equations over each group's non-zero columns equals the pseudo-inverse's
    to 1e-12 (well-conditioned Jacobians of nested models), and the large-n Satorra test with it equals the test
    with the QR of the stacked Jacobian (the guard forced off) to 1e-12."""
    e1, e0 = fitted(less)._engine, fitted(more)._engine
    H = wls._nested_map(e1.deltas, e0.deltas)
    assert H is not None
    ref = np.linalg.pinv(np.vstack(e1.deltas)) @ np.vstack(e0.deltas)
    np.testing.assert_allclose(H, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    monkeypatch.setattr(wls, "SHARED_MEAT_N", 0)
    by_normal = scaled_difference_test(fitted(less), fitted(more))
    monkeypatch.setattr(wls, "NORMAL_EQUATIONS_RCOND", np.inf)  # every D1 "ill conditioned": the QR
    assert wls._nested_map(e1.deltas, e0.deltas) is None
    by_qr = scaled_difference_test(fitted(less), fitted(more))
    for key, value in by_qr.items():
        assert by_normal[key] == pytest.approx(value, rel=1e-12), key


def test_nested_map_declines_a_rank_deficient_jacobian():
    """A D1 with dependent columns (or a zero column) is left to the QR/SVD path."""
    rng = np.random.default_rng(3)
    d1 = rng.normal(size=(40, 6))
    d1[:, 5] = d1[:, 0] + d1[:, 1]
    d0 = d1[:, :3] @ rng.normal(size=(3, 2))
    assert wls._nested_map([d1], [d0]) is None
    d1[:, 5] = 0.0
    assert wls._nested_map([d1], [d0]) is None
    d1[:, 5] = rng.normal(size=40)
    np.testing.assert_allclose(wls._nested_map([d1], [d0]), np.linalg.pinv(d1) @ d0, atol=1e-12)


def test_group_moments_shared_across_fits_give_the_same_fit():
    """Issue 16: fits to the same statistics reuse each group's WLS moments and their model-independent
    traces (``moments_cache``, as the invariance ladder does): bit for bit the fit without the cache."""
    from psychometrics.cfa.categorical import fit_categorical
    from test_cfa_categorical import MODELS, fixture, labels, stats_from

    d = fixture("inv_hs_configural")
    stats, gl = stats_from(d["groups"]), labels(d)
    cache: dict = {}
    kw = dict(groups=gl, group="school", std_lv=True)
    first = fit_categorical(MODELS["hs3"], stats, group_equal=("thresholds", "loadings"), moments_cache=cache, **kw)
    again = fit_categorical(MODELS["hs3"], stats, group_equal=("thresholds", "loadings"), moments_cache=cache, **kw)
    plain = fit_categorical(MODELS["hs3"], stats, group_equal=("thresholds", "loadings"), **kw)
    assert len(cache) == len(stats) and all(a is b for a, b in zip(first._engine.moments, again._engine.moments))
    assert again.fit == plain.fit and first.fit == plain.fit
    for gm in first._engine.moments:
        WG = gm.w[:, None] * gm.gamma
        assert gm.gamma_terms == (float(np.trace(WG)), float(np.sum(WG * WG.T)), bool(np.allclose(
            gm.gamma, gm.gamma.T, rtol=0, atol=wls.GAMMA_SYMMETRY * np.abs(gm.gamma).max())))
