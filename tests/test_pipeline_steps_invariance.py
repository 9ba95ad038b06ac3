"""The pipeline's invariance step (psychometrics/pipeline/steps/invariance.py)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd


def test_every_analysed_row_is_read_without_a_copy_and_the_same_frame(tmp_path):
    """issue 16 (ninth session): on every analysed row (the default sample) the step reads the items without
    copying them (a shallow frame with the group column added): the frame equals the rows selected with
    ``.loc`` exactly (so the analysis sees the same input), and neither it nor the step changes the run's
    items."""
    from psychometrics.pipeline.options import merge_options, resolve_estimation, resolve_ordinal
    from psychometrics.pipeline.steps import invariance_step, load_data
    from psychometrics.pipeline.steps.invariance import rows_with_group
    from psychometrics.scale import Scale
    from psychometrics.simulate import simulate_study, write_table

    root = Path(__file__).resolve().parents[1]
    path = write_table(simulate_study(None, n=600, seed=3), tmp_path / "responses.csv")
    scale = Scale.from_yaml(root / "scales" / "mentorship_supportiveness.yaml")
    opts = merge_options(None, {"group": "career_stage", "measures": (), "seed": 0, "id_column": "id"}, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = load_data(path, scale, opts)
        ordinal, _ = resolve_ordinal(scale, opts)
        est = resolve_estimation(opts, ordinal)
        work = d.work
        before = work.items.copy()
        assert d.analysed.equals(work.items.index)
        frame = rows_with_group(work, d.analysed, "career_stage")
        want = work.items.loc[d.analysed]
        want["career_stage"] = work.group.loc[d.analysed].astype(str)
        pd.testing.assert_frame_equal(frame, want, check_exact=True)
        frame.iloc[0, 0] = -1.0  # (copy-on-write: the run's items keep their values)
        step = invariance_step(work, d.analysed, scale, opts, ordinal, est, ordinal_rows=d.ordinal_rows())
    assert step.result is not None
    pd.testing.assert_frame_equal(work.items, before, check_exact=True)  # no group column, the same values
    part = d.validation  # a subset: selected with .loc
    frame = rows_with_group(work, part, "career_stage")
    assert frame.index.equals(part) and (frame["career_stage"] == work.group.loc[part].astype(str)).all()
