"""Intraclass correlations of random-intercept models, for frequentist and Bayesian fits.

``ICC_g = var_g / (Σ_h var_h + σ²)`` is the share of the total variance due to group ``g``: the
correlation of two observations sharing level ``g`` only.  For a ``BayesFit`` it is computed draw by
draw from the joint posterior of the variances and σ, so its interval carries their correlation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import HierlmError
from ...fits.protocol import is_fit

__all__ = ["icc", "posterior_icc", "require_random_intercepts"]


def require_random_intercepts(fit) -> list[str]:
    """Labels of the random-effects blocks; HierlmError if any has a term other than the intercept."""
    slopes = [(t, [c for c in t.columns if c != "(Intercept)"]) for t in fit.design.reterms]
    slopes = [(t, cols) for t, cols in slopes if cols]
    if slopes:
        t, cols = slopes[0]
        raise HierlmError(
            f"the ICC is defined for random-intercept models, but the term for '{t.group}' has random "
            f"slope(s) {cols} (in {fit.formula!r}); with slopes the share of variance between groups "
            f"changes with the predictor's value. Fit the model with (1 | {t.group}) for an ICC, or report "
            "fit.varcorr() instead"
        )
    return [t.label for t in fit.design.reterms]


def icc(fit) -> pd.DataFrame:
    """Intraclass correlation of each grouping factor of a random-intercept model.

    ``ICC_g = var_g / (Σ_h var_h + σ²)``: the share of the total variance due to group ``g``, i.e.
    the correlation of two observations sharing level ``g`` only (lme4's variance components:
    ``VarCorr`` of the fit, REML or ML as fitted).

    Parameters
    ----------
    fit : LmerFit or BayesFit
        Every random-effects term must be an intercept ``(1 | g)``; Gaussian family.

    Returns
    -------
    DataFrame
        Indexed by grouping factor, column ``ICC``.  For a ``BayesFit`` the ICC is computed draw by
        draw: ``ICC`` (posterior mean), ``Est.Error``, ``Q2.5``, ``Q97.5``.

    Raises
    ------
    HierlmError
        For models with random slopes (the ICC then depends on the predictor's value).

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ 1 + (1 | Subject)", hl.load_dataset("sleepstudy"))
    >>> round(float(hl.icc(m).loc["Subject", "ICC"]), 3)
    0.395
    """
    if not is_fit(fit, model=("lmm", "glmm")):
        raise HierlmError(f"icc() needs a fitted mixed model such as hl.lmer(...), not {type(fit).__name__}")
    if fit.kind.bayesian:
        return posterior_icc(fit)
    labels = require_random_intercepts(fit)
    if fit.kind.model != "lmm":
        # GLMMs would use a latent-scale residual variance here (e.g. pi^2/3 for the logit link)
        raise HierlmError(f"icc() is available for linear mixed models (hl.lmer fits); not yet for family "
                          f"'{fit.family.name}'")
    var = np.array([S[0, 0] for S in fit.covariances()])
    total = var.sum() + float(fit.sigma_) ** 2
    return pd.DataFrame({"ICC": var / total}, index=pd.Index(labels, name="group"))


def posterior_icc(fit) -> pd.DataFrame:
    """Intraclass correlation of each grouping factor, summarised over the posterior draws.

    Parameters
    ----------
    fit : BayesFit
        Gaussian model whose random-effects terms are all intercepts ``(1 | g)``.

    Returns
    -------
    DataFrame
        Indexed by grouping factor (``group``): ``ICC`` (posterior mean), ``Est.Error`` (posterior
        sd), ``Q2.5``, ``Q97.5``.

    Raises
    ------
    HierlmError
        For random slopes (the ICC then depends on the predictor's value) and non-Gaussian families.

    Examples
    --------
    >>> import hierlm as hl
    >>> b = hl.blmer("Reaction ~ 1 + (1 | Subject)", hl.load_dataset("sleepstudy"), draws=500,
    ...              chains=2, seed=1, progressbar=False)
    >>> out = hl.icc(b)
    >>> out.columns.tolist(), out.index.tolist()
    (['ICC', 'Est.Error', 'Q2.5', 'Q97.5'], ['Subject'])
    >>> bool(out.loc["Subject", "Q2.5"] < 0.395 < out.loc["Subject", "Q97.5"])  # lme4: 0.395
    True
    """
    labels = require_random_intercepts(fit)
    if fit.family.name != "gaussian":
        raise HierlmError(f"icc() is available for Gaussian models (hl.lmer, hl.blmer); not yet for family "
                          f"'{fit.family.name}' (its residual variance lives on the link scale)")
    var = np.stack([S[..., 0, 0].reshape(-1) for S in fit.covariance_draws()], axis=-1)
    sigma2 = fit.posterior["sigma"].values.reshape(-1) ** 2
    icc = var / (var.sum(axis=-1, keepdims=True) + sigma2[:, None])
    q = np.quantile(icc, [0.025, 0.975], axis=0)
    return pd.DataFrame({"ICC": icc.mean(0), "Est.Error": icc.std(0, ddof=1), "Q2.5": q[0], "Q97.5": q[1]},
                        index=pd.Index(labels, name="group"))
