"""Scale specification: loading, helpers, content hash, and every bad-input case."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from psychometrics.exceptions import SpecError
from psychometrics.scale import Item, Scale, Subscale

MINI = Path(__file__).parent / "data" / "mini_scale.yaml"


@pytest.fixture()
def spec() -> dict:
    with MINI.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _error(d: dict, source: str = "bad.yaml") -> str:
    with pytest.raises(SpecError) as info:
        Scale.from_dict(d, source=source)
    return str(info.value)


def _write(tmp_path: Path, text: str, name: str = "scale.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ valid spec
def test_from_yaml_exposes_items_and_subscales():
    scale = Scale.from_yaml(MINI)
    assert scale.id == "mini" and scale.name == "Mini Test Scale" and scale.version == "1.0.0"
    assert scale.construct.startswith("A small made-up construct")
    assert all(isinstance(i, Item) for i in scale.items)
    assert all(isinstance(s, Subscale) for s in scale.subscales)
    assert scale.item_ids == ("A1", "A2", "A3", "B1", "B2", "B3", "C1", "C2")
    assert scale.subscale_ids == ("alpha", "beta", "gamma")
    assert scale.items[2].text == "Alpha item three (reversed)." and scale.items[2].reverse
    assert scale.reverse_items == ("A3", "C2")
    assert scale.items_of("gamma") == ("C1", "C2")
    assert scale.items_of("total") == scale.item_ids
    assert scale.subscale_of("B2") == "beta"
    assert scale.source == MINI
    assert scale.response_format.categories == (1, 2, 3, 4, 5)
    assert scale.response_format.missing_codes == (-9, 99)
    assert scale.scoring.method == "mean" and scale.scoring.min_answered == 0.8 and scale.scoring.total
    assert scale.hierarchy is not None and scale.hierarchy.subscales == ("alpha", "beta", "gamma")
    assert [h.id for h in scale.validity] == ["H1", "H2"]
    assert scale.keys["alpha"] == {"A1": 1, "A2": 1, "A3": -1}
    assert "Mini Test Scale" in scale.summary() and "alpha" in scale.summary()


def test_scale_is_frozen():
    scale = Scale.from_yaml(MINI)
    with pytest.raises(Exception):
        scale.name = "other"  # type: ignore[misc]
    with pytest.raises(Exception):
        scale.items[0].reverse = True  # type: ignore[misc]
    assert isinstance(scale.items, tuple)


def test_defaults_when_optional_sections_are_omitted(spec):
    for key in ("hierarchy", "scoring", "validity", "citation"):
        spec.pop(key)
    spec["items"][0].pop("reverse", None)
    scale = Scale.from_dict(spec)
    assert scale.hierarchy is None and scale.validity == () and scale.citation is None
    assert scale.scoring.method == "mean" and scale.scoring.min_answered == 1.0 and scale.scoring.total
    assert scale.items[0].reverse is False
    assert scale.source is None


def test_content_hash_ignores_formatting_comments_and_key_order(tmp_path, spec):
    base = Scale.from_yaml(MINI).content_hash
    assert len(base) == 64
    # Re-dump with different style, key order and no comments.
    flowed = yaml.safe_dump(dict(reversed(list(spec.items()))), default_flow_style=True, sort_keys=False)
    assert Scale.from_yaml(_write(tmp_path, "# comment\n" + flowed)).content_hash == base
    # Writing out a default changes nothing.
    spec2 = copy.deepcopy(spec)
    spec2["items"][0]["reverse"] = False
    assert Scale.from_dict(spec2).content_hash == base
    # Any content change changes the hash.
    spec3 = copy.deepcopy(spec)
    spec3["items"][0]["text"] = "Alpha item one, reworded."
    assert Scale.from_dict(spec3).content_hash != base


def test_reverse_keyed_list_is_merged_into_items(spec):
    for item in spec["items"]:
        item.pop("reverse", None)
    spec["reverse_keyed"] = ["A3", "C2"]
    assert Scale.from_dict(spec).reverse_items == ("A3", "C2")


def test_continuous_response_format(spec):
    spec["response_format"] = {"type": "continuous", "min": 0, "max": 100.5, "missing_codes": [-1]}
    spec["response_format"]["labels"] = {0: "none", 100.5: "max"}
    scale = Scale.from_dict(spec)
    assert scale.response_format.categories == ()


def test_check_companions(spec):
    scale = Scale.from_dict(spec, source="mini.yaml")
    companion = copy.deepcopy(spec)
    companion["id"] = "companion"
    companion["validity"] = []
    companion["subscales"][0]["id"] = "other"
    for item in companion["items"]:
        if item["subscale"] == "alpha":
            item["subscale"] = "other"
    companion["hierarchy"]["subscales"] = ["other", "beta", "gamma"]
    scale.check_companions({"companion": Scale.from_dict(companion)})
    with pytest.raises(SpecError, match=r"validity\[0\]\.measure: hypothesis 'H1' names measure 'companion'"):
        scale.check_companions({})
    companion["subscales"][0]["id"] = "othr"
    for item in companion["items"]:
        if item["subscale"] == "other":
            item["subscale"] = "othr"
    companion["hierarchy"]["subscales"] = ["othr", "beta", "gamma"]
    with pytest.raises(SpecError, match=r"validity\[1\]\.measure_score: .*'other'.*did you mean 'othr'"):
        scale.check_companions({"companion": Scale.from_dict(companion)})


# --------------------------------------------------------------- bad specs
def test_unknown_subscale_names_item_field_and_suggests(spec):
    spec["items"][3]["subscale"] = "betta"
    msg = _error(spec)
    assert "bad.yaml" in msg
    assert "items[3].subscale" in msg and "'B1'" in msg and "did you mean 'beta'" in msg


def test_duplicate_item_id(spec):
    spec["items"][4]["id"] = "A2"
    msg = _error(spec)
    assert "items[4].id" in msg and "duplicate item id 'A2'" in msg and "items[1]" in msg


def test_duplicate_subscale_id(spec):
    spec["subscales"][2]["id"] = "beta"
    msg = _error(spec)
    assert "subscales[2].id" in msg and "duplicate subscale id 'beta'" in msg


@pytest.mark.parametrize("lo, hi", [(5, 5), (5, 1)])
def test_min_not_below_max(spec, lo, hi):
    spec["response_format"]["min"], spec["response_format"]["max"] = lo, hi
    spec["response_format"].pop("labels")
    spec["response_format"]["missing_codes"] = [-9]
    msg = _error(spec)
    assert "response_format.max" in msg and f"max ({hi}) must be greater than min ({lo})" in msg


def test_likert_needs_integer_bounds(spec):
    spec["response_format"]["max"] = 5.5
    assert "response_format.max: a likert response format needs integer categories" in _error(spec)


@pytest.mark.parametrize(
    "where, typo, path, suggestion",
    [
        (None, "subscale", "subscale", "subscales"),
        ("items", "revers", "items[2].revers", "reverse"),
        ("response_format", "missing_code", "response_format.missing_codes", None),
        ("scoring", "methd", "scoring.methd", "method"),
        ("validity", "min_r", "validity[0].min_r", "min_abs_r"),
        ("hierarchy", "subscale", "hierarchy.subscale", "subscales"),
    ],
)
def test_unknown_field_points_at_the_field_and_suggests(spec, where, typo, path, suggestion):
    if where is None:
        spec[typo] = spec.pop("subscales")
    elif where == "items":
        spec["items"][2][typo] = spec["items"][2].pop("reverse")
    elif where == "validity":
        spec["validity"][0][typo] = 0.3
    elif where == "response_format":
        spec[where][typo] = spec[where].pop("missing_codes")
        path = "response_format.missing_code"
        suggestion = "missing_codes"
    else:
        spec[where][typo] = spec[where].pop("subscales") if typo == "subscale" else spec[where].pop("method")
    msg = _error(spec)
    assert f"{path}" in msg and f"unknown field {typo!r}" in msg
    assert f"did you mean {suggestion!r}" in msg


def test_typo_in_yaml_file_names_file_and_field(tmp_path):
    text = MINI.read_text(encoding="utf-8").replace("  - {id: B2, text: \"Beta item two.\", subscale: beta}",
                                                     "  - {id: B2, txet: \"Beta item two.\", subscale: beta}")
    path = _write(tmp_path, text, "typo.yaml")
    with pytest.raises(SpecError) as info:
        Scale.from_yaml(path)
    msg = str(info.value)
    assert str(path) in msg
    assert "items[4].txet (item 'B2'): unknown field 'txet'; did you mean 'text'?" in msg
    assert "items[4].text (item 'B2'): required field is missing" in msg


def test_reverse_key_on_missing_item(spec):
    spec["reverse_keyed"] = ["A3", "D7"]
    msg = _error(spec)
    assert "reverse_keyed[1]: reverse key on unknown item 'D7'" in msg


def test_reverse_keyed_contradicting_item(spec):
    spec["reverse_keyed"] = ["A1"]
    spec["items"][0]["reverse"] = False
    assert "items[0].reverse: item 'A1' is listed in reverse_keyed but says reverse: false" in _error(spec)


def test_labels_outside_range(spec):
    spec["response_format"]["labels"][6] = "Beyond"
    assert "response_format.labels[6]: label for 6 lies outside the response range 1–5" in _error(spec)


def test_missing_code_inside_range(spec):
    spec["response_format"]["missing_codes"] = [-9, 3]
    assert "response_format.missing_codes[1]: missing code 3 lies inside the response range" in _error(spec)


def test_hierarchy_unknown_subscale(spec):
    spec["hierarchy"]["subscales"] = ["alpha", "gama"]
    msg = _error(spec)
    assert "hierarchy.subscales[1]: unknown subscale 'gama'; did you mean 'gamma'?" in msg


def test_hypothesis_unknown_scale_score(spec):
    spec["validity"][1]["scale_score"] = "alpah"
    msg = _error(spec)
    assert "validity[1].scale_score: hypothesis 'H2' refers to unknown score 'alpah'; did you mean 'alpha'?" in msg


def test_hypothesis_bounds(spec):
    spec["validity"][1].pop("max_abs_r")
    spec["validity"][0]["max_abs_r"] = 0.2
    msg = _error(spec)
    assert "validity[0].max_abs_r: max_abs_r (0.2) must be greater than min_abs_r (0.3)" in msg
    assert "validity[1].max_abs_r: a discriminant hypothesis needs an upper bound" in msg


def test_hypothesis_bad_direction_and_kind(spec):
    spec["validity"][0]["direction"] = "up"
    spec["validity"][1]["kind"] = "divergent"
    msg = _error(spec)
    assert "validity[0].direction (hypothesis 'H1'): 'up' is not allowed; expected 'positive', 'negative' or 'any'" in msg
    assert "validity[1].kind (hypothesis 'H2'): 'divergent' is not allowed" in msg


def test_subscale_without_items(spec):
    spec["subscales"].append({"id": "delta", "name": "Delta"})
    assert "subscales[3].id: subscale 'delta' has no items" in _error(spec)


def test_missing_required_field(spec):
    spec.pop("construct")
    spec["items"][0].pop("text")
    msg = _error(spec)
    assert "construct: required field is missing" in msg
    assert "items[0].text (item 'A1'): required field is missing" in msg
    assert "2 problems" in msg


def test_wrong_types_and_ids(spec):
    spec["response_format"]["min"] = "one"
    spec["items"][1]["reverse"] = "maybe"
    spec["items"][2]["id"] = "3 bad"
    spec["id"] = "Mini Scale"
    msg = _error(spec)
    assert "response_format.min: expected a number, got 'one'" in msg
    assert "items[1].reverse (item 'A2')" in msg and "'maybe'" in msg
    assert "items[2].id (item '3 bad'): '3 bad' is not a valid item id" in msg
    assert "id: 'Mini Scale' is not a valid id" in msg


def test_version_read_as_number(spec):
    spec["version"] = 1.0
    assert 'version: version must be a text like "1.0.0"' in _error(spec)
    spec["version"] = "one"
    assert "'one' is not a semantic version" in _error(spec)


def test_reserved_total_and_name_clashes(spec):
    spec["subscales"][0]["id"] = "total"
    for item in spec["items"]:
        if item["subscale"] == "alpha":
            item["subscale"] = "total"
    spec["hierarchy"]["subscales"] = ["total", "beta"]
    spec["validity"][1]["scale_score"] = "beta"
    assert "subscales[0].id: 'total' is reserved" in _error(spec)


def test_empty_items_and_non_mapping(spec):
    spec["items"] = []
    assert "items: at least one entry is needed in items" in _error(spec)
    spec["items"] = ["A1"]
    assert "items[0]: expected a mapping of fields, got str" in _error(spec)
    with pytest.raises(SpecError, match="top level must be a mapping"):
        Scale.from_dict(["not", "a", "mapping"], source="list.yaml")  # type: ignore[arg-type]


def test_all_problems_in_one_error(spec):
    spec["items"][3]["subscale"] = "betta"
    spec["items"][4]["id"] = "A1"
    spec["hierarchy"]["subscales"] = ["alpha", "delta"]
    msg = _error(spec)
    assert "3 problems" in msg
    # Field-level problems and cross-field problems are all reported together too.
    spec["response_format"]["labels"][0] = "zero"
    spec["response_format"]["missing_codes"] = [2]
    spec["items"][0]["revers"] = True
    msg = _error(spec)
    assert "6 problems" in msg
    for path in ("labels[0]", "missing_codes[0]", "items[0].revers", "items[3].subscale", "items[4].id",
                 "hierarchy.subscales[1]"):
        assert path in msg


# ----------------------------------------------------------- file problems
def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match=r"not found: .*nope\.yaml"):
        Scale.from_yaml(tmp_path / "nope.yaml")


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(SpecError, match="is a directory"):
        Scale.from_yaml(tmp_path)


def test_yaml_syntax_error_names_line(tmp_path):
    path = _write(tmp_path, "id: x\nname: [unclosed\nversion: 1.0.0\n", "broken.yaml")
    with pytest.raises(SpecError) as info:
        Scale.from_yaml(path)
    msg = str(info.value)
    assert str(path) in msg and "line " in msg and "not valid YAML" in msg


def test_yaml_duplicate_key_is_an_error(tmp_path):
    text = MINI.read_text(encoding="utf-8").replace("name: Mini Test Scale\n", "name: Mini Test Scale\nname: Again\n")
    path = _write(tmp_path, text, "dupe.yaml")
    with pytest.raises(SpecError, match=r"line 4, column 1: not valid YAML: duplicate key 'name' \(first at line 3\)"):
        Scale.from_yaml(path)


def test_yaml_unsafe_tags_are_refused(tmp_path):
    path = _write(tmp_path, "id: !!python/object/apply:os.system ['echo hi']\n", "unsafe.yaml")
    with pytest.raises(SpecError, match="not valid YAML"):
        Scale.from_yaml(path)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: Sk\xe5la\n".encode("latin-1"))
    with pytest.raises(SpecError, match="not UTF-8"):
        Scale.from_yaml(path)


def test_empty_file(tmp_path):
    with pytest.raises(SpecError, match="top level must be a mapping"):
        Scale.from_yaml(_write(tmp_path, "# nothing\n"))


def test_error_is_raised_without_library_traceback(spec):
    spec["items"][3]["subscale"] = "betta"
    with pytest.raises(SpecError) as info:
        Scale.from_dict(spec)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_documentation_example_is_a_valid_spec():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "scale-spec.md").read_text(encoding="utf-8")
    block = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    scale = Scale.from_dict(yaml.safe_load(block), source="docs/scale-spec.md")
    assert scale.id == "mentorship_supportiveness" and scale.reverse_items == ("MSS02",)


def test_import_warns_nothing_and_leaves_the_warning_filters_alone():
    # A field named ``construct`` would make pydantic warn at class creation; the package
    # must neither warn nor install a process-wide filter to hide it.
    code = (
        "import warnings\n"
        "warnings.simplefilter('error')\n"
        "before = list(warnings.filters)\n"
        "import psychometrics.scale\n"
        "assert list(warnings.filters) == before, 'importing psychometrics.scale changed the warning filters'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr


def test_construct_is_read_and_written_under_its_spec_key(spec):
    scale = Scale.from_dict(spec)
    assert scale.construct == spec["construct"].strip()
    assert scale.to_dict()["construct"] == scale.construct
    assert scale.model_dump()["construct"] == scale.construct


def test_scales_are_hashable_and_equal_by_content(spec, tmp_path):
    a = Scale.from_yaml(MINI)
    b = Scale.from_dict(spec)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    spec["name"] = "Other"
    assert Scale.from_dict(spec) != a
