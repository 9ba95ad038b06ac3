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


def test_cli_bomb_memory_bounded(tmp_path):
    """The whole `check` command on a spec bomb: exit 2 within 1 s of CPU, < 100 MB extra RSS."""
    import subprocess
    import sys

    p = tmp_path / "spec.yaml"
    p.write_text(_spec_with_bomb())
    code = ("import resource, sys, time\nfrom psychometrics.cli import main\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\nt0 = time.process_time()\n"
            f"try:\n    main(['check', {str(p)!r}])\nexcept SystemExit as e:\n    rc = e.code\n"
            "print(rc, time.process_time() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    rc, cpu, grown_kb = out.stdout.split()
    assert rc == "2" and "alias" in out.stderr
    assert float(cpu) < 1.0 and int(grown_kb) < 100_000
    assert resource  # RUSAGE is what the subprocess measures


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
