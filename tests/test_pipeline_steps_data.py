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
