"""The asymptotic covariance (NACOV) of thresholds and polychoric correlations (private).

lavaan's ``lav_samplestats_ordinal`` / ``muthen1984``: the input to WLS and WLSMV
(``lavInspect(fit, "gamma")``).
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from contextvars import ContextVar

import numpy as np

from psychometrics._linalg import all_core_blas
from psychometrics.ordinal.bivariate import _BIG, _SQRT_EPS, _dnorm, _pair_grid, _pnorm

__all__ = ["nacov", "nacov_diagonal", "unique_rows", "NACOV_ROWS", "nacov_limit", "nacov_rows"]

#: Above this many rows the middle term Σ s sᵀ of the NACOV is estimated from a seeded random
#: subsample of this many rows (scaled by N / m); the bread B comes from the full tables. Its cost
#: is O(rows × (thresholds + pairs)²) — 20 s of CPU at 10⁶ rows and 28 items — while its relative
#: sampling error at 10⁵ rows is about 1/√10⁵ ≈ 0.3 % of an already O(1/N) quantity
#: (docs/large-samples.md). The demo (n = 400) and every n ≤ 100,000 are computed exactly.
NACOV_ROWS = 100_000
#: the middle term's ``dsyrk`` on every core (``_linalg.all_core_blas``) or on the caller's BLAS threads (one in
#: the CFA and invariance steps). Every core (issue 16, ninth session) — which only counts where the step is
#: alone in the process: inside the pipeline's lanes (10,000–500,000 rows, and the CFA beside the data step's
#: second part at 10⁶) BLAS is held at one thread per lane and ``all_core_blas`` changes nothing. Where it
#: counts, the other core is idle: the invariance ladder at 10⁶ rows 3.64 → 3.15 s wall for +0.4 CPU-s (in
#: process, three alternating pairs), small runs and direct calls. (The fifth session had chosen one thread
#: for CPU time: 0.43 s CPU for 0.28 s wall against 0.32 s at 50,000 rows, 0.9–1.0 s CPU against 0.36 s on a
#: loaded machine, before the lanes held BLAS themselves.) The numbers do not depend on it
#: (``tests/test_ordinal.py``).
ALL_CORES = True
_NACOV_SEED = 0x6A3C0F  # fixed: the same data give the same Γ (the subsample depends only on N)
#: a smaller bound for the calls inside :func:`nacov_rows` (per-group Γ sharing NACOV_ROWS; see group_stats)
_ROWS: ContextVar[int | None] = ContextVar("nacov_rows", default=None)


def nacov_limit() -> int:
    """Rows above which (and the size of the subsample from which) the middle term is estimated."""
    limit = _ROWS.get()
    return NACOV_ROWS if limit is None else limit


@contextmanager
def nacov_rows(limit: int | None):
    """Within this block, :func:`nacov` subsamples above ``limit`` rows (None: ``NACOV_ROWS``)."""
    token = _ROWS.set(limit)
    try:
        yield
    finally:
        _ROWS.reset(token)


def unique_rows(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(codes, axis=0, return_counts=True)`` for small non-negative integer codes, fast.

    Each row is packed into bytes and viewed as one opaque value, so the sort compares rows
    with memcmp instead of field by field (about 7× faster at 10⁵–10⁶ rows). Bytes compare
    as unsigned numbers in order, so for codes in 0…255 the patterns come out in the same
    (lexicographic) order as ``np.unique(axis=0)`` and every later sum is unchanged.
    """
    if codes.size == 0 or codes.min() < 0 or codes.max() > 255:
        return np.unique(codes, axis=0, return_counts=True)
    b = np.ascontiguousarray(codes, dtype=np.uint8)
    keys = b.view(np.dtype((np.void, b.shape[1]))).ravel()
    u, cnt = np.unique(keys, return_counts=True)
    return u.view(np.uint8).reshape(-1, b.shape[1]).astype(codes.dtype), cnt


