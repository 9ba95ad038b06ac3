"""Seeded fuzz of the command line with corrupted specs, configs, keys and data (issue 14).

A few hundred randomly corrupted inputs (text-level damage, hostile values in random
fields, alias bombs, binary junk, duplicated headers, hostile labels) are fed to
``check``, ``score`` and ``validate`` in-process. Each must end with exit code 0 or 2,
print no traceback and no "internal error", leave its input files unchanged and finish
in bounded time; the process's peak memory grows by less than 100 MB over the whole run.

``validate`` is fuzzed through its input handling: spec, config, companion discovery,
output checks and the data step (loading and checking the data) run for real; the
analysis steps after the data step are replaced by a stub that exits 0 (a complete run
takes seconds; those steps are covered by tests/test_pipeline.py, and
``test_validate_runs_on_degenerate_data`` below runs them once on degenerate data).
"""

from __future__ import annotations

import hashlib
import random
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from psychometrics.cli import main

MINI = Path(__file__).parent / "data" / "mini_scale.yaml"
SEED = 20261206
N_CASES = int(__import__("os").environ.get("FUZZ_CASES", "200"))
BOMB = "\n".join(["x_a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
                 + [f"x_{b}: &{b} [{', '.join(['*' + a] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi")])
HOSTILE = [None, "", " ", [], {}, 0, -1, 1e309, -10**30, 10**400, True, "NaN", ".inf", "[/]", "[red]x",
           "\x1b]0;pwned\x07", "\x00", "x" * 5000, list(range(500)), {"a": {"b": {"c": [1, [2, [3]]]}}},
           "!!python/object/apply:os.system ['echo pwned']", "A1", "graduate ", "../../etc/passwd", "ÿ\u202e"]
JUNK = ["[/]", "\x1b[31m", "&a ", "*a", "!!python/object:os.system", "{", "[", ":", "- ", "\t", "\x00",
        "ÿ", "1e309", "-99999999999999999999", "NaN", "~", "'", '"', "???", "\n  - ", ": :", "%YAML 9.9\n",
        "<<: *a", "? ", "|", ">", ",", ";", "\r"]


def _run(capsys, args: list) -> tuple[int, str, str]:
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out = capsys.readouterr()
    return code, out.out, out.err


# ------------------------------------------------------------------- mutators
def _mutate_text(text: str, rng: random.Random) -> str:
    kind = rng.randrange(8)
    lines = text.splitlines(keepends=True) or [""]
    if kind == 0:  # delete a span
        i = rng.randrange(len(text) + 1)
        return text[:i] + text[i + rng.randrange(1, 60):]
    if kind == 1:  # insert junk
        i = rng.randrange(len(text) + 1)
        return text[:i] + rng.choice(JUNK) + text[i:]
    if kind == 2:  # duplicate a line
        i = rng.randrange(len(lines))
        return "".join(lines[: i + 1] + [lines[i]] + lines[i + 1:])
    if kind == 3:  # swap two lines
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return "".join(lines)
    if kind == 4:  # truncate
        return text[: rng.randrange(len(text) + 1)]
    if kind == 5:  # an alias bomb in front, a reference to it somewhere
        i = rng.randrange(len(lines))
        lines[i] = lines[i].split(":")[0] + ": *i\n" if ":" in lines[i] else lines[i]
        return BOMB + "\n" + "".join(lines)
    if kind == 6:  # re-indent a line
        i = rng.randrange(len(lines))
        lines[i] = " " * rng.randrange(1, 5) + lines[i]
        return "".join(lines)
    return text.replace(rng.choice(["1", "a", "e", ":", "-", " "]), rng.choice(JUNK), rng.randrange(1, 4))


def _mutate_tree(tree, rng: random.Random):
    """Replace a random node of a parsed YAML tree with a hostile value."""
    node, parent, key = tree, None, None
    for _ in range(rng.randrange(1, 5)):
        if isinstance(node, dict) and node:
            parent, key = node, rng.choice(list(node))
        elif isinstance(node, list) and node:
            parent, key = node, rng.randrange(len(node))
        else:
            break
        node = parent[key]
    value = rng.choice(HOSTILE)
    if parent is None:
        return value
    if rng.random() < 0.15 and isinstance(parent, dict):
        del parent[key]
    else:
        parent[key] = value
    return tree


