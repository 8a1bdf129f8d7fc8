"""The result of a power simulation: power, its exact binomial interval, failures; and the effect sizes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ...errors import HierlmError, suggest

__all__ = ["clopper_pearson", "power_table", "effect_sizes"]


def clopper_pearson(successes, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper–Pearson) binomial confidence limits, from scipy's beta distribution.

    Parameters
    ----------
    successes, n : int or array of int
    level : float

    Returns
    -------
    (lower, upper) : ndarray

    Examples
    --------
    >>> lo, hi = clopper_pearson(26, 100)  # R: binom.test(26, 100)$conf.int
    >>> round(float(lo), 6), round(float(hi), 6)
    (0.177394, 0.357312)
    >>> clopper_pearson(0, 10)[0].item(), clopper_pearson(10, 10)[1].item()
    (0.0, 1.0)
    """
    x, n = np.asarray(successes, float), np.asarray(n, float)
    a = (1 - level) / 2
    with np.errstate(all="ignore"):
        lo = np.where(x > 0, stats.beta.ppf(a, x, n - x + 1), 0.0)
        hi = np.where(x < n, stats.beta.ppf(1 - a, x + 1, n - x), 1.0)
    return lo, hi


def power_table(pvalues: np.ndarray, singular: np.ndarray, alpha: float, sizes=None, nobs=None,
                largest=None) -> pd.DataFrame:
    """The result table from the p-values (simulations × sizes; NaN: failed refit).

    Examples
    --------
    >>> p = np.array([[0.01, 0.2], [0.03, np.nan], [0.5, 0.001]])
    >>> power_table(p, np.zeros((3, 2)), 0.05, sizes=[10, 20])[["size", "successes", "power", "failed"]]
       size  successes     power  failed
    0    10          2  0.666667       0
    1    20          1  0.333333       1
    """
    p = np.atleast_2d(np.asarray(pvalues, float))
    nsim = p.shape[0]
    succ = np.sum(p < alpha, axis=0)
    lo, hi = clopper_pearson(succ, nsim)
    cols = {}
    if sizes is not None:
        cols["size"] = list(sizes)
    if largest is not None:
        cols["largest"] = list(largest)
    if nobs is not None:
        cols["nobs"] = list(nobs)
    cols.update(nsim=nsim, successes=succ.astype(int), power=succ / nsim, lower=lo, upper=hi,
                failed=np.sum(np.isnan(p), axis=0).astype(int),
                singular=np.nansum(np.atleast_2d(singular), axis=0).astype(int))
    return pd.DataFrame(cols)


def effect_sizes(fit, effects) -> np.ndarray:
    """The fixed effects to simulate with: the fit's, with ``effects`` (by coefficient name) set by hand.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> effect_sizes(m, {"Days": 2.0}).round(2).tolist()
    [251.41, 2.0]
    """
    beta = np.array(fit.fixef()["Estimate"].to_numpy() if fit.kind.bayesian else fit.beta, float)
    if effects is None:
        return beta
    if not isinstance(effects, dict):
        raise HierlmError(f"effects must be a dict of fixed-effect values, e.g. {{'Days': 2.0}}, not {effects!r}")
    names = list(fit.design.xnames)
    for k, v in effects.items():
        if k not in names:
            raise HierlmError(f"effects: {k!r} is not a fixed effect of the model; they are {names}.{suggest(str(k), names)}")
        if isinstance(v, bool) or not np.isscalar(v) or not np.isfinite(float(v)):
            raise HierlmError(f"effects[{k!r}] must be a finite number, not {v!r}")
        beta[names.index(k)] = float(v)
    return beta
