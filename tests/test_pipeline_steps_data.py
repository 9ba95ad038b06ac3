"""The data step of the pipeline (``pipeline/steps/data.py``): one copy of every item matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from psychometrics.data import load_responses
from psychometrics.pipeline.options import merge_options
from psychometrics.pipeline.steps import load_data
from psychometrics.scale import Scale, find_companions
from psychometrics.simulate import simulate_study, write_table

ROOT = Path(__file__).resolve().parents[1]
MSS = ROOT / "scales" / "mentorship_supportiveness.yaml"


def test_source_item_columns_dropped_after_loading_and_measures_unchanged(tmp_path):
    """After the data step the source table keeps only its other columns (ids, group): the loaded
    measures' answers are held once, in their ``items``, which equal a direct load bit for bit."""
    path = write_table(simulate_study(None, n=300, seed=3), tmp_path / "responses.csv")
    scale = Scale.from_yaml(MSS)
    opts = merge_options(None, {"group": "career_stage", "measures": (), "split": 0.5, "seed": 0,
                                "id_column": "id"}, None)
    d = load_data(path, scale, opts)
    direct = load_responses(path, scale, group="career_stage", id_column="id")
    assert list(d.responses.frame.columns) == ["id", "career_stage"]
    assert d.responses.extra.shape == (300, 0)
    pd.testing.assert_frame_equal(d.responses.items, direct.items)
    pd.testing.assert_frame_equal(d.responses.careless, direct.careless)
    found, _ = find_companions(scale, opts.measures)
    assert set(d.companions) == set(found) and d.companions
    for cid, comp in d.companions.items():
        again = direct.load_companion(found[cid])
        pd.testing.assert_frame_equal(comp.items, again.items)
        pd.testing.assert_frame_equal(comp.careless, again.careless)
        assert comp.extra.shape[1] == 0 and list(comp.frame.columns) == ["id", "career_stage"]
        assert d.companions_work[cid].items is comp.items
    assert np.array_equal(d.responses.raw.to_numpy(), direct.raw.to_numpy(), equal_nan=True)


def test_shared_values_buffer_reused_across_measures_and_nothing_refers_to_it(tmp_path, monkeypatch):
    """Inside ``shared_values_buffer`` (the data step) every Likert measure reads its answers into one
    items × rows scratch: the same matrix for the scale and its companions, the loaded measures equal
    loads without it (items, raw, careless screens, data quality, diagnostics), and none of them refers
    to the scratch afterwards (overwriting it changes nothing)."""
    from psychometrics.data import responses as resp_mod

    study = simulate_study(None, n=300, seed=5)
    path = write_table(study, tmp_path / "responses.csv")
    scale = Scale.from_yaml(MSS)
    found, _ = find_companions(scale, ())
    opts = {"group": "career_stage", "id_column": "id"}
    plain = load_responses(path, scale, **opts)
    plain_comps = {cid: plain.load_companion(c) for cid, c in found.items()}
    bases = []
    original = resp_mod._values_out

    def spy(k, n, likert):
        out = original(k, n, likert)
        bases.append(None if out is None else out.base)
        return out

    monkeypatch.setattr(resp_mod, "_values_out", spy)
    with resp_mod.shared_values_buffer():
        shared = load_responses(path, scale, **opts)
        comps = {cid: shared.load_companion(c) for cid, c in found.items()}
        scratch = bases[0]
    assert len(bases) == 1 + len(found) and all(b is scratch for b in bases)  # the scale has the most items
    scratch[...] = 99.0  # nothing loaded may see this
    for a, b in [(shared, plain), *((comps[c], plain_comps[c]) for c in found)]:
        pd.testing.assert_frame_equal(a.items, b.items)
        pd.testing.assert_frame_equal(a.raw, b.raw)
        pd.testing.assert_frame_equal(a.careless, b.careless)
        assert a.quality.to_dict() == b.quality.to_dict()
        assert [d.message for d in a.diagnostics] == [d.message for d in b.diagnostics]
        assert not np.shares_memory(a.items.to_numpy(), scratch)
    assert resp_mod._VALUES_BUFFER.get() is None  # outside the block: a new matrix per measure again
    assert original(3, 4, True) is None


def test_scale_screens_deferred_to_the_second_part_equal_a_direct_load(tmp_path, monkeypatch):
    """Below ``DEFER_SCREENS_MAX_ROWS`` rows the data step's first part leaves the scale's careless screens
    and data-quality record to the second (``deferred_screens``, ``screened``): after ``finish_data`` they,
    the diagnostics (in their order) and the items equal a direct ``load_responses`` — also with values
    set missing and an empty row (warnings from the checks, the screens and the quality record). Not
    deferred when careless rows are excluded (the analysed rows depend on them) nor from the threshold."""
    import dataclasses
    import warnings

    from psychometrics.pipeline.steps import data as data_step

    study = simulate_study(None, n=300, seed=7)
    scale = Scale.from_yaml(MSS)
    items = list(scale.item_ids)
    study.loc[study.index[3], items[0]] = 9  # outside the range: set missing (out_of_range="missing")
    study.loc[study.index[5], items] = np.nan  # answers no item: a quality warning
    path = write_table(study, tmp_path / "responses.csv")
    opts = merge_options(None, {"group": "career_stage", "measures": (), "split": 0.5, "seed": 0,
                                "id_column": "id", "out_of_range": "missing"}, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = load_responses(path, scale, group="career_stage", id_column="id", out_of_range="missing")
        first = data_step.load_scale_rows(path, scale, opts)
        assert first.responses.careless is None and first.responses.quality is None  # deferred
        assert first.responses.screens_pending and not direct.screens_pending
        assert first.work is first.responses
        d = data_step.finish_data(first, path, scale, opts)
    assert d.work is d.responses and not d.responses.screens_pending
    pd.testing.assert_frame_equal(d.responses.careless, direct.careless)
    pd.testing.assert_frame_equal(d.responses.items, direct.items)
    assert d.responses.quality.to_dict() == direct.quality.to_dict()
    assert [x.to_dict() for x in d.responses.diagnostics] == [x.to_dict() for x in direct.diagnostics]
    assert len(direct.diagnostics) >= 2
    assert [x.to_dict() for x in d.responses.quality.diagnostics] == [x.to_dict() for x in direct.quality.diagnostics]
    for cid, comp in d.companions.items():  # loaded from the screened scale: as from the direct load
        pd.testing.assert_frame_equal(comp.careless, direct.load_companion(comp.scale).careless)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        excl = data_step.load_scale_rows(path, scale, dataclasses.replace(opts, exclude_careless=True))
        assert excl.responses.careless is not None
        monkeypatch.setattr(data_step, "DEFER_SCREENS_MAX_ROWS", 300)
        big = data_step.load_scale_rows(path, scale, opts)
    pd.testing.assert_frame_equal(big.responses.careless, direct.careless)
    assert [x.to_dict() for x in big.responses.diagnostics] == [x.to_dict() for x in direct.diagnostics]
