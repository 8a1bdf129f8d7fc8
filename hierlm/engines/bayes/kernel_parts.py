"""Pieces shared by the compiled log-density kernels (:mod:`.kernels`, :mod:`.kernels_marginal`,
:mod:`.kernels_collapsed`, :mod:`.kernels_sparse`).

Everything is ``numba.njit(cache=True)`` (in hierlm's own cache folder, :mod:`.cache`) with fastmath **off**:
fastmath gave no measurable speed and made freshly compiled and cache-loaded code differ in the last bits,
which breaks seeded reproducibility.  The sparse factorisations alone use :data:`FM_DIV` (reused reciprocals
and fused multiply-adds only; a fresh compile and a cache load give the same draws, checked bit for bit).
Data reach the C entry points through one ``void*`` pointing at an int64 table of array addresses, so no
entry point closes over Python objects and numba can cache all of them.

Prior records are 4 floats ``[code, a, b, c]`` with the codes of :data:`hierlm.engines.bayes.priors.DISTS`; the
densities are PyMC's, normalising constants included, so the kernel's log density equals the
mirror model's ``compile_logp()``.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from .cache import install

install()  # hierlm's own cache folder for every kernel module (see .cache), before any @njit(cache=True)
FM = False
#: the sparse factorisations' flags: reciprocals may be reused (x / l → x · (1 / l)) and products fused into
#: multiply-adds; NaN and infinity keep their meaning (their tests guard the factorisations).  About 1.25x on the
#: 2 × 2 nodes' factorisation (egsingle), whose divisions are its critical path.
FM_DIV = {"arcp", "contract"}
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
LOG2 = math.log(2.0)
LOG_PI = math.log(math.pi)
REC = 4  # floats per prior record

c_sig = types.int64(types.uint64, types.CPointer(types.double), types.CPointer(types.double),
                    types.CPointer(types.double), types.voidptr)
c_sig_expand = types.int64(types.uint64, types.uint64, types.CPointer(types.double),
                           types.CPointer(types.double), types.voidptr)


@intrinsic
def voidptr(typingctx, src):
    """int64 address → void* (for ``numba.carray``)."""
    sig = types.voidptr(src)

    def codegen(cgctx, builder, sig, args):
        return builder.inttoptr(args[0], cgctx.get_value_type(types.voidptr))

    return sig, codegen


@njit(cache=True, fastmath=FM)
def digamma(x):
    """ψ(x) for x > 0 (recurrence to x ≥ 10, then the asymptotic series; error < 1e-15)."""
    r = 0.0
    while x < 10.0:
        r -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    t = f * (-1.0 / 12 + f * (1.0 / 120 + f * (-1.0 / 252 + f * (1.0 / 240 + f * (-1.0 / 132
             + f * (691.0 / 32760 - f / 12.0))))))
    return r + math.log(x) - 0.5 / x + t


@njit(cache=True, fastmath=FM)
def prior_lp(fl, o, x):
    """Log density and its derivative at x of the prior record ``fl[o:o+4]``."""
    code = int(fl[o])
    a = fl[o + 1]
    b = fl[o + 2]
    c = fl[o + 3]
    if code == 0:  # normal(mu=a, sigma=b)
        z = (x - a) / b
        return -0.5 * z * z - math.log(b) - HALF_LOG_2PI, -z / b
    if code == 1 or code == 3:  # student_t(nu=a, mu=b, sigma=c) / half_student_t(nu=a, sigma=b)
        nu = a
        mu = b if code == 1 else 0.0
        s = c if code == 1 else b
        z = (x - mu) / s
        lp = (math.lgamma(0.5 * (nu + 1.0)) - math.lgamma(0.5 * nu) - 0.5 * math.log(nu * math.pi) - math.log(s)
              - 0.5 * (nu + 1.0) * math.log1p(z * z / nu))
        if code == 3:
            lp += LOG2
        return lp, -(nu + 1.0) * z / (s * (nu + z * z))
    if code == 2:  # half_normal(sigma=a)
        return LOG2 - HALF_LOG_2PI - math.log(a) - 0.5 * (x / a) ** 2, -x / (a * a)
    if code == 4:  # half_cauchy(beta=a)
        return LOG2 - LOG_PI - math.log(a) - math.log1p((x / a) ** 2), -2.0 * x / (a * a + x * x)
    if code == 5:  # exponential(lam=a)
        return math.log(a) - a * x, -a
    # gamma(alpha=a, beta=b)
    return a * math.log(b) - math.lgamma(a) + (a - 1.0) * math.log(x) - b * x, (a - 1.0) / x - b


@njit(cache=True, fastmath=FM)
def fixed_prior(x, grad, fl, p):
    """Σ_c prior_c(x_c), gradient written into grad[:p]."""
    lp = 0.0
    for c in range(p):
        v, d = prior_lp(fl, REC * c, x[c])
        lp += v
        grad[c] = d
    return lp


@njit(cache=True, fastmath=FM)
def positive_prior(x, grad, fl, o, idx):
    """Prior of a positive scalar stored as log(value) at x[idx], Jacobian included; adds to grad."""
    ls = x[idx]
    s = math.exp(ls)
    v, d = prior_lp(fl, o, s)
    grad[idx] += d * s + 1.0
    return v + ls


@njit(cache=True, fastmath=FM)
def build_L(x, off, q, L):
    """PyMC's packed row-major lower triangle with a log diagonal → L (q × q)."""
    idx = off
    for i in range(q):
        for j in range(q):
            L[i, j] = 0.0
        for j in range(i + 1):
            L[i, j] = math.exp(x[idx]) if j == i else x[idx]
            idx += 1


