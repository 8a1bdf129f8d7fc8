"""Every Gaussian mixed model with the random effects integrated out: crossed, nested, several bars.

With ỹ = W^½(y − offset), X̃ = W^½X, Z̃ = W^½Z (prior weights W), b = Λz, z ~ N(0, I) and Λ block
diagonal (block k's lower factor L_k, on the covariance scale, on each of its levels)::

    ỹ ~ N(X̃β, σ²I + Z̃ΛΛᵀZ̃ᵀ)
    log p = −n/2 log 2π + ½ Σ log w − ½[(n − Q) log σ² + log|P| + (r̃ᵀr̃ − uᵀP⁻¹u)/σ²]
    P = σ²I + ΛᵀAΛ,  A = Z̃ᵀZ̃,  c = Z̃ᵀr̃,  u = Λᵀc,  r̃ = ỹ − X̃β

P is factored on a fixed sparse pattern (:mod:`.sparse_chol`: minimum-degree order and symbolic
factorisation once per design, a numeric refactorisation per gradient), from sufficient statistics
only (A, Z̃ᵀX̃, Z̃ᵀỹ, X̃ᵀX̃, X̃ᵀỹ, ỹᵀỹ), so a gradient costs the factorisation whatever the number of
rows.  With w = P⁻¹u (the conditional mean of z) and Σ = P⁻¹ on the factor's pattern (selected
inverse)::

    ∂/∂β      = X̃ᵀ(r̃ − Z̃Λw)/σ²
    ∂/∂L_k    = Σ_{levels l of k} [ −(AΛΣ)_{ll} + (c − AΛw)_l w_lᵀ/σ² ]
    ∂/∂σ²     = −½[(n − Q)/σ² + tr Σ + wᵀw/σ² − (r̃ᵀr̃ − uᵀw)/σ⁴]

(the standard identities ∂ log|P| = tr(P⁻¹ ∂P) and ∂(uᵀP⁻¹u) = 2wᵀ∂u − wᵀ(∂P)w; nothing is
differentiated through the solver).  As in :mod:`.kernels_marginal` the statistics are those of
ỹ − X̃β₀ (β₀ its least-squares fit) and the data terms use β − β₀.  The density is written in
``[β, L_1 packed, …, L_K packed, log σ]`` and sampled with each factor of q ≥ 2 in the scale × direction
coordinates of :func:`.kernel_parts.corr_from_sampler`; afterwards z is drawn exactly from its conditional
``z | · ~ N(w, σ²P⁻¹)`` as ``w + σ L_P⁻ᵀ e`` (one refactorisation per draw).
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
    corr_blocks,
    corr_from_sampler,
    corr_grad_to_sampler,
    corr_table_for,
    finish,
    fixed_prior,
    lkj_prior,
    pointer_table,
    positive_prior,
    prior_records,
    voidptr,
)
from .sparse_chol import (
    build_structure,
    factor,
    factor_scalar,
    order_and_pattern,
    selected_inverse,
    selected_inverse_scalar,
    solve_L,
    solve_Lt,
    solve_scalar,
    sym_fields,
)
from .parallel import ordered_map
from .sparse_pairs import build_pairs, scalar_core
from .sparse_q2 import factor_q2, q2_core, selected_inverse_q2, solve_q2, terms_q2

__all__ = ["c_logp", "draw_z", "expand_sparse", "pack_sparse", "sparse_args", "sparse_logp_grad"]
META = 16
# ints: [ndim, p, Q, N, K, qmax, hmax, nnzv, q_1 … q_K]
I_NDIM, I_P, I_Q, I_N, I_K, I_QMAX, I_HMAX, I_NNZV = range(8)
IHDR = 8


@njit(cache=True, fastmath=FM)
def _setup(x, ints, fl, ZX, Zy, Ls, xd, c):
    """Block factors into Ls, β − β₀ into xd, c = Z̃ᵀ(ỹ − X̃β) into c; returns (index of log σ, fl offset of ỹᵀỹ)."""
    p = ints[I_P]
    Q = ints[I_Q]
    K = ints[I_K]
    xo = p
    fb = REC * p + REC
    for k in range(K):
        qk = ints[IHDR + k]
        build_L(x, xo, qk, Ls[k, :qk, :qk])
        xo += qk * (qk + 1) // 2
        fb += 2 + REC * qk
    for cc in range(p):
        xd[cc] = x[cc] - fl[fb + 3 + cc]
    for i in range(Q):
        s = Zy[i]
        for cc in range(p):
            s -= ZX[i, cc] * xd[cc]
        c[i] = s
    return xo, fb


@njit(cache=True, fastmath=FM)
def _lambda_t(sym, Ls, v, out, transpose):
    """out = Λᵀ v (``transpose``) or Λ v, node by node (elimination order)."""
    size, blk, qpos, colptr, rows, roff, valptr, rlptr, rlcol, rlent, isA, perm, qorig = sym_fields(sym)  # noqa: RUF059
    if Ls.shape[1] == 1:
        for j in range(size.shape[0]):
            out[j] = Ls[blk[j], 0, 0] * v[j]
        return
    for j in range(size.shape[0]):
        s = size[j]
        k = blk[j]
        q0 = qpos[j]
        for a in range(s):
            acc = 0.0
            if transpose:
                for t in range(a, s):
                    acc += Ls[k, t, a] * v[q0 + t]
            else:
                for t in range(a + 1):
                    acc += Ls[k, a, t] * v[q0 + t]
            out[q0 + a] = acc


@njit(cache=True, fastmath=FM)
def _logdet(size, valptr, Lv):
    """log|P| = 2 Σ log L_ii, as a running product of the diagonal kept in range with frexp (one log in all;
    frexp only when the product leaves [1e-100, 1e100])."""
    m = 1.0
    ex = 0
    for j in range(size.shape[0]):
        s = size[j]
        for a in range(s):
            m *= Lv[valptr[j] + a * s + a]
        if m > 1e100 or m < 1e-100:
            m, e = math.frexp(m)
            ex += e
    return 2.0 * (math.log(m) + ex * LOG2)


@njit(cache=True, fastmath=FM)
def _kind(ints):
    """1: every node a scalar; 2: every node 2 × 2; 0: general node blocks."""
    K = ints[I_K]
    q0 = ints[IHDR]
    for k in range(1, K):
        if ints[IHDR + k] != q0:
            return 0
    return q0 if q0 <= 2 else 0


@njit(cache=True, fastmath=FM)
def _factor(sym, Avals, Ls, lam, s2, Lv, mark, kind):
    if kind == 1:
        return factor_scalar(sym, Avals, lam, s2, Lv, mark)
    if kind == 2:
        return factor_q2(sym, Avals, Ls, s2, Lv, mark)
    return factor(sym, Avals, Ls, s2, Lv, mark)


@njit(cache=True, fastmath=FM)
def _solve_t(sym, Lv, w, kind):
    """w ← L⁻ᵀ w."""
    if kind == 1:
        solve_scalar(sym, Lv, w, True)
    elif kind == 2:
        solve_q2(sym, Lv, w, True)
    else:
        solve_Lt(sym, Lv, w)


@njit(cache=True, fastmath=FM)
def _solve(sym, Lv, w, kind):
    """w ← P⁻¹ w = L⁻ᵀ L⁻¹ w."""
    if kind == 1:
        solve_scalar(sym, Lv, w, False)
    elif kind == 2:
        solve_q2(sym, Lv, w, False)
    else:
        solve_L(sym, Lv, w)
    _solve_t(sym, Lv, w, kind)


@njit(cache=True, fastmath=FM)
def _scalar_terms(sym, Avals, Sv, lam, Lw, ALw, gL):
    """Size-1 nodes: ALw += AΛw and gL[k] −= Σ_l (AΛΣ)_ll over the stored entries of A."""
    size, blk, qpos, colptr, rows, roff, valptr, rlptr, rlcol, rlent, isA, perm, qorig = sym_fields(sym)  # noqa: RUF059
    for j in range(size.shape[0]):
        c0 = colptr[j]
        for e in range(c0, colptr[j + 1]):
            if isA[e] == 0:
                continue
            a = rows[e]
            av = Avals[e]
            ALw[a] += av * Lw[j]
            gL[blk[j], 0, 0] -= av * lam[a] * Sv[e]
            if e > c0:
                ALw[j] += av * Lw[a]
                gL[blk[a], 0, 0] -= av * lam[j] * Sv[e]


@njit(cache=True, fastmath=FM)
def _pieces(sym, Avals, Ls, lam, u, s2, Lv, Sv, w, Lw, ALw, gL, kind, ints):
    """:func:`.sparse_pairs.scalar_core` for any nodes (marker-array factorisation of :mod:`.sparse_chol`):
    Lv, Sv (Σ on the pattern), w = P⁻¹u, Lw = Λw, and for scalar or 2 × 2 nodes ALw and the trace terms of gL;
    returns ``(ok, log|P|, uᵀw, wᵀw, tr P⁻¹)``."""
    size, blk, qpos, colptr, rows, roff, valptr, rlptr, rlcol, rlent, isA, perm, qorig = sym_fields(sym)  # noqa: RUF059
    N = size.shape[0]
    Q = u.shape[0]
    qmax = ints[I_QMAX]
    scalar = kind == 1
    mark = np.full(N, -1, np.int64)
    if not _factor(sym, Avals, Ls, lam, s2, Lv, mark, kind):
        return False, 0.0, 0.0, 0.0, 0.0
    logdet = _logdet(size, valptr, Lv)
    for i in range(Q):
        w[i] = u[i]
    _solve(sym, Lv, w, kind)
    uw = 0.0
    ww = 0.0
    for i in range(Q):
        uw += u[i] * w[i]
        ww += w[i] * w[i]
    if scalar:
        selected_inverse_scalar(sym, Lv, Sv, mark, np.empty(ints[I_NNZV]))
    elif kind == 2:
        selected_inverse_q2(sym, Lv, Sv, mark, np.empty(ints[I_NNZV]))
    else:
        selected_inverse(sym, Lv, Sv, mark, np.empty(ints[I_HMAX] * qmax))
    trace = 0.0
    for j in range(N):
        for a in range(size[j]):
            trace += Sv[valptr[j] + a * size[j] + a]
    # Λw and AΛw (A symmetric, its lower node blocks stored in the factor's layout)
    _lambda_t(sym, Ls, w, Lw, False)
    if scalar:
        _scalar_terms(sym, Avals, Sv, lam, Lw, ALw, gL)
    elif kind == 2:
        terms_q2(sym, Avals, Sv, Ls, Lw, ALw, gL)
    return True, logdet, uw, ww, trace


@njit(cache=True, fastmath=FM)
def sparse_logp_grad(x, grad, ints, fl, sym, Avals, ZX, Zy, XtX, Xty, pairs):
    """Marginal log density at ``[β, L packed, log σ]``; gradient into ``grad`` (see the module docstring)."""
    ndim = ints[I_NDIM]
    p = ints[I_P]
    Q = ints[I_Q]
    N = ints[I_N]
    K = ints[I_K]
    qmax = ints[I_QMAX]
    for i in range(ndim):
        grad[i] = 0.0
    Ls = np.zeros((K, qmax, qmax))
    xd = np.empty(p)
    c = np.empty(Q)
    si, fb = _setup(x, ints, fl, ZX, Zy, Ls, xd, c)
    s2 = math.exp(2.0 * x[si])
    yty = fl[fb]
    n = fl[fb + 1]
    lp = fixed_prior(x, grad, fl, p) + fl[fb + 2]
    xr = np.empty(p)
    RR = yty
    for cc in range(p):
        s = Xty[cc]
        for e in range(p):
            s -= XtX[cc, e] * xd[e]
        xr[cc] = s
        RR -= xd[cc] * (Xty[cc] + s)
    size, blk, qpos, colptr, rows, roff, valptr, rlptr, rlcol, rlent, isA, perm, qorig = sym_fields(sym)  # noqa: RUF059
    u = np.empty(Q)
    _lambda_t(sym, Ls, c, u, True)
    Lv = np.empty(ints[I_NNZV])
    kind = _kind(ints)
    scalar = kind == 1
    lam = np.empty(N)
    if scalar:
        for j in range(N):
            lam[j] = Ls[blk[j], 0, 0]
    Sv = np.empty(ints[I_NNZV])
    w = np.empty(Q)
    Lw = np.empty(Q)
    ALw = np.zeros(Q)
    gL = np.zeros((K, qmax, qmax))
    if scalar and pairs.shape[0] > 1:
        gl = np.zeros(K)
        ok, logdet, uw, ww, trace = scalar_core(sym, pairs, Avals, lam, u, s2, Lv, Sv, np.empty(ints[I_NNZV]), w, Lw,
                                                ALw, gl)
        for k in range(K):
            gL[k, 0, 0] = gl[k]
    elif kind == 2 and pairs.shape[0] > 1:
        ok, logdet, uw, ww, trace = q2_core(sym, pairs, Avals, Ls, u, s2, Lv, Sv, np.empty(ints[I_NNZV]), w, Lw, ALw,
                                            gL)
    else:
        ok, logdet, uw, ww, trace = _pieces(sym, Avals, Ls, lam, u, s2, Lv, Sv, w, Lw, ALw, gL, kind, ints)
    if not ok:
        return -np.inf
    M = np.empty((qmax, qmax))
    for j in range(N if kind == 0 else 0):
        s = size[j]
        kj = blk[j]
        qj = qpos[j]
        for e in range(colptr[j], colptr[j + 1]):
            if isA[e] == 0:
                continue
            a = rows[e]
            sa = size[a]
            ka = blk[a]
            qa = qpos[a]
            o = valptr[j] + roff[e] * s  # A_{a j}, Σ_{a j}: sa × s
            for t in range(sa):
                acc = 0.0
                for v in range(s):
                    acc += Avals[o + t * s + v] * Lw[qj + v]
                ALw[qa + t] += acc
            if e > colptr[j]:
                for v in range(s):
                    acc = 0.0
                    for t in range(sa):
                        acc += Avals[o + t * s + v] * Lw[qa + t]
                    ALw[qj + v] += acc
            # column node j: gL[kj] −= A_{aj}ᵀ (L_ka Σ_{aj})  (s × s), with M = L_ka Σ_{aj} (sa × s)
            for t in range(sa):
                for cc in range(s):
                    acc = 0.0
                    for t2 in range(t + 1):
                        acc += Ls[ka, t, t2] * Sv[o + t2 * s + cc]
                    M[t, cc] = acc
            for r_ in range(s):
                for cc in range(s):
                    acc = 0.0
                    for t in range(sa):
                        acc += Avals[o + t * s + r_] * M[t, cc]
                    gL[kj, r_, cc] -= acc
            if e > colptr[j]:
                # row node a: gL[ka] −= (A_{aj} L_kj) Σ_{aj}ᵀ  (sa × sa), with M = A_{aj} L_kj (sa × s)
                for r_ in range(sa):
                    for v in range(s):
                        acc = 0.0
                        for v2 in range(v, s):
                            acc += Avals[o + r_ * s + v2] * Ls[kj, v2, v]
                        M[r_, v] = acc
                for r_ in range(sa):
                    for cc in range(sa):
                        acc = 0.0
                        for v in range(s):
                            acc += M[r_, v] * Sv[o + cc * s + v]
                        gL[ka, r_, cc] -= acc
    for j in range(N):
        s = size[j]
        kj = blk[j]
        qj = qpos[j]
        for a in range(s):
            ea = (c[qj + a] - ALw[qj + a]) / s2
            for b in range(s):
                gL[kj, a, b] += ea * w[qj + b]
    for cc in range(p):
        s = xr[cc]
        for i in range(Q):
            s -= ZX[i, cc] * Lw[i]
        grad[cc] += s / s2
    lp += -n * HALF_LOG_2PI - 0.5 * ((n - Q) * math.log(s2) + logdet + (RR - uw) / s2)
    dls2 = -0.5 * ((n - Q) / s2 + trace - (RR - uw) / (s2 * s2) + ww / s2)
    grad[si] += dls2 * 2.0 * s2
    lp += positive_prior(x, grad, fl, REC * p, si)
    xo = p
    fo = REC * p + REC
    for k in range(K):
        qk = ints[IHDR + k]
        Lk = Ls[k, :qk, :qk]
        gLk = gL[k, :qk, :qk]
        lp += lkj_prior(Lk, qk, fl, fo, gLk)
        chol_grad_to_x(gLk, Lk, qk, grad, xo)
        fo += 2 + REC * qk
        xo += qk * (qk + 1) // 2
    return lp


@njit(cache=True, fastmath=FM, nogil=True)
def draw_z(Xm, E, ints, fl, sym, Avals, ZX, Zy):
    """Exact conditional draws of z (original block-major order): ``Xm`` (S, ndim) marginal draws,
    ``E`` (S, Q) standard normals in the original order; z = w + σ L_P⁻ᵀ e."""
    S = Xm.shape[0]
    Q = ints[I_Q]
    N = ints[I_N]
    K = ints[I_K]
    qmax = ints[I_QMAX]
    p = ints[I_P]
    size, blk, qpos, colptr, rows, roff, valptr, rlptr, rlcol, rlent, isA, perm, qorig = sym_fields(sym)  # noqa: RUF059
    out = np.empty((S, Q))
    Ls = np.zeros((K, qmax, qmax))
    xd = np.empty(p)
    c = np.empty(Q)
    u = np.empty(Q)
    v = np.empty(Q)
    Lv = np.empty(ints[I_NNZV])
    mark = np.full(N, -1, np.int64)
    kind = _kind(ints)
    scalar = kind == 1
    lam = np.empty(N)
    for sidx in range(S):
        x = Xm[sidx]
        si, _fb = _setup(x, ints, fl, ZX, Zy, Ls, xd, c)
        s2 = math.exp(2.0 * x[si])
        sd = math.sqrt(s2)
        _lambda_t(sym, Ls, c, u, True)
        if scalar:
            for j in range(N):
                lam[j] = Ls[blk[j], 0, 0]
        if not _factor(sym, Avals, Ls, lam, s2, Lv, mark, kind):
            for i in range(Q):
                out[sidx, i] = np.nan
            continue
        _solve(sym, Lv, u, kind)
        for j in range(N):
            for a in range(size[j]):
                v[qpos[j] + a] = E[sidx, qorig[j] + a]
        _solve_t(sym, Lv, v, kind)
        for j in range(N):
            for a in range(size[j]):
                out[sidx, qorig[j] + a] = u[qpos[j] + a] + sd * v[qpos[j] + a]
    return out


@njit(cache=True)
def _unpack(user_data):
    meta = numba.carray(user_data, (META,), np.int64)
    ints = numba.carray(voidptr(meta[0]), (meta[1],), np.int64)
    fl = numba.carray(voidptr(meta[2]), (meta[3],), np.float64)
    sym = numba.carray(voidptr(meta[4]), (meta[5],), np.int64)
    p = ints[I_P]
    Q = ints[I_Q]
    Avals = numba.carray(voidptr(meta[6]), (ints[I_NNZV],), np.float64)
    ZX = numba.carray(voidptr(meta[7]), (Q, p), np.float64)
    Zy = numba.carray(voidptr(meta[8]), (Q,), np.float64)
    XtX = numba.carray(voidptr(meta[9]), (p, p), np.float64)
    Xty = numba.carray(voidptr(meta[10]), (p,), np.float64)
    pairs = numba.carray(voidptr(meta[13]), (meta[14],), np.int64)
    return ints, fl, sym, Avals, ZX, Zy, XtX, Xty, pairs


@numba.cfunc(c_sig, cache=True, error_model="numpy")
def c_logp(dim, x_, out_, logp_, user_data):
    """nutpie's logp function of the sparse marginal model."""
    ints, fl, sym, Avals, ZX, Zy, XtX, Xty, pairs = _unpack(user_data)
    if dim != ints[I_NDIM]:
        return -1
    meta = numba.carray(user_data, (META,), np.int64)
    cb = corr_blocks(meta[11], meta[12])
    xs = numba.carray(x_, (dim,))
    out = numba.carray(out_, (dim,))
    x = np.empty(dim)
    val = corr_from_sampler(xs, x, cb) + sparse_logp_grad(x, out, ints, fl, sym, Avals, ZX, Zy, XtX, Xty, pairs)
    corr_grad_to_sampler(xs, x, out, cb)
    return finish(val, out, logp_)


