"""Model comparison: lme4's likelihood-ratio ``anova`` table for frequentist fits.

``hl.anova(m0, m1, ...)`` refits REML fits by maximum likelihood first (as lme4 does) and tests
each model against the one before it; on Bayesian fits it returns :func:`hierlm.compare`'s table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import chdtrc

from ...errors import HierlmError
from ...fits.protocol import check_same_data, is_fit
from .kfold import KFold
from .loo import compare

__all__ = ["anova", "lrt_table"]


def lrt_table(fits, names: list[str] | None = None) -> pd.DataFrame:
    """Likelihood-ratio table of maximum-likelihood fits, in the order given."""
    check_same_data(fits)
    npar = np.array([f.npar() for f in fits])
    ll = np.array([f.loglik() for f in fits])
    n = fits[0].nobs()
    table = pd.DataFrame(
        {
            "npar": npar,
            "AIC": -2 * ll + 2 * npar,
            "BIC": -2 * ll + np.log(n) * npar,
            "logLik": ll,
            "deviance": -2 * ll,
            "Chisq": np.nan,
            "Df": np.nan,
            "Pr(>Chisq)": np.nan,
        },
        index=names or [f.formula for f in fits],
    )
    for i in range(1, len(fits)):
        df = npar[i] - npar[i - 1]
        chisq = 2 * (ll[i] - ll[i - 1]) * (1 if df >= 0 else -1)
        table.iloc[i, 5] = chisq
        table.iloc[i, 6] = abs(df)
        table.iloc[i, 7] = chdtrc(abs(df), chisq) if df != 0 else np.nan
    table["Df"] = table["Df"].astype("Int64")
    return table


def anova(*fits, names: list[str] | None = None, refit: bool = True, **kwargs) -> pd.DataFrame:
    """Compare nested models.

    Parameters
    ----------
    *fits : LmerFit, GlmerFit or BayesFit
        Two or more fits of the same data, in the order to compare.
    names : list of str, optional
        Row labels (default: the formulas).
    refit : bool, default True
        Refit REML fits by maximum likelihood first, as lme4 does.

    Returns
    -------
    DataFrame
        Frequentist fits: ``npar, AIC, BIC, logLik, deviance, Chisq, Df, Pr(>Chisq)``, one row per
        model in the order given, each tested against the row above.  Bayesian fits: the LOO table
        of :func:`hierlm.compare`.

    Examples
    --------
    >>> import hierlm as hl
    >>> sleep = hl.load_dataset("sleepstudy")
    >>> m0 = hl.lmer("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", sleep)
    >>> m1 = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep)
    >>> round(float(hl.anova(m0, m1)["Chisq"].iloc[1]), 4)
    0.0639
    """
    if len(fits) == 1 and isinstance(fits[0], (list, tuple)):
        fits = tuple(fits[0])
    if len(fits) < 2:
        raise HierlmError("anova() needs two or more fitted models to compare")
    bayes = [is_fit(f, "bayesian") or isinstance(f, KFold) for f in fits]
    if all(bayes):
        return compare(*fits, names=names, **kwargs)
    if any(bayes):
        raise HierlmError("anova() cannot mix Bayesian and frequentist fits; use hl.side_by_side for that")
    bad = [type(f).__name__ for f in fits if not is_fit(f, "frequentist")]
    if bad:
        raise HierlmError(f"anova() compares fitted models (hl.lmer, hl.glmer, hl.blmer), not {bad[0]}")
    ml = [f.refit_ml() if refit else f for f in fits]
    return lrt_table(ml, names)
