"""Gaussian models with one grouping factor's random effects integrated out and the others sampled.

For crossed designs too large to factor (students × lecturers), one block (block c: the one with the
most levels, or the only one with correlated slopes, as :mod:`.route` chooses) is still cheap to
integrate out *given the other random effects*: its levels are then
independent, as in :mod:`.kernels_marginal`.  With the residual ``r̃ = ỹ − X̃β − Σ_{k≠c} Z̃_k b_k``
(one pass over the rows) and the per-level statistics ``A_j = Σ w z zᵀ`` (fixed) and
``c_j = Σ w z r`` (per gradient)::

    log p = −n/2 log 2π + ½ Σ log w − ½[(n − J_c q_c) log σ² + Σ_j log|P_j| + (r̃ᵀr̃ − Σ_j u_jᵀ P_j⁻¹ u_j)/σ²]
    P_j = σ²I + L_cᵀ A_j L_c,   u_j = L_cᵀ c_j,   v_j = P_j⁻¹ u_j

and ∂ log p/∂η_i = w_i (r̃_i − z_iᵀ L_c v_{j(i)})/σ², scattered to β and the sampled effects in a
second pass over the rows (exactly the joint kernel's data gradient with that residual).  The sampled
blocks keep the joint kernel's densities, centring and hierarchical-centring shear (:mod:`.shear`).
The sampler's coordinates are :func:`collapsed_layout`: the joint layout without block c's effects,
which are drawn exactly afterwards, per draw, from ``z_j | · ~ N(v_j, σ² P_j⁻¹)`` (non-centred z).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit

from .kernel_parts import (
    FM,
    HALF_LOG_2PI,
    LOG2,
    REC,
    block_record,
    build_L,
    c_sig,
    chol_grad_to_x,
    finish,
    fixed_prior,
    lkj_prior,
    pointer_table,
    ranef_block_lp,
    positive_prior,
    prior_records,
    tri_solve_T,
    voidptr,
)
from .kernels import B_BOFF, B_CENT, B_FOFF, B_J, B_ONES, B_Q, B_XOFF, B_ZOFF, BREC
from .collapsed_rows import ones_residual, ones_scatter, pack_rows
from .kernels_marginal import _chol_solve, level_factor, level_terms
from .shear import shear_fwd, shear_T

__all__ = ["c_logp", "coll_logp_grad", "collapsed_args", "collapsed_block", "collapsed_keep", "collapsed_layout",
           "draw_collapsed", "pack_collapsed"]

# ints header: n, p, K, ndim, σ index, stacked size of the sampled effects, collapsed block, its J, its q
C_N, C_P, C_K, C_NDIM, C_DI, C_NB, C_KC, C_JC, C_QC = range(9)
CHDR = 10
META = 20


def collapsed_block(spec) -> int:
    """The block integrated out: the most random effects (levels × terms), ties to the first."""
    sizes = [b.J * b.q for b in spec.blocks]
    return int(np.argmax(sizes))


def collapsed_layout(spec, kc: int) -> list[tuple]:
    """:meth:`Spec.layout` without block ``kc``'s random effects, positions renumbered."""
    out, pos = [], 0
    for name, sl, shape, kind, k in spec.layout()[0]:
        if kind in ("z", "r") and k == kc:
            continue
        size = sl.stop - sl.start
        out.append((name, slice(pos, pos + size), shape, kind, k))
        pos += size
    return out


def collapsed_keep(spec, kc: int) -> np.ndarray:
    """Positions of the collapsed layout's coordinates in the joint layout."""
    lay = spec.layout()[0]
    return np.concatenate([np.arange(sl.start, sl.stop) for _, sl, _, kind, k in lay
                           if not (kind in ("z", "r") and k == kc)])


@njit(cache=True, fastmath=FM)
def _effects(x, ints, B, kc):
    """The sampled blocks' random effects (model scale) into the stacked B."""
    for k in range(ints[C_K]):
        if k == kc:
            continue
        rec = CHDR + BREC * k
        q = ints[rec + B_Q]
        J = ints[rec + B_J]
        xoff = ints[rec + B_XOFF]
        boff = ints[rec + B_BOFF]
        zo = xoff + q * (q + 1) // 2  # the block's effects follow its factor in x
        if ints[rec + B_CENT] == 1:
            for a in range(J * q):
                B[boff + a] = x[zo + a]
        else:
            L = np.empty((q, q))
            build_L(x, xoff, q, L)
            for j in range(J):
                for t in range(q):
                    s = 0.0
                    for u in range(t + 1):
                        s += L[t, u] * x[zo + j * q + u]
                    B[boff + j * q + t] = s