@njit(cache=True, fastmath=FM)
def lkj_prior(L, q, fl, foff, gL):
    """``pm.LKJCholeskyCov`` log density (CholeskyCovPacked Jacobian included) at L; adds dlogp/dL to gL.

    Block record at ``fl[foff:]``: ``eta, log normaliser, q prior records of the sds``.  With sd_i
    the row norms of L the density is
    Σ_i [(2η − 1 + q − i) log L_ii − (2η − 2 + q) log sd_i + log p(sd_i)] + const.
    """
    eta = fl[foff]
    dcoef = 2.0 * eta - 2.0 + q
    lp = fl[foff + 1]
    for i in range(q):
        v2 = 0.0
        for u in range(i + 1):
            v2 += L[i, u] * L[i, u]
        sd = math.sqrt(v2)
        ci = 2.0 * eta - 1.0 + q - i
        pv, pd = prior_lp(fl, foff + 2 + REC * i, sd)
        lp += ci * math.log(L[i, i]) - dcoef * math.log(sd) + pv
        for u in range(i + 1):
            gL[i, u] += (-dcoef / v2 + pd / sd) * L[i, u]
        gL[i, i] += ci / L[i, i]
    return lp


@njit(cache=True, fastmath=FM)
def chol_grad_to_x(gL, L, q, grad, xoff):
    """dlogp/dL → gradient of the packed coordinates (chain rule through exp on the diagonal)."""
    idx = xoff
    for i in range(q):
        for u in range(i + 1):
            grad[idx] = gL[i, i] * L[i, i] if u == i else gL[i, u]
            idx += 1


@njit(cache=True, fastmath=FM)
def tri_solve(L, b, boff, out, q):
    """Forward substitution: L out = b[boff : boff + q] (L lower triangular)."""
    for i in range(q):
        s = b[boff + i]
        for k in range(i):
            s -= L[i, k] * out[k]
        out[i] = s / L[i, i]


@njit(cache=True, fastmath=FM)
def tri_solve_T(L, w, out, q):
    """Back substitution: Lᵀ out = w (``out`` may be ``w``)."""
    for i in range(q - 1, -1, -1):
        s = w[i]
        for k in range(i + 1, q):
            s -= L[k, i] * out[k]
        out[i] = s / L[i, i]


