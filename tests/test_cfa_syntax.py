"""lavaan model syntax parser and parameter-table defaults (psychometrics.cfa.syntax / specification)."""

from __future__ import annotations

import pytest

from psychometrics.cfa import build_spec, parse_model
from psychometrics.exceptions import ModelSyntaxError


def test_parse_operators_modifiers_comments_and_continuations():
    text = """
    # a comment line
    visual =~ x1 + 0.5*x2 + NA*x3   ! lavaan also allows '!'
    textual =~ x4 + a*x5 +
               a*x6
    speed =~ c(1, NA)*x7 + c(b1, b2)*x8 + start(0.8)*x9; x7 ~~ x8
    x1 ~ 1
    visual ~ 0*1
    """
    st = parse_model(text)
    assert [(s.lhs, s.op) for s in st] == [
        ("visual", "=~"), ("textual", "=~"), ("speed", "=~"), ("x7", "~~"), ("x1", "~1"), ("visual", "~1"),
    ]
    v = st[0].terms
    assert v[1].modifiers[0].fixed == 0.5 and v[2].modifiers[0].free
    t = st[1].terms
    assert [x.name for x in t] == ["x4", "x5", "x6"] and t[2].modifiers[0].label == "a"
    s = st[2].terms
    assert s[0].modifiers[0].fixed == 1.0 and s[0].modifiers[1].free
    assert [m.label for m in s[1].modifiers] == ["b1", "b2"]
    assert s[2].modifiers[0].start == 0.8
    assert st[3].line == 6 and st[5].terms[0].modifiers[0].fixed == 0.0


@pytest.mark.parametrize(
    "text, match",
    [
        ("f =~ x1 + x2\ny ~ f", r"line 2: regressions \('~'\) are not supported"),
        ("f =~ x1 + x2\nx1 == x2", "line 2: explicit constraints"),
        ("f =~ x1 + + x2", "line 1: empty term"),
        ("f =~ x1 + 2x", "line 1: '2x' is not a variable name"),
        ("f x1 x2", "line 1: no operator"),
        ("f =~ x1 + x1", "line 1: 'x1' appears twice"),
        ("=~ x1", "line 1: nothing on the left"),
        ("f =~ foo(1)*x1", "line 1: cannot read the modifier"),
        ("", "the model is empty"),
        ("f =~ x1 + x2\nd := a*b", "line 2: defined parameters"),
    ],
)
def test_syntax_errors_name_the_line(text, match):
    with pytest.raises(ModelSyntaxError, match=match):
        parse_model(text)


def _rows(spec, **where):
    return [p for p in spec.parameters if all(getattr(p, k) == v for k, v in where.items())]


def test_lavaan_cfa_defaults_marker_and_free_covariances():
    spec = build_spec("f1 =~ x1 + x2 + x3\nf2 =~ x4 + x5 + x6")
    (l1,) = _rows(spec, lhs="f1", rhs="x1")
    assert not l1.free and l1.value == 1.0
    assert all(p.free for p in _rows(spec, op="~~"))
    assert len(_rows(spec, op="~~", lhs="f1", rhs="f2")) == 1
    assert spec.n_free == 13 and not spec.meanstructure


def test_std_lv_frees_loadings_fixes_variances():
    spec = build_spec("f1 =~ x1 + x2 + x3", std_lv=True)
    assert all(p.free for p in _rows(spec, op="=~"))
    (v,) = _rows(spec, lhs="f1", rhs="f1")
    assert not v.free and v.value == 1.0


def test_labels_make_equality_constraints_and_na_frees_marker():
    spec = build_spec("f =~ NA*x1 + a*x2 + a*x3\nf ~~ 1*f")
    x1, x2, x3 = (_rows(spec, op="=~", rhs=f"x{i}")[0] for i in (1, 2, 3))
    assert x1.free and x2.index == x3.index and x2.label == "a"
    assert spec.n_free == 1 + 1 + 3


def test_multigroup_group_equal_and_partial_and_latent_means():
    spec = build_spec(
        "f =~ x1 + x2 + x3", groups=("A", "B"), group_equal=("loadings", "intercepts"),
        group_partial=("x3 ~ 1",),
    )
    assert spec.meanstructure
    a2, b2 = _rows(spec, op="=~", rhs="x2")
    assert a2.index == b2.index and a2.label == b2.label != ""
    a3, b3 = _rows(spec, op="~1", lhs="x3")
    assert a3.index != b3.index
    ma, mb = _rows(spec, op="~1", lhs="f")
    assert not ma.free and mb.free  # latent mean free in group 2 once intercepts are equal


def test_group_vector_length_must_match_groups():
    with pytest.raises(ModelSyntaxError, match="line 1: c\\(...\\) has 3 values but the model has 2 group"):
        build_spec("f =~ x1 + c(a, b, d)*x2 + x3", groups=("A", "B"))


def test_bad_group_equal_and_duplicates():
    with pytest.raises(ModelSyntaxError, match="unknown name 'slopes'"):
        build_spec("f =~ x1 + x2 + x3", groups=("A", "B"), group_equal=("slopes",))
    with pytest.raises(ModelSyntaxError, match="at least two groups"):
        build_spec("f =~ x1 + x2 + x3", group_equal=("loadings",))
    with pytest.raises(ModelSyntaxError, match="line 3: parameter 'x2 ~~ x1' is specified twice"):
        build_spec("f =~ x1 + x2 + x3\nx1 ~~ x2\nx2 ~~ x1")
    with pytest.raises(ModelSyntaxError, match="between item and factor"):
        build_spec("f =~ x1 + x2 + x3\nx1 ~~ f")


def test_higher_order_factor_goes_to_beta_and_only_exogenous_factors_covary():
    spec = build_spec("a =~ x1 + x2 + x3\nb =~ x4 + x5 + x6\nc =~ x7 + x8 + x9\ng =~ a + b + c")
    assert {p.matrix for p in _rows(spec, lhs="g", op="=~")} == {"beta"}
    covs = [p for p in spec.parameters if p.op == "~~" and p.lhs != p.rhs]
    assert covs == []  # a, b, c are endogenous; g is the only exogenous factor


def test_group_partial_must_name_a_parameter():
    with pytest.raises(ModelSyntaxError, match="group_partial entry 'f=~x9' is not a parameter"):
        build_spec("f =~ x1 + x2 + x3", groups=("A", "B"), group_equal=("loadings",), group_partial=("f=~x9",))
    with pytest.raises(ModelSyntaxError, match="is not a parameter such as"):
        build_spec("f =~ x1 + x2 + x3", groups=("A", "B"), group_equal=("loadings",), group_partial=("x9",))
    spec = build_spec("f =~ x1 + x2 + x3\nx1 ~~ x2", groups=("A", "B"), group_equal=("residual.covariances",),
                      group_partial=("x2 ~~ x1",))
    a, b = [p for p in spec.parameters if p.op == "~~" and p.lhs == "x1" and p.rhs == "x2"]
    assert a.index != b.index
