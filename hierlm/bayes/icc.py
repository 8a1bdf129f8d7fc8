"""Posterior of the intraclass correlation of a Bayesian random-intercept model (``hl.icc(bfit)``).

``ICC_g = var_g / (Σ_h var_h + σ²)`` is computed draw by draw from the joint posterior of the
random-intercept variances and σ, so its interval carries their correlation.  The rules are those
of the frequentist :func:`hierlm.icc`: every random-effects term must be an intercept ``(1 | g)``,
and the family Gaussian.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import HierlmError

__all__ = ["posterior_icc"]


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
    from ..inference import require_random_intercepts

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
