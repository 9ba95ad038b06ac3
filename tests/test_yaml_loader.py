"""The bounded YAML loader (``psychometrics._yaml``) and bounded quoting (``psychometrics._text``).

Issue 14, class 1: an alias bomb ("billion laughs") or an oversized file given as a spec,
companion spec, study file, ``--config`` or YAML scoring key is refused at once (< 1 s,
< 100 MB) with a typed error, and every message quotes user values through the bounded
``quote``. On main before issue 14 these inputs grew memory without bound.
"""

from __future__ import annotations

import resource
import shutil
import time
import tracemalloc
from pathlib import Path

import pytest

from psychometrics._text import QUOTE_LIMIT, console_safe, quote
from psychometrics._yaml import MAX_YAML_BYTES, load_yaml
from psychometrics.exceptions import ScoringKeyError, SpecError

MINI = Path(__file__).parent / "data" / "mini_scale.yaml"

BOMB = "\n".join([
    "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]",
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]",
    "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]",
    "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]",
    "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]",
])


def _bomb_under(field_yaml: str) -> str:
    """The billion-laughs anchors, then ``field_yaml`` that refers to *i."""
    return BOMB + "\n" + field_yaml + "\n"


def _spec_with_bomb() -> str:
    text = MINI.read_text(encoding="utf-8").replace("missing_codes: [-9, 99]", "missing_codes: *i")
    return BOMB.replace("a: &a", "x_a: &a").replace("\nb:", "\nx_b:").replace("\nc:", "\nx_c:") \
        .replace("\nd:", "\nx_d:").replace("\ne:", "\nx_e:").replace("\nf:", "\nx_f:").replace("\ng:", "\nx_g:") \
        .replace("\nh:", "\nx_h:").replace("\ni:", "\nx_i:") + "\n" + text


def _bounded(fn, *args, **kwargs):
    """Run fn; assert it took < 1 s and allocated < 100 MB (Python allocations)."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        return fn(*args, **kwargs)
    finally:
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert elapsed < 1.0, elapsed
        assert peak < 100e6, peak


# --------------------------------------------------------------------- quote
def test_quote_is_repr_for_short_values():
    for v in ("MSS01", 3, 2.5, None, True, ["a", 1], {"k": "v"}, ("x",)):
        assert quote(v) == repr(v)


def test_quote_is_bounded_and_never_walks_a_container():
    class Endless:
        def __iter__(self):
            while True:
                yield "x"

    deep: list = ["lol"] * 9
    for _ in range(9):
        deep = [deep] * 9  # 9**10 leaves if expanded
    for v in ("x" * 10_000, deep, {i: deep for i in range(1000)}, 10 ** 5000, list(range(10 ** 6))):
        out = _bounded(quote, v)
        assert len(out) <= QUOTE_LIMIT
    assert quote("\x1b]0;pwned\x07") == repr("\x1b]0;pwned\x07")  # escapes stay visible


def test_console_safe_escapes_markup_and_controls():
    assert console_safe("PhD [/] students") == "PhD \\[/] students"
    assert console_safe("[red]graduate") == "\\[red]graduate"
    assert console_safe("a\x1b[31mb\x07") == "a\\x1b[31mb\\x07"  # no ESC reaches the terminal
    assert console_safe("bidi\u202eevil") == "bidi\\u202eevil"


# ------------------------------------------------------------ loader itself
def test_bomb_refused_fast(tmp_path):
    p = tmp_path / "bomb.yaml"
    p.write_text(_bomb_under("x: *i"))
    with pytest.raises(SpecError, match="alias"):
        _bounded(load_yaml, p, "Scale spec")


def test_recursive_alias_and_deep_nesting_refused(tmp_path):
    p = tmp_path / "rec.yaml"
    p.write_text("a: &a [1, *a]\n")
    with pytest.raises(SpecError, match="refers to itself"):
        load_yaml(p, "Scale spec")
    p.write_text("x: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(SpecError, match=str(p.name)):
        _bounded(load_yaml, p, "Scale spec")


def test_oversized_file_refused_unread(tmp_path):
    p = tmp_path / "big.yaml"
    with p.open("w") as fh:
        fh.write("x: '")
        fh.write("a" * (MAX_YAML_BYTES + 10))
        fh.write("'\n")
    with pytest.raises(SpecError, match="MB"):
        _bounded(load_yaml, p, "Scale spec")


def test_ordinary_aliases_still_work(tmp_path):
    p = tmp_path / "ok.yaml"
    p.write_text("a: &x [1, 2]\nb: *x\n")
    assert load_yaml(p, "Config file") == {"a": [1, 2], "b": [1, 2]}


# ------------------------------------------------- every YAML input of the package
def test_spec_bomb(tmp_path):
    from psychometrics.scale import Scale

    p = tmp_path / "spec.yaml"
    p.write_text(_spec_with_bomb())
    with pytest.raises(SpecError, match="alias"):
        _bounded(Scale.from_yaml, p)


def test_config_bomb(tmp_path):
    from psychometrics.pipeline import load_config

    for field in ("group: *i", "measures: *i"):
        p = tmp_path / "config.yaml"
        p.write_text(_bomb_under(field))
        with pytest.raises(SpecError, match="Config file"):
            _bounded(load_config, p)


def test_key_bomb(tmp_path):
    from psychometrics.scoring import ScoringKey

    p = tmp_path / "scoring_key.yaml"
    p.write_text(_bomb_under("scores: *i"))
    with pytest.raises(ScoringKeyError, match="alias"):
        _bounded(ScoringKey.from_file, p)


def test_study_bomb(tmp_path):
    from psychometrics.simulate import load_study

    p = tmp_path / "study.yaml"
    p.write_text(_bomb_under("population: *i"))
    with pytest.raises(SpecError, match="Study file"):
        _bounded(load_study, p)


def test_companion_bomb_is_skipped_with_a_note(tmp_path):
    from psychometrics.scale import Scale, find_companions

    shutil.copy(MINI, tmp_path / "mini.yaml")
    (tmp_path / "companion.yaml").write_text(_bomb_under("id: companion\nitems: *i"))
    notes: list[str] = []
    found, missing = _bounded(find_companions, Scale.from_yaml(tmp_path / "mini.yaml"), (), notes)
    assert found == {} and missing == ["companion"]
    assert len(notes) == 1 and "companion.yaml" in notes[0] and "alias" in notes[0]


_CHILD = """\
import json, resource, sys, time
from psychometrics.cli import main
t0, c0 = time.perf_counter(), time.process_time()
try:
    main(sys.argv[1:])
    rc = 0
