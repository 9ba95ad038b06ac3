"""``psychometrics shorten``: choose a short form on the calibration sample, re-validate it on the
validation sample, and write its scale spec (new version, provenance) and a report."""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from psychometrics._io import announce_replaced, atomic_write, atomic_write_text, check_outputs
from psychometrics._results import to_jsonable
from psychometrics.exceptions import SpecError

__all__ = ["shorten"]


def shorten(scale: Any, data: Any, out: str | Path, *, per_subscale: int = 3, min_reliability: float | None = None,
            group: str | None = None, split: float = 0.5, seed: int = 0, id_column: str | None = None,
            command: str | None = None, overwrite: bool = False) -> Any:
    """Short form of ``scale`` on ``data``; writes ``<id>_short.yaml``, ``shortform.json``, ``report.html``.

    The split is the validation pipeline's (same ``seed`` → same calibration/validation rows).
    The output rules of every command hold (``psychometrics._io``): an output is never an input
    file, existing outputs are replaced only with ``overwrite`` (and listed on stderr), and each
    file is written atomically.
    Returns the :class:`~psychometrics.irt.shortform.ShortForm`.
    """
    import yaml

    from psychometrics.irt.shortform import short_form, short_scale_spec
    from psychometrics.pipeline.options import merge_options, resolve_ordinal
    from psychometrics.pipeline.steps import load_data
    from psychometrics.scale import Scale

    scale_path = None if isinstance(scale, Scale) else scale
    if not isinstance(scale, Scale):
        scale = Scale.from_yaml(scale)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SpecError(f"--out {out}: exists and is not a folder; give a folder for the short-form files")
    yaml_path = out / f"{scale.id}_short.yaml"
    replaced = check_outputs([yaml_path, out / "shortform.json", out / "report.html"],
                             [scale_path, scale.source, data if isinstance(data, (str, Path)) else None], overwrite)
    opts = merge_options(None, {"group": group, "split": split, "seed": seed, "id_column": id_column}, None)
    d = load_data(data, scale, opts)
    ordinal, _ = resolve_ordinal(scale, opts)
    subscales = {s.id: list(scale.items_of(s.id)) for s in scale.subscales}
    grp = d.work.group if group is not None else None
    sf = short_form(d.work.items, subscales, d.calibration, d.validation, per_subscale=per_subscale,
                    min_reliability=min_reliability, group=grp, ordinal=ordinal)
    spec = short_scale_spec(scale, sf.items)
    data_sha = hashlib.sha256(Path(data).read_bytes()).hexdigest() if isinstance(data, (str, Path)) else None
    prov = {"source_scale": {"id": scale.id, "version": scale.version, "content_hash": scale.content_hash},
            "data_sha256": data_sha, "seed": seed, "split": split, "per_subscale": per_subscale,
            "min_reliability": min_reliability, "group": group, "procedure": sf.procedure,
            "n_calibration": sf.n_calibration, "n_validation": sf.n_validation, "command": command}
    out.mkdir(parents=True, exist_ok=True)
    header = "\n".join(f"# {line}" for line in [
        f"Short form of {scale.id} {scale.version} (content hash {scale.content_hash[:16]}…),",
        f"written by psychometrics shorten: {per_subscale} item(s) per subscale, seed {seed}, split {split}.",
        f"Procedure: {sf.procedure}.", "Provenance and re-validation: shortform.json and report.html beside this file."])
    spec_text = header + "\n" + yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)

    def write_spec(tmp: Path) -> None:
        tmp.write_text(spec_text, encoding="utf-8")
        Scale.from_yaml(tmp)  # the written spec must load (else nothing replaces the target)

    atomic_write(yaml_path, write_spec)
    result = {"provenance": prov, "items": {k: list(v) for k, v in sf.items.items()},
              "selection": to_jsonable(sf.selection), "revalidation": to_jsonable(sf.revalidation),
              "cfa_fit": sf.cfa_fit, "invariance": None if sf.invariance is None else to_jsonable(sf.invariance),
              "invariance_level": sf.invariance_level, "invariance_method": sf.invariance_method,
              "notes": list(sf.notes), "spec_file": yaml_path.name}
    atomic_write_text(out / "shortform.json", json.dumps(to_jsonable(result), indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(out / "report.html", _report(scale, sf, prov))
    announce_replaced(replaced)
    return sf


def _table(frame: pd.DataFrame, digits: int = 3) -> str:
    return frame.to_html(float_format=lambda x: f"{x:.{digits}f}", na_rep="—", escape=True, border=0)


def _report(scale: Any, sf: Any, prov: Mapping[str, Any]) -> str:
    e = html.escape
    chosen = "".join(f"<li><b>{e(k)}</b>: {e(', '.join(v))}</li>" for k, v in sf.items.items())
    fit = "" if sf.cfa_fit is None else _table(pd.Series(sf.cfa_fit, name="value").to_frame())
    notes = "".join(f"<li>{e(n)}</li>" for n in sf.notes) or "<li>none</li>"
    inv = ("<p>No grouping variable (--group): invariance not assessed.</p>" if sf.invariance is None else
           f"<p>Highest level that holds: <b>{e(str(sf.invariance_level))}</b> ({e(str(sf.invariance_method))}).</p>"
           f"{_table(sf.invariance)}")
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Short form of {e(scale.name)}</title>
<style>body{{font-family:Helvetica,Arial,sans-serif;max-width:60rem;margin:2rem auto;line-height:1.4}}
table{{border-collapse:collapse;margin:1rem 0}}td,th{{padding:.2rem .6rem;border-bottom:1px solid #ccc;text-align:right}}</style>
</head><body><h1>Short form of the {e(scale.name)} {e(scale.version)}</h1>
<p>{e(sf.procedure)}. Calibration sample n = {sf.n_calibration}, validation sample n = {sf.n_validation}
(seed {e(str(prov['seed']))}, split {e(str(prov['split']))}).</p>
<h2>Chosen items</h2><ul>{chosen}</ul>
<h2>Re-validation (validation sample)</h2>{_table(sf.revalidation)}
<p>α: Cronbach's α; ω: one-factor CFA ω of the short subscale; r: correlation of short and full mean scores,
raw and corrected for the shared items (Levy, 1967): the short score's error variance (1 − α)σ², contained in
both scores, is removed from their covariance.</p>
<h2>CFA of the short form (correlated factors, ML, validation sample)</h2>{fit}
<h2>Measurement invariance of the short form (validation sample)</h2>{inv}
<h2>Selection (calibration sample)</h2>{_table(sf.selection)}
<p>step: order of selection; marginal_reliability_after: marginal reliability of the selected set after adding
the item; excluded: why an item was not eligible.</p>
<h2>Notes</h2><ul>{notes}</ul>
<h2>Provenance</h2><pre>{e(json.dumps(to_jsonable(dict(prov)), indent=1, ensure_ascii=False))}</pre>
</body></html>
"""
