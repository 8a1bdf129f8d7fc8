"""Link functions of the response families, as R's ``make.link`` (and lme4's ``glmFamily``) compute them.

Every link is a :class:`Link`: g, its inverse and dμ/dη, vectorised numpy functions clamped where R
clamps them (``binomial(link = "probit")`` keeps μ inside (ε, 1 − ε), dμ/dη ≥ ε, ...), so the working
weights of PIRLS and IRLS are R's.  :data:`LINKS` holds one instance per name (worker processes get a
link back by its name).  The names are R's: ``logit``, ``probit``, ``cloglog``, ``log``, ``identity``,
``inverse`` and ``1/mu^2`` (the inverse Gaussian's canonical link).

Examples
--------
>>> lk = LINKS["probit"]
>>> float(lk.linkinv(np.array([0.0]))[0]), round(float(lk.mu_eta(np.array([0.0]))[0]), 6)
(0.5, 0.398942)
>>> get_link("inverse_squared").name
'1/mu^2'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logit, ndtr, ndtri

from ..errors import HierlmError

__all__ = ["LINKS", "LatentDistribution", "Link", "get_link", "latent_distribution"]

_EPS = np.finfo(float).eps
_PROBIT_THRESH = -float(ndtri(_EPS))  # R: -qnorm(.Machine$double.eps) = 8.125...


@dataclass(frozen=True)
class Link:
    """A link function g with its inverse and dμ/dη (clamped as R clamps them).

    Attributes
    ----------
    name : str
        R's name of the link (``"logit"``, ``"1/mu^2"``, ...).
    linkfun, linkinv, mu_eta : callable
        η = g(μ), μ = g⁻¹(η) and dμ/dη, on numpy arrays.

    Examples
    --------
    >>> LINKS["log"].linkfun(np.array([1.0]))
    array([0.])
    """

    name: str
    linkfun: Callable[[np.ndarray], np.ndarray]
    linkinv: Callable[[np.ndarray], np.ndarray]
    mu_eta: Callable[[np.ndarray], np.ndarray]


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


# -- logit ------------------------------------------------------------------------------------------
def _logit_inv(eta):
    return np.clip(expit(eta), _EPS, 1 - _EPS)


def _logit_mu_eta(eta):
    e = np.exp(-np.abs(eta))
    return np.maximum(e / (1 + e) ** 2, _EPS)


# -- probit (R: binomial(link = "probit")) ------------------------------------------------------------
def _probit_inv(eta):
    return ndtr(np.clip(_arr(eta), -_PROBIT_THRESH, _PROBIT_THRESH))


def _probit_mu_eta(eta):
    eta = _arr(eta)
    return np.maximum(np.exp(-0.5 * eta * eta) / np.sqrt(2 * np.pi), _EPS)


# -- complementary log-log ---------------------------------------------------------------------------
def _cloglog_fun(mu):
    return np.log(-np.log1p(-_arr(mu)))


def _cloglog_inv(eta):
    with np.errstate(over="ignore"):
        return np.clip(-np.expm1(-np.exp(_arr(eta))), _EPS, 1 - _EPS)


def _cloglog_mu_eta(eta):
    e = np.exp(np.minimum(_arr(eta), 700.0))
    with np.errstate(over="ignore", under="ignore"):
        return np.maximum(e * np.exp(-e), _EPS)


# -- log, identity, inverse, 1/mu^2 --------------------------------------------------------------------
def _log_fun(mu):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(_arr(mu))


def _log_inv(eta):
    with np.errstate(over="ignore"):
        return np.maximum(np.exp(_arr(eta)), _EPS)


def _identity(x):
    return _arr(x)


def _ones(eta):
    return np.ones_like(_arr(eta))


def _inverse(x):
    with np.errstate(divide="ignore"):
        return 1.0 / _arr(x)


def _inverse_mu_eta(eta):
    with np.errstate(divide="ignore"):
        return -1.0 / _arr(eta) ** 2


def _inv_sq_fun(mu):
    with np.errstate(divide="ignore"):
        return 1.0 / _arr(mu) ** 2


def _inv_sq_inv(eta):
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 / np.sqrt(_arr(eta))


def _inv_sq_mu_eta(eta):
    with np.errstate(divide="ignore", invalid="ignore"):
        return -1.0 / (2.0 * _arr(eta) ** 1.5)


LINKS: dict[str, Link] = {
    "logit": Link("logit", logit, _logit_inv, _logit_mu_eta),
    "probit": Link("probit", ndtri, _probit_inv, _probit_mu_eta),
    "cloglog": Link("cloglog", _cloglog_fun, _cloglog_inv, _cloglog_mu_eta),
    "log": Link("log", _log_fun, _log_inv, _log_inv),
    "identity": Link("identity", _identity, _identity, _ones),
    "inverse": Link("inverse", _inverse, _inverse, _inverse_mu_eta),
    "1/mu^2": Link("1/mu^2", _inv_sq_fun, _inv_sq_inv, _inv_sq_mu_eta),
}

_LINK_ALIASES = {"inverse_squared": "1/mu^2", "inverse_square": "1/mu^2", "mu^-2": "1/mu^2", "1/mu2": "1/mu^2",
                 "complementary_log_log": "cloglog", "reciprocal": "inverse"}


def get_link(name) -> Link:
    """Look a link up by R's name (or an alias such as ``"inverse_squared"`` for ``1/mu^2``).

    Parameters
    ----------
    name : str or Link

    Returns
    -------
    Link

    Examples
    --------
    >>> get_link("cloglog").name
    'cloglog'
    """
    if isinstance(name, Link):
        return name
    if not isinstance(name, str):
        raise HierlmError(f"a link is given by its name (one of {', '.join(LINKS)}), not {name!r}")
    key = name.strip().lower().replace(" ", "")
    key = _LINK_ALIASES.get(key, key)
    if key not in LINKS:
        raise HierlmError(f"unknown link '{name}'; links are {', '.join(LINKS)}")
    return LINKS[key]


@dataclass(frozen=True)
class LatentDistribution:
    """The distribution of the latent variable of a cumulative (ordinal) model with a link.

    ``P(Y <= j) = cdf(alpha_j - eta)``; ``sf`` is ``1 - cdf`` computed without cancellation, ``pdf`` the
    density and ``dpdf`` its derivative.  Unclamped, as ``ordinal``'s ``clm`` uses them.
    """

    name: str
    cdf: Callable[[np.ndarray], np.ndarray]
    sf: Callable[[np.ndarray], np.ndarray]
    pdf: Callable[[np.ndarray], np.ndarray]
    dpdf: Callable[[np.ndarray], np.ndarray]


def _logis_pdf(x):
    e = np.exp(-np.abs(x))
    return e / (1 + e) ** 2


def _norm_pdf(x):
    return np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)


def _gumbel_cdf(x):
    with np.errstate(over="ignore"):
        return -np.expm1(-np.exp(x))


def _gumbel_sf(x):
    with np.errstate(over="ignore"):
        return np.exp(-np.exp(x))


def _gumbel_pdf(x):
    e = np.exp(np.minimum(x, 700.0))
    with np.errstate(under="ignore"):
        return e * np.exp(-e)


LATENT = {
    "logit": LatentDistribution("logit", expit, lambda x: expit(-x), _logis_pdf,
                                lambda x: _logis_pdf(x) * (expit(-x) - expit(x))),
    "probit": LatentDistribution("probit", ndtr, lambda x: ndtr(-x), _norm_pdf, lambda x: -x * _norm_pdf(x)),
    "cloglog": LatentDistribution("cloglog", _gumbel_cdf, _gumbel_sf, _gumbel_pdf,
                                  lambda x: _gumbel_pdf(x) * (1 - np.exp(np.minimum(x, 700.0)))),
}


def latent_distribution(name: str) -> LatentDistribution:
    """The latent distribution of a cumulative model's link: ``logit`` → logistic, ``probit`` → standard
    normal, ``cloglog`` → Gumbel (minimum), ``F(x) = 1 − exp(−exp(x))``.

    Examples
    --------
    >>> d = latent_distribution("logit")
    >>> float(d.cdf(np.array([0.0]))[0]), float(d.pdf(np.array([0.0]))[0])
    (0.5, 0.25)
    """
    if name not in LATENT:
        raise HierlmError(f"the link '{name}' has no latent distribution; cumulative models take "
                          f"{', '.join(LATENT)}")
    return LATENT[name]
