"""Gaussian models whose random effects share one grouping factor: the random effects integrated out.

With ỹ = W^½ (y − offset), X̃ = W^½ X, Z̃ = W^½ Z (prior weights W) and the blocks of one grouping
factor (one bar, or the several bars of ``(x || g)`` / ``(1 | g) + (0 + x | g)``), whose relative
covariance factor is block diagonal, ``L = diag(L_1, …, L_K)``::

    ỹ_j ~ N(X̃_j β, σ² I + Z̃_j L Lᵀ Z̃_jᵀ)   per level j

evaluated from per-level sufficient statistics (Z̃ᵀZ̃, Z̃ᵀX̃, Z̃ᵀỹ per level; X̃ᵀX̃, X̃ᵀỹ, ỹᵀỹ), so a
gradient costs O(J q³ + J q p) whatever the number of rows.  The statistics are those of ỹ − X̃β₀
(β₀ its least-squares fit, stored after the records in ``fl``) and the data terms use β − β₀: the
residual sum of squares is then never a small difference of huge numbers (y = 1e9 + noise).  The density is
written in ``[β, L_1 packed, …, L_K packed, log σ]``; nutpie samples each factor with q ≥ 2 in scale ×
direction coordinates (:func:`.kernel_parts.corr_from_sampler`, no funnel when an SD is near 0)
(about 5 leapfrog steps per draw instead of 26 for the joint model).  Afterwards the non-centred
``z`` of the mirror model is drawn exactly from its conditional
``z_j | · ~ N(P_j⁻¹ u_j, σ² P_j⁻¹)``, ``P_j = σ² I + Lᵀ A_j L``, ``u_j = Lᵀ Z̃_jᵀ(ỹ_j − X̃_j β)``.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit

from .kernel_parts import (
    FM,
    HALF_LOG_2PI,
    REC,
    block_record,
    build_L,
    c_sig,
    chol_grad_to_x,
    finish,
    fixed_prior,
    lkj_prior,
    corr_blocks,
    corr_from_sampler,
    corr_grad_to_sampler,
    corr_table_for,
    pointer_table,
    positive_prior,
    prior_records,
    tri_solve,
    tri_solve_T,
    voidptr,
)

__all__ = ["c_logp", "draw_z", "expand_draws", "marg_logp_grad", "marginal_keep", "pack_marginal", "z_chunks"]
META = 12


@njit(cache=True, fastmath=FM)
def _chol_inplace(P, q):
    for i in range(q):
        for j in range(i + 1):
            s = P[i, j]
            for k in range(j):
                s -= P[i, k] * P[j, k]
            if i == j:
                if s <= 0.0:
                    return False
                P[i, i] = math.sqrt(s)
            else:
                P[i, j] = s / P[j, j]
    for i in range(q):
        for j in range(i + 1, q):
            P[i, j] = 0.0
    return True


@njit(cache=True, fastmath=FM)
def _chol_solve(R, b, out, q):
    """(R Rᵀ) out = b."""
    tri_solve(R, b, 0, out, q)
    tri_solve_T(R, out, out, q)


@njit(cache=True, fastmath=FM)
def level_terms(P, u, AL, g, goff, s2, q, w, col, e, gL):
    """One level's terms of the marginal log density, given the Cholesky factor ``P`` of its q × q system:
    solves P Pᵀ w = u (``w`` written), adds the level's gradient in L to ``gL`` (with ``AL`` = A L and ``g``
    = Z̃ᵀ(ỹ − X̃β) of the level at ``g[goff:]``), and returns (log det, uᵀw, wᵀw, trace of the inverse)."""
    ld = 0.0
    for a in range(q):
        ld += 2.0 * math.log(P[a, a])
    _chol_solve(P, u, w, q)
    uw = 0.0
    ww = 0.0
    for a in range(q):
        uw += u[a] * w[a]
        ww += w[a] * w[a]
    tr = 0.0
    for b in range(q):
        for a in range(q):
            e[a] = 1.0 if a == b else 0.0
        _chol_solve(P, e, col, q)
        tr += col[b]
        for a in range(q):
            s = 0.0
            for c in range(q):
                s += AL[a, c] * col[c]
            gL[a, b] -= s
    for a in range(q):
        alw = 0.0
        for c in range(q):
            alw += AL[a, c] * w[c]
        for b in range(q):
            gL[a, b] += (g[goff + a] * w[b] - alw * w[b]) / s2
    return ld, uw, ww, tr


@njit(cache=True, fastmath=FM)
def level_factor(j, q, L, s2, A, g, goff, u, AL, P):
    """u = Lᵀg (g of level ``j`` at ``g[goff:]``), AL = A_j L and the Cholesky factor of P = σ²I + LᵀAL (in P);
    False when P is not positive definite."""
    for t in range(q):
        s = 0.0
        for a in range(t, q):
            s += L[a, t] * g[goff + a]
        u[t] = s
    for a in range(q):
        for b in range(q):
            s = 0.0
            for c in range(b, q):
                s += A[j, a, c] * L[c, b]
            AL[a, b] = s
    for a in range(q):
        for b in range(q):
            s = 0.0
            for c in range(a, q):
                s += L[c, a] * AL[c, b]
            P[a, b] = s + (s2 if a == b else 0.0)
    return _chol_inplace(P, q)


@njit(cache=True, fastmath=FM)
def _level_system(j, x, p, q, L, s2, A, ZX, Zy, g, u, AL, P):
    """g = Zᵀ(y − Xβ), then :func:`level_factor`."""
    for t in range(q):
        s = Zy[j, t]
        for c in range(p):
            s -= ZX[j, t, c] * x[c]
        g[t] = s
    return level_factor(j, q, L, s2, A, g, 0, u, AL, P)


@njit(cache=True, fastmath=FM)
def marg_logp_grad(x, grad, ints, fl, A, ZX, Zy, XtX, Xty):
    """Marginal log density at ``[β, L packed, log σ]``; gradient into ``grad``.

    ``ints = [ndim, p, q, J, K, q_1, …, q_K]`` (q = Σ q_k); ``fl = [β records, σ record, K block records,
    ỹᵀỹ, n, constant, β₀]`` (the statistics are those of ỹ − X̃β₀).
    """
    ndim = ints[0]
    p = ints[1]
    q = ints[2]
    J = ints[3]
    for i in range(ndim):
        grad[i] = 0.0
    L = np.empty((q, q))
    si = build_blockdiag_L(x, p, ints, L)
    s2 = math.exp(2.0 * x[si])
    fb = REC * p + REC
    ft = fb
    for k in range(ints[4]):
        ft += 2 + REC * ints[5 + k]
    yty = fl[ft]
    n = fl[ft + 1]
    lp = fixed_prior(x, grad, fl, p) + fl[ft + 2]
    xd = np.empty(p)  # β − β₀: the data terms are in these coordinates
    for c in range(p):
        xd[c] = x[c] - fl[ft + 3 + c]
    # residual sum of squares of the fixed part and its β gradient
    xr = np.empty(p)
    RR = yty
    for c in range(p):
        s = Xty[c]
        for e in range(p):
            s -= XtX[c, e] * xd[e]
        xr[c] = s
        RR -= xd[c] * (Xty[c] + s)
    gbeta = xr.copy()
    gL = np.zeros((q, q))
    sum_logdetP = 0.0
    sum_uw = 0.0
    sum_ww = 0.0
    sum_trPinv = 0.0
    g = np.empty(q)
    u = np.empty(q)
    w = np.empty(q)
    AL = np.empty((q, q))
    P = np.empty((q, q))
    col = np.empty(q)
    e_i = np.empty(q)
    for j in range(J):
        if not _level_system(j, xd, p, q, L, s2, A, ZX, Zy, g, u, AL, P):
            return -np.inf
        ld, uw, ww, tr = level_terms(P, u, AL, g, 0, s2, q, w, col, e_i, gL)
        sum_logdetP += ld
        sum_uw += uw
        sum_ww += ww
        sum_trPinv += tr
        for c in range(p):
            s = 0.0
            for a in range(q):
                lw = 0.0
                for b in range(a + 1):
                    lw += L[a, b] * w[b]
                s += ZX[j, a, c] * lw
            gbeta[c] -= s
    quad = (RR - sum_uw) / s2
    lp += -n * HALF_LOG_2PI - 0.5 * ((n - J * q) * math.log(s2) + sum_logdetP + quad)
    for c in range(p):
        grad[c] += gbeta[c] / s2
    dls2 = -0.5 * ((n - J * q) / s2 + sum_trPinv - (RR - sum_uw) / (s2 * s2) + sum_ww / s2)
    grad[si] += dls2 * 2.0 * s2
    lp += positive_prior(x, grad, fl, REC * p, si)
    return blockdiag_priors(lp, L, gL, ints, fl, fb, grad, p)


@njit(cache=True, fastmath=FM)
def blockdiag_priors(lp, L, gL, ints, fl, fb, grad, p):
    """``lp`` plus the LKJ priors of the blocks of a block-diagonal L (``ints[4]`` blocks of sizes ``ints[5:]``,
    records from ``fl[fb]``), added one by one; dlogp/dL (``gL`` plus the priors') into the packed coordinates
    after ``grad[:p]``."""
    xo = p
    qo = 0
    for k in range(ints[4]):
        qk = ints[5 + k]
        Lk = L[qo:qo + qk, qo:qo + qk]
        gLk = gL[qo:qo + qk, qo:qo + qk]
        lp += lkj_prior(Lk, qk, fl, fb, gLk)
        chol_grad_to_x(gLk, Lk, qk, grad, xo)
        fb += 2 + REC * qk
        xo += qk * (qk + 1) // 2
        qo += qk
    return lp


@njit(cache=True, fastmath=FM)
def build_blockdiag_L(x, p, ints, L):
    """Block-diagonal L from the packed factors after ``x[:p]``; returns the index of log σ."""
    for i in range(L.shape[0]):
        for j in range(L.shape[1]):
            L[i, j] = 0.0
    xo = p
    qo = 0
    for k in range(ints[4]):
        qk = ints[5 + k]
        build_L(x, xo, qk, L[qo:qo + qk, qo:qo + qk])
        xo += qk * (qk + 1) // 2
        qo += qk
    return xo


@njit(cache=True, fastmath=FM)
def draw_z(Xu, E, ints, A, ZX, Zy, b0):
    """Exact conditional draws of z: ``Xu`` (S, ndim) marginal draws, ``E`` (S, J, q) N(0, 1), ``b0`` = β₀."""
    p = ints[1]
    q = ints[2]
    J = ints[3]
    S = Xu.shape[0]
    out = np.empty((S, J, q))
    L = np.empty((q, q))
    P = np.empty((q, q))
    AL = np.empty((q, q))
    g = np.empty(q)
    u = np.empty(q)
    w = np.empty(q)
    v = np.empty(q)
    xd = np.empty(p)
    for sidx in range(S):
        x = Xu[sidx]
        s2 = math.exp(2.0 * x[build_blockdiag_L(x, p, ints, L)])
        sd = math.sqrt(s2)
        for c in range(p):
            xd[c] = x[c] - b0[c]
        for j in range(J):
            _level_system(j, xd, p, q, L, s2, A, ZX, Zy, g, u, AL, P)
            _chol_solve(P, u, w, q)
            tri_solve_T(P, E[sidx, j], v, q)  # v = R⁻ᵀ e  (P = R Rᵀ)
            for i in range(q):
                out[sidx, j, i] = w[i] + sd * v[i]
    return out


@njit(cache=True)
def _unpack(user_data):
    meta = numba.carray(user_data, (META,), np.int64)
    ints = numba.carray(voidptr(meta[0]), (meta[1],), np.int64)
    fl = numba.carray(voidptr(meta[2]), (meta[3],), np.float64)
    p = ints[1]
    q = ints[2]
    J = ints[3]
    A = numba.carray(voidptr(meta[4]), (J, q, q), np.float64)
    ZX = numba.carray(voidptr(meta[5]), (J, q, p), np.float64)
    Zy = numba.carray(voidptr(meta[6]), (J, q), np.float64)
    XtX = numba.carray(voidptr(meta[7]), (p, p), np.float64)
    Xty = numba.carray(voidptr(meta[8]), (p,), np.float64)
    return ints, fl, A, ZX, Zy, XtX, Xty


@numba.cfunc(c_sig, cache=True, error_model="numpy")
def c_logp(dim, x_, out_, logp_, user_data):
    """nutpie's logp function of the marginal model."""
    ints, fl, A, ZX, Zy, XtX, Xty = _unpack(user_data)
    if dim != ints[0]:
        return -1
    meta = numba.carray(user_data, (META,), np.int64)
    cb = corr_blocks(meta[9], meta[10])
    xs = numba.carray(x_, (dim,))
    out = numba.carray(out_, (dim,))
    x = np.empty(dim)
    val = corr_from_sampler(xs, x, cb) + marg_logp_grad(x, out, ints, fl, A, ZX, Zy, XtX, Xty)
    corr_grad_to_sampler(xs, x, out, cb)
    return finish(val, out, logp_)


def pack_marginal(spec, corr: bool = True) -> tuple[dict, int]:
    """Sufficient statistics and prior records of ``spec`` for :func:`marg_logp_grad`; ``corr``: nutpie's entry
    point :func:`c_logp` takes the scale × direction coordinates of :func:`.kernel_parts.corr_from_sampler`."""
    blocks = spec.blocks
    sw = np.sqrt(spec.weights)
    X = spec.X * sw[:, None]
    y = (spec.y - spec.offset) * sw
    b0 = np.linalg.lstsq(X, y, rcond=None)[0] if X.shape[1] else np.zeros(0)
    y = y - X @ b0  # statistics of the residual (see the module docstring)
    Z = np.hstack([b.Z for b in blocks]) * sw[:, None]
    g = blocks[0].g
    n, p = X.shape
    q, J = Z.shape[1], blocks[0].J
    A = np.zeros((J, q, q))
    ZX = np.zeros((J, q, p))
    Zy = np.zeros((J, q))
    np.add.at(A, g, Z[:, :, None] * Z[:, None, :])
    np.add.at(ZX, g, Z[:, :, None] * X[:, None, :])
    np.add.at(Zy, g, Z * y[:, None])
    ndim = p + sum(b.m for b in blocks) + 1
    fl = prior_records(spec.beta_priors) + prior_records([spec.disp_prior])
    for b in blocks:
        fl += block_record(b)
    fl += [float(y @ y), float(n), float(0.5 * np.sum(np.log(spec.weights))), *b0.tolist()]
    ints = np.array([ndim, p, q, J, len(blocks), *[b.q for b in blocks]], np.int64)
    d = dict(ints=ints, fl=np.asarray(fl, float), A=A, ZX=ZX, Zy=Zy, b0=np.ascontiguousarray(b0, float),
             XtX=np.ascontiguousarray(X.T @ X), Xty=np.ascontiguousarray(X.T @ y),
             cb=corr_table_for(spec) if corr else np.zeros(1, np.int64))
    d["meta"] = pointer_table(d["ints"], len(ints), d["fl"], len(d["fl"]), d["A"], d["ZX"], d["Zy"], d["XtX"],
                              d["Xty"], d["cb"], len(d["cb"]), 0)
    return d, ndim


def marginal_keep(spec) -> np.ndarray:
    """Positions of the marginal coordinates ``[β, packed factors, log σ]`` in the joint layout."""
    lay, _ = spec.layout()
    keep = [np.arange(sl.start, sl.stop) for _, sl, _, kind, _ in lay if kind not in ("z", "r")]
    return np.concatenate(keep)


def marginal_args(d: dict) -> tuple:
    """Arguments of :func:`marg_logp_grad` after ``x`` and ``grad``."""
    return tuple(d[k] for k in ("ints", "fl", "A", "ZX", "Zy", "XtX", "Xty"))


def expand_draws(spec, Xm: np.ndarray, d: dict, seed: int) -> np.ndarray:
    """Marginal draws (C, D, ndim) → full model-coordinate draws with exact z (one RNG stream per chain)."""
    C, D, _ = Xm.shape
    q, J = int(d["ints"][2]), spec.blocks[0].J
    Z = np.empty((C, D, J, q))
    for c in range(C):
        E = np.random.default_rng([seed, c, 7919]).standard_normal((D, J, q))
        Z[c] = draw_z(np.ascontiguousarray(Xm[c]), E, d["ints"], d["A"], d["ZX"], d["Zy"], d["b0"])
    parts, xo, qo = [Xm[..., :spec.p]], spec.p, 0
    for b in spec.blocks:  # joint layout: [β, (factor_k, z_k) per block, log σ]
        parts += [Xm[..., xo:xo + b.m], Z[..., qo:qo + b.q].reshape(C, D, -1)]
        xo, qo = xo + b.m, qo + b.q
    return np.concatenate(parts + [Xm[..., xo:]], axis=-1)


def z_chunks(spec, Xm: np.ndarray, d: dict, seed: int, chunk: int = 256):
    """Exact draws of z, ``chunk`` draws at a time: yields ``(chain, draw slice, Z (S, Q))`` with Z block-major
    (block k's levels, each its q_k terms), from the same random numbers as :func:`expand_draws`."""
    yield from level_chunks(spec, Xm, int(d["ints"][2]), seed, chunk,
                            lambda X, E: draw_z(X, E, d["ints"], d["A"], d["ZX"], d["Zy"], d["b0"]))


def level_chunks(spec, Xm: np.ndarray, q: int, seed: int, chunk: int, draw):
    """The chunks of :func:`z_chunks` from ``draw(draws (S, ndim), E (S, J, q)) -> z (S, J, q)`` (one grouping
    factor; one RNG stream per chain)."""
    C, D, _ = Xm.shape
    J = spec.blocks[0].J
    for c in range(C):
        rng = np.random.default_rng([seed, c, 7919])
        for s0 in range(0, D, chunk):
            s1 = min(D, s0 + chunk)
            E = rng.standard_normal((s1 - s0, J, q))
            Z = draw(np.ascontiguousarray(Xm[c, s0:s1]), E)
            parts, qo = [], 0
            for b in spec.blocks:
                parts.append(Z[..., qo:qo + b.q].reshape(s1 - s0, -1))
                qo += b.q
            yield c, slice(s0, s1), np.concatenate(parts, axis=1)