# -- packing (once per design) -------------------------------------------------------------------
def _node_blocks(spec, sw):
    """A's node blocks (original node ids, row-major values), Z̃ᵀX̃ / Z̃ᵀỹ rows, and the node graph."""
    blocks = spec.blocks
    J = [b.J for b in blocks]
    q = [b.q for b in blocks]
    noff = np.concatenate([[0], np.cumsum(J)]).astype(np.int64)
    Zw = [b.Z * sw[:, None] for b in blocks]
    ai, aj, vals, sizes_ij = [], [], [], []
    for k, b in enumerate(blocks):
        D = np.empty((b.J, b.q, b.q))
        for r in range(b.q):
            for s in range(r, b.q):
                D[:, r, s] = D[:, s, r] = np.bincount(b.g, weights=Zw[k][:, r] * Zw[k][:, s], minlength=b.J)
        ai.append(noff[k] + np.arange(b.J))
        aj.append(noff[k] + np.arange(b.J))
        vals.append(D.reshape(b.J, -1))
        sizes_ij.append(np.full(b.J, b.q * b.q))
    edges = []
    for k in range(len(blocks)):
        for k2 in range(k + 1, len(blocks)):
            b, b2 = blocks[k], blocks[k2]
            key = b.g.astype(np.int64) * b2.J + b2.g
            uk, inv = np.unique(key, return_inverse=True)
            C = np.empty((len(uk), b.q, b2.q))
            for r in range(b.q):
                for s in range(b2.q):
                    C[:, r, s] = np.bincount(inv, weights=Zw[k][:, r] * Zw[k2][:, s], minlength=len(uk))
            ii, jj = noff[k] + uk // b2.J, noff[k2] + uk % b2.J
            ai.append(ii)
            aj.append(jj)
            vals.append(C.reshape(len(uk), -1))
            sizes_ij.append(np.full(len(uk), b.q * b2.q))
            edges.append((ii, jj))
    Nn = int(noff[-1])
    if edges:
        ei = np.concatenate([e[0] for e in edges] + [e[1] for e in edges])
        ej = np.concatenate([e[1] for e in edges] + [e[0] for e in edges])
        keyn = np.unique(ei * Nn + ej)
        ei, ej = keyn // Nn, keyn % Nn
    else:
        ei = ej = np.zeros(0, np.int64)
    adj_ptr = np.concatenate([[0], np.cumsum(np.bincount(ei, minlength=Nn))]).astype(np.int64)
    sizes = np.concatenate(sizes_ij)
    aoff = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    size_o = np.repeat(np.array(q, np.int64), J)
    blk_o = np.repeat(np.arange(len(blocks), dtype=np.int64), J)
    qstart = np.concatenate([[0], np.cumsum(np.array(J) * np.array(q))]).astype(np.int64)
    qorig_o = np.concatenate([qstart[k] + np.arange(b.J) * b.q for k, b in enumerate(blocks)]).astype(np.int64)
    A = dict(ai=np.concatenate(ai), aj=np.concatenate(aj), avals=np.concatenate([v.ravel() for v in vals]), aoff=aoff)
    return A, (adj_ptr, ej.astype(np.int64)), size_o, blk_o, qorig_o, Zw