def _corrupt_yaml(text: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return _mutate_text(text, rng)
    tree = _mutate_tree(yaml.safe_load(text), rng)
    return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False)


def _corrupt_data(frame: pd.DataFrame, rng: random.Random) -> tuple[str, bytes]:
    """A corrupted data file: (suffix, bytes)."""
    df = frame.copy().astype(object)
    kind = rng.randrange(7)
    if kind == 0:  # junk cells
        for _ in range(rng.randrange(1, 6)):
            df.iat[rng.randrange(len(df)), rng.randrange(df.shape[1])] = rng.choice(HOSTILE[:20])
    elif kind == 1:  # duplicated header
        cols = list(df.columns)
        cols[rng.randrange(len(cols))] = rng.choice(cols)
        df.columns = cols
    elif kind == 2:  # hostile group labels
        df["grp"] = [rng.choice(["a", " a", "a ", "[/] b", "\x1b[31mb", "", None]) for _ in range(len(df))]
    elif kind == 3:  # drop a column or rows
        df = df.drop(columns=rng.choice(list(df.columns))) if rng.random() < 0.5 else df.iloc[: rng.randrange(4)]
    elif kind == 4:  # constant / identical items
        df["A2"] = df["A1"]
        df["B1"] = 3
    elif kind == 5:
        return ".csv", bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
    text = df.to_csv(index=False)
    if kind == 6:
        text = _mutate_text(text, rng)
    return rng.choice([".csv", ".csv", ".tsv", ".txt"]) if kind == 6 else ".csv", text.encode("utf-8", "replace")


# ----------------------------------------------------------------------- setup
@pytest.fixture(scope="module")
def base(tmp_path_factory):
    from psychometrics.scale import Scale
    from psychometrics.scoring import ScoringKey

    tmp = tmp_path_factory.mktemp("fuzz")
    spec_text = MINI.read_text(encoding="utf-8")
    scale = Scale.from_yaml(MINI)
    rng = np.random.default_rng(SEED)
    n = 60
    f = rng.normal(size=n)
    frame = pd.DataFrame({i: np.clip(np.round(3 + f + rng.normal(size=n)), 1, 5).astype(int) for i in scale.item_ids})
    frame["grp"] = np.where(np.arange(n) % 2, "a", "b")
    key = ScoringKey.build(scale, frame[list(scale.item_ids)], date="2026-01-01")
    key_path = key.to_file(tmp / "scoring_key.yaml")
    return {"tmp": tmp, "spec": spec_text, "frame": frame, "key": key_path.read_text(encoding="utf-8"),
            "config": "n_boot: 0\nparallel_iter: 5\nsplit: 0.5\nseed: 3\ngroup: grp\nmeasures: []\n"}


def _stub_analysis(monkeypatch):
    """validate: after the data step the run exits 0 (see the module docstring)."""
    import psychometrics.pipeline.run as run_mod

    real = run_mod._run_steps

    def data_step_only(run, scale, data, opts, *args, **kwargs):
        run.run("data quality", run_mod.load_data, data, scale, opts)
        raise SystemExit(0)

    monkeypatch.setattr(run_mod, "_run_steps", data_step_only)
    return real


