"""psychometrics.plan: population checks, Monte Carlo correctness, determinism on Dask, resume.

Correctness here is checked by analytic identities, not by an R fixture:
* Type I error of the χ² test under a true model vs the nominal α (binomial MC error);
* power of the χ² test for a misspecified model vs the analytic noncentral-χ² power
  (Satorra & Saris, 1985; MacCallum, Browne & Sugawara, 1996), with the population
  discrepancy F₀ found by an independent scipy minimisation of the ML discrepancy.
Determinism: 1 local worker, 2 local workers and an external ``dask scheduler`` with two
``dask worker`` processes (started here on 127.0.0.1) give byte-identical ``plan.json``;
killing a worker mid-run and interrupting/resuming a run change nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from psychometrics.exceptions import SpecError
from psychometrics.plan import from_syntax, monte_carlo
from psychometrics.plan.population import analysis_syntax, load_population
from psychometrics.plan.runner import PlanConfig, execute, replication_rng, run_batch

ROOT = Path(__file__).resolve().parent.parent
ONE_FACTOR = "f =~ 0.7*x1 + 0.7*x2 + 0.6*x3 + 0.6*x4 + 0.5*x5 + 0.5*x6"
SMALL = dict(analyses="cfa,reliability", batch_size=10, show_progress=False)


# ------------------------------------------------------------------ population
def test_population_from_syntax_values():
    pop = from_syntax("f1 =~ 0.8*a + 0.6*b + 0.5*c\nf2 =~ 0.7*d + 0.7*e + 0.6*g\nf1 ~~ 0.3*f2")
    assert pop.items == ("a", "b", "c", "d", "e", "g")
    assert pop.phi[0, 1] == pytest.approx(0.3)
    np.testing.assert_allclose(np.diag(pop.sigma), 1.0, atol=1e-12)  # standardized items
    assert pop.std_loadings()["a"] == pytest.approx(0.8)
    assert pop.omega()["f1"] == pytest.approx(1.9 ** 2 / (1.9 ** 2 + 3 - (0.64 + 0.36 + 0.25)))
    assert analysis_syntax("f1 =~ 0.8*a + 0.6*b\nf1 ~~ 0.3*f2").strip() == "f1 =~ a + b"


@pytest.mark.parametrize("syntax, message", [
    ("f =~ x1 + 0.7*x2 + 0.7*x3", "no population value"),
    ("f =~ 1.2*x1 + 0.7*x2 + 0.7*x3", "residual variance"),
    ("f1 =~ 0.7*a + 0.7*b + 0.7*c\nf2 =~ 0.7*d + 0.7*e + 0.7*g\nf3 =~ 0.7*h + 0.7*i + 0.7*j\n"
     "f1 ~~ 0.9*f2\nf1 ~~ -0.9*f3\nf2 ~~ 0.9*f3", "not positive definite"),
])
def test_bad_population_is_a_clear_error(syntax, message):
    with pytest.raises(SpecError, match=message):
        from_syntax(syntax)


def test_group_smaller_than_items_fails_before_any_work(tmp_path):
    with pytest.raises(SpecError, match="group 'b' would have 5 respondents"):
        monte_carlo(ONE_FACTOR, n=[20, 400], reps=5, out=tmp_path, groups={"a": 0.75, "b": 0.25}, **SMALL)
    assert not (tmp_path / "replications").exists()  # nothing was scheduled


def test_unknown_analysis_and_irt_skip():
    from psychometrics.plan.analyses import resolve_analyses

    pop = from_syntax(ONE_FACTOR)
    with pytest.raises(SpecError, match="unknown analysis 'sem'"):
        resolve_analyses("cfa,sem", pop)
    run, skipped = resolve_analyses("cfa,invariance,irt", pop)
    assert run == ("cfa",)
    assert "single group" in skipped["invariance"]
    assert "skipped" in skipped["irt"]
    continuous = from_syntax(ONE_FACTOR, groups={"a": 0.5, "b": 0.5})
    run, skipped = resolve_analyses("invariance,irt", continuous)
    assert run == ("invariance",) and "needs Likert items" in skipped["irt"]
    run, skipped = resolve_analyses("irt", from_syntax(ONE_FACTOR, groups={"a": 0.5, "b": 0.5}, thresholds=[0, 1]))
    assert run == ("irt",) and not skipped
    with pytest.raises(SpecError, match="strictly increasing"):
        from_syntax(ONE_FACTOR, thresholds=[1, 0])


def test_streams_are_seedsequence_spawn_children():
    child = np.random.SeedSequence(7).spawn(4)[3]
    assert np.array_equal(replication_rng(7, 3).random(5), np.random.default_rng(child).random(5))


def test_study_population_draws_likert_and_dif():
    pop = load_population("default")
    assert len(pop.items) == 28 and len(pop.factors) == 5 and len(pop.groups) == 3
    assert pop.dif_items == ("MSS17",)
    x, g = pop.draw(600, np.random.default_rng(0))
    assert x.shape == (600, 28) and set(np.unique(x)) <= set(range(1, 6))
    assert np.bincount(g).tolist() == list(pop.group_counts(600))


def test_failing_replication_is_recorded_not_fatal():
    pop = from_syntax(ONE_FACTOR)
    cfg = PlanConfig(pop, ("cfa",), ((50, 1.0, (1.0,)),), 3, 0)
    import psychometrics.plan.analyses as an

    orig = an.ANALYSES["cfa"]
    an.ANALYSES["cfa"] = lambda rep: (_ for _ in ()).throw(RuntimeError("boom"))
    try:
        out = run_batch(cfg, 0, 0, 3)
    finally:
        an.ANALYSES["cfa"] = orig
    assert out["error"].str.contains("cfa: RuntimeError: boom").all()


# ------------------------------------------------------------------ correctness
def test_type_i_error_of_chisq_at_n500(tmp_path):
    # true model, continuous normal data: rejection rate within 3 MC SEs of .05 at n = 500
    # (n = 100 is in the grid to show the known small-sample inflation, reported not hidden)
    res = monte_carlo(ONE_FACTOR, n=[100, 500], reps=400, out=tmp_path, workers=2, analyses="cfa", batch_size=50,
                      show_progress=False)
    s = res.criteria.set_index(["n", "criterion"])
    p = s.loc[(500, "cfa.reject"), "estimate"]
    se = np.sqrt(0.05 * 0.95 / 400)
    assert abs(p - 0.05) < 3 * se, p
    assert s.loc[(500, "cfa.converged"), "estimate"] == 1.0
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert {r["n"] for r in plan["summary"] if r["criterion"] == "cfa.reject"} == {100, 500}


def _population_discrepancy(sigma: np.ndarray) -> float:
    """min over a one-factor model of F_ML(Σ₀, Σ(θ)) = log|Σ| + tr(Σ₀Σ⁻¹) − log|Σ₀| − p (independent of the engine)."""
    from scipy.optimize import minimize

    p = sigma.shape[0]

    def f(t):
        lam, th = t[:p], np.exp(t[p:])
        s = np.outer(lam, lam) + np.diag(th)
        sign, logdet = np.linalg.slogdet(s)
        return logdet + np.trace(sigma @ np.linalg.inv(s)) - np.linalg.slogdet(sigma)[1] - p

    r = minimize(f, np.r_[np.full(p, 0.6), np.log(np.full(p, 0.6))], method="BFGS", options={"gtol": 1e-10})
    return float(r.fun)


def test_power_matches_noncentral_chisq(tmp_path):
    from scipy.stats import chi2, ncx2

    syntax = "f1 =~ 0.7*x1 + 0.7*x2 + 0.7*x3\nf2 =~ 0.7*x4 + 0.7*x5 + 0.7*x6\nf1 ~~ 0.9*f2"
    pop = from_syntax(syntax, model="f =~ x1 + x2 + x3 + x4 + x5 + x6")
    n, reps, df = 600, 300, 9
    F0 = _population_discrepancy(pop.sigma)
    # lavaan's χ² = N·F_ML (F_ML = 2·fmin), so the noncentrality is N·F₀ (MacCallum et al., 1996, eq. 4 with N)
    power = float(ncx2.sf(chi2.ppf(0.95, df), df, n * F0))
    assert 0.3 < power < 0.9  # a condition where power is informative
    res = monte_carlo(pop, n=[n], reps=reps, out=tmp_path, workers=2, analyses="cfa", batch_size=50,
                      show_progress=False)
    est = res.criteria.set_index("criterion").loc["cfa.reject", "estimate"]
    assert abs(est - power) < 3 * np.sqrt(power * (1 - power) / reps), (est, power)


# ------------------------------------------------------------------ determinism and Dask
@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    out = tmp_path_factory.mktemp("plan1")
    monte_carlo(ONE_FACTOR, n=[120, 240], reps=60, out=out, workers=1, **SMALL)
    return (out / "plan.json").read_bytes()


def test_two_local_workers_identical(tmp_path, baseline):
    res = monte_carlo(ONE_FACTOR, n=[120, 240], reps=60, out=tmp_path, workers=2, **SMALL)
    assert (tmp_path / "plan.json").read_bytes() == baseline
    # the workers were warmed up and pinned to one BLAS thread, with glibc's malloc thresholds set
    run = res.run
    assert run["workers"] == 2 and run["worker_blas_threads"] == [1]
    assert run["worker_env"]["OMP_NUM_THREADS"] == "1" and run["worker_env"]["MALLOC_TRIM_THRESHOLD_"] == str(64 << 20)
    assert run["worker_profiler"] is False
    assert 0 <= run["scheduling_overhead_cpu"] < 1 and run["all_cpu_s_per_replication"] > 0


def test_auto_batch_size_depends_on_reps_only():
    from psychometrics.plan.runner import auto_batch_size

    assert [auto_batch_size(r) for r in (5, 60, 101, 400, 1000, 5000)] == [10, 10, 11, 40, 100, 100]


def test_batching_does_not_change_results(tmp_path, baseline):
    res = monte_carlo(ONE_FACTOR, n=[120, 240], reps=60, out=tmp_path, workers=2, analyses="cfa,reliability",
                      batch_size=7, show_progress=False)
    base = json.loads(baseline)
    assert json.loads((tmp_path / "plan.json").read_text())["summary"] == base["summary"]
    assert res.settings["batch_size"] == 7


def _start_cluster(tmp_path: Path, n_workers: int = 2):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    sched_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard", "--scheduler-file", str(sched_file)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    deadline = time.time() + 60
    while not sched_file.exists() and time.time() < deadline:
        time.sleep(0.2)
    address = json.loads(sched_file.read_text())["address"]
    for _ in range(n_workers):
        procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                       "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard", "--no-nanny"],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    from distributed import Client

    with Client(address, timeout="30s") as c:
        c.wait_for_workers(n_workers, timeout=90)
    return address, procs


def _stop(procs):
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def test_external_scheduler_and_killed_worker_identical(tmp_path, baseline):
    address, procs = _start_cluster(tmp_path)
    try:
        out1 = tmp_path / "ext"
        monte_carlo(ONE_FACTOR, n=[120, 240], reps=60, out=out1, scheduler=address, **SMALL)
        assert (out1 / "plan.json").read_bytes() == baseline
        # a worker killed mid-run: its batches are rerun on the other worker
        out2 = tmp_path / "killed"
        victim = procs[1]
        at_kill = []

        def kill_when_started():
            rep_dir = out2 / "replications"
            deadline = time.time() + 120
            while time.time() < deadline and len(list(rep_dir.glob("*.parquet"))) < 2:
                time.sleep(0.05)
            at_kill.append(len(list(rep_dir.glob("*.parquet"))))
            victim.send_signal(signal.SIGKILL)

        t = threading.Thread(target=kill_when_started)
        t.start()
        monte_carlo(ONE_FACTOR, n=[120, 240], reps=60, out=out2, scheduler=address, **SMALL)
        t.join()
        assert victim.poll() is not None and at_kill[0] < 12  # the worker died with batches still to do
        assert (out2 / "plan.json").read_bytes() == baseline
    finally:
        _stop(procs)


def test_interrupted_run_resumes_identically(tmp_path, baseline):
    pop = from_syntax(ONE_FACTOR)
    cfg = PlanConfig(pop, ("cfa", "reliability"), tuple((n, 1.0, (1.0,)) for n in (120, 240)), 60, 0, batch_size=10)
    done = []

    def interrupt(k):
        done.append(k)
        if len(done) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        execute(cfg, tmp_path, workers=1, show_progress=False, on_batch=interrupt)
    assert len(list((tmp_path / "replications").glob("*.parquet"))) == 3
    res = monte_carlo(ONE_FACTOR, n=[120, 240], reps=60, out=tmp_path, workers=1, **SMALL)
    assert res.run["replications_resumed"] == 30 and res.run["replications_computed"] == 90
    assert (tmp_path / "plan.json").read_bytes() == baseline


def test_resume_with_other_settings_is_refused(tmp_path, baseline):
    monte_carlo(ONE_FACTOR, n=[120], reps=10, out=tmp_path, workers=1, **SMALL)
    with pytest.raises(SpecError, match="different settings"):
        monte_carlo(ONE_FACTOR, n=[120], reps=10, out=tmp_path, workers=1, seed=1, **SMALL)


# ------------------------------------------------------------------ CLI and report
def test_cli_plan_writes_report_json_and_table(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "psychometrics", "plan", ONE_FACTOR, "--n", "150,300", "--reps", "20",
                        "--out", str(out), "--analysis", "cfa,reliability,irt", "--workers", "1", "--batch-size",
                        "10", "-q"], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    html = (out / "plan.html").read_text()
    assert "<svg" in html and "Recommended sample size" in html and "single group" in html
    plan = json.loads((out / "plan.json").read_text())
    assert plan["settings"]["n"] == [150, 300] and "irt" in plan["skipped_analyses"]
    import pandas as pd

    assert len(pd.read_parquet(out / "replications.parquet")) == 40
    # issue 14: a finished plan is replaced only with --overwrite, then the files are named on
    # stderr (the replications are resumed from replications/: nothing is recomputed)
    args = [sys.executable, "-m", "psychometrics", "plan", ONE_FACTOR, "--n", "150,300", "--reps", "20", "--out",
            str(out), "--analysis", "cfa,reliability,irt", "--workers", "1", "--batch-size", "10", "-q"]
    before = (out / "plan.json").read_bytes()
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "plan.html" in r.stderr and "--overwrite" in r.stderr, r.stderr
    assert (out / "plan.json").read_bytes() == before
    r = subprocess.run([*args, "--overwrite"], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Replaced existing file(s) (--overwrite)" in r.stderr and "plan.json" in r.stderr
    assert not list(out.glob(".*.tmp*"))


def test_cli_plan_never_writes_onto_its_study_file(tmp_path, capsys):
    from cli_runner import run_cli

    study = tmp_path / "plan.json"  # a study (syntax) file named like an output, inside --out
    study.write_text("f =~ 0.7*x1 + 0.7*x2 + 0.7*x3\n")
    code, _, err = run_cli(capsys, "plan", study, "--out", tmp_path, "--overwrite", "-q")
    assert code == 2 and "input file" in err
    assert study.read_text() == "f =~ 0.7*x1 + 0.7*x2 + 0.7*x3\n" and not (tmp_path / "replications").exists()


def test_cli_bad_input_exit_code(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "psychometrics", "plan", "f =~ 1.3*x1 + 0.5*x2 + 0.5*x3",
                        "--n", "100", "--out", str(tmp_path / "o")], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2
    assert "residual variance" in r.stderr + r.stdout and "Traceback" not in r.stderr




def test_group_allocations_and_planted_dif(tmp_path):
    # two groups, DIF planted on x1; balanced vs 90:10 allocation, effect 0 (Type I) and 1
    res = monte_carlo(ONE_FACTOR, n=[300], reps=12, out=tmp_path, workers=1, analyses="invariance", batch_size=6,
                      effects=[0, 1], allocations=[(0.5, 0.5), (0.9, 0.1)], groups={"a": 0.5, "b": 0.5},
                      dif=[{"item": "x1", "group": "b", "shift": 0.8}], show_progress=False)
    crit = res.criteria
    assert set(crit["groups"]) == {"150/150", "270/30"}
    assert set(crit["allocation"]) == {"50:50", "90:10"}
    det = crit[crit["criterion"] == "invariance.detect_dif"]
    assert set(det["effect"]) == {1.0}  # sensitivity only where DIF is planted
    assert len(res.recommendations) and set(res.recommendations["allocation"]) == {"50:50", "90:10"}
    assert res.replications["error"].eq("").all()
    with pytest.raises(SpecError, match="group 'b' would have 3 respondents"):
        monte_carlo(ONE_FACTOR, n=[300], reps=2, out=tmp_path / "x", allocations=[(0.99, 0.01)],
                    groups={"a": 0.5, "b": 0.5}, show_progress=False)


def test_irt_dif_power_and_determinism_across_workers(tmp_path):
    # No R reference for a whole plan: a simulation check. DIF (intercept shift .8 SD of the latent
    # response) planted on x1 of a 6-item Likert scale, two groups of 150: the per-replication GRM +
    # ordinal logistic DIF flags the planted item far more often than the DIF-free ones, whose
    # false-positive rate stays near lordif's α = .01; 1 and 2 workers give the same plan.json.
    from psychometrics.report.plan import write_plan_report

    pop = from_syntax(ONE_FACTOR, groups={"a": 0.5, "b": 0.5}, dif=[{"item": "x1", "group": "b", "shift": 0.8}],
                      thresholds=[-1.5, -0.5, 0.5, 1.5])
    kw = dict(n=[300], reps=6, analyses="irt", batch_size=3, effects=[0, 1], show_progress=False)
    res = monte_carlo(pop, out=tmp_path / "w1", workers=1, **kw)
    monte_carlo(pop, out=tmp_path / "w2", workers=2, **kw)
    assert (tmp_path / "w1" / "plan.json").read_bytes() == (tmp_path / "w2" / "plan.json").read_bytes()
    assert res.replications["error"].eq("").all()
    crit = res.criteria.set_index(["effect", "criterion"])
    det = crit.loc[(1.0, "irt.detect_dif")]
    fp = crit.loc[(1.0, "irt.false_positive")]
    assert det["estimate"] >= 0.75 and fp["estimate"] <= 0.15, (det, fp)
    assert det["estimate"] > fp["estimate"] + 3 * np.hypot(det["mcse"], fp["mcse"])
    assert (1.0, "irt.detect_dif") in crit.index and (0.0, "irt.detect_dif") not in crit.index
    assert crit.loc[(0.0, "irt.false_positive"), "estimate"] <= 0.15  # no DIF planted: every item is DIF-free
    assert crit.loc[(1.0, "irt.converged"), "estimate"] == 1.0
    plan = json.loads((tmp_path / "w1" / "plan.json").read_text())
    assert "irt" not in plan["skipped_analyses"]
    assert any(r["criterion"] == "irt.detect_dif" and r["mcse"] is not None for r in plan["summary"])
    assert any(r["criterion"] == "irt.detect_dif" for r in plan["recommendations"])
    html = write_plan_report(res, tmp_path / "w1").read_text()
    assert "IRT DIF: planted DIF items detected" in html and "<svg" in html