def _bread(ord_idx, K, th, counts, R, freq):
    """The parts of B that come from the tables: per-category threshold scores U, A11 (per item), the
    ρ scores S per cell, A22 and A21 (see :func:`nacov`)."""
    p = ord_idx.size
    kmax = max(K.values())
    nth = np.array([K[j] - 1 for j in ord_idx])
    th_off = np.concatenate([[0], np.cumsum(nth)])
    ntot = int(th_off[-1])
    # univariate threshold scores per category: (1[c = t] − 1[c = t+1]) φ(τ_t) / π_c
    U = np.zeros((p, kmax + 1, kmax - 1))  # row kmax = missing (zero scores)
    A11 = np.zeros((ntot, ntot))
    ext = np.full((p, kmax + 1), _BIG)
    for a, j in enumerate(ord_idx):
        e = np.concatenate([[-_BIG], th[j], [_BIG]])
        ext[a, : K[j] + 1] = e
        pi_c = _pnorm(e[1:]) - _pnorm(e[:-1])
        dens = _dnorm(th[j])
        u = (np.eye(K[j], K[j] - 1) - np.eye(K[j], K[j] - 1, -1)) * dens[None, :] / pi_c[:, None]
        U[a, : K[j], : K[j] - 1] = u
        sl = slice(th_off[a], th_off[a + 1])
        A11[sl, sl] = u.T @ (counts[j][:, None] * u)
    ia, ib = np.triu_indices(p, 1)
    P = ia.size
    thp = ext[:, 1:-1]
    rho = R[ord_idx[ia], ord_idx[ib]]
    PI, phi, _ = _pair_grid(thp[ia], thp[ib], rho)
    PI = np.maximum(PI, _SQRT_EPS)
    good = PI > _SQRT_EPS
    PIg = np.where(good, PI, 1.0)
    S = np.where(good, phi / PIg, 0.0)  # ρ score of each cell
    A22 = (freq * S * S).sum(axis=(1, 2))
    W = np.where(good, freq * S / PIg, 0.0)
    r = rho[:, None, None]
    Rr = np.sqrt(1.0 - r * r)
    ua_up, ua_lo = ext[ia, 1:][:, :, None], ext[ia, :-1][:, :, None]
    ub_up, ub_lo = ext[ib, 1:][:, None, :], ext[ib, :-1][:, None, :]
    z1a = _dnorm(ua_up) * (_pnorm((ub_up - r * ua_up) / Rr) - _pnorm((ub_lo - r * ua_up) / Rr))
    z2a = _dnorm(ua_lo) * (_pnorm((ub_up - r * ua_lo) / Rr) - _pnorm((ub_lo - r * ua_lo) / Rr))
    z1b = _dnorm(ub_up) * (_pnorm((ua_up - r * ub_up) / Rr) - _pnorm((ua_lo - r * ub_up) / Rr))
    z2b = _dnorm(ub_lo) * (_pnorm((ua_up - r * ub_lo) / Rr) - _pnorm((ua_lo - r * ub_lo) / Rr))
    x1a, x2a = (W * z1a).sum(axis=2), (W * z2a).sum(axis=2)  # (P, kmax) over categories of a
    x1b, x2b = (W * z1b).sum(axis=1), (W * z2b).sum(axis=1)
    A21 = np.zeros((P, ntot))
    for q in range(P):
        a, b = ia[q], ib[q]
        A21[q, th_off[a]: th_off[a + 1]] = x1a[q, : nth[a]] - x2a[q, 1: nth[a] + 1]
        A21[q, th_off[b]: th_off[b + 1]] = x1b[q, : nth[b]] - x2b[q, 1: nth[b] + 1]
    return U, A11, th_off, ntot, nth, kmax, S, A22, A21, ia, ib, P