def test_fuzz_check_score_validate(base, capsys, monkeypatch):
    _stub_analysis(monkeypatch)
    rng = random.Random(SEED)
    tmp: Path = base["tmp"]
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t_start = time.perf_counter()
    failures, codes = [], {0: 0, 2: 0}
    for case in range(N_CASES):
        d = tmp / f"c{case}"
        d.mkdir()
        spec, data, cfg = d / "spec.yaml", d / "data.csv", d / "config.yaml"
        key = d / rng.choice(["scoring_key.yaml", "scoring_key.json"])
        target = rng.choice(["spec", "data", "config", "key", "spec+data"])
        spec.write_text(_corrupt_yaml(base["spec"], rng) if "spec" in target else base["spec"], encoding="utf-8")
        if "data" in target:
            suffix, raw = _corrupt_data(base["frame"], rng)
            data = d / f"data{suffix}"
            data.write_bytes(raw)
        else:
            base["frame"].to_csv(data, index=False)
        cfg.write_text(_corrupt_yaml(base["config"], rng) if target == "config" else base["config"], encoding="utf-8")
        key_text = base["key"]
        if target == "key":
            key_text = _corrupt_yaml(key_text, rng)
            if key.suffix == ".json":  # a JSON key: corrupt JSON text
                import json

                if "&a" not in key_text:  # json.dumps would expand an alias bomb (the test's own problem)
                    try:
                        key_text = json.dumps(yaml.safe_load(key_text))
                    except Exception:  # noqa: BLE001 - unparseable YAML stays as junk text
                        pass
        key.write_text(key_text, encoding="utf-8")
        hashes = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (spec, data, cfg, key)}
        command = {
            "spec": ["check", spec] if rng.random() < 0.5 else ["validate", spec, data, "--config", cfg, "--out", d / "o", "-q"],
            "data": rng.choice([["check", spec, data, "--group", "grp"], ["score", spec, data, "-o", d / "s.csv"],
                                ["validate", spec, data, "--config", cfg, "--out", d / "o", "-q"]]),
            "config": ["validate", spec, data, "--config", cfg, "--out", d / "o", "-q"],
            "key": ["score", key, data, "-o", d / "s.csv"],
            "spec+data": ["check", spec, data],
        }[target]
        t0 = time.perf_counter()
        code, out, err = _run(capsys, command)
        elapsed = time.perf_counter() - t0
        if __import__("os").environ.get("FUZZ_VERBOSE"):
            print(case, target, command[0], code, f"{elapsed:.2f}", file=sys.__stderr__, flush=True)
        problem = None
        if code not in (0, 2):
            problem = f"exit {code}"
        elif "Traceback" in out + err or "internal error" in err:
            problem = "traceback / internal error"
        elif elapsed > 10:  # generous: the first run of a command imports its libraries
            problem = f"took {elapsed:.1f} s"
        elif any(hashlib.sha256(p.read_bytes()).hexdigest() != h for p, h in hashes.items()):
            problem = "an input file changed"
        if problem:
            failures.append(f"case {case} ({target}: {' '.join(map(str, command[:1]))}): {problem}: {err[-300:]}")
        else:
            codes[code] += 1
    total = time.perf_counter() - t_start
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    assert not failures, "\n".join(failures[:10])
    assert codes[0] > 20 and codes[2] > 100, codes  # the fuzz exercises both outcomes
    assert grown_mb < 100, grown_mb
    print(f"fuzz: {N_CASES} cases in {total:.1f} s, exit codes {codes}, peak RSS +{grown_mb:.0f} MB", file=sys.stderr)


def test_validate_runs_on_degenerate_data(base, capsys):
    """The complete pipeline on data with identical items: a report, not a crash; a constant item: exit 2 naming it."""
    d = base["tmp"] / "degenerate"
    d.mkdir()
    frame = base["frame"].copy()
    frame["A2"] = frame["A1"]
    frame.to_csv(d / "data.csv", index=False)
    (d / "config.yaml").write_text("n_boot: 0\nparallel_iter: 5\nordinal: 'no'\n")
    code, out, err = _run(capsys, ["validate", MINI, d / "data.csv", "--config", d / "config.yaml",
                                   "--out", d / "o", "-q"])
    assert code == 0, err
    assert (d / "o" / "report.html").is_file()
    frame["B1"] = 3
    frame.to_csv(d / "constant.csv", index=False)
    code, out, err = _run(capsys, ["validate", MINI, d / "constant.csv", "--config", d / "config.yaml",
                                   "--out", d / "o2", "-q"])
    assert code == 2 and "['B1'] have zero variance" in err and "Traceback" not in err
