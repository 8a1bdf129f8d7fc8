"""Response families of the GLMM engines: links, variances, deviances and log-likelihoods.

A plain table of :class:`Family` objects built from numpy functions, shared by the frequentist
engine (:func:`hierlm.glmer`) and the Bayesian one; every fit carries its family as a
:class:`Family` (``fit.family``), which compares equal to its name (``fit.family == "poisson"``).  Numbers follow R's ``family`` objects
(``binomial()``, ``poisson()``, ``MASS::negative.binomial()``): the same clamping of μ, the same
deviance residuals, and log-likelihoods with the constants R includes (binomial coefficients,
``log y!``), so ``logLik``/``AIC`` agree with lme4.

The response in a family's canonical form is :mod:`hierlm.design.response`'s.

Examples
--------
>>> fam = get_family("poisson")
>>> fam.link.name, round(float(fam.link.linkinv(np.log(3.0))), 12)
('log', 3.0)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
from scipy.special import expit, gammaln, logit, xlogy

from ..errors import DataError

__all__ = ["Link", "Family", "FAMILIES", "get_family"]

_EPS = np.finfo(float).eps


@dataclass(frozen=True)
class Link:
    """A link function g with its inverse and dμ/dη (clamped as R clamps them)."""

    name: str
    linkfun: Callable[[np.ndarray], np.ndarray]
    linkinv: Callable[[np.ndarray], np.ndarray]
    mu_eta: Callable[[np.ndarray], np.ndarray]


def _logit_inv(eta):
    return np.clip(expit(eta), _EPS, 1 - _EPS)


def _logit_mu_eta(eta):
    e = np.exp(-np.abs(eta))
    return np.maximum(e / (1 + e) ** 2, _EPS)


def _log_inv(eta):
    return np.maximum(np.exp(eta), _EPS)


LINKS = {
    "logit": Link("logit", logit, _logit_inv, _logit_mu_eta),
    "log": Link("log", np.log, _log_inv, _log_inv),
    "identity": Link("identity", lambda mu: np.asarray(mu, float), lambda eta: np.asarray(eta, float),
                     lambda eta: np.ones_like(np.asarray(eta, float))),
}


@dataclass(frozen=True)
class Family:
    """An exponential-family response distribution with a link.

    Attributes
    ----------
    name : str
        hierlm's name (``"binomial"``, ``"bernoulli"``, ``"poisson"``, ``"negbinomial"``, ``"gaussian"``).
    link : Link
    theta : float or None
        Shape θ of the negative binomial (variance μ + μ²/θ).

    Examples
    --------
    >>> fam = get_family("binomial")
    >>> y, mu, wt = np.array([0.2, 1.0]), np.array([0.3, 0.9]), np.array([10.0, 1.0])
    >>> fam.deviance_residuals(y, mu, wt).round(4).tolist()
    [-0.7174, 0.459]
    """

    name: str
    link: Link
    theta: float | None = None

    def __eq__(self, other) -> bool:
        """Equal to another family with the same name, link and θ, or to its name as a string."""
        if isinstance(other, str):
            return self.name == other
        if isinstance(other, Family):
            return (self.name, self.link.name, self.theta) == (other.name, other.link.name, other.theta)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.name, self.link.name, self.theta))

    def __str__(self) -> str:
        return self.name

    # -- basics -----------------------------------------------------------------------------
    @property
    def r_name(self) -> str:
        """The family as R prints it (``Negative Binomial(2.0522)`` for glmer.nb fits)."""
        if self.name == "negbinomial":
            return f"Negative Binomial({self.theta:.5g})" if self.theta is not None else "Negative Binomial"
        return "binomial" if self.name == "bernoulli" else self.name

    @property
    def has_dispersion(self) -> bool:
        """Whether the family has a free scale parameter (σ of the Gaussian)."""
        return self.name == "gaussian"

    def with_theta(self, theta: float) -> "Family":
        """The negative binomial family at another θ."""
        return replace(self, theta=float(theta))

    def variance(self, mu: np.ndarray) -> np.ndarray:
        """Variance function V(μ)."""
        mu = np.asarray(mu, float)
        if self.name in ("binomial", "bernoulli"):
            return mu * (1 - mu)
        if self.name == "poisson":
            return mu
        if self.name == "negbinomial":
            return mu + mu * mu / self.theta
        return np.ones_like(mu)

    def mustart(self, resp: GlmResponse) -> np.ndarray:
        """R's starting values of μ (``family$initialize``)."""
        y, wt = resp.y, resp.weights
        if self.name in ("binomial", "bernoulli"):
            return (wt * y + 0.5) / (wt + 1)
        if self.name in ("poisson", "negbinomial"):
            return y + 0.1 if self.name == "poisson" else y + (y == 0) / 6
        return y.astype(float)

    # -- deviance and likelihood --------------------------------------------------------------
    def dev_resids(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> np.ndarray:
        """Squared deviance residuals (R's ``family$dev.resids``); their sum is the deviance."""
        if self.name in ("binomial", "bernoulli"):
            return 2 * wt * (xlogy(y, y / mu) + xlogy(1 - y, (1 - y) / (1 - mu)))
        if self.name == "poisson":
            return 2 * wt * (xlogy(y, y / mu) - (y - mu))
        if self.name == "negbinomial":
            th = self.theta
            return 2 * wt * (y * np.log(np.maximum(1, y) / mu) - (y + th) * np.log((y + th) / (mu + th)))
        return wt * (y - mu) ** 2

    def deviance_residuals(self, y, mu, wt) -> np.ndarray:
        """sign(y − μ) √dev_resid."""
        return np.sign(y - mu) * np.sqrt(np.maximum(self.dev_resids(y, mu, wt), 0))

    def pearson_residuals(self, y, mu, wt) -> np.ndarray:
        """(y − μ) √w / √V(μ)."""
        return (y - mu) * np.sqrt(wt) / np.sqrt(self.variance(mu))

    def loglik_obs(self, resp: GlmResponse, mu: np.ndarray, sigma: float = 1.0) -> np.ndarray:
        """Log-likelihood of every row, with R's constants (so −2 Σ is R's ``family$aic``)."""
        y, pw = resp.y, resp.prior_weights
        if self.name in ("binomial", "bernoulli"):
            n = resp.trials
            k = np.round(n * y)
            lchoose = gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
            return pw * (lchoose + xlogy(k, mu) + xlogy(n - k, 1 - mu))
        if self.name == "poisson":
            return pw * (xlogy(y, mu) - mu - gammaln(y + 1))
        if self.name == "negbinomial":
            th = self.theta
            return pw * (gammaln(y + th) - gammaln(th) - gammaln(y + 1) + th * np.log(th)
                         + xlogy(y, mu) - (y + th) * np.log(mu + th))
        return -0.5 * (np.log(2 * np.pi * sigma**2 / pw) + pw * (y - mu) ** 2 / sigma**2)

    def loglik(self, resp: GlmResponse, mu: np.ndarray, sigma: float = 1.0) -> float:
        """Total log-likelihood (rows with zero weight contribute 0)."""
        ll = self.loglik_obs(resp, mu, sigma)
        return float(np.sum(np.where(resp.weights > 0, ll, 0.0)))


FAMILIES: dict[str, Family] = {
    "binomial": Family("binomial", LINKS["logit"]),
    "bernoulli": Family("bernoulli", LINKS["logit"]),
    "poisson": Family("poisson", LINKS["log"]),
    "negbinomial": Family("negbinomial", LINKS["log"]),
    "gaussian": Family("gaussian", LINKS["identity"]),
}

_ALIASES = {"negative_binomial": "negbinomial", "negative.binomial": "negbinomial", "nb": "negbinomial",
            "negbin": "negbinomial", "normal": "gaussian", "logistic": "bernoulli"}


def get_family(family) -> Family:
    """Look a family up by name (or pass a :class:`Family` through).

    Examples
    --------
    >>> get_family("binomial").link.name
    'logit'
    """
    if isinstance(family, Family):
        return family
    if not isinstance(family, str):
        raise DataError(f"family must be one of {sorted(FAMILIES)} (a string), not {family!r}")
    key = family.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in FAMILIES:
        raise DataError(f"unknown family '{family}'; use one of {sorted(FAMILIES)}")
    return FAMILIES[key]


