"""The response families of the Bayesian engine, in numpy: codes, parameters, densities, draws, means.

The compiled joint kernel (:mod:`.kernels`, with :mod:`.family_kernels`) and the mirror PyMC model
(:mod:`.pymc_model`) evaluate the log density while sampling; this module gives the same densities
row by row over posterior draws (the ``log_likelihood`` group for LOO), the expected response, the
variance, replicated responses (posterior predictive), and the information weights the centring
rule (:func:`.spec.choose_centring`) uses.

Families and their own parameters (names as brms / PyMC name them)::

    gaussian          y ~ Normal(μ, σ/√w)                      sigma
    binomial          y ~ Binomial(N, μ), logit / probit / cloglog
    bernoulli         y ~ Bernoulli(μ)
    poisson           y ~ Poisson(μ)
    negbinomial       y ~ NegBinomial(μ, shape)                shape
    student           y ~ StudentT(ν, μ, σ)                    sigma, nu
    lognormal         log y ~ Normal(η, σ)                     sigma
    gamma             y ~ Gamma(shape, rate = shape/μ)         shape
    inverse_gaussian  y ~ InverseGaussian(μ, λ = shape)        shape
    beta              y ~ Beta(μφ, (1 − μ)φ)                   phi
    cumulative        P(y ≤ k) = F(c_k − η), thresholds c      (thresholds: class ``Intercept``)

with μ = g⁻¹(η) for the family's link g (:func:`hierlm.family`).

Examples
--------
>>> fam_code("binomial", "probit"), fam_code("student", "identity"), aux_names("student")
(4, 5, ('sigma', 'nu'))
>>> ll = pointwise("gamma", "log", np.array([2.0]), np.ones(1), np.array([[np.log(2.0)]]), {"shape": np.array([3.0])})
>>> round(float(ll[0, 0]), 6)  # scipy.stats.gamma(3, scale=2/3).logpdf(2)
-1.090457
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, gammaln, log_ndtr, ndtr, polygamma

__all__ = ["AUX", "EXTRA", "FAMILY_CODES", "LINK_CODES", "aux_names", "category_probabilities", "expected",
           "fam_code", "info_weights", "link_code", "mean_link", "pointwise", "replicate", "variance"]

FAMILY_CODES = {"gaussian": 0, "binomial": 1, "bernoulli": 1, "poisson": 2, "negbinomial": 3, "student": 5,
                "lognormal": 6, "gamma": 7, "inverse_gaussian": 8, "beta": 9, "cumulative": 10}
LINK_CODES = {"identity": 0, "log": 1, "logit": 2, "probit": 3, "cloglog": 4, "inverse": 5, "1/mu^2": 6}
#: the family's own parameters, in the sampler's order (all positive, sampled on the log scale)
AUX = {"gaussian": ("sigma",), "negbinomial": ("shape",), "student": ("sigma", "nu"), "lognormal": ("sigma",),
       "gamma": ("shape",), "inverse_gaussian": ("shape",), "beta": ("phi",)}
#: families whose likelihood the kernel takes from :mod:`.family_kernels`
EXTRA = ("student", "lognormal", "gamma", "inverse_gaussian", "beta", "cumulative")


def fam_code(family: str, link: str) -> int:
    """The joint kernel's family code (binomial / Bernoulli with a probit or cloglog link: 4)."""
    if family in ("binomial", "bernoulli") and link not in ("logit", ""):
        return 4
    return FAMILY_CODES[family]


def link_code(link: str) -> int:
    """The kernel's code of a link."""
    return LINK_CODES.get(link, 0)


def aux_names(family: str) -> tuple[str, ...]:
    """Names of the family's own positive parameters (``("sigma", "nu")`` for student)."""
    return AUX.get(family, ())


def uses_extra(family: str, link: str) -> bool:
    """Whether the joint kernel takes this family's likelihood from :mod:`.family_kernels`."""
    return fam_code(family, link) >= 4