def nacov_diagonal(ord_idx, K, th, counts, R, freq, n):
    """The diagonal of :func:`nacov`'s Γ — the DWLS weights' inverse — exactly, from the tables alone.

    Every entry of Γ's diagonal involves the middle term Σ s sᵀ only through blocks that are sums over
    the categories of one item or one pair: for threshold t of item a, Γ_tt = n (A11_a⁻¹)_tt (the
    item's block of Σ s sᵀ is A11_a); for the correlation q of items a, b, with c = −A21_q A⁻¹ / A22_q
    (nonzero on a's and b's thresholds only),
    Γ_qq = n [c I_tt cᵀ + 2 c I_tq / A22_q + 1 / A22_q], where I_tt's blocks are A11_a, A11_b and
    U_aᵀ N_ab U_b and I_tq = (U_aᵀ (N_ab ∘ S_q) 1, U_bᵀ (N_ab ∘ S_q)ᵀ 1), N_ab the pair's table
    (rows missing a or b have zero scores, as in :func:`nacov`). No pass over the rows and no
    subsample at any n; equal to the diagonal of the full computation up to summation order
    (tests/test_ordinal_tables.py). Used where only the DWLS estimates are needed (categorical ω).
    """
    U, A11, th_off, ntot, nth, kmax, S, A22, A21, ia, ib, P = _bread(ord_idx, K, th, counts, R, freq)
    p = ord_idx.size
    A = [np.linalg.inv(A11[th_off[a]: th_off[a + 1], th_off[a]: th_off[a + 1]]) for a in range(p)]
    out = np.empty(ntot + P)
    for a in range(p):
        out[th_off[a]: th_off[a + 1]] = np.diag(A[a])
    d = 1.0 / A22
    for q in range(P):
        a, b = ia[q], ib[q]
        sa, sb = slice(th_off[a], th_off[a + 1]), slice(th_off[b], th_off[b + 1])
        ua, ub = U[a, : K[ord_idx[a]], : nth[a]], U[b, : K[ord_idx[b]], : nth[b]]
        N = freq[q, : K[ord_idx[a]], : K[ord_idx[b]]]
        ca = -d[q] * (A21[q, sa] @ A[a])
        cb = -d[q] * (A21[q, sb] @ A[b])
        Iab = ua.T @ N @ ub
        t1 = ca @ A11[sa, sa] @ ca + cb @ A11[sb, sb] @ cb + 2.0 * (ca @ Iab @ cb)
        NS = N * S[q, : K[ord_idx[a]], : K[ord_idx[b]]]
        t2 = ca @ (ua.T @ NS.sum(axis=1)) + cb @ (ub.T @ NS.sum(axis=0))
        out[ntot + q] = t1 + 2.0 * d[q] * t2 + d[q]
    return n * out


#: from this many rows the middle term is summed over the rows themselves (in data order, weight one) when
#: :func:`_mostly_distinct` finds few repeated response patterns, instead of over the sorted distinct patterns
#: weighted by their counts: with ≈ 1 % repeats (the demo study's 28 items at 10⁵ rows) sorting the rows and
#: scaling the scores by √count cost ≈ 25 % of the `dsyrk` they save ≈ 1 % of (issue 16, sixth session). The same
#: sum in another order (≤ 1e-12 relative, tests/test_ordinal.py); below it (the demo) the previous path.
DIRECT_ROWS = 10_000
#: the rows go direct when at least this share of the first :data:`_PROBE_ROWS` rows' patterns are distinct
_DISTINCT_SHARE = 0.9
_PROBE_ROWS = 4_096


def _mostly_distinct(rows: np.ndarray) -> bool:
    """Whether the first :data:`_PROBE_ROWS` rows are nearly all distinct patterns (repeats in all the rows are
    at least as frequent, so a probe with many repeats keeps the pattern sum; one with few sends the rows
    direct, whose cost is then at most the repeats' share of the product)."""
    head = np.ascontiguousarray(rows[:_PROBE_ROWS])
    return unique_rows(np.where(head < 0, 0, head))[1].size >= _DISTINCT_SHARE * head.shape[0]


def _score_tables(p, kmax, U, nth, ntot, S, P):
    """The flat score tables the chunks gather from: the correlation scores S_q padded with a zero row and column
    for code kmax (missing), pair q's from q·(kmax+1)² on, and the threshold scores, statistic t's from
    t·(kmax+1) on; the first pair of each item a (pairs (a, ·) are consecutive)."""
    k1 = kmax + 1
    S_pad = np.zeros((P, k1, k1))
    S_pad[:, :kmax, :kmax] = S
    U_t = np.concatenate([U[a, :, : nth[a]].T for a in range(p)]) if ntot else np.zeros((0, k1))  # (ntot, k1)
    q_start = np.concatenate([[0], np.cumsum(np.arange(p - 1, 0, -1))]).astype(np.int64)  # pairs (a, ·) from here
    return S_pad.reshape(P * k1 * k1), U_t, q_start


