"""Joint log density + gradient of every model :func:`hierlm.blmer` fits, as one cached C function.

Model class (one compiled kernel for all of them)::

    η = offset + X β + Σ_k Σ_t Z_k[:, t] r_k[g_k, t]
    y ~ Normal(η, σ/√w) | Binomial(N, logit⁻¹ η) | Poisson(exp η) | NegBinomial(exp η, φ)
        | the families and links of :mod:`.family_kernels` (binary probit / cloglog, Student-t,
          lognormal, Gamma, inverse Gaussian, beta, cumulative), with their own parameters last
    β_c ~ prior_c (Intercept on centred columns; b)
    block k: L_k ~ LKJCholeskyCov(q_k, η_k, sd priors)   (q_k = 1: sd ~ prior, log scale)
             non-centred: z_k ~ N(0, 1), r_k = z_k L_kᵀ;   centred: r_k ~ MvNormal(0, L_k L_kᵀ)
    σ ~ prior (Gaussian), φ ~ prior (negative binomial), both on the log scale

The parameter vector is laid out as :meth:`Spec.layout` (the mirror model's ``value_vars``).  With a
hierarchical-centring shear (:mod:`.shear`) the sampler works in sheared coordinates and the C entry
point maps them to model coordinates first (unit Jacobian, so the density is unchanged).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit

from . import family_kernels as fk
from .families import fam_code, link_code
from .kernel_parts import (
    FM,
    HALF_LOG_2PI,
    REC,
    block_record,
    build_L,
    c_sig,
    chol_grad_to_x,
    digamma,
    finish,
    fixed_prior,
    lkj_prior,
    pointer_table,
    ranef_block_lp,
    positive_prior,
    prior_records,
    voidptr,
)
from .shear import shear_fwd, shear_T

__all__ = ["H_FAM", "c_logp", "gaussian_pointwise", "logp_grad", "pack"]

# header of ``ints``
H_FAM, H_N, H_P, H_K, H_NDIM, H_DISP, H_NB = range(7)
# the families of .family_kernels: link code, offset and number of their parameters in x, offset of their priors in fl
H_LINK, H_AUX, H_NAUX, H_AUXF = range(7, 11)
HDR = 12
# per block record in ``ints``
B_Q, B_J, B_CENT, B_ZOFF, B_XOFF, B_BOFF, B_ONES, B_FOFF = range(8)
BREC = 8
META = 20


@njit(cache=True, fastmath=FM)
def _logaddexp(a, b):
    return a + math.log1p(math.exp(b - a)) if a > b else b + math.log1p(math.exp(a - b))


@njit(cache=True, fastmath=FM)
def _block(ints, k):
    """q, J, centred flag, offset of L in x, offset in the stacked r, offset of z / r in x."""
    rec = HDR + BREC * k
    q = ints[rec + B_Q]
    xoff = ints[rec + B_XOFF]
    return q, ints[rec + B_J], ints[rec + B_CENT], xoff, ints[rec + B_BOFF], xoff + q * (q + 1) // 2


@njit(cache=True, fastmath=FM)
def logp_grad(x, grad, ints, fl, y, X, G, Z, off, w, tr):
    """Log density at x (model coordinates); the gradient is written into ``grad``.

    ``fl`` holds: p prior records of β, the dispersion prior record, the log-likelihood constant,
    then one record per block (:func:`.kernel_parts.block_record`) at the block's offset.
    """
    fam = ints[H_FAM]
    n = ints[H_N]
    p = ints[H_P]
    K = ints[H_K]
    nb = ints[H_NB]
    ndim = ints[H_NDIM]
    for i in range(ndim):
        grad[i] = 0.0
    lp = fixed_prior(x, grad, fl, p) + fl[REC * p + REC]

    # random effects r (model scale) of every block
    B = np.empty(nb)
    GB = np.zeros(nb)
    for k in range(K):
        q, J, cent, xoff, boff, zo = _block(ints, k)
        if cent == 1:
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

    # one pass over the rows: η, log-likelihood, dℓ/dη scattered to β and r
    gbeta = np.zeros(p)
    di = ints[H_DISP]
    ss = 0.0
    llik = 0.0
    gphi = 0.0
    inv2 = 1.0
    phi = 1.0
    lphi = 0.0
    if fam == 0:
        inv2 = math.exp(-2.0 * x[di])
    elif fam == 3:
        lphi = x[di]
        phi = math.exp(lphi)
    link, xa, na = ints[H_LINK], ints[H_AUX], ints[H_NAUX]
    par = np.zeros(fk.C0 + 4 + na)
    gpar = np.zeros(na + 1)
    if fam >= fk.FIRST_EXTRA:
        fk.aux_begin(fam, x, xa, na, par)
    for r in range(n):
        e = off[r]
        for c in range(p):
            e += X[r, c] * x[c]
        for k in range(K):
            rec = HDR + BREC * k
            boff = ints[rec + B_BOFF]
            if ints[rec + B_ONES] == 1:
                e += B[boff + G[k, r]]
            else:
                q = ints[rec + B_Q]
                zoff = ints[rec + B_ZOFF]
                base = boff + G[k, r] * q
                for t in range(q):
                    e += Z[r, zoff + t] * B[base + t]
        yr = y[r]
        if fam == 0:
            res = yr - e
            ss += w[r] * res * res
            d = w[r] * res * inv2
        elif fam == 1:
            t_ = math.exp(-abs(e))
            sp = (e if e > 0 else 0.0) + math.log1p(t_)
            mu = 1.0 / (1.0 + t_) if e > 0 else t_ / (1.0 + t_)
            llik += yr * e - tr[r] * sp
            d = yr - tr[r] * mu
        elif fam == 2:
            mu = math.exp(e)
            llik += yr * e - mu
            d = yr - mu
        elif fam >= fk.FIRST_EXTRA:
            ll_r, d = fk.row_loglik(fam, link, yr, e, tr[r], par, gpar, na)
            llik += ll_r
        else:
            lmp = _logaddexp(e, lphi)  # log(μ + φ)
            frac = math.exp(e - lmp)   # μ / (μ + φ)
            llik += math.lgamma(yr + phi) + yr * e - (yr + phi) * lmp
            d = yr - (yr + phi) * frac
            gphi += digamma(yr + phi) - lmp - (yr + phi) / math.exp(lmp)
        for c in range(p):
            gbeta[c] += X[r, c] * d
        for k in range(K):
            rec = HDR + BREC * k
            boff = ints[rec + B_BOFF]
            if ints[rec + B_ONES] == 1:
                GB[boff + G[k, r]] += d
            else:
                q = ints[rec + B_Q]
                zoff = ints[rec + B_ZOFF]
                base = boff + G[k, r] * q
                for t in range(q):
                    GB[base + t] += Z[r, zoff + t] * d
    for c in range(p):
        grad[c] += gbeta[c]
    if fam == 0:
        lp += -n * x[di] - 0.5 * ss * inv2
        grad[di] += -n + ss * inv2
    elif fam == 3:
        lp += llik + n * (phi * lphi - math.lgamma(phi))
        grad[di] += phi * (gphi + n * (lphi + 1.0 - digamma(phi)))
    else:
        lp += llik
    if fam >= fk.FIRST_EXTRA:
        lp += fk.aux_end(fam, x, grad, xa, na, fl, ints[H_AUXF], par, gpar)
    if di >= 0:
        lp += positive_prior(x, grad, fl, REC * p, di)

    # per block: density of z (or r) and of L, chain rule to the packed coordinates
    for k in range(K):
        q, J, cent, xoff, boff, zo = _block(ints, k)
        L = np.empty((q, q))
        build_L(x, xoff, q, L)
        gL = np.zeros((q, q))
        lp += ranef_block_lp(x, GB, L, q, J, cent, zo, boff, grad, gL)
        lp += lkj_prior(L, q, fl, ints[HDR + BREC * k + B_FOFF], gL)
        chol_grad_to_x(gL, L, q, grad, xoff)
    return lp


@njit(cache=True)
def _unpack(user_data):
    meta = numba.carray(user_data, (META,), np.int64)
    ints = numba.carray(voidptr(meta[0]), (meta[1],), np.int64)
    fl = numba.carray(voidptr(meta[2]), (meta[3],), np.float64)
    n, p, K, Qz = meta[11], meta[12], meta[13], meta[14]
    y = numba.carray(voidptr(meta[4]), (n,), np.float64)
    X = numba.carray(voidptr(meta[5]), (n, p), np.float64)
    G = numba.carray(voidptr(meta[6]), (K, n), np.int64)
    Z = numba.carray(voidptr(meta[7]), (n, Qz), np.float64)
    off = numba.carray(voidptr(meta[8]), (n,), np.float64)
    w = numba.carray(voidptr(meta[9]), (n,), np.float64)
    tr = numba.carray(voidptr(meta[10]), (n,), np.float64)
    sh = numba.carray(voidptr(meta[15]), (meta[16],), np.int64)
    shf = numba.carray(voidptr(meta[17]), (meta[18],), np.float64)
    return ints, fl, y, X, G, Z, off, w, tr, sh, shf


@numba.cfunc(c_sig, cache=True, error_model="numpy")
def c_logp(dim, x_, out_, logp_, user_data):
    """nutpie's logp function: sheared coordinates in, log density and gradient out."""
    ints, fl, y, X, G, Z, off, w, tr, sh, shf = _unpack(user_data)
    if dim != ints[H_NDIM]:
        return -1
    x = numba.carray(x_, (dim,))
    out = numba.carray(out_, (dim,))
    if sh[0] == 1:
        xm = np.empty(dim)
        gm = np.empty(dim)
        shear_fwd(x, xm, sh, shf)
        val = logp_grad(xm, gm, ints, fl, y, X, G, Z, off, w, tr)
        shear_T(gm, out, sh, shf, x)
    else:
        val = logp_grad(x, out, ints, fl, y, X, G, Z, off, w, tr)
    return finish(val, out, logp_)