@njit(cache=True, fastmath=FM)
def ranef_block_lp(x, GB, L, q, J, cent, zo, boff, grad, gL):
    """Log density of one block's random effects and its gradient, given the likelihood's gradient ``GB``
    in b.  Non-centred (``cent == 0``): z ~ N(0, I) with b = L z, so the chain rule runs through L.
    Centred: r_j ~ MvNormal(0, L Lᵀ), with v = L⁻¹ r and lp = −½ vᵀv − Σ log L_ii.  Writes the gradient in
    z (or r) into ``grad[zo:]`` and adds the gradient in L to ``gL``."""
    lp = 0.0
    if cent == 0:
        for j in range(J):
            for u in range(q):
                zu = x[zo + j * q + u]
                s = 0.0
                for t in range(u, q):
                    s += L[t, u] * GB[boff + j * q + t]
                    gL[t, u] += GB[boff + j * q + t] * zu
                grad[zo + j * q + u] = s - zu
                lp += -0.5 * zu * zu - HALF_LOG_2PI
        return lp
    wv = np.empty(q)
    v = np.empty(q)
    logdiag = 0.0
    for i in range(q):
        logdiag += math.log(L[i, i])
    for j in range(J):
        tri_solve(L, x, zo + j * q, wv, q)
        tri_solve_T(L, wv, v, q)
        for i in range(q):
            lp += -0.5 * wv[i] * wv[i] - HALF_LOG_2PI
            grad[zo + j * q + i] = GB[boff + j * q + i] - v[i]
            for u in range(i + 1):
                gL[i, u] += v[i] * wv[u]
    for i in range(q):
        gL[i, i] -= J / L[i, i]
    return lp - J * logdiag


@njit(cache=True)
def finish(val, out, logp_):
    """Store the log density; nutpie's return codes: 0 fine, 3 non-finite gradient, 4 non-finite logp."""
    logp_[0] = val
    for i in range(out.shape[0]):
        if not math.isfinite(out[i]):
            return 3
    if not math.isfinite(val):
        return 4
    return 0


@numba.cfunc(c_sig_expand, cache=True)
def c_expand(dim, expanded, x_, out_, user_data):
    """nutpie's expand function: the identity (draws are stored as the unconstrained vector)."""
    for i in range(dim):
        out_[i] = x_[i]
    return 0


def lkj_log_norm(eta: float, n: int) -> float:
    """Log normalising constant of the LKJ density on n × n correlation matrices."""
    s = (n - 1) * math.lgamma(eta + 0.5 * (n - 1))
    for k in range(1, n):
        s -= 0.5 * k * math.log(math.pi) + math.lgamma(eta + 0.5 * (n - 1 - k))
    return s


def prior_records(priors) -> list[float]:
    """Flatten Prior objects into kernel records."""
    out = []
    for pr in priors:
        out += [float(pr.kernel_code), *pr.kernel_params()]
    return out


def block_record(block) -> list[float]:
    """``[eta, LKJ log normaliser, sd prior records]`` of a block."""
    return [float(block.eta), lkj_log_norm(float(block.eta), block.q) if block.q > 1 else 0.0,
            *prior_records(block.sd_priors)]


def pointer_table(*arrays_and_ints) -> np.ndarray:
    """int64 table of array addresses (and plain integers) for the kernels' ``user_data``."""
    return np.array([a.ctypes.data if isinstance(a, np.ndarray) else int(a) for a in arrays_and_ints], np.int64)


# -- scale × direction coordinates of a covariance factor (the integrated-out routes) -----------------------
# PyMC packs a block's lower factor L row by row with a log diagonal.  When a row's scale sd_i is small its
# off-diagonal entries L_ij must shrink with it, a funnel in those coordinates.  The integrated-out routes
# sample row i of a block with q ≥ 2 as ``(y_1 … y_i, s_i)`` instead: s_i = log sd_i (the row's norm) and
# v_j = sinh(y_j) = L_ij / L_ii, so that L_row = e^{s_i} (v, 1) / √(1 + |v|²).  For q = 2 this is Stan's
# parametrisation (v = r / √(1 − r²), r = tanh y, the correlation), and in general the direction is
# unconstrained and independent of the scale.  The map's log Jacobian to the packed coordinates is
# Σ_rows [i log L_ii + Σ_j log cosh y_j] (the map (v, s) → (L_i·, log L_ii) has determinant L_ii^i).
# ``cb`` = [count, offset_1, q_1, …]: where each such block starts in the vector and its size.
def corr_table(p: int, qs, use=None) -> np.ndarray:
    """``cb`` for a vector ``[β (p), packed factors of the blocks of sizes qs, …]``: the blocks with q ≥ 2
    (and ``use[k]`` true, when given)."""
    out, off = [0], p
    for k, q in enumerate(qs):
        if q >= 2 and (use is None or use[k]):
            out += [off, q]
        off += q * (q + 1) // 2
    out[0] = (len(out) - 1) // 2
    return np.array(out, np.int64)


