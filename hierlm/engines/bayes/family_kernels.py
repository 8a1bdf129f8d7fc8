"""Likelihood pieces of the joint kernel (:mod:`.kernels`) for the families beyond the canonical four.

:func:`.kernels.logp_grad` computes η for every row; for family codes from :data:`FIRST_EXTRA` on it
hands the row to :func:`row_loglik`, which returns the row's log-likelihood and dℓ/dη and adds
dℓ/d(parameter) of the family's own parameters into ``gpar``.  Those parameters sit after the random
effects in the sampler's vector (:meth:`~.spec.Spec.layout`): log σ, log ν, log shape, log φ, or the
ordered thresholds of a cumulative model (PyMC's ``ordered`` transform: c₀ = x₀, cᵢ = cᵢ₋₁ + exp xᵢ).
:func:`aux_begin` maps them to natural values (with cached constants such as lgamma(shape)),
:func:`aux_end` adds their priors and Jacobians and the chain rule to the unconstrained coordinates.

Densities are PyMC's, constants included, so the kernel's log density equals the mirror model's:
``Bernoulli``/``Binomial`` with a probit or cloglog p, ``StudentT(nu, mu, sigma)``,
``LogNormal(mu=η, sigma)``, ``Gamma(alpha=shape, beta=shape/μ)``, ``Wald(mu, lam=shape)``,
``Beta(alpha=μφ, beta=(1−μ)φ)``, ``OrderedLogistic`` / ``OrderedProbit``.  Tails are computed in
log space (log Φ, log(F(a) − F(b))) so extreme η gives finite densities and gradients.

Codes (:data:`FAMILY_CODES` of :mod:`.families`): 4 binary with a probit / cloglog link, 5 student,
6 lognormal, 7 gamma, 8 inverse Gaussian, 9 beta, 10 cumulative.  Link codes: 0 identity, 1 log,
2 logit, 3 probit, 4 cloglog, 5 inverse, 6 1/μ².
"""

from __future__ import annotations

import math

from numba import njit

from .kernel_parts import FM, HALF_LOG_2PI, REC, digamma, prior_lp

__all__ = ["FIRST_EXTRA", "aux_begin", "aux_end", "log_ndtr", "row_loglik"]

FIRST_EXTRA = 4
BINARY, STUDENT, LOGNORMAL, GAMMA, INVGAUSS, BETA, CUMULATIVE = 4, 5, 6, 7, 8, 9, 10
IDENTITY, LOG, LOGIT, PROBIT, CLOGLOG, INVERSE, INVSQ = 0, 1, 2, 3, 4, 5, 6
SQRT2 = math.sqrt(2.0)
NEG_INF = -math.inf
#: slots of ``par`` after the parameters themselves: cached constants
C0 = 8


# -- scalar special functions ----------------------------------------------------------------------
@njit(cache=True, fastmath=FM)
def softplus(x):
    """log(1 + eˣ) without overflow."""
    return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))


@njit(cache=True, fastmath=FM)
def log_ndtr(x):
    """log Φ(x), accurate in both tails (asymptotic series below −30)."""
    if x > 0.0:
        return math.log1p(-0.5 * math.erfc(x / SQRT2))
    if x > -30.0:
        return math.log(0.5 * math.erfc(-x / SQRT2))
    z = 1.0 / (x * x)
    s = 1.0 - z * (1.0 - z * (3.0 - z * (15.0 - 105.0 * z)))
    return -0.5 * x * x - math.log(-x) - HALF_LOG_2PI + math.log(s)


@njit(cache=True, fastmath=FM)
def log1mexp(z):
    """log(1 − eᶻ) for z < 0."""
    return math.log(-math.expm1(z)) if z > -0.6931471805599453 else math.log1p(-math.exp(z))


@njit(cache=True, fastmath=FM)
def latent_lcdf(link, x):
    """log F(x) of a cumulative model's latent distribution (logistic or standard normal)."""
    return -softplus(-x) if link == LOGIT else log_ndtr(x)


@njit(cache=True, fastmath=FM)
def latent_lpdf(link, x):
    """log f(x)."""
    if link == LOGIT:
        return -softplus(x) - softplus(-x)
    return -0.5 * x * x - HALF_LOG_2PI


