"""Versioned scoring keys: how to score a validated scale, and what was validated.

A key holds the scale spec and its content hash, the item keys and scoring rules, the
reliability per score, the level of measurement invariance reached (and across which
groups), the calibration sample and its norms. Reading a key refuses hand edits (the
stored spec must still produce the stored item keys and hash) and names the faulty field.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from psychometrics._results import ResultMixin, to_jsonable
from psychometrics._text import quote
from psychometrics.exceptions import DataError, ScoringKeyError
from psychometrics.scoring._input import scoring_source
from psychometrics.scoring.norm_tables import Norms
from psychometrics.scoring.norms import build_norms
from psychometrics.scoring.result import ScoreResult
from psychometrics.scoring.rules import (
    ScoreDefinition,
    ScoringRules,
    _as_scale,
    _attr,
    _get,
    _scale_hash,
    _scale_view,
)
from psychometrics.scoring.stages import run_scoring

__all__ = ["ScoringKey", "KEY_FORMAT_VERSION"]


KEY_FORMAT_VERSION = 1
#: larger key files are refused unread (bytes): a key with norm tables is a few hundred kB
MAX_KEY_BYTES = 5_000_000


@dataclass(frozen=True, eq=False)
class ScoringKey(ResultMixin):
    """A versioned scoring key: how to score a validated scale, and what was validated.

    Written to / read from JSON or YAML (by file extension); the file name must start
    with ``scoring_key``. Reading uses ``json`` / ``yaml.safe_load`` only.

    Attributes
    ----------
    scale_spec : dict
        The full scale spec (YAML structure).
    scale_hash : str
        Content hash of the spec (``Scale.content_hash``).
    scale_id, scale_version : str
    rules : ScoringRules
        Item keys (which items, reversed or not, per score) and scoring rules.
    reliability : dict
        ``{score: {"coefficient": "alpha" | "omega" | ..., "value": float}}``.
    invariance : dict or None
        ``{"level": "configural" | "metric" | "scalar" | "strict" | "partial scalar" ...,
        "group_variable": str, "groups": [...], "notes": str}``.
    irt : dict or None
        Per score, the IRT calibration (GRM slope–intercept parameters, category values,
        quadrature) and its sum-score → EAP table (:func:`psychometrics.irt.keyio.calibration_to_key`);
        :func:`psychometrics.irt.keyio.calibration_from_key` reads one back to score without refitting.
    calibration : dict
        ``{"n": int, "date": "YYYY-MM-DD", "data_sha256": str, "description": str}``.
    norms : Norms or None
    created : str
        ISO timestamp of building.
    package_version : str
    format_version : int
    """

    scale_spec: dict[str, Any]
    scale_hash: str | None
    scale_id: str
    scale_version: str
    rules: ScoringRules
    reliability: dict[str, dict[str, Any]] = field(default_factory=dict)
    invariance: dict[str, Any] | None = None
    calibration: dict[str, Any] = field(default_factory=dict)
    norms: Norms | None = None
    created: str = ""
    package_version: str = ""
    format_version: int = KEY_FORMAT_VERSION
    irt: dict[str, Any] | None = None

    _title = "Scoring key"

    # ----------------------------------------------------------------- build
    @classmethod
    def build(
        cls,
        scale: Any,
        responses: Any = None,
        reliability: Mapping[str, Any] | str | None = "alpha",
        invariance: Any = None,
        norms: Norms | bool | None = True,
        *,
        group: str | pd.Series | None = None,
        description: str = "",
        date: str | None = None,
        data_sha256: str | None = None,
        coefficient: str = "omega_total",
        scores: ScoreResult | None = None,
    ) -> ScoringKey:
        """Build a key from a scale and (optionally) its calibration sample.

        Parameters
        ----------
        scale : Scale
            The validated scale (its spec, content hash and version go into the key).
        responses : Responses or DataFrame, optional
            The calibration sample. When given: n, date and the data SHA-256 are
            recorded, reliability (``"alpha"``) and norms are computed from it.
        reliability : mapping, result, "alpha" or None
            ``{score: value}`` or ``{score: {"coefficient": ..., "value": ...}}``, or the
            result of :func:`psychometrics.reliability.scale_reliability` (its
            ``table`` column ``coefficient``, alpha where that is missing); ``"alpha"``
            computes coefficient alpha per score from ``responses``.
        invariance : mapping or invariance result, optional
            ``{"level": ..., "group_variable": ..., "groups": [...]}``; a result object
            is read through its ``level`` / ``highest_level``, ``group`` and ``groups``
            attributes.
        norms : Norms, True or None
            Norms to store; ``True`` builds them from ``responses`` (by ``group`` if
            given); None stores none.
        group : str or Series, optional
            Grouping variable for group norms.
        description : str
            Description of the calibration sample.
        date : str, optional
            Date of the calibration data (default: today).
        data_sha256 : str, optional
            SHA-256 of the calibration data file; by default taken from the responses
            (if they carry one) or computed from the item responses written as CSV.
        coefficient : str
            Which column of a reliability result's table to store (default
            ``"omega_total"``; e.g. ``"alpha"``).
        scores : ScoreResult, optional
            ``score(scale, responses)`` computed already (e.g. by ``validate``'s validity step): used
            instead of scoring ``responses`` again when it was scored with this scale's rules, the same
            method and prorating share, on as many rows, without a key or norms, and (for
            ``reliability="alpha"``) with α from the data; otherwise ``responses`` are scored as without
            it. Not with ``group`` (the group norms read the group given).
        """
        from psychometrics import __version__

        scale = _as_scale(scale)
        spec = _scale_view(scale)
        rules = ScoringRules.from_spec_dict(spec)
        scale_hash = _scale_hash(scale)
        calibration: dict[str, Any] = {"description": description}
        rel: dict[str, dict[str, Any]] = {}
        norm_obj: Norms | None = norms if isinstance(norms, Norms) else None
        if responses is not None:
            # the stages of score(scale, responses, ...); score() itself sits above this module
            res = scores if _reusable(scores, rules, responses, reliability, group) else run_scoring(
                scoring_source(scale), responses, group=group, norms=False,
                reliability="alpha" if reliability == "alpha" else None)
            calibration["n"] = int(res.n_rows)
            calibration["n_scored"] = {k: int(v) for k, v in res.descriptives["n"].items()}
            calibration["date"] = date or _dt.date.today().isoformat()
            calibration["data_sha256"] = data_sha256 or _data_sha256(responses)
            if reliability == "alpha":
                rel = {s: {"coefficient": "alpha", "value": float(r["reliability"])}
                       for s, r in res.sem.iterrows() if r["reliability"] == r["reliability"]}
            if norms is True:
                gv = None if group is None else res.group
                try:
                    norm_obj = build_norms(res, gv, description=description)
                except DataError as exc:
                    frame = getattr(responses, "data", responses)
                    unanswered = ([str(c) for c in frame.columns if frame[c].isna().all()]
                                  if isinstance(frame, pd.DataFrame) and len(frame) else [])
                    if unanswered:
                        raise DataError(f"{exc} (item(s) {', '.join(unanswered[:12])} have no answers)") from None
                    raise
        elif norms is True:
            norm_obj = None
        else:
            if date:
                calibration["date"] = date
            if data_sha256:
                calibration["data_sha256"] = data_sha256
        if isinstance(reliability, Mapping):
            rel = _reliability_dict(reliability)
        elif reliability not in ("alpha", None):
            rel = _reliability_dict(_reliability_from_result(reliability, coefficient))
        return cls(
            scale_spec=spec, scale_hash=scale_hash, scale_id=str(spec.get("id", "")),
            scale_version=str(spec.get("version", "")), rules=rules, reliability=rel,
            invariance=_invariance_dict(invariance), calibration=calibration, norms=norm_obj,
            created=_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
            package_version=__version__)

    # ------------------------------------------------------------- checks
    def check_scale(self, scale: Any) -> None:
        """Refuse a scale whose id, version or content differs from the key's."""
        sid = _attr(scale, "id")
        ver = _attr(scale, "version")
        h = _scale_hash(scale)
        if sid is not None and str(sid) != self.scale_id:
            raise ScoringKeyError(f"the data belong to scale {quote(sid)}, but this key scores "
                                  f"{quote(self.scale_id)}")
        if ver is not None and str(ver) != self.scale_version:
            raise ScoringKeyError(
                f"the data were loaded with version {ver} of {quote(self.scale_id)}, but this key "
                f"was built for version {self.scale_version}; score them with the matching key")
        if h is not None and self.scale_hash is not None and h != self.scale_hash:
            raise ScoringKeyError(
                f"the scale spec the data were loaded with differs from the key's (content "
                f"hash {h[:12]}... vs {self.scale_hash[:12]}...), although both say version "
                f"{self.scale_version}; use the spec stored in the key")

    # ------------------------------------------------------------- files
    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "kind": "psychometrics scoring key",
            "created": self.created,
            "package_version": self.package_version,
            "scale": {"id": self.scale_id, "version": self.scale_version,
                      "content_hash": self.scale_hash, "spec": self.scale_spec},
            "scoring": {"method": self.rules.method, "min_answered": self.rules.min_answered,
                        "score_rule": ("prorated sum = mean of answered items x number of items"
                                       if self.rules.method == "sum" else
                                       "mean of answered items"),
                        "reverse_rule": "min + max - x"},
            "response_format": {"min": self.rules.response_min, "max": self.rules.response_max,
                                "missing_codes": list(self.rules.missing_codes),
                                "likert": self.rules.likert},
            "scores": [s.to_dict() for s in self.rules.scores],
            "reliability": self.reliability,
            "invariance": self.invariance,
            "calibration": self.calibration,
            "norms": None if self.norms is None else self.norms.to_dict(),
            **({} if self.irt is None else {"irt": self.irt}),
        }

    def to_file(self, path: str | Path) -> Path:
        """Write the key as JSON (``.json``) or YAML (``.yaml``/``.yml``)."""
        path = Path(path)
        _check_key_name(path)
        d = to_jsonable(self.to_dict())
        if path.suffix.lower() == ".json":
            from psychometrics._jsontext import dumps_indented

            # json.dumps(d, indent=2, ensure_ascii=False)'s text (d is plain JSON: no NaN), long lists at C speed
            text = dumps_indented(d, indent=2) + "\n"
        else:
            import yaml

            text = yaml.safe_dump(d, sort_keys=False, allow_unicode=True)
        from psychometrics._io import atomic_write_text

        return atomic_write_text(path, text)

    @classmethod
    def from_file(cls, path: str | Path) -> ScoringKey:
        """Read a key file; a malformed key raises :class:`ScoringKeyError` naming the field."""
        path = Path(path)
        _check_key_name(path)
        if not path.exists():
            raise ScoringKeyError(f"scoring key {quote(str(path))} does not exist")
        from psychometrics._yaml import MAX_YAML_BYTES, parse_yaml, read_text

        is_json = path.suffix.lower() == ".json"
        text = read_text(path, "Scoring key", ScoringKeyError, max_bytes=MAX_KEY_BYTES if is_json else MAX_YAML_BYTES)
        if is_json:
            try:
                d = json.loads(text)
            except (ValueError, RecursionError) as exc:
                raise ScoringKeyError(f"scoring key {quote(str(path))} cannot be parsed: "
                                      f"{quote(str(exc), 200)}") from None
        else:
            d = parse_yaml(text, path, "Scoring key", ScoringKeyError)
        try:
            return cls.from_dict(d)
        except ScoringKeyError as exc:
            raise ScoringKeyError(f"scoring key {quote(str(path))}: {exc}") from None

    @classmethod
    def from_dict(cls, d: Any) -> ScoringKey:
        if not isinstance(d, Mapping):
            raise ScoringKeyError("the key must be a mapping at top level")
        fv = _get(d, "format_version", int, "key")
        if fv > KEY_FORMAT_VERSION:
            raise ScoringKeyError(f"format_version {fv} is newer than this package reads "
                                  f"({KEY_FORMAT_VERSION}); upgrade psychometrics")
        sc = _get(d, "scale", Mapping, "key")
        spec = _get(sc, "spec", Mapping, "scale")
        scoring = _get(d, "scoring", Mapping, "key")
        rf = _get(d, "response_format", Mapping, "key")
        scores_in = _get(d, "scores", list, "key")
        defs = []
        for j, s in enumerate(scores_in):
            w = f"scores[{j}]"
            items = _get(s, "items", list, w)
            rev = s.get("reverse", [])
            if not all(isinstance(i, str) for i in items) or not items:
                raise ScoringKeyError(f"{w}.items must be a non-empty list of item ids")
            if not isinstance(rev, list) or any(r not in items for r in rev):
                raise ScoringKeyError(f"{w}.reverse must list items of {w}.items")
            defs.append(ScoreDefinition(_get(s, "name", str, w), str(s.get("label") or s["name"]),
                                        tuple(items), tuple(rev)))
        method = _get(scoring, "method", str, "scoring")
        ma = _get(scoring, "min_answered", float, "scoring")
        lo = rf.get("min")
        hi = rf.get("max")
        for nm, v in (("min", lo), ("max", hi)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise ScoringKeyError(f"response_format.{nm} must be a number, not {quote(v)}")
        codes = rf.get("missing_codes") or []
        if not isinstance(codes, list) or any(isinstance(c, bool) or not isinstance(c, (int, float))
                                               for c in codes):
            raise ScoringKeyError("response_format.missing_codes must be a list of numbers")
        rules = ScoringRules(tuple(defs), method, float(ma), None if lo is None else float(lo),
                             None if hi is None else float(hi), tuple(float(c) for c in codes),
                             bool(rf.get("likert", True)))
        rel = d.get("reliability") or {}
        if not isinstance(rel, Mapping):
            raise ScoringKeyError("reliability must map scores to {coefficient, value}")
        for s, r in rel.items():
            if not isinstance(r, Mapping) or isinstance(r.get("value"), bool) or \
                    not isinstance(r.get("value"), (int, float)):
                raise ScoringKeyError(f"reliability.{s}.value must be a number")
        inv = d.get("invariance")
        if inv is not None:
            if not isinstance(inv, Mapping):
                raise ScoringKeyError("invariance must be a mapping or null")
            if "groups" in inv and not isinstance(inv["groups"], list):
                raise ScoringKeyError("invariance.groups must be a list")
        cal = d.get("calibration") or {}
        if not isinstance(cal, Mapping):
            raise ScoringKeyError("calibration must be a mapping")
        if "n" in cal:
            _get(cal, "n", int, "calibration")
        nd = d.get("norms")
        norms = None if nd is None else Norms.from_dict(nd)
        if norms is not None:
            unknown = [s for s in norms.scores if s not in {x.name for x in defs}]
            if unknown:
                raise ScoringKeyError(f"norms.tables has score(s) {unknown} the key does not define")
        key = cls(
            scale_spec=dict(spec), scale_hash=None if sc.get("content_hash") is None else
            str(sc["content_hash"]), scale_id=str(_get(sc, "id", str, "scale")),
            scale_version=str(sc.get("version", "")), rules=rules,
            reliability={str(k): dict(v) for k, v in rel.items()},
            invariance=None if inv is None else dict(inv), calibration=dict(cal), norms=norms,
            created=str(d.get("created", "")), package_version=str(d.get("package_version", "")),
            format_version=fv, irt=_irt_entry(d.get("irt")))
        key._check_spec_consistency()
        return key

    def _check_spec_consistency(self) -> None:
        """The stored spec must still produce the stored item keys and hash (no hand edits)."""
        try:
            from_spec = ScoringRules.from_spec_dict(self.scale_spec, where="scale.spec")
        except ScoringKeyError:
            raise
        if [s.to_dict() for s in from_spec.scores] != [s.to_dict() for s in self.rules.scores]:
            raise ScoringKeyError(
                "scores (item keys) do not match scale.spec: the key was edited by hand; "
                "rebuild it with ScoringKey.build")
        if self.scale_hash is None:
            return
        try:
            from psychometrics.scale import Scale
        except ImportError:  # the spec module is not available: nothing to re-hash with
            return
        h = _spec_hash(Scale, self.scale_spec)
        if h is not None and h != self.scale_hash:
            raise ScoringKeyError(
                f"scale.content_hash {self.scale_hash[:12]}... does not match the stored "
                f"scale.spec (hash {h[:12]}...): the key was edited; rebuild it")

    def scale(self) -> Any:
        """The scale spec as a :class:`~psychometrics.scale.Scale`."""
        from psychometrics.scale import Scale

        return _scale_from_dict(Scale, self.scale_spec)

    def _scalars(self) -> dict[str, Any]:
        return {"scale": self.scale_id, "version": self.scale_version,
                "method": self.rules.method, "min_answered": self.rules.min_answered,
                "calibration_n": self.calibration.get("n", ""),
                "invariance": (self.invariance or {}).get("level", "not tested")}

    def _tables(self) -> dict[str, pd.DataFrame]:
        t = pd.DataFrame(
            [{"score": s.name, "items": len(s.items), "reverse": ", ".join(s.reverse),
              "reliability": self.reliability.get(s.name, {}).get("value", float("nan"))}
             for s in self.rules.scores]).set_index("score")
        return {"scores": t}


def _scale_from_dict(Scale: Any, spec: Mapping[str, Any]) -> Any:
    for name in ("from_dict", "model_validate"):
        f = getattr(Scale, name, None)
        if f is not None:
            return f(dict(spec))
    return Scale(**spec)


def _spec_hash(Scale: Any, spec: Mapping[str, Any]) -> str | None:
    try:
        return _scale_hash(_scale_from_dict(Scale, spec))
    except Exception as exc:  # a spec the current schema rejects
        raise ScoringKeyError(f"scale.spec is not a valid scale spec: {exc}") from None


def _check_key_name(path: Path) -> None:
    if not path.name.startswith("scoring_key"):
        raise ScoringKeyError(f"a scoring key file name must start with 'scoring_key', not "
                              f"{quote(path.name)}")
    if path.suffix.lower() not in (".json", ".yaml", ".yml"):
        raise ScoringKeyError(f"scoring key {quote(path.name)}: use a .json, .yaml or .yml extension")


def _reliability_dict(rel: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for k, v in rel.items():
        if isinstance(v, Mapping):
            out[str(k)] = {"coefficient": v.get("coefficient"), "value": float(v["value"])}
        else:
            out[str(k)] = {"coefficient": None, "value": float(v)}
    return out


def _reliability_from_result(obj: Any, coefficient: str = "alpha") -> Mapping[str, Any]:
    """Per-score reliabilities from a result, e.g. ``reliability.scale_reliability``'s
    ``table`` (one row per subscale and ``total``; column ``coefficient``, falling back
    to ``alpha`` where it is missing)."""
    table = getattr(obj, "table", None)
    if isinstance(table, pd.DataFrame):
        if coefficient not in table.columns:
            raise DataError(f"the reliability table has no column {quote(coefficient)}; columns: "
                            f"{', '.join(map(str, table.columns))}")
        out: dict[str, Any] = {}
        for name, row in table.iterrows():
            v, c = row[coefficient], coefficient
            if not v == v and "alpha" in table.columns:  # e.g. omega needs three items
                v, c = row["alpha"], "alpha"
            if v == v:
                out[str(name)] = {"coefficient": c, "value": float(v)}
        return out
    for name in ("by_score", "values", "estimates"):
        v = _attr(obj, name)
        if isinstance(v, Mapping):
            return v
        if isinstance(v, pd.Series):
            return v.to_dict()
    raise DataError(f"cannot read per-score reliabilities from {type(obj).__name__}; pass a "
                    "mapping {score: value}")


def _invariance_dict(inv: Any) -> dict[str, Any] | None:
    if inv is None:
        return None
    if isinstance(inv, Mapping):
        d = dict(inv)
    else:
        level = _attr(inv, "level") or _attr(inv, "highest_level") or _attr(inv, "reached")
        d = {"level": None if level is None else str(level),
             "group_variable": _attr(inv, "group") or _attr(inv, "group_variable"),
             "groups": [str(g) for g in (_attr(inv, "groups") or [])]}
    if "groups" in d:
        d["groups"] = [str(g) for g in d["groups"]]
    return json.loads(json.dumps(to_jsonable(d)))


def _reusable(scores: ScoreResult | None, rules: ScoringRules, responses: Any, reliability: Any,
              group: Any) -> bool:
    """Whether ``scores`` are what :meth:`ScoringKey.build` would compute from ``responses`` (see there)."""
    if scores is None or group is not None:
        return False
    n = len(responses) if isinstance(responses, pd.DataFrame) else len(getattr(responses, "items", ()))
    same = (tuple(scores.definitions) == tuple(rules.scores) and scores.method == rules.method
            and scores.min_answered == float(rules.min_answered) and scores.n_rows == n
            and scores.key is None and scores.norms is None)
    if same and reliability == "alpha":
        same = bool((scores.sem["reliability_source"] == "data").all())
    return same


def _data_sha256(responses: Any) -> str:
    for name in ("sha256", "data_sha256", "source_sha256"):
        v = _attr(responses, name)
        if isinstance(v, str):
            return v
    q = getattr(responses, "quality", None)
    for name in ("sha256", "data_sha256", "source_sha256"):
        v = _attr(q, name) if q is not None else None
        if isinstance(v, str):
            return v
    frame = responses if isinstance(responses, pd.DataFrame) else getattr(responses, "raw", None)
    if not isinstance(frame, pd.DataFrame):
        frame = getattr(responses, "items")
    return hashlib.sha256(frame.to_csv(index=False).encode("utf-8")).hexdigest()


def _irt_entry(value: Any) -> dict[str, Any] | None:
    """The key's ``irt`` block: None, or score → calibration mapping."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or any(not isinstance(v, Mapping) or "items" not in v for v in value.values()):
        raise ScoringKeyError("irt must map scores to calibrations with 'items' (or be absent)")
    return {str(k): dict(v) for k, v in value.items()}
