"""Models without random effects: weighted least squares (R's ``lm.wfit``) and IRLS for GLMs (R's ``glm.fit``).

Pure numerics on a model matrix ``X`` (aliased columns already dropped by the design), a response,
prior weights and an offset; the result is a plain :class:`GlmSolution`, never a fit object
(:mod:`hierlm.fits.lm` wraps it into ``LmFit`` / ``GlmFit``).

:func:`least_squares` is one weighted QR solve.  :func:`irls` is R's ``glm.fit`` step for step:
starting values from the family (``family$initialize``), one weighted QR solve per iteration on
the working response, convergence when ``|dev − devold| / (|dev| + 0.1) < epsilon`` (1e-8), and
step halving towards the previous coefficients when the deviance is not finite or μ leaves the
family's range.  As in R, the working weights, the QR factor (hence ``vcov`` and the hat values)
and the Pearson dispersion are those of the last iteration's solve.

A family plugs in through the family object (link, variance, deviance residuals, ``mustart``,
``has_dispersion``) and, where R's rules differ between families, the small tables below:
:data:`VALID_MU` (``family$validmu``) and :data:`LOGLIK` (``family$aic``; the default is
``Family.loglik``).  A new family (Gamma, inverse Gaussian) adds its entries there.

Examples
--------
>>> import numpy as np
>>> from hierlm.design import get_family, prepare_response
>>> X = np.column_stack([np.ones(6), np.arange(6.0)])
>>> y = np.array([0, 0, 1, 0, 1, 1.0])
>>> sol = irls(X, prepare_response("binomial", y), get_family("binomial"))
>>> sol.coefficients.round(4).tolist(), sol.iter, round(sol.deviance, 4)
([-3.0351, 1.214], 5, 4.956)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla

from ...design import Family, GlmResponse, get_family
from ...errors import HierlmError

__all__ = ["GlmSolution", "least_squares", "irls", "glm_loglik", "VALID_MU", "LOGLIK"]

_EPS = np.finfo(float).eps


@dataclass
class GlmSolution:
    """The fit of a model without random effects (R's ``lm`` / ``glm`` object, numbers only).

    Attributes
    ----------
    coefficients : ndarray (p,)
    vcov_unscaled : ndarray (p, p)
        ``(XᵀWX)⁻¹`` from the QR factor R (R's ``cov.unscaled``).
    dispersion : float
        Residual variance (lm: RSS / df; GLM: Pearson χ² / df for families with a free
        dispersion, 1 for binomial, Poisson and negative binomial).
    eta, mu : ndarray (n,)
        Linear predictor (offset included) and fitted mean.
    working_weights : ndarray (n,)
        IRLS weights of the last solve (0 where R's ``good`` is false); the prior weights for lm.
    working_residuals : ndarray (n,)
        ``(y − μ) / (dμ/dη)`` at the final η (R's ``glm$residuals``).
    prior_weights : ndarray (n,)
        R's ``weights``: prior weights × binomial trials.
    y : ndarray (n,)
        The response in canonical form (proportions for binomial models).
    deviance, null_deviance : float
    df_residual, df_null, rank : int
    R : ndarray (p, p)
        Upper-triangular factor of the weighted QR of X.
    Q : ndarray (n, p)
        Its orthonormal factor, one row per observation (zero rows for zero weights): the hat
        values are the row sums of squares.
    effects : ndarray (p,)
        ``Qᵀ √w z``: the first p of R's ``effects`` (sequential sums of squares).
    iter : int
        Number of IRLS iterations (0 for least squares).
    converged, boundary : bool
    intercept : bool
        Whether the model has an intercept column.
    warnings : list of str
        R's warnings of the fit (not converged, fitted probabilities 0 or 1, ...).
    """

    coefficients: np.ndarray
    vcov_unscaled: np.ndarray
    dispersion: float
    eta: np.ndarray
    mu: np.ndarray
    working_weights: np.ndarray
    working_residuals: np.ndarray
    prior_weights: np.ndarray
    y: np.ndarray
    deviance: float
    null_deviance: float
    df_residual: int
    df_null: int
    rank: int
    R: np.ndarray
    Q: np.ndarray
    effects: np.ndarray
    iter: int = 0
    converged: bool = True
    boundary: bool = False
    intercept: bool = True
    warnings: list[str] = field(default_factory=list)

    @property
    def vcov(self) -> np.ndarray:
        """Covariance of the coefficients: ``dispersion × vcov_unscaled``."""
        return self.dispersion * self.vcov_unscaled

    def hat(self) -> np.ndarray:
        """Diagonal of the hat matrix of the weighted fit (R's ``lm.influence()$hat``)."""
        h = np.einsum("ij,ij->i", self.Q, self.Q)
        h[h > 1 - 10 * _EPS] = 1.0
        return h


# -- family rules that differ between families (a new family adds its entries) ------------------------
def _binomial_mu(mu):
    return bool(np.all(np.isfinite(mu)) and np.all((mu > 0) & (mu < 1)))


def _positive_mu(mu):
    return bool(np.all(np.isfinite(mu)) and np.all(mu > 0))


#: R's ``family$validmu`` by family name (families not listed accept any finite μ)
VALID_MU = {"binomial": _binomial_mu, "bernoulli": _binomial_mu, "poisson": _positive_mu,
            "negbinomial": _positive_mu}


def _gaussian_loglik(fam: Family, resp: GlmResponse, mu: np.ndarray, deviance: float) -> float:
    """R's ``gaussian()$aic`` as a log-likelihood at σ² = deviance / n (zero weights left out)."""
    w = resp.prior_weights
    ok = w > 0
    n = int(ok.sum())
    return float(-0.5 * n * (np.log(2 * np.pi * deviance / n) + 1) + 0.5 * np.log(w[ok]).sum())


#: log-likelihood as R's ``family$aic`` / −2, by family name; the default is ``Family.loglik``
LOGLIK = {"gaussian": _gaussian_loglik}


def glm_loglik(family: Family, resp: GlmResponse, mu: np.ndarray, deviance: float) -> float:
    """Log-likelihood of a GLM at μ with R's constants (R's ``logLik.glm`` without the df).

    Examples
    --------
    >>> from hierlm.design import prepare_response
    >>> fam = get_family("poisson")
    >>> round(glm_loglik(fam, prepare_response(fam, np.array([1.0, 3.0])), np.array([2.0, 2.0]), 0.0), 4)
    -3.0192
    """
    rule = LOGLIK.get(family.name)
    return rule(family, resp, mu, deviance) if rule else family.loglik(resp, mu)


def _mustart(family: Family, resp: GlmResponse) -> np.ndarray:
    """R's ``family$initialize`` starting μ (binomial: ``(n y + 0.5) / (n + 1)`` with n the trials)."""
    if family.name in ("binomial", "bernoulli"):
        return (resp.trials * resp.y + 0.5) / (resp.trials + 1)
    return np.asarray(family.mustart(resp), float)


# -- the weighted QR solve ----------------------------------------------------------------------------
def _wls(X: np.ndarray, z: np.ndarray, sw: np.ndarray, good: np.ndarray):
    """QR of √w X on the good rows: coefficients, R, Q (all rows) and the effects Qᵀ√w z."""
    n, p = X.shape
    Xw = X[good] * sw[good, None]
    zw = z[good] * sw[good]
    if p == 0:
        return np.zeros(0), np.zeros((0, 0)), np.zeros((n, 0)), np.zeros(0)
    Qg, R = np.linalg.qr(Xw)
    d = np.abs(np.diag(R))
    if np.any(d <= 1e-7 * max(float(d.max()), 1e-300)) or not np.all(np.isfinite(R)):
        raise HierlmError("the weighted model matrix is rank deficient (a column is a combination of others "
                          "once the weights are applied, or every weight of a level is 0); drop that column")
    eff = Qg.T @ zw
    coef = sla.solve_triangular(R, eff)
    Q = np.zeros((n, p))
    Q[good] = Qg
    return coef, R, Q, eff


def _unscaled(R: np.ndarray) -> np.ndarray:
    if R.shape[0] == 0:
        return np.zeros((0, 0))
    Rinv = sla.solve_triangular(R, np.eye(R.shape[0]))
    return Rinv @ Rinv.T


def _has_intercept(xnames) -> bool:
    return xnames is not None and "(Intercept)" in list(xnames)


def least_squares(X: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None,
                  offset: np.ndarray | None = None, xnames=None) -> GlmSolution:
    """Weighted least squares by QR, as R's ``lm.wfit`` (zero weights are left out of the fit).

    Parameters
    ----------
    X : ndarray (n, p)
        Model matrix of full column rank.
    y : ndarray (n,)
    weights : ndarray (n,), optional
        Prior weights (non-negative).
    offset : ndarray (n,), optional
    xnames : list of str, optional
        Column names (an ``(Intercept)`` column makes the null deviance the one about the weighted mean).

    Returns
    -------
    GlmSolution
        ``dispersion`` is RSS / df (σ²), ``deviance`` the weighted RSS.

    Examples
    --------
    >>> X = np.column_stack([np.ones(4), [1.0, 2.0, 3.0, 4.0]])
    >>> sol = least_squares(X, np.array([2.0, 3.0, 2.0, 6.0]), xnames=["(Intercept)", "x"])
    >>> sol.coefficients.round(3).tolist(), round(sol.deviance, 3), sol.df_residual
    ([0.5, 1.1], 4.7, 2)
    """
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    n, p = X.shape
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    off = np.zeros(n) if offset is None else np.asarray(offset, float)
    good = w > 0
    sw = np.sqrt(w)
    coef, R, Q, eff = _wls(X, y - off, sw, good)
    eta = X @ coef + off
    res = y - eta
    rss = float(np.sum(w * res**2))
    n_ok = int(good.sum())
    df = n_ok - p
    intercept = _has_intercept(xnames)
    ybar = float(np.sum(w * y) / np.sum(w)) if intercept else off
    null = float(np.sum(w * (y - ybar) ** 2))
    return GlmSolution(
        coefficients=coef, vcov_unscaled=_unscaled(R), dispersion=rss / df if df > 0 else np.nan, eta=eta,
        mu=eta.copy(), working_weights=w, working_residuals=res, prior_weights=w, y=y, deviance=rss,
        null_deviance=null, df_residual=df, df_null=n_ok - int(intercept), rank=p, R=R, Q=Q, effects=eff,
        intercept=intercept,
    )


def irls(X: np.ndarray, resp: GlmResponse, family: Family | str, offset: np.ndarray | None = None,
         xnames=None, mustart: np.ndarray | None = None, maxit: int = 25, epsilon: float = 1e-8,
         null_deviance: bool = True) -> GlmSolution:
    """Fit a GLM by iteratively reweighted least squares, as R's ``glm.fit`` (and ``glm``'s null deviance).

    Parameters
    ----------
    X : ndarray (n, p)
        Model matrix of full column rank.
    resp : GlmResponse
        The response in the family's canonical form (:func:`hierlm.design.prepare_response`).
    family : Family or str
    offset : ndarray (n,), optional
    xnames : list of str, optional
        Column names; an ``(Intercept)`` column gives R's null deviance about the weighted mean
        (refitted with the offset when there is one, as ``glm`` does).
    mustart : ndarray, optional
        Starting μ (default: the family's, R's ``family$initialize``).
    maxit : int, default 25
    epsilon : float, default 1e-8
        Convergence when ``|dev − devold| / (|dev| + 0.1) < epsilon`` (R's ``glm.control``).
    null_deviance : bool, default True
        Compute the null deviance (an extra fit for models with an intercept and an offset).

    Returns
    -------
    GlmSolution

    Examples
    --------
    >>> from hierlm.design import prepare_response
    >>> X = np.column_stack([np.ones(5), [0.0, 1, 2, 3, 4]])
    >>> sol = irls(X, prepare_response("poisson", np.array([1.0, 2, 2, 5, 9])), "poisson")
    >>> sol.coefficients.round(4).tolist(), sol.iter, sol.converged
    ([-0.0979, 0.5661], 4, True)
    """
    fam = get_family(family)
    X = np.asarray(X, float)
    n, p = X.shape
    off = np.zeros(n) if offset is None else np.asarray(offset, float)
    y, wts = resp.y, resp.weights
    link = fam.link
    valid = VALID_MU.get(fam.name, lambda mu: bool(np.all(np.isfinite(mu))))
    notes: list[str] = []

    def dev_of(mu):
        return float(np.sum(fam.dev_resids(y, mu, wts)))

    if p == 0:  # R's EMPTY model: η is the offset
        eta = off.copy()
        mu = link.linkinv(eta)
        me = link.mu_eta(eta)
        good = wts > 0
        ww = np.where(good, wts * me**2 / fam.variance(mu), 0.0)
        coef, R, Q, eff = np.zeros(0), np.zeros((0, 0)), np.zeros((n, 0)), np.zeros(0)
        it, conv, boundary = 0, True, False
    else:
        mu = _mustart(fam, resp) if mustart is None else np.asarray(mustart, float)
        eta = link.linkfun(mu)
        mu = link.linkinv(eta)
        devold = dev_of(mu)
        coefold = None
        conv = boundary = False
        start = np.zeros(p)
        for it in range(1, maxit + 1):
            me = link.mu_eta(eta)
            var = fam.variance(mu)
            if np.any(~np.isfinite(var[wts > 0])) or np.any(var[wts > 0] == 0):
                raise HierlmError(f"the variance function of family='{fam.name}' is 0 or not finite at the fitted "
                                  f"means (iteration {it}); the model cannot be fitted by IRLS")
            good = (wts > 0) & (me != 0)
            if not good.any():
                raise HierlmError(f"no observation is informative at IRLS iteration {it} (every weight or dμ/dη is 0)")
            z = eta - off + (y - mu) / np.where(good, me, 1.0)
            sw = np.zeros(n)
            sw[good] = np.sqrt(wts[good] * me[good] ** 2 / var[good])
            coef, R, Q, eff = _wls(X, z, sw, good)
            if not np.all(np.isfinite(coef)):
                raise HierlmError(f"non-finite coefficients at IRLS iteration {it}; the model cannot be fitted")
            start = coef
            eta = X @ start + off
            mu = link.linkinv(eta)
            dev = dev_of(mu)
            boundary = False
            if not np.isfinite(dev) or not valid(mu):
                if coefold is None:
                    raise HierlmError("no valid set of coefficients has been found (the first IRLS step leaves the "
                                      f"range of family='{fam.name}'); check the response and the model")
                notes.append("step size truncated due to divergence" if not np.isfinite(dev)
                             else "step size truncated: out of bounds")
                for _ in range(maxit):
                    start = (start + coefold) / 2
                    eta = X @ start + off
                    mu = link.linkinv(eta)
                    dev = dev_of(mu)
                    if np.isfinite(dev) and valid(mu):
                        break
                else:
                    raise HierlmError("IRLS could not correct the step size (inner loop); the model cannot be fitted")
                boundary = True
            if abs(dev - devold) / (abs(dev) + 0.1) < epsilon:
                conv = True
                break
            devold = dev
            coefold = start.copy()
        coef = start
        ww = sw**2
        if not conv:
            notes.append("glm.fit: algorithm did not converge")
    eps10 = 10 * _EPS
    if fam.name in ("binomial", "bernoulli") and (np.any(mu > 1 - eps10) or np.any(mu < eps10)):
        notes.append("glm.fit: fitted probabilities numerically 0 or 1 occurred")
    if fam.name == "poisson" and np.any(mu < eps10):
        notes.append("glm.fit: fitted rates numerically 0 occurred")
    dev = dev_of(mu)
    wres = (y - mu) / link.mu_eta(eta)
    intercept = _has_intercept(xnames)
    n_ok = int(np.sum(wts > 0))
    df = n_ok - p
    if fam.has_dispersion:
        pos = ww > 0
        dispersion = float(np.sum(ww[pos] * wres[pos] ** 2) / df) if df > 0 else np.nan
    else:
        dispersion = 1.0
    null = np.nan
    if null_deviance:
        if not intercept:
            null = dev_of(link.linkinv(off))
        elif np.any(off != 0):  # glm(): refit the intercept-only model with the offset
            null = irls(np.ones((n, 1)), resp, fam, off, xnames=["(Intercept)"], mustart=mu, maxit=maxit,
                        epsilon=epsilon, null_deviance=False).deviance
        else:
            null = dev_of(np.full(n, np.sum(wts * y) / np.sum(wts)))
    return GlmSolution(
        coefficients=np.asarray(coef, float), vcov_unscaled=_unscaled(R), dispersion=dispersion, eta=eta, mu=mu,
        working_weights=ww, working_residuals=wres, prior_weights=wts, y=y, deviance=dev, null_deviance=float(null),
        df_residual=df, df_null=n_ok - int(intercept), rank=p, R=R, Q=Q, effects=eff, iter=it, converged=conv,
        boundary=boundary, intercept=intercept, warnings=notes,
    )