@njit(cache=True, fastmath=FM)
def _residual(x, ints, y, X, G, Z, off, w, B, kc, qc, Jc, zc, res, c):
    """res = ỹ-scale residual without block kc (per row, unweighted), c_j = Σ w z res; returns Σ w res²."""
    n = ints[C_N]
    p = ints[C_P]
    K = ints[C_K]
    for i in range(Jc * qc):
        c[i] = 0.0
    RR = 0.0
    for r in range(n):
        e = off[r]
        for cc in range(p):
            e += X[r, cc] * x[cc]
        for k in range(K):
            if k == kc:
                continue
            rec = CHDR + BREC * k
            boff = ints[rec + B_BOFF]
            if ints[rec + B_ONES] == 1:
                e += B[boff + G[k, r]]
            else:
                q = ints[rec + B_Q]
                zoff = ints[rec + B_ZOFF]
                base = boff + G[k, r] * q
                for t in range(q):
                    e += Z[r, zoff + t] * B[base + t]
        rr = y[r] - e
        res[r] = rr
        RR += w[r] * rr * rr
        j = G[kc, r]
        for t in range(qc):
            c[j * qc + t] += w[r] * Z[r, zc + t] * rr
    return RR


@njit(cache=True, fastmath=FM)
def _ones_info(ints, kc):
    """Whether every block is a random intercept, and the sampled blocks' (index, offset in B)."""
    K = ints[C_K]
    ones = True
    for k in range(K):
        if ints[CHDR + BREC * k + B_ONES] != 1:
            ones = False
    ks = np.empty(K - 1, np.int64)
    bo = np.empty(K - 1, np.int64)
    i = 0
    for k in range(K):
        if k != kc:
            ks[i] = k
            bo[i] = ints[CHDR + BREC * k + B_BOFF]
            i += 1
    return ones, ks, bo


@njit(cache=True, fastmath=FM)
def _residual_ones(x, p, y, X, G, off, w, B, kc, ks, bo, res, c):
    """:func:`_residual` when every block is a random intercept (no Z columns to read)."""
    n = y.shape[0]
    for i in range(c.shape[0]):
        c[i] = 0.0
    RR = 0.0
    m = ks.shape[0]
    for r in range(n):
        e = off[r]
        for cc in range(p):
            e += X[r, cc] * x[cc]
        for i in range(m):
            e += B[bo[i] + G[ks[i], r]]
        rr = y[r] - e
        res[r] = rr
        wr = w[r] * rr
        RR += wr * rr
        c[G[kc, r]] += wr
    return RR


@njit(cache=True, fastmath=FM)
def _scatter_ones(p, X, G, w, res, Lv, s2, kc, ks, bo, grad, GB):
    """Second pass when every block is a random intercept: ∂/∂η to β and the sampled effects."""
    n = res.shape[0]
    m = ks.shape[0]
    inv = 1.0 / s2
    for r in range(n):
        d = w[r] * (res[r] - Lv[G[kc, r]]) * inv
        for cc in range(p):
            grad[cc] += X[r, cc] * d
        for i in range(m):
            GB[bo[i] + G[ks[i], r]] += d