def corr_table_for(spec) -> np.ndarray:
    """``cb`` of a model's integrated-out layout.  A block whose terms are not all among the fixed effects
    (``(Days | Subject)`` without a fixed intercept) keeps PyMC's coordinates: its random effects then have a
    non-zero mean, and the likelihood has a straight ridge between the fixed effects and L's off-diagonal
    entries that those coordinates keep straight (sleepstudy ``0 + Days + (Days | Subject)``: min bulk ESS
    1,460–1,605 over 4 seeds in PyMC's coordinates, 156–377 in scale × direction ones)."""
    fixed = set(spec.xnames)
    return corr_table(spec.p, [b.q for b in spec.blocks], [set(b.terms) <= fixed for b in spec.blocks])


@njit(cache=True, fastmath=FM)
def _log_cosh(y):
    a = abs(y)
    return a + math.log1p(math.exp(-2.0 * a)) - LOG2


@njit(cache=True, fastmath=FM)
def corr_from_sampler(xs, x, cb):
    """Sampler coordinates ``xs`` → PyMC's packed coordinates ``x``; returns the log Jacobian."""
    for i in range(xs.shape[0]):
        x[i] = xs[i]
    jac = 0.0
    for k in range(cb[0]):
        idx = cb[1 + 2 * k]
        for i in range(cb[2 + 2 * k]):
            rho = 0.0
            for j in range(i):
                v = math.sinh(xs[idx + j])
                rho += v * v
            ld = xs[idx + i] - 0.5 * math.log1p(rho)
            lii = math.exp(ld)
            for j in range(i):
                x[idx + j] = lii * math.sinh(xs[idx + j])
                jac += _log_cosh(xs[idx + j])
            x[idx + i] = ld
            jac += i * ld
            idx += i + 1
    return jac


@njit(cache=True, fastmath=FM)
def corr_grad_to_sampler(xs, x, g, cb):
    """The gradient ``g`` in PyMC's packed coordinates → in the sampler's (in place), the log Jacobian's added."""
    for k in range(cb[0]):
        idx = cb[1 + 2 * k]
        for i in range(cb[2 + 2 * k]):
            lii = math.exp(x[idx + i])
            rho = 0.0
            gv = 0.0
            for j in range(i):
                v = math.sinh(xs[idx + j])
                rho += v * v
                gv += g[idx + j] * v
            gs = lii * gv + g[idx + i] + i
            for j in range(i):
                y = xs[idx + j]
                dv = lii * g[idx + j] - gs * math.sinh(y) / (1.0 + rho)
                g[idx + j] = dv * math.cosh(y) + math.tanh(y)
            g[idx + i] = gs
            idx += i + 1


@njit(cache=True, fastmath=FM)
def corr_to_sampler(x, cb):
    """PyMC's packed coordinates → the sampler's (a copy)."""
    xs = x.copy()
    for k in range(cb[0]):
        idx = cb[1 + 2 * k]
        for i in range(cb[2 + 2 * k]):
            lii = math.exp(x[idx + i])
            rho = 0.0
            for j in range(i):
                v = x[idx + j] / lii
                rho += v * v
                xs[idx + j] = math.asinh(v)
            xs[idx + i] = x[idx + i] + 0.5 * math.log1p(rho)
            idx += i + 1
    return xs


@njit(cache=True, fastmath=FM)
def corr_draws_from_sampler(Xs, cb):
    """Draws (S, ndim) in the sampler's coordinates → PyMC's packed coordinates."""
    out = np.empty_like(Xs)
    for s in range(Xs.shape[0]):
        corr_from_sampler(Xs[s], out[s], cb)
    return out


@njit(cache=True)
def corr_blocks(address, length):
    """The ``cb`` table at ``address`` (``length`` entries), or an empty one when ``address`` is 0."""
    if address == 0:
        return np.zeros(1, np.int64)
    return numba.carray(voidptr(address), (length,), np.int64)

