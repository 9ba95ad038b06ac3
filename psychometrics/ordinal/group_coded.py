""":func:`psychometrics.ordinal.group_stats.ordinal_sample_stats` from the run's shared codes and tables (private; issue 16).

The per-group sample statistics of pairwise deletion computed from :class:`~psychometrics.ordinal.shared.OrdinalRows`:
the used rows' ``int8`` codes are gathered from the shared codes (no float copy of the rows in column
order, no per-item coding of floats), each group's bivariate tables are the sum of its cells' tables
(no one-hot product over the rows), the categories pooled over the groups and the merges of categories
empty in a group (``empty_categories="collapse"``) come from the groups' category counts (the tables'
diagonals), and each group's Γ from its rows' codes as before. The same rows in the same order, the same
integer tables and counts, categories, merges and messages: every statistic equals the one computed from
the rows (``tests/test_ordinal_shared.py``). Anything unusual — an error to report, listwise deletion, rows
or columns the shared object does not hold — returns None, and the caller computes from the rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from psychometrics.exceptions import DataQualityWarning, Diagnostic, EstimationError, record
from psychometrics._text import quote

__all__ = ["coded_sample_stats"]


def coded_sample_stats(shared, data: pd.DataFrame, items: Sequence[str], group: str | None, empty_categories: str,
                       diags: list[Diagnostic]):
    """``ordinal_sample_stats(data, items, group, missing="pairwise", ...)`` from ``shared``, or None."""
    from psychometrics.ordinal import nacov as _nacov
    from psychometrics.ordinal.correlations import polychoric_from_codes
    from psychometrics.ordinal.group_stats import _coverage_messages, _from_polychoric, _group_codes, _nacov_shares

    coded = shared.coded()
    pos = shared.positions(data.index)
    if coded is None or pos is None or len(set(items)) != len(items) or not set(items) <= set(shared.names):
        return None
    codes_all, lo, slots, _ = coded
    cols = [shared.names.index(v) for v in items]
    p = len(items)
    cs = np.empty((pos.size, p), dtype=np.int8, order="F")  # the rows' codes, items in the model's order
    for a, j in enumerate(cols):
        cs[:, a] = codes_all[pos, j]
    n_rows = pos.size
    nobs = (cs >= 0).sum(axis=0)
    if (nobs == 0).any():
        return None  # an item without answers: the caller's error
    complete = (cs >= 0).any(axis=1)
    n_excluded = int((~complete).sum())
    if group is None:
        labels: tuple[str, ...] = ("all",)
        gcodes = np.zeros(int(complete.sum()), dtype=int)
        sel = np.flatnonzero(complete)
    else:
        if data[group].isna().any():
            return None
        labels, gcodes = _group_codes(data[group], complete, group)
        order = np.argsort(gcodes, kind="stable")
        sel, gcodes = np.flatnonzero(complete)[order], gcodes[order]
    got = shared.tables(data.index, None if group is None else labels)
    if got is None:
        return None
    bounds = np.searchsorted(gcodes, np.arange(len(labels) + 1))
    if any(int(bounds[g + 1] - bounds[g]) <= p for g in range(len(labels))):
        return None  # too few rows in a group: the caller's error
    # each group's tables over the items' slots (full symmetric), and its coverage counts
    offs = np.concatenate([[0], np.cumsum(slots)])
    sl = np.concatenate([np.arange(offs[j], offs[j + 1]) for j in cols])
    blocks = np.concatenate([[0], np.cumsum([slots[j] for j in cols])])
    full = []
    for T, _, _ in got:
        F = np.triu(T) + np.triu(T, 1).T
        full.append(F[np.ix_(sl, sl)])
    # the warnings are recorded only once nothing can send the caller back to the rows (no warning twice)
    pending: list[tuple[str, int]] = []
    if n_excluded:
        pending.append((f"{n_excluded} of {n_rows} rows have every model item missing and were not used "
                        "(pairwise deletion keeps all other rows)", 5))
    agg = np.add.reduceat(np.add.reduceat(np.stack(full), blocks[:-1], axis=1), blocks[:-1], axis=2)  # pair counts
    ok, messages = _coverage_messages(list(agg), np.diff(bounds), items, labels, group)
    if not ok:
        return None  # an item or a pair unobserved in a group: the caller's error
    pending += [(m, 6) for m in messages]
    # categories: the slots used by the rows, pooled over the groups; empty ones in a group merged (or an error)
    M = np.zeros((sl.size, 0))
    K: list[int] = []
    luts = []
    for a, j in enumerate(cols):
        used = np.stack([np.diag(F)[blocks[a]: blocks[a + 1]] for F in full])  # (groups, slots)
        present = np.flatnonzero(used.sum(axis=0) > 0)
        cats = [float(c) for c in present + lo[j]]
        if len(cats) < 2:
            return None
        counts = used[:, present]
        if group is not None and (counts == 0).any():
            if empty_categories == "error":
                return None
            cats, members, merges = _collapse_counts(cats, counts, labels)
            if len(cats) < 2:
                return None
            pending.append((f"item {quote(items[a])}: " + "; ".join(
                f"category {c:g} (empty in group {quote(lab)}) merged into {t:g}" for c, t, lab in merges)
                + " in every group", 6))
        else:
            members = [[i] for i in range(len(cats))]
        # slot → category (−1: a value no row uses); merged values go with the category they were merged into
        lut = np.full(int(slots[j]), -1, dtype=np.int64)
        for k, mem in enumerate(members):
            lut[present[mem]] = k
        luts.append(lut)
        K.append(len(cats))
        Mj = np.zeros((sl.size, len(cats)))
        ok = lut >= 0
        Mj[blocks[a] + np.flatnonzero(ok), lut[ok]] = 1.0
        M = np.hstack([M, Mj])
    if any(k > 127 for k in K):
        return None
    codes = np.empty((sel.size, p), dtype=np.int8, order="F")
    for a in range(p):
        lut8 = np.concatenate([luts[a], [-1]]).astype(np.int8)  # index −1 (missing) → the last entry, −1
        codes[:, a] = lut8[cs[sel, a]]
    del cs
    for message, level in pending:
        record(diags, DataQualityWarning, message, stacklevel=level)
    tot = int(sum(K))
    out = []
    shares = _nacov_shares(np.diff(bounds), labels, diags)
    for g, lab in enumerate(labels):
        Tg = np.zeros((tot + 1, tot + 1))
        Tg[:-1, :-1] = M.T @ full[g] @ M  # integer sums: exact
        with _nacov.nacov_rows(shares[g]):
            res = polychoric_from_codes(codes[bounds[g]:bounds[g + 1]], items, K, missing="pairwise", acov=True,
                                        tables=Tg)
        for dg in res.diagnostics:
            where = f" (group {quote(lab)})" if group is not None else ""
            diags.append(Diagnostic(dg.category, dg.message + where))
        if res.acov is None:
            raise EstimationError(
                f"the asymptotic covariance of the polychoric correlations{' in group ' + repr(lab) if group else ''} "
                "is undefined (a correlation of ±1); merge or drop redundant items"
            )
        out.append(_from_polychoric(res, items))
    return out, labels, n_excluded


def _collapse_counts(cats: list[float], counts: np.ndarray, labels: tuple[str, ...]):
    """:func:`psychometrics.ordinal.group_stats._collapse` on the (groups × categories) counts: the same merges
    in the same order (the first empty category of the first group with one, into its lower neighbour — the
    higher for the lowest). Returns the kept categories, each one's members (indices of the original
    categories merged into it) and the merges."""
    cats = list(cats)
    counts = counts.copy()
    members = [[i] for i in range(len(cats))]
    merges: list[tuple[float, float, str]] = []
    while True:
        empty = None
        for g, lab in enumerate(labels):
            k = np.flatnonzero(counts[g] == 0)
            if k.size:
                empty = (int(k[0]), lab)
                break
        if empty is None or len(cats) < 2:
            return cats, members, merges
        k, lab = empty
        t = k - 1 if k > 0 else k + 1
        counts[:, t] += counts[:, k]
        members[t] += members[k]
        merges.append((cats[k], cats[t], lab))
        counts = np.delete(counts, k, axis=1)
        del cats[k], members[k]