@njit(cache=True, fastmath=FM)
def coll_logp_grad(x, grad, ints, fl, y, X, G, Z, off, w, A, Gt, F):
    """Log density at x (collapsed layout, model coordinates); gradient into ``grad``.  ``Gt``, ``F``: the
    arrays of :mod:`.collapsed_rows` (no rows: the general passes)."""
    n = ints[C_N]
    p = ints[C_P]
    K = ints[C_K]
    ndim = ints[C_NDIM]
    di = ints[C_DI]
    kc = ints[C_KC]
    Jc = ints[C_JC]
    qc = ints[C_QC]
    for i in range(ndim):
        grad[i] = 0.0
    lp = fixed_prior(x, grad, fl, p) + fl[REC * p + REC]
    B = np.empty(max(ints[C_NB], 1))
    _effects(x, ints, B, kc)
    recc = CHDR + BREC * kc
    zc = ints[recc + B_ZOFF]
    c = np.empty(Jc * qc)
    ones, ks, bo = _ones_info(ints, kc)
    rows = ones and Gt.shape[0] > 0
    res = np.empty(0 if rows else n)  # the row passes of collapsed_rows keep no residual
    if rows:
        RR = ones_residual(x, p, Gt, F, B, c)
    elif ones:
        RR = _residual_ones(x, p, y, X, G, off, w, B, kc, ks, bo, res, c)
    else:
        RR = _residual(x, ints, y, X, G, Z, off, w, B, kc, qc, Jc, zc, res, c)
    s2 = math.exp(2.0 * x[di])
    # the collapsed block, level by level (as kernels_marginal, with c_j in place of Z̃ᵀ(ỹ − X̃β))
    Lc = np.empty((qc, qc))
    build_L(x, ints[recc + B_XOFF], qc, Lc)
    gLc = np.zeros((qc, qc))
    P = np.empty((qc, qc))
    AL = np.empty((qc, qc))
    u = np.empty(qc)
    v = np.empty(qc)
    col = np.empty(qc)
    ei = np.empty(qc)
    Lv = np.empty(Jc * qc)
    sum_ld = 0.0
    sum_uv = 0.0
    sum_vv = 0.0
    sum_tr = 0.0
    if qc == 1:  # a random intercept: every level's system is a scalar
        lam = Lc[0, 0]
        lam2 = lam * lam
        g = 0.0
        prod = 1.0  # Σ log p_j as the log of a running product kept in range with frexp (one log in all)
        ex = 0
        for j in range(Jc):
            a = A[j, 0, 0]
            pj = s2 + lam2 * a
            uj = lam * c[j]
            vj = uj / pj
            if 1e-200 < pj < 1e200:
                prod *= pj
                if prod > 1e100 or prod < 1e-100:
                    prod, e_ = math.frexp(prod)
                    ex += e_
            else:  # far out (log σ beyond ±230): its own log, so that the product cannot over- or underflow
                sum_ld += math.log(pj)
            sum_uv += uj * vj
            sum_vv += vj * vj
            sum_tr += 1.0 / pj
            g += -a * lam / pj + (c[j] - a * lam * vj) * vj / s2
            Lv[j] = lam * vj
        sum_ld += math.log(prod) + ex * LOG2
        gLc[0, 0] = g
    for j in range(Jc if qc > 1 else 0):
        if not level_factor(j, qc, Lc, s2, A, c, j * qc, u, AL, P):
            return -np.inf
        ld, uv, vv, tr = level_terms(P, u, AL, c, j * qc, s2, qc, v, col, ei, gLc)
        sum_ld += ld
        sum_uv += uv
        sum_vv += vv
        sum_tr += tr
        for a in range(qc):
            s = 0.0
            for t in range(a + 1):
                s += Lc[a, t] * v[t]
            Lv[j * qc + a] = s
    lp += -n * HALF_LOG_2PI - 0.5 * ((n - Jc * qc) * math.log(s2) + sum_ld + (RR - sum_uv) / s2)
    grad[di] += -((n - Jc * qc) / s2 + sum_tr - (RR - sum_uv) / (s2 * s2) + sum_vv / s2) * s2
    lp += positive_prior(x, grad, fl, REC * p, di)
    # second pass: ∂/∂η = w (res − zᵀ L_c v)/σ², scattered to β and the sampled effects
    GB = np.zeros(max(ints[C_NB], 1))
    if rows:
        ones_scatter(x, p, Gt, F, B, Lv, s2, grad, GB)
    elif ones:
        _scatter_ones(p, X, G, w, res, Lv, s2, kc, ks, bo, grad, GB)
    for r in range(n if not ones else 0):
        j = G[kc, r]
        e = res[r]
        for t in range(qc):
            e -= Z[r, zc + t] * Lv[j * qc + t]
        d = w[r] * e / s2
        for cc in range(p):
            grad[cc] += X[r, cc] * d
        for k in range(K):
            if k == kc:
                continue
            rec = CHDR + BREC * k
            boff = ints[rec + B_BOFF]
            if ints[rec + B_ONES] == 1:
                GB[boff + G[k, r]] += d
            else:
                q = ints[rec + B_Q]
                zoff = ints[rec + B_ZOFF]
                base = boff + G[k, r] * q
                for t in range(q):
                    GB[base + t] += Z[r, zoff + t] * d
    # the sampled blocks' densities (as the joint kernel) and every block's LKJ / sd prior
    for k in range(K):
        rec = CHDR + BREC * k
        q = ints[rec + B_Q]
        J = ints[rec + B_J]
        xoff = ints[rec + B_XOFF]
        L = np.empty((q, q))
        build_L(x, xoff, q, L)
        if k == kc:
            lp += lkj_prior(L, q, fl, ints[rec + B_FOFF], gLc)
            chol_grad_to_x(gLc, L, q, grad, xoff)
            continue
        boff = ints[rec + B_BOFF]
        zo = xoff + q * (q + 1) // 2
        gL = np.zeros((q, q))
        lp += ranef_block_lp(x, GB, L, q, J, ints[rec + B_CENT], zo, boff, grad, gL)
        lp += lkj_prior(L, q, fl, ints[rec + B_FOFF], gL)
        chol_grad_to_x(gL, L, q, grad, xoff)
    return lp