def pack_sparse(spec, max_entries: int = 20_000_000, max_flops: float = 5e9,
                corr: bool = True) -> tuple[dict, int] | None:
    """Sufficient statistics, symbolic factorisation and prior records of ``spec`` for :func:`sparse_logp_grad`
    (``corr``: nutpie's entry point :func:`c_logp` takes the coordinates of :func:`.kernel_parts.corr_from_sampler`).

    Returns ``(data, ndim)``, with ``data["info"]`` the counts of the factorisation (nodes, node
    blocks of A and of the factor, scalar nonzeros, flops per factorisation), or None when the factor
    would exceed ``max_entries`` node blocks or ``max_flops`` (then the joint route is the only one).
    """
    blocks = spec.blocks
    sw = np.sqrt(spec.weights)
    X = spec.X * sw[:, None]
    y = (spec.y - spec.offset) * sw
    b0 = np.linalg.lstsq(X, y, rcond=None)[0] if X.shape[1] else np.zeros(0)
    y = y - X @ b0
    A, (adj_ptr, adj_idx), size_o, blk_o, qorig_o, Zw = _node_blocks(spec, sw)
    got = order_and_pattern(adj_ptr, adj_idx, size_o, max_entries, max_flops)
    if got is None:
        return None
    order, pat_ptr, pat, flops = got
    sym, Avals = build_structure(order, pat_ptr, pat, size_o, blk_o, qorig_o, A["ai"], A["aj"], A["avals"], A["aoff"])
    n, p = X.shape
    Q = int(sum(b.J * b.q for b in blocks))
    ZX = np.zeros((Q, p))
    Zy = np.zeros(Q)
    qo = 0
    for k, b in enumerate(blocks):
        for t in range(b.q):
            rows = qo + b.g * b.q + t
            Zy += np.bincount(rows, weights=Zw[k][:, t] * y, minlength=Q)
            for c in range(p):
                ZX[:, c] += np.bincount(rows, weights=Zw[k][:, t] * X[:, c], minlength=Q)
        qo += b.J * b.q
    f = dict(zip(("size", "blk", "qpos", "colptr", "rows", "roff", "valptr"), sym_fields(sym)[:7]))
    eidx = np.empty(Q, np.int64)
    qor = sym_fields(sym)[12]
    for j in range(len(f["size"])):
        eidx[f["qpos"][j]:f["qpos"][j] + f["size"][j]] = qor[j] + np.arange(f["size"][j])
    heights = np.diff(f["valptr"]) // f["size"]
    ndim = p + sum(b.m for b in blocks) + 1
    fl = prior_records(spec.beta_priors) + prior_records([spec.disp_prior])
    for b in blocks:
        fl += block_record(b)
    fl += [float(y @ y), float(n), float(0.5 * np.sum(np.log(spec.weights))), *b0.tolist()]
    qmax = max(b.q for b in blocks)
    ints = np.array([ndim, p, Q, len(size_o), len(blocks), qmax, int(heights.max()), len(Avals),
                     *[b.q for b in blocks]], np.int64)
    E = len(f["rows"])
    info = dict(nodes=len(size_o), a_blocks=len(A["ai"]), factor_blocks=int(E), nnz=len(Avals),
                fill=float(E / max(len(A["ai"]), 1)), flops=float(flops), Q=Q)
    d = dict(ints=ints, fl=np.asarray(fl, float), sym=sym, Avals=Avals, ZX=np.ascontiguousarray(ZX[eidx]),
             Zy=np.ascontiguousarray(Zy[eidx]), XtX=np.ascontiguousarray(X.T @ X), Xty=np.ascontiguousarray(X.T @ y),
             b0=np.ascontiguousarray(b0, float), info=info)
    d["cb"] = corr_table_for(spec) if corr else np.zeros(1, np.int64)
    d["pairs"] = build_pairs(sym, qmax == 1 or min(b.q for b in blocks) == 2 == qmax)
    info["pairs"] = int(max(len(d["pairs"]) - len(size_o) - 2, 0) // 3)
    d["meta"] = pointer_table(d["ints"], len(ints), d["fl"], len(d["fl"]), d["sym"], len(sym), d["Avals"], d["ZX"],
                              d["Zy"], d["XtX"], d["Xty"], d["cb"], len(d["cb"]), d["pairs"], len(d["pairs"]), 0)
    return d, ndim


def sparse_args(d: dict) -> tuple:
    """Arguments of :func:`sparse_logp_grad` after ``x`` and ``grad``."""
    return tuple(d[k] for k in ("ints", "fl", "sym", "Avals", "ZX", "Zy", "XtX", "Xty", "pairs"))


def expand_sparse(spec, Xm: np.ndarray, d: dict, seed: int, chunk: int = 256):
    """Marginal draws (C, D, ndim) → exact z per draw, one RNG stream per chain and chunk (on several threads).

    Yields ``(chain, draw slice, Z)`` with Z (draws in chunk, Q) in the original block-major order
    (block k's levels, each its q_k terms), ``chunk`` draws at a time so that the draws of z never
    need to be held all at once.
    """
    C, D, _ = Xm.shape
    Q = int(d["ints"][I_Q])
    args = (d["ints"], d["fl"], d["sym"], d["Avals"], d["ZX"], d["Zy"])

    def one(job):  # one RNG stream per chain and chunk: the same draws on any number of threads
        c, s0 = job
        sl = slice(s0, min(D, s0 + chunk))
        E = np.random.default_rng([seed, c, 7919, s0]).standard_normal((sl.stop - s0, Q))
        return c, sl, draw_z(np.ascontiguousarray(Xm[c, sl]), E, *args)

    yield from ordered_map(one, ((c, s0) for c in range(C) for s0 in range(0, D, chunk)))
