"""Intraclass correlations, for frequentist and Bayesian fits.

``icc(fit)``: per grouping factor of a random-intercept model, ``ICC_g = var_g / (Σ_h var_h + σ²)``,
the share of the total variance due to group ``g``: the correlation of two observations sharing
level ``g`` only.  For a ``BayesFit`` it is computed draw by draw from the joint posterior of the
variances and σ, so its interval carries their correlation.

``icc(fit, adjusted=True)``: ``performance::icc`` (0.10.2) for any random-effects structure (slopes
included) and the GLMM families of Nakagawa's R², from the variance components of
:func:`~hierlm.services.inference.variances.get_variance`::

    adjusted   = var.random / (var.random + var.residual)
    unadjusted = var.random / (var.fixed + var.random + var.residual)

(performance 0.10.2 also reports the unadjusted ICC as ``ICC_conditional``.)  For a ``BayesFit`` the
same ratios are computed per posterior draw (:func:`~hierlm.services.inference.variances.nakagawa_draws`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import HierlmError
from ...fits.protocol import is_fit
from .r2 import posterior_table
from .variances import get_variance, nakagawa_draws

__all__ = ["icc", "adjusted_icc", "posterior_icc", "require_random_intercepts"]


def require_random_intercepts(fit) -> list[str]:
    """Labels of the random-effects blocks; HierlmError if any has a term other than the intercept."""
    slopes = [(t, [c for c in t.columns if c != "(Intercept)"]) for t in fit.design.reterms]
    slopes = [(t, cols) for t, cols in slopes if cols]
    if slopes:
        t, cols = slopes[0]
        raise HierlmError(
            f"the ICC is defined for random-intercept models, but the term for '{t.group}' has random "
            f"slope(s) {cols} (in {fit.formula!r}); with slopes the share of variance between groups "
            f"changes with the predictor's value. Use hl.icc(fit, adjusted=True) (performance's adjusted ICC, "
            f"slopes included), fit the model with (1 | {t.group}), or report fit.varcorr() instead"
        )
    return [t.label for t in fit.design.reterms]


def icc(fit, adjusted: bool = False, tolerance: float = 1e-5, probs: tuple[float, float] = (0.025, 0.975)):
    """Intraclass correlation: per grouping factor of a random-intercept model, or performance's adjusted ICC.

    ``adjusted=False``: ``ICC_g = var_g / (Σ_h var_h + σ²)``, the share of the total variance due to
    group ``g``, i.e. the correlation of two observations sharing level ``g`` only (lme4's variance
    components: ``VarCorr`` of the fit, REML or ML as fitted).

    ``adjusted=True``: ``performance::icc`` (0.10.2), for random slopes and GLMMs too: the adjusted
    ICC ``var.random / (var.random + var.residual)`` and the unadjusted ICC, which also counts the
    fixed effects' variance in the denominator (the variances of Nakagawa's R², see :func:`hierlm.r2`).

    Parameters
    ----------
    fit : LmerFit, GlmerFit or BayesFit
        ``adjusted=False``: every random-effects term must be an intercept ``(1 | g)``; Gaussian family.
        ``adjusted=True``: any random-effects structure; Gaussian, binomial, Bernoulli, Poisson or
        negative-binomial family.
    adjusted : bool, default False
    tolerance : float, default 1e-5
        ``adjusted=True``, frequentist fits: a diagonal θ below this makes the fit singular, and the
        ICC is then NaN (performance returns NA), with a warning.
    probs : (float, float)
        ``adjusted=True``, ``BayesFit``: the posterior quantiles reported.

    Returns
    -------
    DataFrame or Series
        ``adjusted=False``: indexed by grouping factor, column ``ICC``; for a ``BayesFit`` the ICC
        is computed draw by draw: ``ICC`` (posterior mean), ``Est.Error``, ``Q2.5``, ``Q97.5``.
        ``adjusted=True``: a Series holding ``adjusted`` and ``unadjusted``; for a ``BayesFit`` a
        DataFrame with those rows and the columns ``ICC`` (posterior mean of the per-draw ratios),
        ``Est.Error`` (posterior sd), ``Q2.5``, ``Q97.5``.

    Raises
    ------
    HierlmError
        ``adjusted=False`` for models with random slopes (the ICC then depends on the predictor's
        value: use ``adjusted=True``) or non-Gaussian families.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ 1 + (1 | Subject)", hl.load_dataset("sleepstudy"))
    >>> round(float(hl.icc(m).loc["Subject", "ICC"]), 3)
    0.395
    >>> m2 = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> hl.icc(m2, adjusted=True).round(4)
    adjusted      0.7217
    unadjusted    0.5206
    Name: ICC, dtype: float64
    """
    if not is_fit(fit, model=("lmm", "glmm")):
        raise HierlmError(f"icc() needs a fitted mixed model such as hl.lmer(...), not {type(fit).__name__}")
    if adjusted:
        return adjusted_icc(fit, tolerance=tolerance, probs=probs)
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


def adjusted_icc(fit, tolerance: float = 1e-5, probs: tuple[float, float] = (0.025, 0.975)):
    """performance's adjusted and unadjusted ICC (``performance::icc``, 0.10.2), any random-effects structure.

    Parameters
    ----------
    fit : LmerFit, GlmerFit or BayesFit
    tolerance : float, default 1e-5
        Frequentist fits: singularity threshold on the diagonal of θ (NaN ICCs when singular).
    probs : (float, float)
        ``BayesFit``: the posterior quantiles reported.

    Returns
    -------
    Series or DataFrame
        Frequentist: Series ``adjusted``, ``unadjusted`` (``attrs["variances"]``: the components).
        ``BayesFit``: DataFrame with rows ``adjusted``, ``unadjusted`` and columns ``ICC``
        (posterior mean), ``Est.Error``, ``Q2.5``, ``Q97.5``, computed draw by draw.

    Examples
    --------
    >>> import hierlm as hl
    >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
    ...              family="binomial")
    >>> adjusted_icc(g).round(3).tolist()
    [0.111, 0.102]
    """
    if fit.kind.bayesian:
        v = nakagawa_draws(fit)
        r, e, f = v["var.random"], v["var.residual"], v["var.fixed"]
        out = posterior_table({"adjusted": r / (r + e), "unadjusted": r / (f + r + e)}, probs, first="ICC")
        out.attrs = {"method": "performance::icc (adjusted / unadjusted), per posterior draw"}
        return out
    v = get_variance(fit, tolerance=tolerance)
    f, r, e = v["var.fixed"], v["var.random"], v["var.residual"]
    if r is None:
        vals = {"adjusted": np.nan, "unadjusted": np.nan}
    else:
        vals = {"adjusted": r / (r + e), "unadjusted": r / (f + r + e)}
    out = pd.Series(vals, name="ICC", dtype=float)
    out.attrs = {"method": "performance::icc (adjusted / unadjusted)", "variances": v}
    return out
