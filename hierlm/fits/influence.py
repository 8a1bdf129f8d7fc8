"""Influence diagnostics and residual types of every frequentist fit, as R's methods define them.

* :func:`hatvalues` — the diagonal of the hat matrix: R's ``lm.influence()$hat`` for lm / glm (the
  weighted QR of the last IRLS step), lme4's ``hatvalues.merMod`` for lmer / glmer (the hat
  matrix of the penalised system over ``[ZΛ X]``, computed from the blocked sparse factor by
  :func:`hierlm.engines.frequentist.hat.mixed_hat_diagonal`, no n×n matrix);
* :func:`cooks_distance` — ``(r_P / (1 − h))² h / (φ p)`` with r_P the Pearson residuals, φ the
  dispersion (σ² of an lm or lmer, the ``summary.glm`` dispersion, 1 for a GLMM) and p the rank of
  X: R's ``cooks.distance.lm`` / ``.glm`` and lme4's ``cooks.distance.merMod`` are all this;
* :func:`residuals_of` — response, Pearson, deviance and working residuals (R's ``residuals.lm``,
  ``residuals.glm``, lme4's ``residuals.merMod``);
* :func:`rstandard`, :func:`rstudent` — R's standardised and studentised residuals of lm / glm.

Rows with zero prior weight are kept in every returned array (hat value 0, NaN where R drops the
row), so the arrays line up with the data used.

Examples
--------
>>> import hierlm as hl
>>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
>>> hatvalues(m)[:3].round(4)
array([0.2293, 0.1697, 0.1268])
>>> cooks_distance(m)[:3].round(4)
array([0.005 , 0.0402, 0.2261])
"""

from __future__ import annotations

import warnings

import numpy as np

from ..engines.frequentist import GlmmProblem
from ..engines.frequentist.hat import mixed_hat_diagonal
from ..errors import HierlmError, HierlmWarning

__all__ = ["hatvalues", "cooks_distance", "residuals_of", "rstandard", "rstudent", "dispersion_of"]

_TYPES = ("response", "pearson", "deviance", "working")


def _model(fit) -> str:
    if not fit.kind.frequentist:
        raise HierlmError(f"influence diagnostics are for frequentist fits (lm, glm, lmer, glmer), not a "
                          f"{type(fit).__name__}; for a Bayesian fit use hl.loo (Pareto k) instead")
    return fit.kind.model


def residuals_of(fit, type: str | None = None) -> np.ndarray:
    """Residuals of a frequentist fit, as R defines each type.

    Parameters
    ----------
    fit : LmFit, GlmFit, LmerFit or GlmerFit
    type : {"response", "pearson", "deviance", "working"}, optional
        Default as in R: ``"response"`` for lm and lmer, ``"deviance"`` for glm and glmer.

        * ``response``: y − fitted (proportions for binomial models);
        * ``pearson``: (y − μ) √w / √V(μ), w the prior weights (√w (y − μ) for Gaussian models);
        * ``deviance``: sign(y − μ) √dᵢ (the same as Pearson for Gaussian models);
        * ``working``: (y − μ) / (dμ/dη) (y − μ for Gaussian models).

    Returns
    -------
    ndarray
        One residual per observation used.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> residuals_of(m, "pearson")[:3].round(3)
    array([ -4.104, -14.625, -42.196])
    """
    model = _model(fit)
    if type is None:
        type = "response" if model in ("lm", "lmm") else "deviance"
    if type not in _TYPES:
        raise HierlmError(f"residual type must be one of {list(_TYPES)}, not {type!r}")
    if model == "glmm":
        return fit.residuals(type)
    if model in ("lm", "glm"):
        s = fit.solution
        y, mu, wt = s.y, s.mu, s.prior_weights
        if type == "response":
            return y - mu
        if type == "working":
            return np.asarray(s.working_residuals)
        if type == "pearson":
            return fit.family.pearson_residuals(y, mu, wt)
        return fit.family.deviance_residuals(y, mu, wt)
    # lmm: lme4's residuals.lmResp
    y = np.asarray(fit.design.y, float)
    r = y - fit.fitted()
    if type in ("response", "working"):
        return r
    w = fit.design.weights
    return r if w is None else np.sqrt(w) * r


def dispersion_of(fit) -> float:
    """The dispersion φ that scales Cook's distances and standardised residuals.

    σ² for lm and lmer, ``summary.glm``'s dispersion for glm, 1 for glmer (lme4's ``sigma(m)²``).

    Parameters
    ----------
    fit : LmFit, GlmFit, LmerFit or GlmerFit

    Returns
    -------
    float

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> round(dispersion_of(m), 2)
    654.94
    """
    model = _model(fit)
    if model in ("lm", "glm"):
        return fit.dispersion()
    return float(fit.sigma()) ** 2


def _mixed_hat(fit) -> np.ndarray:
    if fit.kind.model == "lmm":
        prob = fit._problem()
        f = prob.cp.factor(prob.tmap.lambdas(fit.optinfo["theta_internal"]))
        return mixed_hat_diagonal(prob.cp, f, prob.terms_internal, prob.X_internal, prob.sqrtw)
    warnings.warn("the hat matrix may not make sense for GLMMs (lme4's warning): it uses the IRLS weights of the "
                  "conditional modes in the system and the prior weights in the rows", HierlmWarning, stacklevel=3)
    prob = GlmmProblem(fit.design, fit.family, fit.response)
    cp = prob.irls_system(np.asarray(fit.eta), np.asarray(fit.mu), prob.X)
    f = cp.factor(prob.tmap.lambdas(fit.optinfo["theta_internal"]))
    if f is None:
        raise HierlmError("the penalised system of this GLMM is not positive definite at its estimates")
    return mixed_hat_diagonal(cp, f, prob.terms_internal, prob.X, np.sqrt(fit.response.weights))