# -- inverse links -------------------------------------------------------------------------------------
@njit(cache=True, fastmath=FM)
def inv_link(link, e):
    """μ and dμ/dη for the links of the continuous families (identity, log, inverse, 1/μ²)."""
    if link == IDENTITY:
        return e, 1.0
    if link == LOG:
        m = math.exp(e)
        return m, m
    if link == INVERSE:
        m = 1.0 / e
        return m, -m * m
    if e <= 0.0:  # 1/mu^2 needs η > 0
        return math.nan, math.nan
    m = 1.0 / math.sqrt(e)
    return m, -0.5 * m * m * m


@njit(cache=True, fastmath=FM)
def unit_link(link, e):
    """For μ in (0, 1): log μ, log(1 − μ), d log μ / dη and d log(1 − μ) / dη (logit, probit, cloglog)."""
    if link == LOGIT:
        lm = -softplus(-e)
        l1m = -softplus(e)
        return lm, l1m, math.exp(l1m), -math.exp(lm)
    if link == PROBIT:
        lm = log_ndtr(e)
        l1m = log_ndtr(-e)
        lphi = -0.5 * e * e - HALF_LOG_2PI
        return lm, l1m, math.exp(lphi - lm), -math.exp(lphi - l1m)
    # cloglog: μ = 1 − exp(−t), t = exp η
    t = math.exp(e) if e < 700.0 else math.inf
    if t > 700.0:
        return -math.exp(-t), -t, 0.0, -t
    if t < 1e-8:  # log μ = log t + log((1 − e⁻ᵗ)/t) = η − t/2 + t²/24 …
        return e - 0.5 * t, -t, 1.0 - 0.5 * t, -t
    return math.log(-math.expm1(-t)), -t, t / math.expm1(t), -t


# -- the family's parameters ----------------------------------------------------------------------------
@njit(cache=True, fastmath=FM)
def aux_begin(fam, x, xo, naux, par):
    """Natural values of the family's parameters (``x[xo : xo + naux]``) into ``par``, with cached constants."""
    if fam == CUMULATIVE:
        c = x[xo]
        par[0] = c
        for i in range(1, naux):
            c += math.exp(x[xo + i])
            par[i] = c
        return
    for i in range(naux):
        par[i] = math.exp(x[xo + i])
    if fam == STUDENT:
        s, nu = par[0], par[1]
        par[C0] = (math.lgamma(0.5 * (nu + 1.0)) - math.lgamma(0.5 * nu) - 0.5 * math.log(nu * math.pi)
                   - math.log(s))
        par[C0 + 1] = 0.5 * digamma(0.5 * (nu + 1.0)) - 0.5 * digamma(0.5 * nu) - 0.5 / nu
    elif fam == GAMMA or fam == BETA:
        par[C0] = math.lgamma(par[0])
        par[C0 + 1] = digamma(par[0])
        par[C0 + 2] = math.log(par[0])
    elif fam == INVGAUSS or fam == LOGNORMAL:
        par[C0] = math.log(par[0])


@njit(cache=True, fastmath=FM)
def aux_end(fam, x, grad, xo, naux, fl, fo, par, gpar):
    """Priors and Jacobians of the family's parameters, and their gradient in the sampler's coordinates."""
    lp = 0.0
    if fam == CUMULATIVE:
        tot = 0.0
        for i in range(naux - 1, -1, -1):
            v, d = prior_lp(fl, fo + REC * i, par[i])
            lp += v
            tot += gpar[i] + d
            if i > 0:
                lp += x[xo + i]
                grad[xo + i] += tot * math.exp(x[xo + i]) + 1.0
            else:
                grad[xo] += tot
        return lp
    for i in range(naux):
        v, d = prior_lp(fl, fo + REC * i, par[i])
        lp += v + x[xo + i]
        grad[xo + i] += (gpar[i] + d) * par[i] + 1.0
    return lp


