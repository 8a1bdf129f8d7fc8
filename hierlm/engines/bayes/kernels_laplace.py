"""Binomial (logit) and Poisson (log) GLMMs whose random effects share one grouping factor: the random effects
integrated out by Laplace's method (``blmer(..., method="laplace")``; an approximation, opt-in).

Given β and the block-diagonal factor L the levels are independent.  With u_j ~ N(0, I) level j's spherical
effects (b_j = L u_j, the mirror model's ``z``), ℓ_i the row log-likelihoods and

    f_j(u) = Σ_{i∈j} ℓ_i(o_i + x_iᵀβ + z_iᵀ L u) − ½ uᵀu,

the level's marginal density is approximated as in lme4's ``nAGQ = 1`` and TMB:

    log p(y_j | β, L) ≈ f_j(û_j) − ½ log det H_j,    H_j = I + Lᵀ Z_jᵀ W_j Z_j L,

û_j the mode (damped Newton from 0, so a log density never depends on earlier calls: draws stay reproducible)
and W_j = −ℓ''(η̂) the GLM weights.  The gradient is that of this approximation, exactly: f_j(û_j) by the
envelope theorem; the log determinant changes with W_j, that is with η̂, which moves with the parameters
directly and through û_j (dû_j = H_j⁻¹ ∂∇_u f_j, the implicit function theorem), so the third derivative
w' = dW/dη enters.  With M = H_j⁻¹, ZL_i = Lᵀ z_i, h_i = ZL_iᵀ M ZL_i and c_i = −½ w'_i h_i:

    ∂/∂β   = Σ_i x_i (d_i + c_i − w_i ZL_iᵀ v),          v = M Σ_i c_i ZL_i
    ∂/∂L_ab = s_a û_b − (A L M)_ab + (Σ_i c_i z_i)_a û_b + v_b s_a − (A L v)_a û_b,

with d_i = ℓ'_i, s = Σ_i d_i z_i and A = Σ_i w_i z_i z_iᵀ.  The sampler's vector is ``[β, packed factors]``
(scale × direction coordinates for q ≥ 2, as on the Gaussian marginal route).  Afterwards each draw's z_j is
drawn from the Laplace approximation of its conditional, N(û_j, H_j⁻¹): approximate too, as the density is.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit

from .kernel_parts import (
    FM,
    REC,
    block_record,
    c_sig,
    corr_blocks,
    corr_from_sampler,
    corr_grad_to_sampler,
    corr_table_for,
    finish,
    fixed_prior,
    pointer_table,
    prior_records,
    tri_solve_T,
    voidptr,
)
from .kernels_marginal import _chol_inplace, _chol_solve, blockdiag_priors, build_blockdiag_L, level_chunks

__all__ = ["c_logp", "laplace_applies", "laplace_logp_grad", "pack_laplace", "z_chunks"]
META = 14
BINOMIAL, POISSON = 1, 2  # the joint kernel's family codes (logit and log links)
MAX_NEWTON = 100


def laplace_applies(spec) -> bool:
    """Binomial with the logit link or Poisson with the log link, every bar on one grouping factor."""
    if not spec.blocks or (spec.family, spec.link) not in (("binomial", "logit"), ("bernoulli", "logit"),
                                                           ("poisson", "log")):
        return False
    b0 = spec.blocks[0]
    return all(b.group == b0.group and b.J == b0.J and np.array_equal(b.g, b0.g) for b in spec.blocks[1:])


@njit(cache=True, fastmath=FM)
def _rows(fam, lo, hi, u, q, eta0, ZL, y, tr, d, w, w1, g, H):
    """f(u) of one level (rows lo … hi − 1 at their positions in the level's arrays); writes ℓ', W and W' of every
    row into d, w, w1, the gradient ∇_u f into g and H = I + Σ w ZL ZLᵀ."""
    f = 0.0
    for a in range(q):
        f -= 0.5 * u[a] * u[a]
        g[a] = -u[a]
        for b in range(q):
            H[a, b] = 1.0 if a == b else 0.0
    for i in range(hi - lo):
        r = lo + i
        e = eta0[i]
        for a in range(q):
            e += ZL[i, a] * u[a]
        if fam == BINOMIAL:
            t = math.exp(-abs(e))
            sp = (e if e > 0.0 else 0.0) + math.log1p(t)
            mu = 1.0 / (1.0 + t) if e > 0.0 else t / (1.0 + t)
            f += y[r] * e - tr[r] * sp
            d[i] = y[r] - tr[r] * mu
            w[i] = tr[r] * mu * (1.0 - mu)
            w1[i] = w[i] * (1.0 - 2.0 * mu)
        else:
            mu = math.exp(e)
            f += y[r] * e - mu
            d[i] = y[r] - mu
            w[i] = mu
            w1[i] = mu
        for a in range(q):
            g[a] += d[i] * ZL[i, a]
            for b in range(a + 1):
                H[a, b] += w[i] * ZL[i, a] * ZL[i, b]
    for a in range(q):
        for b in range(a + 1, q):
            H[a, b] = H[b, a]
    return f


@njit(cache=True, fastmath=FM)
def _level_mode(fam, lo, hi, q, eta0, ZL, y, tr, u, d, w, w1, g, H, delta, u0):
    """û of one level by damped Newton from 0; on return u = û, d, w, w1 and g hold the values at û and H the
    Cholesky factor of H(û).  Returns f(û) (−inf when the mode or the factor cannot be found).

    Once the Newton decrement gᵀH⁻¹g is below 1e-16 (1 + |f|) one more step is taken (quadratic convergence: û
    then to about 1e-13), since log det H, unlike f, is not stationary at û and inherits û's error."""
    for a in range(q):
        u[a] = 0.0
    f = _rows(fam, lo, hi, u, q, eta0, ZL, y, tr, d, w, w1, g, H)
    for _ in range(MAX_NEWTON):
        if not math.isfinite(f) or not _chol_inplace(H, q):
            return -math.inf
        _chol_solve(H, g, delta, q)
        dec = 0.0
        for a in range(q):
            dec += g[a] * delta[a]
        last = dec <= 1e-16 * (1.0 + abs(f))
        for a in range(q):
            u0[a] = u[a]
        t = 1.0
        while True:
            for a in range(q):
                u[a] = u0[a] + t * delta[a]
            fn = _rows(fam, lo, hi, u, q, eta0, ZL, y, tr, d, w, w1, g, H)
            if fn >= f - 1e-12 * abs(f) or t < 1e-8:
                break
            t *= 0.5
        f = fn
        if last or t < 1e-8:  # converged, or no ascent left at rounding level
            break
    if not math.isfinite(f) or not _chol_inplace(H, q):
        return -math.inf
    return f


@njit(cache=True, fastmath=FM)
def _level_prepare(lo, hi, x, p, q, L, X, Z, off, eta0, ZL):
    """η without the random effects and ZL_i = Lᵀ z_i for the rows of one level."""
    for i in range(hi - lo):
        r = lo + i
        e = off[r]
        for c in range(p):
            e += X[r, c] * x[c]
        eta0[i] = e
        for a in range(q):
            s = 0.0
            for t in range(a, q):
                s += L[t, a] * Z[r, t]
            ZL[i, a] = s


@njit(cache=True, fastmath=FM)
def laplace_logp_grad(x, grad, ints, fl, y, X, Z, off, tr, ptr):
    """Laplace-approximated log density at ``[β, L packed]``; its gradient into ``grad``.

    ``ints = [ndim, p, q, J, K, q_1, …, q_K, family code, most rows of a level]``; ``fl = [β records, K block
    records, log-likelihood constant]``; the rows sorted by level, level j's at ``ptr[j] … ptr[j + 1] − 1``.
    """
    ndim, p, q, J, K = ints[0], ints[1], ints[2], ints[3], ints[4]
    fam, nmax = ints[5 + K], ints[6 + K]
    for i in range(ndim):
        grad[i] = 0.0
    L = np.empty((q, q))
    build_blockdiag_L(x, p, ints, L)
    lp = fixed_prior(x, grad, fl, p)
    fb = REC * p
    ft = fb
    for k in range(K):
        ft += 2 + REC * ints[5 + k]
    lp += fl[ft]
    eta0, d, w, w1 = np.empty(nmax), np.empty(nmax), np.empty(nmax), np.empty(nmax)
    ZL, MZ = np.empty((nmax, q)), np.empty((nmax, q))
    V = np.empty((11, q))
    u, g, delta, u0, col, e_, v, r_, s, cz, alv = V[0], V[1], V[2], V[3], V[4], V[5], V[6], V[7], V[8], V[9], V[10]
    H, M, ALM = np.empty((q, q)), np.empty((q, q)), np.empty((q, q))
    gL = np.zeros((q, q))
    gbeta = np.zeros(p)
    for j in range(J):
        lo, hi = ptr[j], ptr[j + 1]
        _level_prepare(lo, hi, x, p, q, L, X, Z, off, eta0, ZL)
        f = _level_mode(fam, lo, hi, q, eta0, ZL, y, tr, u, d, w, w1, g, H, delta, u0)
        if not math.isfinite(f):
            return -math.inf
        ld = 0.0
        for a in range(q):
            ld += 2.0 * math.log(H[a, a])
            for b in range(q):
                e_[b] = 1.0 if a == b else 0.0
            _chol_solve(H, e_, col, q)
            for b in range(q):
                M[b, a] = col[b]
        lp += f - 0.5 * ld
        for a in range(q):
            r_[a] = 0.0
            s[a] = 0.0
            cz[a] = 0.0
            alv[a] = 0.0
            for b in range(q):
                ALM[a, b] = 0.0
        for i in range(hi - lo):
            h = 0.0
            for a in range(q):
                m = 0.0
                for b in range(q):
                    m += M[a, b] * ZL[i, b]
                MZ[i, a] = m
                h += ZL[i, a] * m
            c = -0.5 * w1[i] * h
            for a in range(q):
                r_[a] += c * ZL[i, a]
                za = Z[lo + i, a]
                s[a] += d[i] * za
                cz[a] += c * za
                for b in range(q):
                    ALM[a, b] += w[i] * za * MZ[i, b]
            w1[i] = c  # c_i from here on
        for a in range(q):
            m = 0.0
            for b in range(q):
                m += M[a, b] * r_[b]
            v[a] = m
        for i in range(hi - lo):
            zlv = 0.0
            for a in range(q):
                zlv += ZL[i, a] * v[a]
            k_i = d[i] + w1[i] - w[i] * zlv
            for a in range(q):
                alv[a] += w[i] * Z[lo + i, a] * zlv
            for c_ in range(p):
                gbeta[c_] += k_i * X[lo + i, c_]
        for a in range(q):
            for b in range(a + 1):
                gL[a, b] += (s[a] + cz[a] - alv[a]) * u[b] - ALM[a, b] + v[b] * s[a]
    for c_ in range(p):
        grad[c_] += gbeta[c_]
    return blockdiag_priors(lp, L, gL, ints, fl, fb, grad, p)


@njit(cache=True, fastmath=FM, nogil=True)
def draw_z(Xu, E, ints, y, X, Z, off, tr, ptr):
    """z_j ~ N(û_j, H_j⁻¹) per draw (``Xu`` (S, ndim) in PyMC's coordinates, ``E`` (S, J, q) N(0, 1))."""
    p, q, J, K = ints[1], ints[2], ints[3], ints[4]
    fam, nmax = ints[5 + K], ints[6 + K]
    S = Xu.shape[0]
    out = np.empty((S, J, q))
    L = np.empty((q, q))
    eta0, d, w, w1 = np.empty(nmax), np.empty(nmax), np.empty(nmax), np.empty(nmax)
    ZL = np.empty((nmax, q))
    V = np.empty((5, q))
    u, g, delta, u0, vv = V[0], V[1], V[2], V[3], V[4]
    H = np.empty((q, q))
    for sidx in range(S):
        x = Xu[sidx]
        build_blockdiag_L(x, p, ints, L)
        for j in range(J):
            lo, hi = ptr[j], ptr[j + 1]
            _level_prepare(lo, hi, x, p, q, L, X, Z, off, eta0, ZL)
            f = _level_mode(fam, lo, hi, q, eta0, ZL, y, tr, u, d, w, w1, g, H, delta, u0)
            if not math.isfinite(f):
                for a in range(q):
                    out[sidx, j, a] = math.nan
                continue
            tri_solve_T(H, E[sidx, j], vv, q)
            for a in range(q):
                out[sidx, j, a] = u[a] + vv[a]
    return out


@njit(cache=True)
def _unpack(user_data):
    meta = numba.carray(user_data, (META,), np.int64)
    ints = numba.carray(voidptr(meta[0]), (meta[1],), np.int64)
    fl = numba.carray(voidptr(meta[2]), (meta[3],), np.float64)
    n, p, q, J = meta[10], ints[1], ints[2], ints[3]
    y = numba.carray(voidptr(meta[4]), (n,), np.float64)
    X = numba.carray(voidptr(meta[5]), (n, p), np.float64)
    Z = numba.carray(voidptr(meta[6]), (n, q), np.float64)
    off = numba.carray(voidptr(meta[7]), (n,), np.float64)
    tr = numba.carray(voidptr(meta[8]), (n,), np.float64)
    ptr = numba.carray(voidptr(meta[9]), (J + 1,), np.int64)
    return ints, fl, y, X, Z, off, tr, ptr


@numba.cfunc(c_sig, cache=True, error_model="numpy")
def c_logp(dim, x_, out_, logp_, user_data):
    """nutpie's logp function of the Laplace-approximated marginal model."""
    ints, fl, y, X, Z, off, tr, ptr = _unpack(user_data)
    if dim != ints[0]:
        return -1
    meta = numba.carray(user_data, (META,), np.int64)
    cb = corr_blocks(meta[11], meta[12])
    xs = numba.carray(x_, (dim,))
    out = numba.carray(out_, (dim,))
    x = np.empty(dim)
    val = corr_from_sampler(xs, x, cb) + laplace_logp_grad(x, out, ints, fl, y, X, Z, off, tr, ptr)
    corr_grad_to_sampler(xs, x, out, cb)
    return finish(val, out, logp_)


def pack_laplace(spec, corr: bool = True) -> tuple[dict, int]:
    """The rows of ``spec`` sorted by level, and its prior records, for :func:`laplace_logp_grad`; ``corr``:
    :func:`c_logp` takes the scale × direction coordinates of :func:`.kernel_parts.corr_from_sampler`.

    Newton starts from 0 in every call.  Starting from the frequentist conditional modes (fixed, so still
    reproducible) saved 8% of the CPU time on Contraception and failed where a posterior L differs much from
    the fit's: with Poisson slopes on a wide covariate the start lands where exp(η) ≈ 1e30 and H is singular
    in floating point."""
    from .families import fam_code
    from .kernels import loglik_constant

    blocks = spec.blocks
    g = blocks[0].g
    order = np.argsort(g, kind="stable")
    J = blocks[0].J
    ptr = np.zeros(J + 1, np.int64)
    ptr[1:] = np.cumsum(np.bincount(g, minlength=J))
    Z = np.hstack([b.Z for b in blocks])
    p, q = spec.X.shape[1], Z.shape[1]
    ndim = p + sum(b.m for b in blocks)
    fl = prior_records(spec.beta_priors)
    for b in blocks:
        fl += block_record(b)
    fl.append(loglik_constant(spec))
    nmax = int(np.max(np.diff(ptr))) if J else 0
    ints = np.array([ndim, p, q, J, len(blocks), *[b.q for b in blocks], fam_code(spec.family, spec.link), nmax],
                    np.int64)
    d = dict(ints=ints, fl=np.asarray(fl, float), y=np.ascontiguousarray(spec.y[order], float),
             X=np.ascontiguousarray(spec.X[order], float), Z=np.ascontiguousarray(Z[order], float),
             off=np.ascontiguousarray(spec.offset[order], float),
             tr=np.ascontiguousarray(np.broadcast_to(spec.trials, (spec.n,))[order], float), ptr=ptr,
             cb=corr_table_for(spec) if corr else np.zeros(1, np.int64))
    d["meta"] = pointer_table(d["ints"], len(ints), d["fl"], len(d["fl"]), d["y"], d["X"], d["Z"], d["off"], d["tr"],
                              d["ptr"], spec.n, d["cb"], len(d["cb"]), 0)
    return d, ndim


def laplace_args(d: dict) -> tuple:
    """Arguments of :func:`laplace_logp_grad` after ``x`` and ``grad``."""
    return tuple(d[k] for k in ("ints", "fl", "y", "X", "Z", "off", "tr", "ptr"))


def z_chunks(spec, Xm: np.ndarray, d: dict, seed: int, chunk: int = 256):
    """Draws of z from the Laplace approximation of their conditional, ``chunk`` draws at a time: yields
    ``(chain, draw slice, Z (S, Q))`` with Z block-major (block k's levels, each its q_k terms)."""
    args = tuple(d[k] for k in ("ints", "y", "X", "Z", "off", "tr", "ptr"))
    yield from level_chunks(spec, Xm, int(d["ints"][2]), seed, chunk, lambda X, E: draw_z(X, E, *args))