def loglik_constant(spec) -> float:
    """The parts of the log-likelihood that do not depend on the parameters."""
    from scipy.special import gammaln

    y = spec.y
    if spec.family == "gaussian":
        return float(0.5 * np.sum(np.log(spec.weights)) - spec.n * HALF_LOG_2PI)
    if spec.family in ("binomial", "bernoulli"):
        N = spec.trials
        return float(np.sum(gammaln(N + 1) - gammaln(y + 1) - gammaln(N - y + 1)))
    if spec.family in ("poisson", "negbinomial"):
        return float(-np.sum(gammaln(y + 1)))
    return 0.0  # the families of .family_kernels: their rows carry every constant


def pack(spec, shear=None) -> tuple[dict, int]:
    """Arrays of ``spec`` in the kernel's format; ``data["meta"]`` is the ``user_data`` table.

    Parameters
    ----------
    spec : Spec
    shear : tuple of ndarray, optional
        ``(sh, shf)`` from :func:`.shear.shear_arrays`; default: no shear.

    Returns
    -------
    data : dict of ndarray
        Keep it alive while the kernel may be called.
    ndim : int
    """

    n, p = spec.X.shape
    lay, ndim = spec.layout()
    K = len(spec.blocks)
    ints = np.zeros(HDR + BREC * K, np.int64)
    disp = list(spec.disp_prior and prior_records([spec.disp_prior]) or [5.0, 1.0, 0.0, 0.0])
    fl = prior_records(spec.beta_priors) + disp + [loglik_constant(spec)]
    xoffs = {k: sl.start for _, sl, _, kind, k in lay if kind in ("sd", "chol")}
    zoff = boff = 0
    for k, b in enumerate(spec.blocks):
        ints[HDR + BREC * k: HDR + BREC * (k + 1)] = [b.q, b.J, int(b.centred), zoff, xoffs[k], boff, int(b.ones),
                                                       len(fl)]
        fl += block_record(b)
        zoff += b.q
        boff += b.J * b.q
    code = fam_code(spec.family, spec.link)
    extra = [(sl.start, sl.stop - sl.start) for _, sl, _, kind, _ in lay if kind in ("thres", "disp")]
    ints[7:11] = [link_code(spec.link), extra[0][0] if extra else ndim, sum(m for _, m in extra), len(fl)]
    fl += prior_records(spec.thres_priors + spec.aux_priors) if code >= fk.FIRST_EXTRA else []
    ints[:7] = [code, n, p, K, ndim, ndim - 1 if code < fk.FIRST_EXTRA and spec.disp_name else -1, boff]
    Zs = [b.Z for b in spec.blocks] or [np.zeros((n, 0))]
    data = dict(
        ints=ints, fl=np.asarray(fl, float), y=spec.y, X=spec.X,
        G=np.ascontiguousarray(np.stack([b.g for b in spec.blocks]) if K else np.zeros((0, n), np.int64)),
        Z=np.ascontiguousarray(np.concatenate(Zs, axis=1), dtype=float),
        off=spec.offset, w=spec.weights, tr=spec.trials)
    if shear is None:
        shear = (np.zeros(4, np.int64), np.zeros(1))
    data["sh"], data["shf"] = shear
    data["meta"] = pointer_table(
        data["ints"], len(ints), data["fl"], len(data["fl"]), data["y"], data["X"], data["G"], data["Z"], data["off"],
        data["w"], data["tr"], n, p, K, data["Z"].shape[1], data["sh"], len(data["sh"]), data["shf"],
        len(data["shf"]), 0)
    return data, ndim