@njit(cache=True, fastmath=FM, nogil=True)
def draw_collapsed(Xs, E, ints, fl, y, X, G, Z, off, w, A, Gt, F):
    """Exact draws of the collapsed block's z: ``Xs`` (S, ndim) model-coordinate draws, ``E`` (S, J_c, q_c) N(0, 1)
    (the arrays as :func:`coll_logp_grad`'s)."""
    S = Xs.shape[0]
    n = ints[C_N]
    kc = ints[C_KC]
    Jc = ints[C_JC]
    qc = ints[C_QC]
    recc = CHDR + BREC * kc
    zc = ints[recc + B_ZOFF]
    out = np.empty((S, Jc, qc))
    B = np.empty(max(ints[C_NB], 1))
    res = np.empty(n)
    c = np.empty(Jc * qc)
    Lc = np.empty((qc, qc))
    P = np.empty((qc, qc))
    AL = np.empty((qc, qc))
    u = np.empty(qc)
    v = np.empty(qc)
    e = np.empty(qc)
    rows = _ones_info(ints, kc)[0] and Gt.shape[0] > 0
    for sidx in range(S):
        x = Xs[sidx]
        _effects(x, ints, B, kc)
        if rows:
            ones_residual(x, ints[C_P], Gt, F, B, c)
        else:
            _residual(x, ints, y, X, G, Z, off, w, B, kc, qc, Jc, zc, res, c)
        sd = math.exp(x[ints[C_DI]])
        s2 = sd * sd
        build_L(x, ints[recc + B_XOFF], qc, Lc)
        for j in range(Jc):
            level_factor(j, qc, Lc, s2, A, c, j * qc, u, AL, P)
            _chol_solve(P, u, v, qc)
            for a in range(qc):
                e[a] = E[sidx, j, a]
            tri_solve_T(P, e, u, qc)
            for a in range(qc):
                out[sidx, j, a] = v[a] + sd * u[a]
    return out


@njit(cache=True)
def _unpack(user_data):
    meta = numba.carray(user_data, (META,), np.int64)
    ints = numba.carray(voidptr(meta[0]), (meta[1],), np.int64)
    fl = numba.carray(voidptr(meta[2]), (meta[3],), np.float64)
    n, p, K, Qz = ints[C_N], ints[C_P], ints[C_K], meta[11]
    y = numba.carray(voidptr(meta[4]), (n,), np.float64)
    X = numba.carray(voidptr(meta[5]), (n, p), np.float64)
    G = numba.carray(voidptr(meta[6]), (K, n), np.int64)
    Z = numba.carray(voidptr(meta[7]), (n, Qz), np.float64)
    off = numba.carray(voidptr(meta[8]), (n,), np.float64)
    w = numba.carray(voidptr(meta[9]), (n,), np.float64)
    A = numba.carray(voidptr(meta[10]), (ints[C_JC], ints[C_QC], ints[C_QC]), np.float64)
    sh = numba.carray(voidptr(meta[12]), (meta[13],), np.int64)
    shf = numba.carray(voidptr(meta[14]), (meta[15],), np.float64)
    Gt = numba.carray(voidptr(meta[16]), (n if meta[17] > 0 else 0, max(meta[17], 1)), np.int32)
    F = numba.carray(voidptr(meta[18]), (meta[19],), np.float64)
    return ints, fl, y, X, G, Z, off, w, A, sh, shf, Gt, F


