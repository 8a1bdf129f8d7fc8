"""Tidy tables of estimates with intervals, the same columns for frequentist and Bayesian fits.

Every plot reads its numbers through these functions, so the plots themselves never ask which
kind of fit they were given: ``est``, ``lo``, ``hi`` (and ``ilo``, ``ihi`` for an inner interval
where there is one).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ...errors import HierlmWarning
from ...design.covariance import tril_colmajor
from ._common import is_bayes
from .posterior import fixef_draws, ranef_draws, varcorr_draws, varcorr_label

__all__ = ["fixef_table", "ranef_table", "varcorr_table", "varcorr_label"]


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


def _quantiles(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed ``level`` interval of draws along axis 0."""
    a = (1 - level) / 2
    return np.quantile(draws, a, axis=0), np.quantile(draws, 1 - a, axis=0)


def fixef_table(fit, level: float = 0.95, inner: float | None = 0.5) -> pd.DataFrame:
    """Fixed effects with intervals, indexed by term.

    Frequentist fits: estimate ± z·SE (no inner interval).  Bayesian fits: posterior mean and
    equal-tailed posterior intervals (``inner`` gives the thicker inner one).
    """
    fe = fit.fixef()
    out = pd.DataFrame({"est": fe["Estimate"].to_numpy(dtype=float)}, index=fe.index)
    if is_bayes(fit):
        draws = fixef_draws(fit)
        out["lo"], out["hi"] = _quantiles(draws, level)
        if inner:
            out["ilo"], out["ihi"] = _quantiles(draws, inner)
    else:
        se = fe["Std. Error"].to_numpy(dtype=float)
        out["lo"], out["hi"] = out["est"] - _z(level) * se, out["est"] + _z(level) * se
    return out


def ranef_table(fit, level: float = 0.95) -> pd.DataFrame:
    """Random effects in long form: ``grpvar``, ``term``, ``grp`` (level), ``est``, ``lo``, ``hi``.

    Frequentist fits: conditional modes ± z·condsd (lme4's ``condVar``); Bayesian fits: posterior
    means and equal-tailed posterior intervals.
    """
    if is_bayes(fit):
        rows = []
        for group, (levels, terms, draws) in ranef_draws(fit).items():
            lo, hi = _quantiles(draws, level)
            mean = draws.mean(axis=0)
            for j, term in enumerate(terms):
                rows.append(pd.DataFrame({"grpvar": group, "term": term, "grp": levels,
                                          "est": mean[:, j], "lo": lo[:, j], "hi": hi[:, j]}))
        return pd.concat(rows, ignore_index=True)
    long = fit.ranef(intervals=True)
    z = _z(level)
    return pd.DataFrame({
        "grpvar": long["grpvar"], "term": long["term"], "grp": long["grp"].astype(str),
        "est": long["condval"], "lo": long["condval"] - z * long["condsd"],
        "hi": long["condval"] + z * long["condsd"],
    })


def _profile_keys(design) -> list[tuple]:
    """``(grp, var1, var2)`` of lme4's ``.sig01, …, .sigma`` (θ order), to match ``varcorr()`` rows."""
    keys = []
    for t in design.reterms:
        for r, c in zip(*tril_colmajor(t.ncols)):
            keys.append((t.label, t.columns[r], None) if r == c else (t.label, t.columns[c], t.columns[r]))
    return keys + [("Residual", None, None)]


def varcorr_table(fit, level: float = 0.95, method: str | None = "profile") -> pd.DataFrame:
    """``varcorr()`` rows with ``label``, ``est`` (sd/cor) and, where cheap, ``lo``/``hi``.

    Frequentist fits: ``lo``/``hi`` from ``fit.confint(method=...)`` when the fit has it (LmerFit),
    else NaN.  Bayesian fits: equal-tailed posterior intervals of the draws.
    """
    vc = fit.varcorr()
    out = pd.DataFrame({
        "grp": vc["grp"], "var1": vc["var1"], "var2": vc["var2"],
        "label": [varcorr_label(g, a, b) for g, a, b in zip(vc["grp"], vc["var1"], vc["var2"])],
        "est": vc["sdcor"].to_numpy(dtype=float), "lo": np.nan, "hi": np.nan,
    })
    if is_bayes(fit):
        draws = varcorr_draws(fit)
        for i, label in enumerate(out["label"]):
            if label in draws:
                out.loc[i, ["lo", "hi"]] = _quantiles(draws[label], level)
        return out
    if method is None or fit.kind.model != "lmm":
        return out
    try:
        ci = fit.confint(level=level, method=method)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as err:
        warnings.warn(f"{method} intervals of the variance components failed ({err}); showing point estimates",
                      HierlmWarning, stacklevel=3)
        return out
    where = {key: name for key, name in zip(_profile_keys(fit.design), ci.index)}
    for i, key in enumerate(zip(out["grp"], out["var1"], out["var2"])):
        if key in where:
            out.loc[i, ["lo", "hi"]] = ci.loc[where[key]].to_numpy(dtype=float)
    return out
