"""Model comparison: lme4's likelihood-ratio ``anova`` table for frequentist fits.

``hl.anova(m0, m1, ...)`` refits REML fits by maximum likelihood first (as lme4 does) and tests
each model against the one before it; on Bayesian fits it returns :func:`hierlm.compare`'s table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import chdtrc

from .errors import HierlmError

__all__ = ["anova", "lrt_table"]


def _same_data(fits) -> None:
    n = {f.nobs() for f in fits}
    if len(n) > 1:
        raise HierlmError(
            f"models were fitted to different numbers of observations ({sorted(n)}); "
            "likelihood-ratio tests need the same rows (check for missing values in the extra predictors)"
        )
    ys = [np.asarray(f.design.y, float) for f in fits]
    if any(y.shape != ys[0].shape or not np.allclose(y, ys[0]) for y in ys[1:]):
        raise HierlmError("models were fitted to different responses; likelihood-ratio tests need the same response")


def lrt_table(fits, names: list[str] | None = None) -> pd.DataFrame:
    """Likelihood-ratio table of maximum-likelihood fits, in the order given."""
    _same_data(fits)
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
    bayes = [hasattr(f, "idata") or hasattr(f, "elpd_data") for f in fits]  # BayesFit or hl.kfold result
    if all(bayes):
        from .loo import compare

        return compare(*fits, names=names, **kwargs)
    if any(bayes):
        raise HierlmError("anova() cannot mix Bayesian and frequentist fits; use hl.side_by_side for that")
    ml = [f.refit_ml() if refit and getattr(f, "reml", False) else f for f in fits]
    return lrt_table(ml, names)