def hatvalues(fit) -> np.ndarray:
    """Diagonal of the hat matrix, as R's ``hatvalues`` (lm, glm) and lme4's ``hatvalues.merMod``.

    For lmer / glmer this is the hat matrix of the penalised least-squares system over
    ``[ZΛ X]`` (lme4, eqs. 63–65 of Bates et al. 2015), computed from the sparse blocked factor.
    For a GLMM lme4 combines the IRLS weights (in the factor) with the prior weights (in the rows)
    and warns that the result may not make sense; hierlm does the same, with the IRLS weights at
    its converged conditional modes.

    Parameters
    ----------
    fit : LmFit, GlmFit, LmerFit or GlmerFit

    Returns
    -------
    ndarray
        One value per observation used.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> round(float(hatvalues(m).sum()), 3)  # effective number of parameters
    29.022
    """
    model = _model(fit)
    if model in ("lm", "glm"):
        return fit.solution.hat()
    return _mixed_hat(fit)


def _rank(fit) -> int:
    return int(fit.solution.rank) if fit.kind.model in ("lm", "glm") else int(fit.design.p)


def _nan_inf(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, float)
    x[np.isinf(x)] = np.nan
    return x


def cooks_distance(fit, hat: np.ndarray | None = None) -> np.ndarray:
    """Cook's distances: ``(r_P / (1 − h))² h / (φ p)``, as R and lme4 compute them.

    r_P are the Pearson residuals, h the hat values, φ the dispersion (:func:`dispersion_of`) and
    p the rank of X (R's ``cooks.distance.lm`` / ``.glm``, lme4's ``cooks.distance.merMod``).
    Infinite values (h = 1) become NaN, as in R.

    Parameters
    ----------
    fit : LmFit, GlmFit, LmerFit or GlmerFit
    hat : ndarray, optional
        Hat values already computed.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> int(cooks_distance(m).argmax())
    59
    """
    h = hatvalues(fit) if hat is None else np.asarray(hat, float)
    r = residuals_of(fit, "pearson")
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (r / (1 - h)) ** 2 * h / (dispersion_of(fit) * _rank(fit))
    return _nan_inf(d)


def _plain(fit, what: str) -> None:
    if _model(fit) not in ("lm", "glm"):
        raise HierlmError(f"{what} is available for lm and glm fits; for lmer / glmer use cooks_distance, "
                          "hatvalues and residuals_of")


def rstandard(fit, type: str = "deviance") -> np.ndarray:
    """Standardised residuals of an lm or glm (R's ``rstandard``): r / √(φ (1 − h)).

    Parameters
    ----------
    fit : LmFit or GlmFit
    type : {"deviance", "pearson"}
        Residual type (for an lm both are √w × residual).

    Returns
    -------
    ndarray

    Examples
    --------
    >>> from hierlm.fits.lm import lm
    >>> import hierlm as hl
    >>> rstandard(lm("mpg ~ wt", hl.load_dataset("mtcars")))[:3].round(4)
    array([-0.7662, -0.3074, -0.7058])
    """
    _plain(fit, "rstandard")
    if type not in ("deviance", "pearson"):
        raise HierlmError(f"type must be 'deviance' or 'pearson', not {type!r}")
    h = hatvalues(fit)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = residuals_of(fit, type) / np.sqrt(dispersion_of(fit) * (1 - h))
    return _nan_inf(np.where(fit.solution.prior_weights > 0, r, np.nan))


def rstudent(fit) -> np.ndarray:
    """Studentised residuals of an lm or glm (R's ``rstudent``): each observation left out of σ.

    lm: ``e / (σ₍ᵢ₎ √(1 − h))`` with σ₍ᵢ₎² = (RSS − e²/(1 − h)) / (df − 1) and e the weighted
    residuals.  glm: R's ``rstudent.glm`` (deviance residuals adjusted by the Pearson ones, divided
    by σ₍ᵢ₎ for families with a free dispersion).

    Parameters
    ----------
    fit : LmFit or GlmFit

    Returns
    -------
    ndarray

    Examples
    --------
    >>> from hierlm.fits.lm import lm
    >>> import hierlm as hl
    >>> rstudent(lm("mpg ~ wt", hl.load_dataset("mtcars")))[:3].round(4)
    array([-0.7608, -0.3027, -0.6997])
    """
    _plain(fit, "rstudent")
    s = fit.solution
    ok = s.prior_weights > 0
    h = hatvalues(fit)
    e = residuals_of(fit, "deviance")  # R's weighted.residuals: √w (y − μ) for an lm
    e0 = np.where(ok, e, 0.0)
    e0[np.abs(e0) < 100 * np.finfo(float).eps * np.median(np.abs(e[ok]))] = 0.0  # as lm.influence
    df = int(ok.sum()) - s.rank - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = np.where(h < 1, 1 - h, np.nan)
        sigma_i = np.sqrt((np.sum(e0**2) - e0**2 / denom) / df)
        if fit.kind.model == "lm":
            r = e0 / (sigma_i * np.sqrt(1 - h))
        else:
            pear = residuals_of(fit, "pearson")
            r = np.sign(e) * np.sqrt(e**2 + h * pear**2 / (1 - h))
            if fit.family.has_dispersion:
                r = r / sigma_i
    return _nan_inf(np.where(ok, r, np.nan))
