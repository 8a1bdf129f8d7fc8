"""Response families of the GLMM engines: links, variances, deviances and log-likelihoods.

A plain table of :class:`Family` objects built from numpy functions, shared by the frequentist
engine (:func:`hierlm.glmer`) and the Bayesian one.  Numbers follow R's ``family`` objects
(``binomial()``, ``poisson()``, ``MASS::negative.binomial()``): the same clamping of μ, the same
deviance residuals, and log-likelihoods with the constants R includes (binomial coefficients,
``log y!``), so ``logLik``/``AIC`` agree with lme4.

:func:`prepare_response` turns a design's response into the family's canonical form
(:class:`GlmResponse`) and rejects data the family cannot model with a :class:`~hierlm.DataError`.

Examples
--------
>>> fam = get_family("poisson")
>>> fam.link.name, round(float(fam.link.linkinv(np.log(3.0))), 12)
('log', 3.0)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
from scipy.special import expit, gammaln, logit, xlogy

from .errors import DataError, HierlmWarning

__all__ = ["Link", "Family", "GlmResponse", "FAMILIES", "get_family", "prepare_response"]

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


@dataclass
class GlmResponse:
    """A response in the family's canonical form.

    Attributes
    ----------
    y : ndarray
        Proportion of successes (binomial, Bernoulli) or the response itself (counts, Gaussian).
    trials : ndarray
        Number of trials per row (1 for Bernoulli and non-binomial families).
    prior_weights : ndarray
        Prior weights (1 unless ``weights=`` was given to a non-binomial family).
    """

    y: np.ndarray
    trials: np.ndarray
    prior_weights: np.ndarray

    @property
    def weights(self) -> np.ndarray:
        """GLM weights: prior weights × trials (R's ``weights`` after ``family$initialize``)."""
        return self.prior_weights * self.trials

    @property
    def successes(self) -> np.ndarray:
        """Successes (binomial) as whole numbers; the response for other families."""
        return np.round(self.y * self.trials)


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


# -- response checks ------------------------------------------------------------------------------
def _first_bad(rows: np.ndarray, mask: np.ndarray) -> str:
    i = int(np.flatnonzero(mask)[0])
    row = rows[i].item() if hasattr(rows[i], "item") else rows[i]
    return f"{int(mask.sum())} row(s), first at row {row!r}"


def _is_whole(x: np.ndarray) -> np.ndarray:
    return np.abs(x - np.round(x)) <= 1e-7 * np.maximum(1, np.abs(x))


def prepare_response(family, value, weights=None, rows=None, name: str = "response") -> GlmResponse:
    """Check a response against a family and put it in canonical form.

    Parameters
    ----------
    family : str or Family
    value : hierlm.design.Value or ndarray
        The evaluated response (``Design.response_value``): numbers, a two-column
        ``cbind(successes, failures)`` matrix, a logical vector or a factor.
    weights : ndarray, optional
        ``weights=``: the number of trials for a binomial proportion, prior weights otherwise.
    rows : ndarray, optional
        Row labels (for error messages).
    name : str
        The response as written in the formula (for error messages).

    Returns
    -------
    GlmResponse

    Examples
    --------
    >>> r = prepare_response("binomial", np.array([[2.0, 8.0], [1.0, 0.0]]))
    >>> r.y.tolist(), r.trials.tolist()
    ([0.2, 1.0], [10.0, 1.0])
    """
    fam = get_family(family)
    from .design import Value

    if not isinstance(value, Value):
        arr = np.asarray(value)
        kind = "mat" if arr.ndim == 2 else "lgl" if arr.dtype == bool else "num"
        value = Value(kind, arr.astype(float) if kind != "lgl" else arr)
    n = len(value.data)
    rows = np.arange(n) if rows is None else np.asarray(rows)
    w = None if weights is None else np.asarray(weights, float)
    if w is not None and (w.shape != (n,) or np.any(~np.isfinite(w)) or np.any(w < 0)):
        raise DataError("weights must be one finite, non-negative number per row")
    ones = np.ones(n)
    kind = value.kind
    if kind == "mat" and (value.data.ndim != 2 or value.data.shape[1] != 2):
        raise DataError(f"the response '{name}' has {value.data.shape[1]} columns; only "
                        "cbind(successes, failures) with two columns is supported")
    if kind == "mat" and fam.name != "binomial":
        raise DataError(f"the response '{name}' is a cbind() matrix, which is for family='binomial' "
                        f"(successes, failures); family='{fam.name}' needs one column")
    if kind == "cat" and fam.name not in ("binomial", "bernoulli"):
        raise DataError(f"the response '{name}' is a factor (levels {value.levels[:4]}); family='{fam.name}' "
                        "needs a numeric response (a factor response is for 'bernoulli' or 'binomial')")

    if fam.name in ("binomial", "bernoulli"):
        if fam.name == "bernoulli" and w is not None:
            raise DataError("family='bernoulli' takes no weights; for proportions with weights= the number of "
                            "trials use family='binomial'")
        if kind == "mat":
            s, f = value.data[:, 0], value.data[:, 1]
            for arr, what in ((s, "successes"), (f, "failures")):
                bad = arr < 0
                if bad.any():
                    hint = (" (more successes than trials? the second column of cbind() is the failures, "
                            "e.g. cbind(k, n - k))" if what == "failures" else "")
                    raise DataError(
                        f"negative {what} in the binomial response '{name}' ({_first_bad(rows, bad)}){hint}")
            if not np.all(_is_whole(s) & _is_whole(f)):
                warnings.warn(f"non-integer counts in the binomial response '{name}'", HierlmWarning, stacklevel=3)
            trials = s + f
            y = np.divide(s, trials, out=np.zeros(n), where=trials > 0)
            return GlmResponse(y, trials, ones if w is None else w)
        if kind == "cat":
            if fam.name == "bernoulli" and len(value.levels) > 2:
                raise DataError(f"the response '{name}' is a factor with {len(value.levels)} levels "
                                f"{value.levels[:5]}; family='bernoulli' needs two (the first one is failure)")
            y = (value.data != 0).astype(float)  # R: the first level is failure, every other success
        elif kind == "lgl":
            y = value.data.astype(float)
        else:
            y = np.asarray(value.data, float)
            if fam.name == "bernoulli" or w is None:
                bad = (y != 0) & (y != 1)
                if bad.any():
                    ex = y[bad][:3].tolist()
                    if fam.name == "bernoulli":
                        msg = "family='bernoulli' needs a binary response (0/1, True/False or a two-level factor)"
                    elif np.all((y >= 0) & (y <= 1)):
                        msg = "proportions need weights= (the number of trials), or use cbind(successes, failures)"
                    else:
                        msg = ("a binomial response is 0/1, a proportion with weights= the number of trials, or "
                               "cbind(successes, failures)")
                    raise DataError(f"the response '{name}' has values such as {ex} ({_first_bad(rows, bad)}); {msg}")
            else:
                bad = (y < 0) | (y > 1)
                if bad.any():
                    raise DataError(
                        f"the binomial proportion '{name}' must lie in [0, 1] (successes above trials?), got "
                        f"{y[bad][:3].tolist()} ({_first_bad(rows, bad)})")
        if w is None:
            return GlmResponse(y, ones, ones)
        if not np.all(_is_whole(w * y)):
            warnings.warn(f"non-integer number of successes (weights × '{name}') in a binomial model",
                          HierlmWarning, stacklevel=3)
        return GlmResponse(y, w, ones)

    # counts and Gaussian
    if kind == "lgl":
        y = value.data.astype(float)
    else:
        y = np.asarray(value.data, float)
    if fam.name in ("poisson", "negbinomial"):
        bad = y < 0
        if bad.any():
            raise DataError(f"negative counts in the response '{name}' ({_first_bad(rows, bad)}, e.g. "
                            f"{y[bad][0]:g}); family='{fam.name}' needs counts 0, 1, 2, ...")
        bad = ~_is_whole(y)
        if bad.any():
            raise DataError(f"non-integer counts in the response '{name}' ({_first_bad(rows, bad)}, e.g. "
                            f"{y[bad][0]:g}); family='{fam.name}' needs whole numbers (a rate goes in as "
                            "count ~ ... + offset(log(exposure)))")
    return GlmResponse(y, ones, ones if w is None else w)