# -- links in numpy (unclamped, for densities) -------------------------------------------------------------
def mean_link(link: str, eta: np.ndarray) -> np.ndarray:
    """μ = g⁻¹(η) without R's clamping."""
    eta = np.asarray(eta, float)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if link == "identity":
            return eta
        if link == "log":
            return np.exp(eta)
        if link == "inverse":
            return 1.0 / eta
        if link == "1/mu^2":
            return np.where(eta > 0, 1.0 / np.sqrt(np.where(eta > 0, eta, 1.0)), np.nan)
        if link == "logit":
            return expit(eta)
        if link == "probit":
            return ndtr(eta)
        return -np.expm1(-np.exp(eta))


def _log_unit(link: str, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log μ and log(1 − μ) for the links into (0, 1), accurate in the tails."""
    with np.errstate(over="ignore", divide="ignore"):
        if link == "logit":
            return -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta)
        if link == "probit":
            return log_ndtr(eta), log_ndtr(-eta)
        t = np.exp(eta)
        return np.where(t < 1e-8, eta - 0.5 * t, np.log(-np.expm1(-t))), -t


def _latent_lcdf(link: str, x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -x) if link == "logit" else log_ndtr(x)


def _log1mexp(z: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.where(z > -np.log(2.0), np.log(-np.expm1(np.minimum(z, -1e-300))), np.log1p(-np.exp(z)))


def _cumulative_logp(link: str, y: np.ndarray, eta: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """log P(Y = y) with P(Y ≤ k) = F(c_k − η); eta (S, n), cuts (S, K − 1)."""
    K1 = cuts.shape[-1]
    k = np.asarray(y, int)
    big = np.full(cuts.shape[:-1] + (1,), np.inf)
    ext = np.concatenate([-big, cuts, big], axis=-1)  # c_{-1} = −∞, c_{K−1} = +∞
    a = np.take_along_axis(ext, np.broadcast_to(k + 1, eta.shape), axis=-1) - eta
    b = np.take_along_axis(ext, np.broadcast_to(k, eta.shape), axis=-1) - eta
    with np.errstate(invalid="ignore"):
        upper = b >= 0
        hi = np.where(upper, _latent_lcdf(link, -b), _latent_lcdf(link, a))
        lo = np.where(upper, _latent_lcdf(link, -a), _latent_lcdf(link, b))
        out = hi + _log1mexp(np.minimum(lo - hi, 0.0))
    out = np.where(k == 0, _latent_lcdf(link, a), out)
    return np.where(k == K1, _latent_lcdf(link, -b), out)


def category_probabilities(link: str, eta: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """P(Y = k) for every category: eta (..., n), cuts (..., K − 1) → (..., n, K)."""
    F = ndtr if link == "probit" else expit
    cum = F(cuts[..., None, :] - eta[..., :, None])
    shape = cum.shape[:-1] + (1,)
    cum = np.concatenate([np.zeros(shape), cum, np.ones(shape)], axis=-1)
    return np.maximum(np.diff(cum, axis=-1), 0.0)


# -- densities, means, variances, draws -----------------------------------------------------------------
def _col(aux: dict, name: str, eta: np.ndarray) -> np.ndarray:
    """A parameter's draws (S,) as a column broadcasting against η (S, n)."""
    v = np.asarray(aux[name], float)
    return v.reshape(v.shape + (1,) * (eta.ndim - v.ndim))


def pointwise(family: str, link: str, y: np.ndarray, trials: np.ndarray, eta: np.ndarray, aux: dict,
              weights: np.ndarray | None = None) -> np.ndarray:
    """Log-likelihood of every row under every draw: η (S, n) → (S, n), PyMC's densities.

    Parameters
    ----------
    family, link : str
    y : ndarray (n,)
        The response: successes (binomial), category codes 0 … K−1 (cumulative), else y.
    trials : ndarray (n,)
    eta : ndarray (S, n)
    aux : dict
        The family's parameters per draw, (S,) each (``sigma``, ``nu``, ``shape``, ``phi``), and
        ``thresholds`` (S, K − 1) for the cumulative family.
    weights : ndarray (n,), optional
        Prior weights of a Gaussian model.
    """
    y = np.asarray(y, float)
    eta = np.asarray(eta, float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if family in ("binomial", "bernoulli"):
            lm, l1m = _log_unit(link, eta)
            f = trials - y
            lchoose = gammaln(trials + 1) - gammaln(y + 1) - gammaln(f + 1)
            return lchoose + np.where(y > 0, y * lm, 0.0) + np.where(f > 0, f * l1m, 0.0)
        if family == "poisson":
            mu = np.exp(eta)
            return y * eta - mu - gammaln(y + 1)
        if family == "negbinomial":
            a = _col(aux, "shape", eta)
            lmp = np.logaddexp(eta, np.log(a))
            return gammaln(y + a) - gammaln(a) - gammaln(y + 1) + a * np.log(a) + y * eta - (y + a) * lmp
        if family == "gaussian":
            s = _col(aux, "sigma", eta)
            w = np.ones_like(y) if weights is None else weights
            return -0.5 * (np.log(2 * np.pi * s**2 / w) + w * (y - eta) ** 2 / s**2)
        if family == "lognormal":
            s = _col(aux, "sigma", eta)
            ly = np.log(y)
            return -ly - np.log(s) - 0.5 * np.log(2 * np.pi) - 0.5 * ((ly - eta) / s) ** 2
        if family == "student":
            s, nu = _col(aux, "sigma", eta), _col(aux, "nu", eta)
            z = (y - mean_link(link, eta)) / s
            return (gammaln(0.5 * (nu + 1)) - gammaln(0.5 * nu) - 0.5 * np.log(nu * np.pi) - np.log(s)
                    - 0.5 * (nu + 1) * np.log1p(z * z / nu))
        if family == "gamma":
            a = _col(aux, "shape", eta)
            mu = mean_link(link, eta)
            out = a * np.log(a / mu) - gammaln(a) + (a - 1) * np.log(y) - a * y / mu
            return np.where(mu > 0, out, -np.inf)
        if family == "inverse_gaussian":
            lam = _col(aux, "shape", eta)
            mu = mean_link(link, eta)
            out = 0.5 * np.log(lam / (2 * np.pi * y**3)) - lam * (y - mu) ** 2 / (2 * mu * mu * y)
            return np.where(mu > 0, out, -np.inf)
        if family == "beta":
            phi = _col(aux, "phi", eta)
            lm, l1m = _log_unit(link, eta)
            a, b = np.exp(lm) * phi, np.exp(l1m) * phi
            return gammaln(phi) - gammaln(a) - gammaln(b) + (a - 1) * np.log(y) + (b - 1) * np.log1p(-y)
        if family == "cumulative":
            return _cumulative_logp(link, y, eta, np.asarray(aux["thresholds"], float))
    raise ValueError(f"unknown family {family!r}")


def expected(family: str, link: str, eta: np.ndarray, aux: dict) -> np.ndarray:
    """E[y | η] per draw (brms's ``posterior_epred``): g⁻¹(η), and exp(η + σ²/2) for the lognormal.

    For the cumulative family it is the category probabilities, (S, n, K).
    """
    if family == "lognormal":
        return np.exp(eta + 0.5 * _col(aux, "sigma", eta) ** 2)
    if family == "cumulative":
        return category_probabilities(link, eta, np.asarray(aux["thresholds"], float))
    return mean_link(link, eta)


def variance(family: str, mu: np.ndarray, aux: dict) -> np.ndarray:
    """Var(y | μ, parameters) (the Student-t's for ν > 2, infinite otherwise); μ = E[y]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if family == "gaussian":
            return np.broadcast_to(np.asarray(aux["sigma"], float) ** 2, np.shape(mu))
        if family == "student":
            nu, s = np.asarray(aux["nu"], float), np.asarray(aux["sigma"], float)
            return np.broadcast_to(np.where(nu > 2, s**2 * nu / (nu - 2), np.inf), np.shape(mu))
        if family == "lognormal":
            return mu**2 * np.expm1(np.asarray(aux["sigma"], float) ** 2)
        if family == "gamma":
            return mu**2 / aux["shape"]
        if family == "inverse_gaussian":
            return mu**3 / aux["shape"]
        if family == "beta":
            return mu * (1 - mu) / (1 + np.asarray(aux["phi"], float))
        if family == "negbinomial":
            return mu + mu**2 / aux["shape"]
        if family == "poisson":
            return mu
        if family in ("binomial", "bernoulli"):
            return mu * (1 - mu)
    raise ValueError(f"no variance function for family {family!r}")


def replicate(family: str, link: str, eta: np.ndarray, aux: dict, trials: np.ndarray, weights: np.ndarray,
              rng: np.random.Generator) -> np.ndarray:
    """One replicated response per draw of η (S, n) (category codes for the cumulative family)."""
    with np.errstate(over="ignore"):
        if family == "gaussian":
            return rng.normal(eta, _col(aux, "sigma", eta) / np.sqrt(weights))
        if family in ("binomial", "bernoulli"):
            return rng.binomial(np.round(trials).astype(np.int64), np.clip(mean_link(link, eta), 0, 1))
        if family == "poisson":
            return rng.poisson(np.exp(eta))
        if family == "negbinomial":
            phi, mu = _col(aux, "shape", eta), np.exp(eta)
            return rng.negative_binomial(phi, phi / (phi + mu))
        if family == "student":
            nu = np.broadcast_to(_col(aux, "nu", eta), eta.shape)
            return mean_link(link, eta) + _col(aux, "sigma", eta) * rng.standard_t(nu)
        if family == "lognormal":
            return np.exp(rng.normal(eta, _col(aux, "sigma", eta)))
        if family == "gamma":
            a = np.broadcast_to(_col(aux, "shape", eta), eta.shape)
            return rng.gamma(a, mean_link(link, eta) / a)
        if family == "inverse_gaussian":
            lam = np.broadcast_to(_col(aux, "shape", eta), eta.shape)
            return rng.wald(mean_link(link, eta), lam)
        if family == "beta":
            phi = _col(aux, "phi", eta)
            mu = np.clip(mean_link(link, eta), 1e-12, 1 - 1e-12)
            return rng.beta(mu * phi, (1 - mu) * phi)
        if family == "cumulative":
            P = category_probabilities(link, eta, np.asarray(aux["thresholds"], float))
            u = rng.random(eta.shape + (1,))
            return (np.cumsum(P, axis=-1)[..., :-1] < u).sum(axis=-1)
    raise ValueError(f"unknown family {family!r}")


def info_weights(family: str, link: str, eta: np.ndarray, aux: dict, trials: np.ndarray | None = None) -> np.ndarray:
    """Fisher information about η per row (the GLM working weight), for the centring rule.

    Gaussian / lognormal 1/σ², Student-t (ν + 1)/((ν + 3)σ²)·μ'², Gamma shape·μ'²/μ², inverse
    Gaussian λ·μ'²/μ³, beta φ²[ψ'(μφ) + ψ'((1 − μ)φ)]·μ'², binary N·μ'²/(μ(1 − μ)), cumulative ≈ 0.2.
    """
    eta = np.asarray(eta, float)
    h = 1e-6
    with np.errstate(all="ignore"):
        mu = mean_link(link, eta)
        dmu = (mean_link(link, eta + h) - mean_link(link, eta - h)) / (2 * h)
        if family in ("gaussian", "lognormal"):
            out = np.full_like(eta, 1.0 / aux["sigma"] ** 2)
        elif family == "student":
            nu, s = aux["nu"], aux["sigma"]
            out = (nu + 1) / ((nu + 3) * s**2) * dmu**2
        elif family == "gamma":
            out = aux["shape"] * dmu**2 / mu**2
        elif family == "inverse_gaussian":
            out = aux["shape"] * dmu**2 / mu**3
        elif family == "beta":
            phi = aux["phi"]
            out = phi**2 * (polygamma(1, mu * phi) + polygamma(1, (1 - mu) * phi)) * dmu**2
        elif family in ("binomial", "bernoulli"):
            out = (1.0 if trials is None else trials) * dmu**2 / (mu * (1 - mu))
        elif family == "poisson":
            out = mu
        elif family == "negbinomial":
            out = mu / (1 + mu / aux["shape"])
        else:
            out = np.full_like(eta, 0.2)
    return np.nan_to_num(np.asarray(out, float), nan=1.0, posinf=1e6, neginf=0.0)