def _middle_term_patterns(rows, p, kmax, U, th_off, nth, ntot, S, P, chunk):
    """Σ s sᵀ (upper triangle) over the distinct response patterns, each row of scores scaled by √count."""
    from scipy.linalg import blas

    rows = rows.astype(np.int64, copy=False)  # (codes may be int16; the cell indices below need the range)
    pat, cnt = unique_rows(np.where(rows < 0, kmax, rows))
    del rows
    k1 = kmax + 1
    S_flat, U_t, q_start = _score_tables(p, kmax, U, nth, ntot, S, P)
    q_base = np.arange(P, dtype=np.int64) * (k1 * k1)  # pair q's scores start here in S_flat
    weighted = bool((cnt != 1).any())
    inner = np.zeros((ntot + P, ntot + P))
    with all_core_blas() if ALL_CORES else nullcontext():  # see ALL_CORES
        for s0 in range(0, pat.shape[0], chunk):
            pT = np.ascontiguousarray(pat[s0: s0 + chunk].T)  # (p, m): each item's codes contiguous
            m = pT.shape[1]
            sc = np.empty((ntot + P, m))
            for a in range(p):
                sc[th_off[a]: th_off[a + 1]] = U_t[th_off[a]: th_off[a + 1]][:, pT[a]]
            # the correlation scores of the pairs (a, b > a) — consecutive rows of sc — in one gather per item a
            # (mode="clip": the indices are in range, and "raise" buffers the output; the same values)
            for a in range(p - 1):
                q0, q1 = q_start[a], q_start[a + 1]
                idx = pT[a + 1:] + (pT[a] * k1)[None, :]
                idx += q_base[q0:q1, None]
                np.take(S_flat, idx, out=sc[ntot + q0: ntot + q1], mode="clip")
            if weighted:
                sc *= np.sqrt(cnt[s0: s0 + chunk].astype(float))[None, :]
            inner += blas.dsyrk(1.0, sc.T, trans=1)  # upper triangle of scᵀsc (half the work of a product)
    return inner


def _middle_term_direct(rows, p, kmax, U, th_off, nth, ntot, S, P, chunk):
    """Σ s sᵀ (upper triangle) over the rows in data order (see :data:`DIRECT_ROWS`): per chunk the items' codes
    transposed to contiguous rows (missing → kmax), the threshold scores in one gather and each item's pairs in
    one (the pair offset folded into the codes: one pass fewer), accumulated in place by the ``dsyrk``."""
    from scipy.linalg import blas

    k1, kk = kmax + 1, (kmax + 1) ** 2
    S_flat, U_t, q_start = _score_tables(p, kmax, U, nth, ntot, S, P)
    U_flat = U_t.ravel()
    item_of_t = np.repeat(np.arange(p), nth)
    t_base = (np.arange(ntot, dtype=np.int64) * k1)[:, None]
    item_base = (np.arange(p, dtype=np.int64) * kk)[:, None]
    pair_base = (q_start[:-1] - np.arange(1, p, dtype=np.int64)) * kk  # + b·kk: pair (a, b)'s first score
    inner = np.zeros((ntot + P, ntot + P), order="F")
    sc = np.empty((ntot + P, min(chunk, rows.shape[0])))
    with all_core_blas() if ALL_CORES else nullcontext():  # see ALL_CORES
        for s0 in range(0, rows.shape[0], chunk):
            pT = rows[s0: s0 + chunk].T.astype(np.int64)  # (p, m), C order: each item's codes contiguous
            pT[pT < 0] = kmax
            m = pT.shape[1]
            out = sc if m == sc.shape[1] else np.empty((ntot + P, m))
            idx = pT[item_of_t]
            idx += t_base
            np.take(U_flat, idx, out=out[:ntot], mode="clip")  # (clip: in range; "raise" buffers the output)
            codes_b = pT + item_base  # item b's codes + b·kk
            for a in range(p - 1):
                off = pT[a] * k1
                off += pair_base[a]
                idx = codes_b[a + 1:] + off[None, :]
                np.take(S_flat, idx, out=out[ntot + q_start[a]: ntot + q_start[a + 1]], mode="clip")
            inner = blas.dsyrk(1.0, out.T, beta=1.0, c=inner, trans=1, overwrite_c=1)
    return np.ascontiguousarray(inner)  # (C order, as the pattern sum's)


