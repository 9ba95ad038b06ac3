"""``monte_carlo``: the planning study from population to power, on Dask."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from psychometrics._io import atomic_write, atomic_write_text
from psychometrics._results import ResultMixin
from psychometrics.exceptions import SpecError
from psychometrics.plan.analyses import resolve_analyses
from psychometrics.plan.population import Population, load_population
from psychometrics.plan.runner import PlanConfig, execute, read_replications
from psychometrics.plan.summary import DESCRIPTIONS, recommend, summarise
from psychometrics._text import quote

__all__ = ["monte_carlo", "PlanResult"]

DEFAULT_ANALYSES = ("cfa", "invariance", "reliability", "irt")


@dataclass(frozen=True, eq=False)
class PlanResult(ResultMixin):
    """The result of :func:`monte_carlo`.

    Attributes
    ----------
    criteria : DataFrame
        One row per condition × criterion: ``estimate``, ``mcse`` (Monte Carlo SE), ``valid``.
    recommendations : DataFrame
        Per power criterion and effect: the smallest n reaching ``target`` and its interval.
    replications : DataFrame
        The replication table (one row per condition × replication; ``error`` says why one failed).
    settings : dict
        Every setting of the run (population, grid, analyses, seed, …).
    skipped : dict
        Analyses not run, with the reason.
    run : dict
        Wall time, replications per second, workers (not part of ``plan.json``: they vary).
    population : Population
    """

    criteria: pd.DataFrame
    recommendations: pd.DataFrame
    replications: pd.DataFrame
    settings: dict[str, Any]
    skipped: dict[str, str]
    run: dict[str, Any]
    population: Population = field(repr=False)
    _title = "Monte Carlo sample-size plan"

    def to_frame(self) -> pd.DataFrame:
        return self.criteria

    def power_table(self) -> pd.DataFrame:
        """Criterion × (effect, n) table of the estimates."""
        return self.criteria.pivot_table(index="criterion", columns=["effect", "n"], values="estimate",
                                        sort=False)

    def to_json(self) -> dict[str, Any]:
        """Everything of ``plan.json`` (deterministic: no times, no worker counts, no batching — the
        batch size may be measured, and it changes no number; it is in ``run.json``)."""
        import platform

        import numpy
        import scipy

        from psychometrics import __version__

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: (None if isinstance(v, float) and not np.isfinite(v) else
                         (v.item() if hasattr(v, "item") else v)) for k, v in r.items()}
                    for r in frame.to_dict(orient="records")]

        pop = self.population
        return {
            "settings": {k: v for k, v in self.settings.items() if k != "batch_size"},
            "population": {
                "source": pop.source, "items": list(pop.items), "factors": list(pop.factors),
                "groups": dict(zip(pop.groups, pop.proportions)), "model": pop.model,
                "standardized_loadings": pop.std_loadings(), "omega": pop.omega(),
                "dif_items": list(pop.dif_items), "ordinal": pop.ordinal,
            },
            "skipped_analyses": self.skipped,
            "criteria": {k: {"kind": v[0], "description": v[1]} for k, v in DESCRIPTIONS.items()},
            "summary": records(self.criteria),
            "recommendations": records(self.recommendations),
            "failures": records(self.replications.loc[self.replications["error"].astype(str) != "",
                                                      ["condition", "n", "effect", "rep", "error"]].head(50)),
            "provenance": {"psychometrics": __version__, "numpy": numpy.__version__, "scipy": scipy.__version__,
                           "python": platform.python_version(),
                           "random_streams": "numpy.random.SeedSequence(seed).spawn: child r for replication r "
                                             "(PCG64), the same for every condition"},
        }


def _parse_n(n: Any) -> tuple[int, ...]:
    if isinstance(n, str):
        try:
            n = [int(s) for s in n.split(",") if s.strip()]
        except ValueError:
            raise SpecError(f"--n {quote(n)}: give sample sizes as integers separated by commas, e.g. 200,400,800")
    if isinstance(n, (int, np.integer)):
        n = [int(n)]
    n = tuple(int(v) for v in n)
    if not n or any(v < 2 for v in n):
        raise SpecError(f"sample sizes must be integers ≥ 2, got {list(n)}")
    return tuple(sorted(set(n)))


def monte_carlo(
    population: Population | str | os.PathLike[str],
    n: Sequence[int] | str = (200, 400, 800, 1600),
    reps: int = 1000,
    out: str | os.PathLike[str] | None = None,
    *,
    analyses: Sequence[str] | str = DEFAULT_ANALYSES,
    effects: Sequence[float] = (1.0,),
    allocations: Sequence[Sequence[float]] | None = None,
    seed: int = 0,
    scheduler: str | None = None,
    workers: int | None = None,
    batch_size: int | None = None,
    alpha: float = 0.05,
    target: float = 0.80,
    show_progress: bool | None = None,
    **population_options: Any,
) -> PlanResult:
    """Monte Carlo power and sample-size planning (Muthén & Muthén, 2002), run on Dask.

    Parameters
    ----------
    population : Population, path or str
        A study file (``.yaml``; ``"default"`` for the demo study), lavaan syntax with
        population values (``"f =~ 0.7*x1 + 0.6*x2 + …"``) or a file holding it, or a
        :class:`~psychometrics.plan.population.Population`. With syntax, keyword
        ``population_options`` go to :func:`~psychometrics.plan.population.from_syntax`
        (``model=`` the analysis model, ``groups=``, ``latent_means=``, ``dif=``).
    n : sequence of int or "200,400,…"
        Total sample sizes (split over the groups by the population's proportions).
    reps : int
        Replications per condition.
    out : path, optional
        Folder for ``replications/`` (Parquet batches, resumable) and ``plan.json``;
        default a temporary folder.
    analyses : names
        Any of ``cfa``, ``invariance``, ``reliability``, ``irt`` (skipped with a message
        when not available or with one group).
    effects : sequence of float
        Multipliers of the planted DIF shifts (0 gives the Type I error of the invariance
        decisions).
    allocations : sequence of sequences of float, optional
        Group shares to compare (e.g. ``[(.5, .5), (.8, .2)]``: balanced vs 80/20), one share
        per group summing to 1; default the population's proportions. The grid is
        ``n × allocations × effects``.
    seed : int
        Replication *r* uses child *r* of ``numpy.random.SeedSequence(seed).spawn``.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:port``; default
        ``DASK_SCHEDULER_ADDRESS`` or an embedded local cluster, one worker per core).
    workers : int, optional
        Workers of the embedded cluster (default: one per core).
    batch_size : int, optional
        Replications per Dask task. Default: the size an interrupted run in ``out`` used, else
        chosen so a task of the costliest condition takes about a second, from the CPU time
        of a replication measured on the workers at warm-up, with at least ten batches per
        condition (:func:`~psychometrics.plan.runner.timed_batch_size`); kept in
        ``out/replications/settings.json`` so a resumed run finds the same batches. Results
        do not depend on it.
    alpha, target : float
        Significance level of the χ² tests; power that the recommended n must reach.

    Returns
    -------
    PlanResult

    Raises
    ------
    SpecError
        Bad population (not positive definite, values out of range), a condition that
        cannot be simulated (a group with no more respondents than items) or bad settings —
        before any work is scheduled.

    References
    ----------
    Muthén, L. K., & Muthén, B. O. (2002). How to use a Monte Carlo study to decide on
    sample size and determine power. *Structural Equation Modeling, 9*, 599–620.
    """
    pop = population if isinstance(population, Population) else load_population(population, **population_options)
    ns = _parse_n(n)
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 1:
        raise SpecError(f"reps must be a positive integer, got {quote(reps)}")
    if not 0 < alpha < 1 or not 0 < target < 1:
        raise SpecError(f"alpha and target must lie in (0, 1), got {alpha} and {target}")
    if batch_size is not None and batch_size < 1:
        raise SpecError(f"batch_size must be at least 1, got {batch_size}")
    effects = tuple(float(e) for e in effects)
    if not effects or not all(np.isfinite(effects)):
        raise SpecError(f"effects must be finite numbers, got {list(effects)}")
    shares = [tuple(float(q) for q in a) for a in allocations] if allocations else [tuple(pop.proportions)]
    for a in shares:
        for v in ns:
            pop.check(v, a)
    names, skipped = resolve_analyses(analyses, pop)
    from psychometrics.cfa.specification import build_spec

    try:
        spec = build_spec(pop.model)
    except Exception as exc:  # noqa: BLE001 - reworded as a planning error
        raise SpecError(f"analysis model: {exc}") from None
    absent = [v for v in spec.observed if v not in pop.items]
    if absent:
        raise SpecError(f"analysis model names item(s) {', '.join(absent[:5])} that the population does not have")
    conditions = tuple((v, e, a) for e in effects for a in shares for v in ns)
    config = PlanConfig(population=pop, analyses=names, conditions=conditions, reps=int(reps), seed=int(seed),
                        batch_size=None if batch_size is None else int(batch_size), alpha=float(alpha))
    if out is None:
        import tempfile

        out = tempfile.mkdtemp(prefix="psychometrics-plan-")
    out = Path(out)
    run = execute(config, out, scheduler=scheduler, workers=workers, show_progress=show_progress)
    config = replace(config, batch_size=int(run["batch_size"]))  # as chosen (measured, or kept by the folder)
    table = read_replications(config, out)
    summary = summarise(table, pop, names, conditions)
    settings = {"n": list(ns), "effects": list(effects), "allocations": [list(a) for a in shares],
                "reps": int(reps), "seed": int(seed),
                "analyses": list(names), "alpha": alpha, "target": target, "batch_size": config.batch_size,
                "fingerprint": config.fingerprint()}
    result = PlanResult(criteria=summary, recommendations=recommend(summary, target), replications=table,
                        settings=settings, skipped=skipped, run=run, population=pop)
    atomic_write_text(out / "plan.json", json.dumps(result.to_json(), indent=1, ensure_ascii=False, allow_nan=False))
    atomic_write_text(out / "run.json", json.dumps(run, indent=1))
    atomic_write(out / "replications.parquet", lambda tmp: table.to_parquet(tmp, index=False))
    return result