except SystemExit as e:
    rc = e.code if isinstance(e.code, int) else 1
print(json.dumps({"rc": rc, "wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _cli_process(*args) -> dict:
    """``psychometrics ARGS`` in a fresh Python process; its exit code, wall and CPU time of the
    command, and the peak resident set size of the whole process (ru_maxrss of RUSAGE_SELF, the
    kernel's VmHWM, in kB)."""
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _CHILD, *map(str, args)], capture_output=True, text=True,
                         timeout=300)
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["stderr"] = out.stderr
    return result


def _yaml_inputs(tmp_path: Path, bomb: bool) -> dict[str, list]:
    """One command per YAML input kind (the study file is read by ``simulate`` and ``plan`` through
    the same ``load_study``; the spec by every command through ``Scale.from_yaml``); with ``bomb`` the YAML holds a billion-laughs alias
    bomb, else a small file that is refused at the same stage (the baseline process)."""
    import numpy as np
    import pandas as pd

    from psychometrics.scale import Scale

    d = tmp_path / ("bomb" if bomb else "base")
    d.mkdir()
    scale = Scale.from_yaml(MINI)
    rng = np.random.default_rng(0)
    pd.DataFrame({i: rng.integers(1, 6, 40) for i in scale.item_ids}).to_csv(d / "data.csv", index=False)
    shutil.copy(MINI, d / "mini.yaml")
    small = "[lol, lol]"
    (d / "spec.yaml").write_text(_spec_with_bomb() if bomb else
                                 MINI.read_text(encoding="utf-8").replace("missing_codes: [-9, 99]",
                                                                          "missing_codes: [[lol]]"))
    (d / "companion.yaml").write_text(_bomb_under("id: companion\nitems: *i") if bomb else
                                      f"id: companion\nitems: {small}\n")
    (d / "study.yaml").write_text(_bomb_under("population: *i") if bomb else f"population: {small}\n")
    (d / "config.yaml").write_text(_bomb_under("group: *i") if bomb else f"group: {small}\n")
    (d / "config2.yaml").write_text(_bomb_under("measures: *i") if bomb else "measures: 7\n")
    (d / "scoring_key.yaml").write_text(_bomb_under("scores: *i") if bomb else f"scores: {small}\n")
    return {
        "scale spec (check)": ["check", d / "spec.yaml"],
        "companion spec": ["check", d / "mini.yaml", "--companion", d / "companion.yaml"],
        "study file (simulate)": ["simulate", d / "study.yaml", "-o", d / "sim.csv"],
        "config group": ["validate", d / "mini.yaml", d / "data.csv", "--config", d / "config.yaml",
                         "--out", d / "o2", "-q"],
        "config measures": ["validate", d / "mini.yaml", d / "data.csv", "--config", d / "config2.yaml",
                            "--out", d / "o3", "-q"],
        "scoring key": ["score", d / "scoring_key.yaml", d / "data.csv", "-o", d / "scores.csv"],
    }


def test_every_yaml_input_kind_bomb_bounded_in_process_memory_and_time(tmp_path):
    """Every YAML input kind through the command line, each in its own process: a billion-laughs
    bomb is refused (exit 2, no traceback) and the process's peak RSS grows by < 100 MB over the
    baseline process (the same command on a small file refused at the same stage). Time: the
    refusal adds < 1 s of CPU over the baseline; the wall-clock bound is a generous 60 s because
    the test machine runs several test suites on 2 cores (wall time there is 2–6× CPU time)."""
    base = {k: _cli_process(*cmd) for k, cmd in _yaml_inputs(tmp_path, bomb=False).items()}
    problems = []
    for kind, cmd in _yaml_inputs(tmp_path, bomb=True).items():
        r = _cli_process(*cmd)
        grown_mb = (r["maxrss_kb"] - base[kind]["maxrss_kb"]) / 1024
        if r["rc"] != 2 or "alias" not in r["stderr"]:
            problems.append(f"{kind}: exit {r['rc']}: {r['stderr'][-300:]}")
        if grown_mb >= 100:
            problems.append(f"{kind}: peak RSS {r['maxrss_kb'] / 1024:.0f} MB, {grown_mb:.0f} MB over the baseline")
        if r["cpu"] - base[kind]["cpu"] >= 1.0 or r["wall"] >= 60:
            problems.append(f"{kind}: {r['cpu']:.2f} s CPU (baseline {base[kind]['cpu']:.2f} s), {r['wall']:.1f} s wall")
    assert not problems, "\n".join(problems)


def test_huge_integers_refused_in_yaml_and_out_of_range_in_data(tmp_path):
    """Found by the fuzz test: float() of 10**400 overflowed (internal OverflowError, exit 3)."""
    import pandas as pd

    from psychometrics.data import load_responses
    from psychometrics.exceptions import DataError
    from psychometrics.pipeline import load_config
    from psychometrics.scale import Scale

    p = tmp_path / "config.yaml"
    p.write_text("split: " + "1" * 400 + "\n")
    with pytest.raises(SpecError, match="too large"):
        load_config(p)
    scale = Scale.from_yaml(MINI)
    df = pd.DataFrame({i: [1, 2, 3, 4] * 5 for i in scale.item_ids}).astype(object)
    df.iloc[3, 0] = "9" * 400
    data = tmp_path / "d.csv"
    df.to_csv(data, index=False)
    with pytest.raises(DataError, match="outside"):
        load_responses(data, scale)


@pytest.mark.parametrize("text", ["a: 1\n\tb: 2\n", "a: [1, 2\n", "- a\nb: 1\n", "a: b: c\n", "a: &x 1\nb: *y\n",
                                  "a: \x07\n", "a: 1\na: 2\n", "n: 1" + "0" * 30 + "\n", "a: *x\n"])
def test_libyaml_parses_and_pyyaml_words_the_errors(text, monkeypatch):
    """Specs are parsed by libyaml when PyYAML has it (≈ 20× faster); a document it refuses is parsed again
    by PyYAML's own parser, so the message (problem, line, column) is the one PyYAML gave before."""
    import yaml

    from psychometrics import _yaml
    from psychometrics.exceptions import SpecError

    if getattr(yaml, "__with_libyaml__", False):
        assert issubclass(_yaml._loader_class(True), yaml.CSafeLoader)
    with pytest.raises(SpecError) as fast:
        _yaml.parse_yaml(text, "s.yaml", "Scale spec")
    monkeypatch.setattr(yaml, "__with_libyaml__", False)
    with pytest.raises(SpecError) as pure:
        _yaml.parse_yaml(text, "s.yaml", "Scale spec")
    assert str(fast.value) == str(pure.value)
    good = "a: [1, 2.5, x]\nb: {c: null, d: true}\ne: &r 3\nf: *r\n"
    monkeypatch.undo()
    assert _yaml.parse_yaml(good, "s.yaml", "Scale spec") == {"a": [1, 2.5, "x"], "b": {"c": None, "d": True},
                                                               "e": 3, "f": 3}