def nacov(codes, ord_idx, K, th, counts, R, freq, n, chunk=4096):
    """lavaan's NACOV for ordinal items: N · B⁻¹ (Σ s sᵀ) B⁻ᵀ from casewise scores.

    Muthén (1984) two-step sandwich as ``lavaan:::muthen1984``: s stacks each row's
    scores of the univariate threshold likelihoods and of every bivariate ρ likelihood;
    B = [[A11, 0], [A21, A22]] with A11 the per-item blocks of Σ s_τ s_τᵀ, A22 the diagonal
    of Σ s_ρ², A21 = Σ s_ρ (∂ log π/∂τ)ᵀ. Every score depends on a row only through its
    categories, so A11, A21, A22 come from the tables and Σ s sᵀ from the distinct response
    patterns (or, with few repeats, the rows: :data:`DIRECT_ROWS`). Missing values (pairwise) give zero
    scores, as lavaan's ``na.rm`` sums.
    """
    U, A11, th_off, ntot, nth, kmax, S, A22, A21, ia, ib, P = _bread(ord_idx, K, th, counts, R, freq)
    p = ord_idx.size
    # Σ s sᵀ over distinct response patterns (weights = counts) or the rows. Code kmax = missing, whose
    # row/column of the padded score tables is zero. The scores of a chunk are filled one statistic
    # at a time (threshold t of item a: U_a's column t at each row's code of a; correlation q: S_q at
    # the pair's cell) into the contiguous rows of a statistics × rows array — its transpose is the
    # Fortran-order rows × statistics matrix that syrk reads —, each from the items' codes held
    # contiguously (issue 16: the same numbers, about a third less time than strided column writes).
    rows = codes[:, ord_idx]
    inner_scale = 1.0
    limit = nacov_limit()
    if rows.shape[0] > limit:  # large n: Σ s sᵀ from a random subsample (see NACOV_ROWS)
        pick = np.sort(np.random.default_rng([_NACOV_SEED, rows.shape[0]]).choice(rows.shape[0], limit,
                                                                                   replace=False))
        inner_scale = rows.shape[0] / limit
        rows = rows[pick]
    if rows.shape[0] >= DIRECT_ROWS and _mostly_distinct(rows):  # (see DIRECT_ROWS)
        inner = _middle_term_direct(rows, p, kmax, U, th_off, nth, ntot, S, P, chunk)
    else:
        inner = _middle_term_patterns(rows, p, kmax, U, th_off, nth, ntot, S, P, chunk)
    inner = (np.triu(inner) + np.triu(inner, 1).T) * inner_scale
    # B⁻¹ = [[A11⁻¹, 0], [−A22⁻¹ A21 A11⁻¹, A22⁻¹]]
    A11_inv = np.zeros_like(A11)
    for a in range(p):
        sl = slice(th_off[a], th_off[a + 1])
        A11_inv[sl, sl] = np.linalg.inv(A11[sl, sl])
    with np.errstate(divide="ignore"):
        d = 1.0 / A22
    # Block form of B⁻¹ I B⁻ᵀ with A = A11⁻¹, C = −D A21 A, D = diag(1/A22): O(P² · thresholds)
    # instead of a dense (thresholds + P)³ product.
    C = -(d[:, None] * A21) @ A11_inv
    I_tt, I_tc, I_cc = inner[:ntot, :ntot], inner[:ntot, ntot:], inner[ntot:, ntot:]
    out = np.empty_like(inner)
    out[:ntot, :ntot] = A11_inv @ I_tt @ A11_inv.T
    CI = C @ I_tt + d[:, None] * I_tc.T  # (P, ntot) = C I_tt + D I_ct
    out[ntot:, :ntot] = CI @ A11_inv.T
    out[:ntot, ntot:] = out[ntot:, :ntot].T
    X = C @ I_tc  # (P, P)
    out[ntot:, ntot:] = (CI @ C.T) + X * d[None, :] + d[:, None] * I_cc * d[None, :]
    return n * out

