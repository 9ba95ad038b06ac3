"""Seeded fuzz of the command line with corrupted specs, configs, keys and data (issue 14).

A few hundred randomly corrupted inputs (text-level damage, hostile values in random
fields, alias bombs, binary junk, duplicated headers, hostile labels, and valid but
degenerate data: copied items, many missing answers, a handful of rows with a one-row
group, an item answered once) are fed to
``check``, ``score`` and ``validate`` in-process. Each must end with exit code 0 or 2,
print no traceback and no "internal error", leave its input files unchanged and finish
in bounded time; the process's peak memory grows by less than 100 MB over the whole run.

``validate`` runs through all its steps (data, items, reliability, EFA, CFA, invariance,
validity, scoring key, report) on small data (n = 80) with options that keep a run short:
no bootstrap (``n_boot: 0``) and 5 parallel-analysis data sets; most validate cases use the
continuous methods without IRT (``ordinal: 'no'``, ``irt: false``, about 1 s of CPU), a
random quarter the defaults (ordinal WLSMV steps and the IRT steps, 2–4 s of CPU). The whole
in-process fuzz takes about 50 s of CPU.

Bounds: per run, CPU time < 30 s and wall time < 180 s (generous: the test machine runs
several suites on 2 cores, where wall time is several times CPU time); the process's peak
RSS (ru_maxrss) stays < 100 MB above the value after a warm-up run of each command. A few
cases are repeated in a fresh process (``test_fuzz_cases_in_a_subprocess``), whose whole
peak RSS must stay < 100 MB above that of the same command on the uncorrupted inputs.
"""

from __future__ import annotations

import hashlib
import json
import os
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
N_CASES = int(os.environ.get("FUZZ_CASES", "240"))
FAST = "n_boot: 0\nparallel_iter: 5\nsplit: 0.5\nseed: 3\ngroup: grp\nmeasures: []\nordinal: 'no'\nirt: false\n"
FULL = "n_boot: 0\nparallel_iter: 5\nsplit: 0.5\nseed: 3\ngroup: grp\nmeasures: []\n"
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
    kind = rng.randrange(11)
    if kind >= 7:  # valid but degenerate data: the analysis steps of validate run on it
        df = frame.copy()
        if kind == 7:  # an identical and a reversed copy
            df["A2"], df["B3"] = df["A1"], 6 - df["B1"]
        elif kind == 8:  # a fifth of the answers missing
            mask = np.random.default_rng(rng.randrange(10**6)).random(df[["A1", "A2", "A3", "B1", "B2", "B3", "C1",
                                                                           "C2"]].shape) < 0.2
            items = ["A1", "A2", "A3", "B1", "B2", "B3", "C1", "C2"]
            df[items] = df[items].astype(float).mask(mask)
        elif kind == 9:  # few rows, one group of one row
            df = df.iloc[: rng.randrange(10, 30)].copy()
            df.loc[df.index[0], "grp"] = "solo"
        else:  # an item answered by nobody but one respondent
            df["C1"] = np.nan
            df.loc[df.index[0], "C1"] = 3
        return ".csv", df.to_csv(index=False).encode("utf-8")
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
    n = 80
    f = rng.normal(size=n)
    reverse = {item.id for item in scale.items if item.reverse}  # answered in the reversed direction
    frame = pd.DataFrame({i: np.clip(np.round(3 + (-f if i in reverse else f) + rng.normal(size=n)), 1, 5).astype(int)
                          for i in scale.item_ids})
    frame["grp"] = np.where(np.arange(n) % 2, "a", "b")
    key = ScoringKey.build(scale, frame[list(scale.item_ids)], date="2026-01-01")
    key_path = key.to_file(tmp / "scoring_key.yaml")
    return {"tmp": tmp, "spec": spec_text, "frame": frame, "key": key_path.read_text(encoding="utf-8"),
            "config": FAST}


def _cases(base, rng: random.Random, tmp: Path):
    """Yield (case, target, command, input paths): the seeded corruptions, written under ``tmp``."""
    for case in range(N_CASES):
        d = tmp / f"c{case}"
        d.mkdir(parents=True)
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
        config = base["config"]
        if rng.random() < 0.25:  # the default analyses (ordinal steps, IRT) in a quarter of the cases
            config = FULL
        cfg.write_text(_corrupt_yaml(config, rng) if target == "config" else config, encoding="utf-8")
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
        command = {
            "spec": ["check", spec] if rng.random() < 0.5 else ["validate", spec, data, "--config", cfg, "--out", d / "o", "-q"],
            "data": rng.choice([["check", spec, data, "--group", "grp"], ["score", spec, data, "-o", d / "s.csv"],
                                ["validate", spec, data, "--config", cfg, "--out", d / "o", "-q"]]),
            "config": ["validate", spec, data, "--config", cfg, "--out", d / "o", "-q"],
            "key": ["score", key, data, "-o", d / "s.csv"],
            "spec+data": ["check", spec, data],
        }[target]
        yield case, target, command, (spec, data, cfg, key)