# -- one row -----------------------------------------------------------------------------------------------
@njit(cache=True, fastmath=FM)
def row_loglik(fam, link, y, e, tr, par, gpar, naux):
    """Log-likelihood of one row at η = e and dℓ/dη; dℓ/d(parameters) are added into ``gpar``.

    ``y`` is the response (successes of ``tr`` trials for the binary families, the category code
    0 … K−1 for the cumulative family).
    """
    if fam == BINARY:
        lm, l1m, dlm, dl1m = unit_link(link, e)
        f = tr - y
        ll = (y * lm if y != 0.0 else 0.0) + (f * l1m if f != 0.0 else 0.0)
        return ll, y * dlm + f * dl1m
    if fam == LOGNORMAL:
        s = par[0]
        ly = math.log(y)
        r = (ly - e) / s
        gpar[0] += (r * r - 1.0) / s
        return -ly - par[C0] - HALF_LOG_2PI - 0.5 * r * r, r / s
    if fam == STUDENT:
        s, nu = par[0], par[1]
        mu, dmu = inv_link(link, e)
        z = (y - mu) / s
        z2 = z * z
        den = nu + z2
        gpar[0] += (-1.0 + (nu + 1.0) * z2 / den) / s
        gpar[1] += par[C0 + 1] - 0.5 * math.log1p(z2 / nu) + 0.5 * (nu + 1.0) * z2 / (nu * den)
        return par[C0] - 0.5 * (nu + 1.0) * math.log1p(z2 / nu), (nu + 1.0) * z / (s * den) * dmu
    if fam == GAMMA:
        a = par[0]
        mu, dmu = inv_link(link, e)
        if not mu > 0.0:
            return NEG_INF, 0.0
        lmu = e if link == LOG else math.log(mu)
        ly = math.log(y)
        q = y / mu
        gpar[0] += par[C0 + 2] + 1.0 - lmu - par[C0 + 1] + ly - q
        return a * (par[C0 + 2] - lmu) - par[C0] + (a - 1.0) * ly - a * q, a * (q - 1.0) / mu * dmu
    if fam == INVGAUSS:
        lam = par[0]
        mu, dmu = inv_link(link, e)
        if not mu > 0.0:
            return NEG_INF, 0.0
        r = y - mu
        dev = r * r / (mu * mu * y)
        gpar[0] += 0.5 / lam - 0.5 * dev
        ll = 0.5 * (par[C0] - math.log(2.0 * math.pi) - 3.0 * math.log(y)) - 0.5 * lam * dev
        return ll, lam * r / (mu * mu * mu) * dmu
    if fam == BETA:
        phi = par[0]
        lm, l1m, dlm, dl1m = unit_link(link, e)
        mu = math.exp(lm)
        m1 = math.exp(l1m)
        a = mu * phi
        b = m1 * phi
        if not (a > 0.0 and b > 0.0):
            return NEG_INF, 0.0
        ly = math.log(y)
        l1y = math.log1p(-y)
        pa = digamma(a)
        pb = digamma(b)
        ll = par[C0] - math.lgamma(a) - math.lgamma(b) + (a - 1.0) * ly + (b - 1.0) * l1y
        gpar[0] += par[C0 + 1] - mu * pa - m1 * pb + mu * ly + m1 * l1y
        # dμ/dη = μ · d log μ / dη
        return ll, phi * (-pa + pb + ly - l1y) * mu * dlm
    # cumulative: P(Y <= k) = F(c_k - η)
    k = int(y)
    if k == 0:
        a = par[0] - e
        lp = latent_lcdf(link, a)
        da = math.exp(latent_lpdf(link, a) - lp)
        gpar[0] += da
        return lp, -da
    if k == naux:
        b = par[k - 1] - e
        lp = latent_lcdf(link, -b)
        db = -math.exp(latent_lpdf(link, b) - lp)
        gpar[k - 1] += db
        return lp, -db
    a = par[k] - e
    b = par[k - 1] - e
    if b >= 0.0:  # both in the upper tail: F(a) − F(b) = S(b) − S(a)
        hi = latent_lcdf(link, -b)
        lp = hi + log1mexp(latent_lcdf(link, -a) - hi)
    else:
        hi = latent_lcdf(link, a)
        lp = hi + log1mexp(latent_lcdf(link, b) - hi)
    da = math.exp(latent_lpdf(link, a) - lp)
    db = -math.exp(latent_lpdf(link, b) - lp)
    gpar[k] += da
    gpar[k - 1] += db
    return lp, -(da + db)