@numba.cfunc(c_sig, cache=True, error_model="numpy")
def c_logp(dim, x_, out_, logp_, user_data):
    """nutpie's logp function: sheared coordinates in, log density and gradient out."""
    ints, fl, y, X, G, Z, off, w, A, sh, shf, Gt, F = _unpack(user_data)
    if dim != ints[C_NDIM]:
        return -1
    x = numba.carray(x_, (dim,))
    out = numba.carray(out_, (dim,))
    if sh[0] == 1:
        xm = np.empty(dim)
        gm = np.empty(dim)
        shear_fwd(x, xm, sh, shf)
        val = coll_logp_grad(xm, gm, ints, fl, y, X, G, Z, off, w, A, Gt, F)
        shear_T(gm, out, sh, shf, x)
    else:
        val = coll_logp_grad(x, out, ints, fl, y, X, G, Z, off, w, A, Gt, F)
    return finish(val, out, logp_)


def pack_collapsed(spec, kc: int, shear=None) -> tuple[dict, int]:
    """Arrays of ``spec`` for :func:`coll_logp_grad` with block ``kc`` integrated out.

    ``shear``: ``(sh, shf)`` from :func:`.shear.shear_arrays` on :func:`collapsed_layout` (default none).
    Returns the arrays (``data["meta"]`` the ``user_data`` table) and the dimension.
    """
    n, p = spec.X.shape
    lay = collapsed_layout(spec, kc)
    ndim = lay[-1][1].stop
    K = len(spec.blocks)
    ints = np.zeros(CHDR + BREC * K, np.int64)
    fl = prior_records(spec.beta_priors) + prior_records([spec.disp_prior]) + [
        float(0.5 * np.sum(np.log(spec.weights)))]
    xoffs = {k: sl.start for _, sl, _, kind, k in lay if kind in ("sd", "chol")}
    zoff = boff = 0
    boffs = []
    for k, b in enumerate(spec.blocks):
        boffs.append(boff)
        rec = [b.q, b.J, int(b.centred), zoff, xoffs[k], boff if k != kc else -1, int(b.ones), len(fl)]
        ints[CHDR + BREC * k: CHDR + BREC * (k + 1)] = rec
        fl += block_record(b)
        zoff += b.q
        if k != kc:
            boff += b.J * b.q
    ints[:9] = [n, p, K, ndim, ndim - 1, boff, kc, spec.blocks[kc].J, spec.blocks[kc].q]
    bc = spec.blocks[kc]
    A = np.zeros((bc.J, bc.q, bc.q))
    Zw = bc.Z * np.sqrt(spec.weights)[:, None]
    for r in range(bc.q):
        for s in range(r, bc.q):
            A[:, r, s] = A[:, s, r] = np.bincount(bc.g, weights=Zw[:, r] * Zw[:, s], minlength=bc.J)
    data = dict(ints=ints, fl=np.asarray(fl, float), y=spec.y, X=spec.X,
                G=np.ascontiguousarray(np.stack([b.g for b in spec.blocks])),
                Z=np.ascontiguousarray(np.concatenate([b.Z for b in spec.blocks], axis=1), dtype=float),
                off=spec.offset, w=spec.weights, A=A)
    if shear is None:
        shear = (np.zeros(4, np.int64), np.zeros(1))
    data["sh"], data["shf"] = shear
    data["Gt"], data["F"] = pack_rows(spec, kc, boffs)
    data["meta"] = pointer_table(data["ints"], len(ints), data["fl"], len(data["fl"]), data["y"], data["X"], data["G"],
                                 data["Z"], data["off"], data["w"], data["A"], data["Z"].shape[1], data["sh"],
                                 len(data["sh"]), data["shf"], len(data["shf"]), data["Gt"],
                                 data["Gt"].shape[1] if data["Gt"].shape[0] else 0, data["F"], len(data["F"]))
    return data, ndim


def collapsed_args(d: dict) -> tuple:
    """The arrays of :func:`coll_logp_grad` after ``x, grad``, from :func:`pack_collapsed`'s dict."""
    return tuple(d[k] for k in ("ints", "fl", "y", "X", "G", "Z", "off", "w", "A", "Gt", "F"))