def _clean_commands(base, d: Path) -> dict[str, list]:
    """check, score and validate (default analyses) on the uncorrupted inputs, writing under ``d``."""
    d.mkdir()
    base["frame"].to_csv(d / "data.csv", index=False)
    (d / "config.yaml").write_text(FULL, encoding="utf-8")
    return {"check": ["check", MINI, d / "data.csv", "--group", "grp"],
            "score": ["score", base["tmp"] / "scoring_key.yaml", d / "data.csv", "-o", d / "s.csv"],
            "validate": ["validate", MINI, d / "data.csv", "--config", d / "config.yaml", "--out", d / "o", "-q"]}


def _warm_up(base, capsys) -> None:
    """One clean run of each command (imports, fonts, compiled code), before the memory baseline."""
    for args in _clean_commands(base, base["tmp"] / "warm").values():
        code, out, err = _run(capsys, args)
        assert code == 0, err[-2000:]


def test_fuzz_check_score_validate(base, capsys):
    rng = random.Random(SEED)
    _warm_up(base, capsys)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t_start, cpu_start = time.perf_counter(), time.process_time()
    failures, codes, commands = [], {0: 0, 2: 0}, {}
    for case, target, command, inputs in _cases(base, rng, base["tmp"] / "inproc"):
        hashes = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in inputs}
        t0, c0 = time.perf_counter(), time.process_time()
        code, out, err = _run(capsys, command)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
        if os.environ.get("FUZZ_VERBOSE"):
            print(case, target, command[0], code, f"{elapsed:.2f} s, {cpu:.2f} s CPU, +{grown_mb:.0f} MB",
                  file=sys.__stderr__, flush=True)
        problem = None
        if code not in (0, 2):
            problem = f"exit {code}"
        elif "Traceback" in out + err or "internal error" in err:
            problem = "traceback / internal error"
        elif cpu > 30 or elapsed > 180:  # generous bounds (see the module docstring)
            problem = f"took {elapsed:.1f} s ({cpu:.1f} s CPU)"
        elif grown_mb >= 100:
            problem = f"peak RSS {grown_mb:.0f} MB above the warmed-up process"
        elif any(hashlib.sha256(p.read_bytes()).hexdigest() != h for p, h in hashes.items()):
            problem = "an input file changed"
        if problem:
            failures.append(f"case {case} ({target}: {' '.join(map(str, command[:1]))}): {problem}: {err[-300:]}")
        else:
            codes[code] += 1
            commands[(command[0], code)] = commands.get((command[0], code), 0) + 1
    total, cpu_total = time.perf_counter() - t_start, time.process_time() - cpu_start
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    assert not failures, "\n".join(failures[:10])
    assert codes[0] > 20 and codes[2] > 100, codes  # the fuzz exercises both outcomes
    # every command both succeeds and refuses in the fuzz (validate's successes ran every step)
    assert all(commands.get((c, k), 0) >= 3 for c in ("check", "score", "validate") for k in (0, 2)), commands
    assert grown_mb < 100, grown_mb
    print(f"fuzz: {N_CASES} cases in {total:.1f} s ({cpu_total:.1f} s CPU), exit codes {codes}, "
          f"by command {commands}, peak RSS +{grown_mb:.0f} MB", file=sys.stderr)


_CHILD = """\
import json, resource, sys
from psychometrics.cli import main
try:
    main(sys.argv[1:])
    rc = 0
except SystemExit as e:
    rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
print(json.dumps({"rc": rc, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _in_process(args) -> tuple[dict, str]:
    import subprocess

    out = subprocess.run([sys.executable, "-c", _CHILD, *map(str, args)], capture_output=True, text=True,
                         timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stdout + out.stderr


def test_fuzz_cases_in_a_subprocess(base):
    """A few fuzz cases in a fresh process each — the first check, score and validate case with
    corrupted data and the first score case with a corrupted key: exit 0 or 2, no traceback, and
    a peak RSS of the whole process < 100 MB above that of the same command on the uncorrupted
    inputs (also in a fresh process)."""
    rng = random.Random(SEED)
    picked: dict[tuple[str, str], list] = {}
    for case, target, command, inputs in _cases(base, rng, base["tmp"] / "subproc"):
        if target in ("data", "key") and (command[0], target) not in picked:
            picked[(command[0], target)] = command
    clean = _clean_commands(base, base["tmp"] / "subproc_clean")
    assert {c for c, _ in picked} == set(clean), picked
    problems = []
    for (command, target), args in sorted(picked.items()):
        ref, _ = _in_process(clean[command])
        got, text = _in_process(args)
        grown = (got["maxrss_kb"] - ref["maxrss_kb"]) / 1024
        if got["rc"] not in (0, 2) or "Traceback" in text or "internal error" in text:
            problems.append(f"{command} ({target}): exit {got['rc']}: {text[-300:]}")
        if grown >= 100:
            problems.append(f"{command} ({target}): peak RSS {grown:.0f} MB above the clean run")
    assert not problems, "\n".join(problems)


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
