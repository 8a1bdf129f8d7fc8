"""Confidence and prediction intervals of predictions: lm / glm (R's ``predict.lm``) and lmer / glmer.

:func:`regression_predict` is ``predict`` of :class:`~hierlm.fits.lm.LmFit` and
:class:`~hierlm.fits.lm.GlmFit`, R's ``predict.lm`` / ``predict.glm`` with ``se.fit`` and ``interval``.

For mixed models R has no single function; :func:`predict_interval` follows the recipe of the GLMM FAQ
(Bolker et al., "lme4: predictions with confidence / prediction intervals", the
``predictInterval``-free one)::

    pvar = diag(X V Xᵀ)                       # fixed-effect uncertainty, V = vcov(fit)
    confidence:  fit ± z · √pvar              # z the normal quantile
    prediction:  fit ± z · √(pvar + Σ_RE + σ²)

where Σ_RE = Σₖ zₖᵢᵀ Σₖ zₖᵢ sums the variance of every random effect the prediction does *not*
condition on: the blocks left out by ``re_form`` (``"~0"``: all of them) and, in the blocks kept,
the rows whose level is new (``allow_new_levels=True``, predicted at the population level).  Random
effects the prediction conditions on (a known level of a kept block) are taken at their conditional
modes and add nothing, as in the FAQ recipe: the uncertainty of the conditional modes, and the
covariance between β̂ and b̂, are not included.  σ² is the residual variance of a new observation
of weight 1.

For a glmer the interval is made on the link scale and back-transformed with the inverse link
(``type="link"`` keeps the link scale); a prediction interval is not defined there (no residual
variance on the link scale) and raises an error.

``method="boot"`` (lmer only) is the parametric bootstrap of lme4's ``bootMer``: responses
simulated from the fit (new random effects and residuals), the model refitted to each, and the
percentile interval of the refits' predictions (``"prediction"`` adds to each a draw of the
random effects not conditioned on and of the residual).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import ndtri, stdtrit

from ..design import linear_predictor, select_blocks
from ..design.evaluate import Evaluator
from ..design.fixed import model_matrix
from ..engines.frequentist import LmmProblem
from ..errors import HierlmError, HierlmWarning
from .protocol import is_fit
from .simulate import seed_children, simulate

__all__ = ["predict_interval", "regression_predict", "check_level", "quantile_of"]


def check_level(level) -> float:
    """``level`` as a float strictly between 0 and 1, else :class:`HierlmError`.

    Parameters
    ----------
    level : float

    Returns
    -------
    float

    Examples
    --------
    >>> check_level(0.9)
    0.9
    """
    if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)) or not 0 < level < 1:
        raise HierlmError(f"level must be a number between 0 and 1 (e.g. 0.95), not {level!r}")
    return float(level)


def quantile_of(fit, level: float) -> float:
    """The quantile of a two-sided ``level`` interval of an lm / glm: t with the residual df for families
    with a dispersion (lm, Gaussian glm), normal otherwise (R's ``predict.lm`` and ``confint.lm``).

    Parameters
    ----------
    fit : LmFit or GlmFit
    level : float

    Returns
    -------
    float

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.fits.lm import lm
    >>> round(quantile_of(lm("mpg ~ wt", hl.load_dataset("mtcars")), 0.95), 4)  # qt(0.975, 30)
    2.0423
    """
    if fit.family.has_dispersion:
        return float(stdtrit(fit.df_residual, 0.5 + level / 2))
    return float(ndtri(0.5 + level / 2))


def regression_predict(fit, newdata, type: str = "response", interval: str | None = None, level: float = 0.95,
                       se_fit: bool = False):
    """Predictions of an lm / glm with standard errors and intervals (R's ``predict.lm`` / ``predict.glm``).

    Parameters
    ----------
    fit : LmFit or GlmFit
    newdata, type, interval, level, se_fit
        As :meth:`hierlm.fits.lm.LmFit.predict`, whose body this is.

    Returns
    -------
    ndarray or DataFrame

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.fits.lm import glm
    >>> g = glm("am ~ wt", hl.load_dataset("mtcars"), family="binomial")
    >>> regression_predict(g, None, "link", se_fit=True).iloc[:2].round(3)
         fit  se_fit
    0  1.498   0.918
    1  0.471   0.676
    """
    if type not in ("response", "link"):
        raise HierlmError(f"type must be 'response' or 'link', not {type!r}")
    if interval not in (None, "confidence", "prediction"):
        raise HierlmError(f"interval must be None, 'confidence' or 'prediction', not {interval!r}")
    level = check_level(level)
    d = fit.design
    if newdata is None:
        X, off, index = d.X, d.offset, d.rows
    else:
        nd = d.new_data(newdata, re_terms=False)
        X, off, index = nd.X, nd.offset, newdata.index
    eta = X @ fit.beta + off
    link = fit.family.link
    if interval is None and not se_fit:
        return eta if type == "link" else link.linkinv(eta)
    se = np.sqrt(np.einsum("ij,jk,ik->i", X, fit.vcov_beta, X))
    out = {"fit": eta}
    if interval is not None:
        q = quantile_of(fit, level)
        width = q * se
        if interval == "prediction":
            if not (fit.family.has_dispersion and link.name == "identity"):
                raise HierlmError(
                    f"prediction intervals need a Gaussian model; a {fit.family.r_name} glm has no residual "
                    "variance on the link scale: use interval='confidence', or simulate new responses")
            if newdata is None:
                warnings.warn("predictions on current data refer to _future_ responses (R's predict.lm note)",
                              HierlmWarning, stacklevel=3)
            if d.weights is not None:
                warnings.warn("assuming constant prediction variance even though the model fit is weighted: "
                              "the interval is for a new observation of weight 1", HierlmWarning, stacklevel=3)
            width = q * np.sqrt(se**2 + fit.dispersion())
        out["lwr"], out["upr"] = eta - width, eta + width
    if type == "response":
        for key in ("fit", "lwr", "upr"):
            if key in out:
                out[key] = link.linkinv(out[key])
        if interval is not None:  # a decreasing link swaps the ends
            out["lwr"], out["upr"] = np.minimum(out["lwr"], out["upr"]), np.maximum(out["lwr"], out["upr"])
        se = se * np.abs(link.mu_eta(eta))
    if se_fit:
        out["se_fit"] = se
    return pd.DataFrame(out, index=index)


def _term_values(design, newdata, i: int, ev: Evaluator | None) -> np.ndarray:
    """Columns of block i on the data (training values when ``newdata`` is None)."""
    t = design.reterms[i]
    if newdata is None:
        return t.values
    Z, _, _ = model_matrix(t.bar.terms(), ev, t.codings)
    return Z[:, [t.column_subset]] if t.column_subset is not None else Z


def _new_rows(design, newdata, i: int, ev: Evaluator | None) -> np.ndarray:
    """Rows whose level of block i was not in the fitted data (or is missing)."""
    t = design.reterms[i]
    if newdata is None:
        return np.zeros(design.n, bool)
    codes = ev.factor_of(t.bar.group).data
    return (codes >= t.nlevels) | (codes < 0)


def _unconditioned_var(fit, newdata, keep: list[int]) -> np.ndarray:
    """Σ_RE per row: zᵀΣz of every block not conditioned on (left out by re_form, or a new level)."""
    d = fit.design
    ev = None if newdata is None else Evaluator(newdata, state=d.state)
    n = d.n if newdata is None else len(newdata)
    out = np.zeros(n)
    for i, S in enumerate(fit.covariances()):
        Z = _term_values(d, newdata, i, ev)
        rows = np.ones(n, bool) if i not in keep else _new_rows(d, newdata, i, ev)
        if rows.any():
            out += np.where(rows, np.einsum("ij,jk,ik->i", Z, S, Z), 0.0)
    return out


def _check(fit, interval, level, method, type) -> float:
    if not is_fit(fit, "frequentist", ("lmm", "glmm")):
        raise HierlmError("predict_interval is for lmer / glmer fits; an lm or glm has predict(interval=...) "
                          "and a Bayesian fit posterior (predictive) draws")
    if interval not in ("confidence", "prediction"):
        raise HierlmError(f"interval must be 'confidence' or 'prediction', not {interval!r}")
    check_level(level)
    if method not in ("wald", "boot"):
        raise HierlmError(f"method must be 'wald' (vcov and variance components) or 'boot' (parametric "
                          f"bootstrap), not {method!r}")
    if type not in ("response", "link"):
        raise HierlmError(f"type must be 'response' or 'link', not {type!r}")
    if fit.kind.model == "glmm" and interval == "prediction":
        raise HierlmError("prediction intervals are not defined for a GLMM on the link scale (there is no residual "
                          "variance there); use interval='confidence', or simulate new responses")
    if fit.kind.model == "glmm" and method == "boot":
        raise HierlmError("method='boot' is available for lmer fits; for a glmer use method='wald'")
    return float(level)


def predict_interval(fit, newdata: pd.DataFrame | None = None, interval: str = "confidence", level: float = 0.95,
                     re_form: str | None = None, allow_new_levels: bool = False, type: str = "response",
                     method: str = "wald", nsim: int = 500, seed=None) -> pd.DataFrame:
    """Predictions of an lmer / glmer fit with confidence or prediction intervals.

    Parameters
    ----------
    fit : LmerFit or GlmerFit
    newdata : DataFrame, optional
        Defaults to the data used for fitting.
    interval : {"confidence", "prediction"}
        ``"confidence"``: the uncertainty of the fixed effects only (xᵀVx); ``"prediction"``
        (lmer): plus the variance of the random effects not conditioned on and σ² (see the module
        docstring for exactly what is included).
    level : float, default 0.95
    re_form : str, optional
        ``None``: condition on all random effects; ``"~0"``: none (population level); or a formula
        naming the blocks to keep, as in ``predict``.
    allow_new_levels : bool, default False
        Predict unseen levels at the population level (their random-effect variance then enters a
        prediction interval).
    type : {"response", "link"}
        glmer: back-transform the link-scale interval (default) or keep the link scale.
    method : {"wald", "boot"}
        ``"wald"``: the normal-theory recipe above.  ``"boot"`` (lmer): percentile interval of
        ``nsim`` parametric-bootstrap refits (lme4's ``bootMer``).
    nsim : int, default 500
        Bootstrap replicates.
    seed : None, int or Generator
        Bootstrap seed.

    Returns
    -------
    DataFrame
        Columns ``fit``, ``lwr``, ``upr`` (R's names), one row per row of ``newdata``.

    Examples
    --------
    >>> import pandas as pd
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> new = pd.DataFrame({"Days": [0, 5]})
    >>> predict_interval(m, new, "prediction", re_form="~0").round(2)
          fit     lwr     upr
    0  251.41  180.37  322.44
    1  303.74  209.10  398.38
    """
    level = _check(fit, interval, level, method, type)
    d = fit.design
    keep = select_blocks(d, re_form)
    eta = linear_predictor(d, fit.beta, fit.b, newdata, re_form, allow_new_levels)
    index = d.rows if newdata is None else newdata.index
    if method == "boot":
        return _boot(fit, newdata, interval, level, re_form, allow_new_levels, keep, eta, index, nsim, seed)
    X = d.X if newdata is None else d.new_data(newdata, re_terms=False).X
    var = np.einsum("ij,jk,ik->i", X, fit.vcov_beta, X)
    if interval == "prediction":
        var = var + _unconditioned_var(fit, newdata, keep) + fit.sigma() ** 2
    z = ndtri(0.5 + level / 2)
    half = z * np.sqrt(var)
    lwr, upr = eta - half, eta + half
    if fit.kind.model == "glmm" and type == "response":
        inv = fit.family.link.linkinv
        eta, lo, hi = inv(eta), inv(lwr), inv(upr)
        lwr, upr = np.minimum(lo, hi), np.maximum(lo, hi)
    return pd.DataFrame({"fit": eta, "lwr": lwr, "upr": upr}, index=index)


def _boot(fit, newdata, interval, level, re_form, allow_new_levels, keep, eta, index, nsim, seed) -> pd.DataFrame:
    """Parametric bootstrap (lme4's ``bootMer`` + ``predict``), lmer only."""
    nsim = int(nsim)
    if nsim < 2:
        raise HierlmError(f"nsim must be at least 2 for a bootstrap interval, not {nsim}")
    d = fit.design
    ys = simulate(fit, nsim=nsim, seed=seed)
    prob = LmmProblem(d, reml=fit.reml)
    start = fit.optinfo.get("theta_internal")
    ev = None if newdata is None else Evaluator(newdata, state=d.state)
    n = len(eta)
    Zs = [_term_values(d, newdata, i, ev) for i in range(len(d.reterms))]
    uncond = [np.ones(n, bool) if i not in keep else _new_rows(d, newdata, i, ev) for i in range(len(d.reterms))]
    out = np.empty((nsim, n))
    rngs = [np.random.default_rng(s) for s in seed_children(seed, 2 * nsim)[nsim:]]  # apart from simulate's
    for j in range(nsim):
        prob.set_response(ys[:, j])
        th, info = prob.optimize(start)
        sol = prob.solution_at(th, info)
        pred = linear_predictor(d, sol.beta, sol.b, newdata, re_form, allow_new_levels)
        if interval == "prediction":
            rng = rngs[j]
            for Z, rows, lam, t in zip(Zs, uncond, prob.tmap.lambdas(th), prob.tmap.transforms):
                if rows.any():  # a new draw of the block's random effect for each row not conditioned on
                    chol = sol.sigma * (t @ lam)
                    b = rng.standard_normal((n, chol.shape[1])) @ chol.T
                    pred = pred + np.where(rows, np.einsum("ij,ij->i", Z, b), 0.0)
            pred = pred + sol.sigma * rng.standard_normal(n)
        out[j] = pred
    a = (1 - level) / 2
    lwr, upr = np.quantile(out, [a, 1 - a], axis=0)
    return pd.DataFrame({"fit": eta, "lwr": lwr, "upr": upr}, index=index)
