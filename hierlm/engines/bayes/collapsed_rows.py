"""The row passes of :mod:`.kernels_collapsed` when every block is a random intercept and the rows are unweighted.

The general passes read every row's fixed-effect columns, offset and weight twice per gradient, and on large
crossed data (InstEval: 73,421 rows) those passes are the gradient's cost, bound by memory traffic.  Here Xβ
leaves the row loops.  With ``r⁰ = ỹ − Σ_k b_k[g_k]`` (ỹ = y − offset − Xβ₀, β₀ the least-squares fit, so that
the sums below do not cancel) and ``δ = β − β₀``, the residual is ``r = r⁰ − Xδ`` and every sum the kernel
needs splits into a row sum over ``r⁰`` and fixed cross-products (k over the sampled blocks, c the collapsed
one, ℓ_j = L_c v_j)::

    Σ r²  = Σ r⁰² − 2δᵀ(Xᵀỹ − Σ_k XᵀZ_k b_k) + δᵀXᵀXδ
    c_j   = Σ_{i∈j} r⁰_i − (Z_cᵀX)_j δ
    Z_kᵀd = Σ_{i∈level} d⁰_i − (Z_kᵀX) δ,   d⁰ = r⁰ − ℓ[g_c]
    Xᵀd   = Xᵀỹ − XᵀXδ − Σ_k XᵀZ_k b_k − XᵀZ_c ℓ

So each pass reads a row's response and its levels only (int32, the sampled blocks' offsets in ``B``
added), and the loops are written out for one to three sampled factors.  Arrays (:func:`pack_rows`):
``Gt`` (n, 1 + m) int32, column 0 the collapsed block's level; ``F`` float64, ``[ỹ (n), XᵀZ (p × NB),
XᵀZ_c (p × J_c), Xᵀỹ (p), XᵀX (p × p), β₀ (p)]``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .kernel_parts import FM

__all__ = ["ones_residual", "ones_scatter", "pack_rows", "rows_apply"]


def rows_apply(spec) -> bool:
    """Whether the fast passes apply: every block a random intercept, unit weights."""
    return all(b.ones for b in spec.blocks) and bool(np.all(spec.weights == 1.0))


def pack_rows(spec, kc: int, boffs: list) -> tuple[np.ndarray, np.ndarray]:
    """``(Gt, F)`` of the module docstring for collapsed block ``kc`` (``boffs[k]``: block k's offset in B);
    empty arrays when :func:`rows_apply` is false."""
    if not rows_apply(spec):
        return np.zeros((0, 1), np.int32), np.zeros(0)
    X = np.asarray(spec.X, float)
    n, p = X.shape
    yt = np.asarray(spec.y, float) - np.asarray(spec.offset, float)
    beta0 = np.linalg.lstsq(X, yt, rcond=None)[0] if p else np.zeros(0)
    yt = yt - X @ beta0
    sampled = [k for k in range(len(spec.blocks)) if k != kc]
    Gt = np.empty((n, 1 + len(sampled)), np.int32)
    Gt[:, 0] = spec.blocks[kc].g
    NB = sum(spec.blocks[k].J for k in sampled)
    XtZ = np.zeros((p, NB))
    for i, k in enumerate(sampled):
        g = np.asarray(spec.blocks[k].g, np.int64)
        Gt[:, 1 + i] = boffs[k] + g
        for c in range(p):
            XtZ[c, boffs[k]: boffs[k] + spec.blocks[k].J] = np.bincount(g, weights=X[:, c], minlength=spec.blocks[k].J)
    bc = spec.blocks[kc]
    XtZc = np.zeros((p, bc.J))
    for c in range(p):
        XtZc[c] = np.bincount(bc.g, weights=X[:, c], minlength=bc.J)
    F = np.concatenate([yt, XtZ.ravel(), XtZc.ravel(), X.T @ yt, (X.T @ X).ravel(), beta0])
    return Gt, F


@njit(cache=True, fastmath=FM)
def _first(yt, Gt, B, c):
    """c_j = Σ_{i∈j} r⁰_i; returns Σ r⁰²."""
    n, m1 = Gt.shape
    for i in range(c.shape[0]):
        c[i] = 0.0
    RR = 0.0
    if m1 == 2:
        for r in range(n):
            e = yt[r] - B[Gt[r, 1]]
            RR += e * e
            c[Gt[r, 0]] += e
    elif m1 == 3:
        for r in range(n):
            e = yt[r] - B[Gt[r, 1]] - B[Gt[r, 2]]
            RR += e * e
            c[Gt[r, 0]] += e
    elif m1 == 4:
        for r in range(n):
            e = yt[r] - B[Gt[r, 1]] - B[Gt[r, 2]] - B[Gt[r, 3]]
            RR += e * e
            c[Gt[r, 0]] += e
    else:
        for r in range(n):
            e = yt[r]
            for i in range(1, m1):
                e -= B[Gt[r, i]]
            RR += e * e
            c[Gt[r, 0]] += e
    return RR


@njit(cache=True, fastmath=FM)
def _second(yt, Gt, B, Lv, GB):
    """GB[level] += Σ d⁰ over the level's rows, d⁰ = r⁰ − ℓ[g_c]."""
    n, m1 = Gt.shape
    if m1 == 2:
        for r in range(n):
            b1 = Gt[r, 1]
            GB[b1] += yt[r] - B[b1] - Lv[Gt[r, 0]]
    elif m1 == 3:
        for r in range(n):
            b1 = Gt[r, 1]
            b2 = Gt[r, 2]
            d = yt[r] - B[b1] - B[b2] - Lv[Gt[r, 0]]
            GB[b1] += d
            GB[b2] += d
    elif m1 == 4:
        for r in range(n):
            b1 = Gt[r, 1]
            b2 = Gt[r, 2]
            b3 = Gt[r, 3]
            d = yt[r] - B[b1] - B[b2] - B[b3] - Lv[Gt[r, 0]]
            GB[b1] += d
            GB[b2] += d
            GB[b3] += d
    else:
        for r in range(n):
            d = yt[r] - Lv[Gt[r, 0]]
            for i in range(1, m1):
                d -= B[Gt[r, i]]
            for i in range(1, m1):
                GB[Gt[r, i]] += d


@njit(cache=True, fastmath=FM)
def _parts(F, n, p, NB, Jc):
    o = n
    XtZ = F[o: o + p * NB].reshape((p, NB))
    o += p * NB
    XtZc = F[o: o + p * Jc].reshape((p, Jc))
    o += p * Jc
    Xty = F[o: o + p]
    XtX = F[o + p: o + p + p * p].reshape((p, p))
    beta0 = F[o + p + p * p: o + 2 * p + p * p]
    return XtZ, XtZc, Xty, XtX, beta0


@njit(cache=True, fastmath=FM)
def ones_residual(x, p, Gt, F, B, c):
    """c_j (unweighted residual sums of the collapsed block's levels) into ``c``; returns Σ r²."""
    n = Gt.shape[0]
    Jc = c.shape[0]
    NB = B.shape[0] if Gt.shape[1] > 1 else 0
    XtZ, XtZc, Xty, XtX, beta0 = _parts(F, n, p, NB, Jc)
    RR = _first(F[:n], Gt, B, c)
    dl = np.empty(p)
    for a in range(p):
        dl[a] = x[a] - beta0[a]
    for j in range(Jc):
        s = 0.0
        for a in range(p):
            s += XtZc[a, j] * dl[a]
        c[j] -= s
    for a in range(p):
        t = Xty[a]
        for i in range(NB):
            t -= XtZ[a, i] * B[i]
        q = 0.0
        for e in range(p):
            q += XtX[a, e] * dl[e]
        RR += dl[a] * (q - 2.0 * t)
    return RR


@njit(cache=True, fastmath=FM)
def ones_scatter(x, p, Gt, F, B, Lv, s2, grad, GB):
    """∂/∂β into ``grad[:p]`` and ∂/∂b of the sampled effects into ``GB`` (as the general second pass)."""
    n = Gt.shape[0]
    Jc = Lv.shape[0]
    NB = B.shape[0] if Gt.shape[1] > 1 else 0
    XtZ, XtZc, Xty, XtX, beta0 = _parts(F, n, p, NB, Jc)
    _second(F[:n], Gt, B, Lv, GB)
    dl = np.empty(p)
    for a in range(p):
        dl[a] = x[a] - beta0[a]
    inv = 1.0 / s2
    for i in range(NB):
        s = GB[i]
        for a in range(p):
            s -= XtZ[a, i] * dl[a]
        GB[i] = s * inv
    for a in range(p):
        t = Xty[a]
        for e in range(p):
            t -= XtX[a, e] * dl[e]
        for i in range(NB):
            t -= XtZ[a, i] * B[i]
        for j in range(Jc):
            t -= XtZc[a, j] * Lv[j]
        grad[a] += t * inv
