"""Scalar nodes (every block an intercept): the factorisation and selected inverse of :mod:`.sparse_chol`
as loops over a precomputed list of entry pairs, fused with the solves and the gradient's sums
(:func:`.sparse_q2.q2_core` does the same for 2 × 2 nodes).

When every node is a scalar (all random-effect terms are intercepts, the common case on large data:
schools in authorities, subjects × items), the left-looking factorisation of :func:`.sparse_chol.factor_scalar`
spends its time scattering and gathering through a marker array, and the kernel makes a dozen passes
over the nodes.  Here the symbolic work is done once more: for every column j and every pair of its
off-diagonal entries (k ≤ i in its pattern), :func:`build_pairs` stores the two entries and the entry
(i, k) they update.  Then

* the right-looking factorisation is ``L_ik −= L_ij L_kj`` over the pairs of each finished column, with
  the forward solve and the log determinant in the same pass (:func:`scalar_core`);
* Takahashi's selected inverse runs the same pairs backwards, ``Σ_ij −= Σ_ik Y_k`` and ``Σ_kj −= Σ_ik Y_i``
  (Y_k = L_kj / L_jj), with tr Σ, AΛw and the trace terms of the factors' gradient taken as each
  column of Σ is finished.

The pair list holds Σ_j m_j (m_j + 1) / 2 entries (m_j: off-diagonal entries of column j); it is built
only when that is at most :data:`MAX_PAIRS`, otherwise the kernel keeps the marker-array code.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .kernel_parts import FM_DIV, LOG2
from .sparse_chol import entry_of, sym_fields

__all__ = ["MAX_PAIRS", "build_pairs", "no_pairs", "scalar_core"]

#: the largest pair list built (4 int64 per pair: 160 MB)
MAX_PAIRS = 5_000_000


def no_pairs() -> np.ndarray:
    """The empty pair table (the kernel then uses :mod:`.sparse_chol`'s code)."""
    return np.zeros(1, np.int64)


@njit(cache=True)
def _count(colptr, N):
    total = 0
    for j in range(N):
        m = colptr[j + 1] - colptr[j] - 1
        total += m * (m + 1) // 2
    return total


@njit(cache=True)
def _fill(colptr, rows, N, P):
    out = np.empty(1 + N + 1 + 3 * P, np.int64)
    out[0] = N
    ptr = 1
    e1 = 1 + N + 1
    e2 = e1 + P
    de = e2 + P
    t = 0
    for j in range(N):
        out[ptr + j] = t
        c0 = colptr[j]
        c1 = colptr[j + 1]
        for a in range(c0 + 1, c1):
            k = rows[a]
            for b in range(a, c1):
                out[e1 + t] = a
                out[e2 + t] = b
                out[de + t] = entry_of(colptr, rows, k, rows[b])
                t += 1
    out[ptr + N] = t
    return out


def build_pairs(sym: np.ndarray, uniform: bool) -> np.ndarray:
    """``[N, pair pointer (N + 1), e1 (P), e2 (P), dest (P)]`` for a structure whose nodes all have one size
    (1: :func:`scalar_core`; 2: :func:`.sparse_q2.q2_core`), or :func:`no_pairs` when they do not
    (``uniform`` False) or the list would exceed :data:`MAX_PAIRS`."""
    if not uniform:
        return no_pairs()
    f = sym_fields(sym)
    colptr = f[3]
    N = len(f[0])
    P = int(_count(colptr, N))
    if P > MAX_PAIRS:
        return no_pairs()
    out = _fill(colptr, f[4], N, P)
    if P and out[1 + N + 1 + 2 * P:].min() < 0:  # the pattern must hold every updated entry
        raise AssertionError("the factor's pattern is not closed under elimination")
    return out


@njit(cache=True, fastmath=FM_DIV)
def scalar_core(sym, pairs, Avals, lam, u, s2, Lv, Sv, Y, w, Lw, ALw, gl):
    """Factor ``P = σ²I + ΛAΛ`` (scalar nodes, ``lam`` the scale of each), solve ``w = P⁻¹u``, and the sums the
    gradient needs.  Fills ``w``, ``Lw`` = Λw, ``ALw`` += AΛw and ``gl[k]`` −= Σ_{levels of k} (AΛΣ)_ll;
    returns ``(ok, log|P|, uᵀw, wᵀw, tr P⁻¹)`` (ok False when P is not positive definite)."""
    size, blk, qpos, colptr, rows, roff, valptr, rlptr, rlcol, rlent, isA, perm, qorig = sym_fields(sym)  # noqa: RUF059
    N = size.shape[0]
    P = (pairs.shape[0] - N - 2) // 3
    pp = 1
    e1o = 1 + N + 1
    e2o = e1o + P
    deo = e2o + P
    for j in range(N):
        lj = lam[j]
        for e in range(colptr[j], colptr[j + 1]):
            Lv[e] = lam[rows[e]] * Avals[e] * lj if isA[e] == 1 else 0.0
        Lv[colptr[j]] += s2
        w[j] = u[j]
    # right-looking factorisation, forward solve and log determinant
    m = 1.0
    ex = 0
    for j in range(N):
        c0 = colptr[j]
        d = Lv[c0]
        if not d > 0.0:
            return False, 0.0, 0.0, 0.0, 0.0
        d = math.sqrt(d)
        Lv[c0] = d
        m *= d
        if m > 1e100 or m < 1e-100:
            m, e_ = math.frexp(m)
            ex += e_
        inv = 1.0 / d
        wj = w[j] * inv
        w[j] = wj
        for e in range(c0 + 1, colptr[j + 1]):
            le = Lv[e] * inv
            Lv[e] = le
            w[rows[e]] -= le * wj
        for t in range(pairs[pp + j], pairs[pp + j + 1]):
            Lv[pairs[deo + t]] -= Lv[pairs[e1o + t]] * Lv[pairs[e2o + t]]
    logdet = 2.0 * (math.log(m) + ex * LOG2)
    # back solve, with uᵀw, wᵀw and Λw
    uw = 0.0
    ww = 0.0
    for j in range(N - 1, -1, -1):
        c0 = colptr[j]
        acc = w[j]
        for e in range(c0 + 1, colptr[j + 1]):
            acc -= Lv[e] * w[rows[e]]
        wj = acc / Lv[c0]
        w[j] = wj
        uw += u[j] * wj
        ww += wj * wj
        Lw[j] = lam[j] * wj
    # selected inverse, last column first, with the trace and the A terms of each finished column
    trace = 0.0
    for j in range(N - 1, -1, -1):
        c0 = colptr[j]
        c1 = colptr[j + 1]
        d = Lv[c0]
        for e in range(c0 + 1, c1):
            Y[e] = Lv[e] / d
            Sv[e] = 0.0
        for t in range(pairs[pp + j], pairs[pp + j + 1]):
            a = pairs[e1o + t]
            b = pairs[e2o + t]
            st = Sv[pairs[deo + t]]
            Sv[b] -= st * Y[a]
            if a != b:
                Sv[a] -= st * Y[b]
        acc = 1.0 / (d * d)
        for e in range(c0 + 1, c1):
            acc -= Sv[e] * Y[e]
        Sv[c0] = acc
        trace += acc
        kj = blk[j]
        for e in range(c0, c1):
            if isA[e] == 0:
                continue
            a = rows[e]
            av = Avals[e]
            ALw[a] += av * Lw[j]
            gl[kj] -= av * lam[a] * Sv[e]
            if e > c0:
                ALw[j] += av * Lw[a]
                gl[blk[a]] -= av * lam[j] * Sv[e]
    return True, logdet, uw, ww, trace