def kernel_args(data: dict) -> tuple:
    """Arguments of :func:`logp_grad` after ``x`` and ``grad``."""
    return tuple(data[k] for k in ("ints", "fl", "y", "X", "G", "Z", "off", "w", "tr"))


@njit(cache=True, fastmath=FM, nogil=True)
def gaussian_pointwise(beta, R, sigma, XT, off, G, Z, zoff, qs, boff, one, y, lpw, pw, out):
    """Gaussian log-likelihood of every row for S draws (the ``log_likelihood`` group, for LOO).

    ``beta`` (S, p) with ``XT`` (p, n) the transposed X as lme4 orders it; ``R`` (S, nb) the random effects of
    all blocks stacked (block k at ``boff[k]``, level-major, ``qs[k]`` terms; ``one[k]`` = 1 when its only column
    of Z is ones), ``sigma`` (S,); ``lpw`` = log of the prior weights ``pw``.  ``out`` (S, n) receives
    −½[log(2πσ²/w) + w(y − η)²/σ²].  η is built one column (one fixed effect, one random term) at a time over
    all rows: plain loops over the rows, about 3x faster than a row-by-row loop over the columns.
    """
    S = beta.shape[0]
    p, n = XT.shape
    K = G.shape[0]
    eta = np.empty(n)
    for s in range(S):
        s2 = sigma[s] * sigma[s]
        ls = math.log(2.0 * math.pi * s2)
        for r in range(n):
            eta[r] = off[r]
        for c in range(p):
            bc = beta[s, c]
            xc = XT[c]
            for r in range(n):
                eta[r] += xc[r] * bc
        for k in range(K):
            q = qs[k]
            gk = G[k]
            Rs = R[s, boff[k]:]
            if one[k] == 1:
                for r in range(n):
                    eta[r] += Rs[gk[r]]
                continue
            for t in range(q):
                zc = zoff[k] + t
                for r in range(n):
                    eta[r] += Z[r, zc] * Rs[gk[r] * q + t]
        for r in range(n):
            d = y[r] - eta[r]
            out[s, r] = -0.5 * (ls - lpw[r] + pw[r] * d * d / s2)
