"""lmerTest's tests on a fitted linear mixed model (:class:`~hierlm.fits.LmerFit`): coefficient tables
with Satterthwaite or Kenward–Roger degrees of freedom, type I/II/III F tables, contrast tests and
``ranova``'s likelihood-ratio tests of the random-effect terms.

The numerics are the frequentist engine's (:mod:`hierlm.engines.frequentist.ddf`); the hypothesis
matrices come from the design (:mod:`hierlm.design.hypotheses`).  Results match lmerTest 3.1 and
pbkrtest 0.5 (for weighted fits the Kenward–Roger numbers honour the prior weights, which pbkrtest
0.5 ignores).  The Satterthwaite and Kenward–Roger ingredients are computed once per fit and kept
while the fit lives.
"""

from __future__ import annotations

import warnings
import weakref

import numpy as np
import pandas as pd
from scipy.special import chdtrc

from ..design import check_groups, make_design
from ..design.hypotheses import hypothesis_matrices, term_info
from ..engines.frequentist import LmmProblem, LmmSolution
from ..engines.frequentist.ddf import KenwardRoger, Satterthwaite, contest as _contest, f_test, kenward_roger, satterthwaite
from ..errors import HierlmError, HierlmWarning, suggest
from ..formula import Bar, deparse, parse_formula
from .protocol import is_fit

__all__ = ["coef_table", "anova_table", "contest", "ranova", "ddf_method"]

DDF = ("Satterthwaite", "Kenward-Roger", "lme4")
_ALIASES = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward-Roger", "kenward_roger": "Kenward-Roger",
            "kr": "Kenward-Roger", "lme4": "lme4"}
_F_COLUMNS = ["Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)"]
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _check_fit(fit) -> None:
    if not is_fit(fit, "frequentist", "lmm"):
        what = fit.kind.model if is_fit(fit) else type(fit).__name__
        raise HierlmError(
            f"degrees-of-freedom tests need a linear mixed model fitted by hl.lmer, not a {what}; "
            "for a GLMM use Wald z tests (fit.summary()) or likelihood-ratio tests (hl.anova(m0, m1))"
        )


def _ddf_name(ddf: str, allow_lme4: bool = True) -> str:
    name = _ALIASES.get(str(ddf).lower()) if isinstance(ddf, str) else None
    if name is None or (name == "lme4" and not allow_lme4):
        choices = DDF if allow_lme4 else DDF[:2]
        raise HierlmError(f"ddf must be one of {', '.join(repr(c) for c in choices)}, not {ddf!r}.{suggest(str(ddf), choices)}")
    return name


def ddf_method(fit, ddf: str = "Satterthwaite") -> Satterthwaite | KenwardRoger:
    """The Satterthwaite or Kenward–Roger ingredients of a fit (computed once, then cached).

    Parameters
    ----------
    fit : LmerFit
    ddf : {"Satterthwaite", "Kenward-Roger"}

    Returns
    -------
    Satterthwaite or KenwardRoger
        See :mod:`hierlm.engines.frequentist.ddf`; ``KenwardRoger.vcov_adj`` is pbkrtest's ``vcovAdj``.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> ddf_method(m, "Kenward-Roger").vcov_adj.round(3)
    array([[46.575, -1.451],
           [-1.451,  2.389]])
    """
    _check_fit(fit)
    name = _ddf_name(ddf, allow_lme4=False)
    if name == "Kenward-Roger" and not fit.reml:
        raise HierlmError("Kenward-Roger's method is only available for REML model fits; "
                          "refit with reml=True or use ddf='Satterthwaite'")
    store = _CACHE.setdefault(fit, {})
    if name not in store:
        prob = fit._problem()
        sol = LmmSolution(fit.theta, fit.beta, fit.b, fit.sigma_, fit.objective, 0.0, 0.0, fit.vcov_beta,
                          fit.reml, theta_internal=fit.optinfo["theta_internal"])
        store[name] = satterthwaite(prob, sol) if name == "Satterthwaite" else kenward_roger(prob, sol)
        for note in getattr(store[name], "warnings", []):  # lmerTest's notes on the Hessian of the deviance
            warnings.warn(note, HierlmWarning, stacklevel=3)
    return store[name]


def coef_table(fit, ddf: str = "Satterthwaite") -> pd.DataFrame:
    """Fixed effects with t tests: lmerTest's ``summary(m, ddf=...)$coefficients``.

    Parameters
    ----------
    fit : LmerFit
    ddf : {"Satterthwaite", "Kenward-Roger", "lme4"}
        Kenward–Roger reports the adjusted standard errors (as lmerTest does); ``"lme4"`` gives
        lme4's table without df and p-values.

    Returns
    -------
    DataFrame
        Rows: fixed effects; columns ``Estimate``, ``Std. Error``, ``df``, ``t value``, ``Pr(>|t|)``.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> coef_table(m).round(4)
                 Estimate  Std. Error    df  t value  Pr(>|t|)
    (Intercept)  251.4051      6.8246  17.0  36.8383       0.0
    Days          10.4673      1.5458  17.0   6.7715       0.0
    >>> coef_table(m, ddf="lme4").round(3)
                 Estimate  Std. Error  t value
    (Intercept)   251.405       6.825   36.838
    Days           10.467       1.546    6.771
    """
    _check_fit(fit)
    name = _ddf_name(ddf)
    names = list(fit.design.xnames)
    if name == "lme4":
        se = np.sqrt(np.diag(fit.vcov_beta))
        return pd.DataFrame({"Estimate": fit.beta, "Std. Error": se, "t value": fit.beta / se}, index=names)
    method = ddf_method(fit, name)
    rows = [_contest(method, row, joint=False)[0] for row in np.eye(len(names))]
    cols = ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"]
    return pd.DataFrame([[r[c] for c in cols] for r in rows], index=names, columns=cols)


def _check_L(fit, L) -> np.ndarray:
    try:
        L = np.atleast_2d(np.asarray(L, dtype=float))
    except (TypeError, ValueError):
        raise HierlmError("L must be a numeric vector or matrix with one column per fixed effect") from None
    p = len(fit.beta)
    if L.ndim != 2 or L.shape[1] != p:
        raise HierlmError(
            f"L has {L.shape[-1]} column(s) but the model has {p} fixed effect(s) "
            f"({', '.join(fit.design.xnames)}); give one value per fixed effect, in that order"
        )
    if not np.all(np.isfinite(L)):
        raise HierlmError("L has missing or infinite entries")
    return L


def contest(fit, L, ddf: str = "Satterthwaite", joint: bool = True, level: float = 0.95) -> pd.DataFrame:
    """Test the contrasts ``L β = 0``: lmerTest's ``contest``.

    Parameters
    ----------
    fit : LmerFit
    L : array-like (k, p) or (p,)
        Contrast rows over the fixed effects (``fit.design.xnames`` order).
    ddf : {"Satterthwaite", "Kenward-Roger"}
    joint : bool, default True
        One F test of all rows; ``False``: a t test (with a confidence interval) per row.
    level : float, default 0.95
        Confidence level of the t-test intervals.

    Returns
    -------
    DataFrame
        ``joint``: ``Sum Sq``, ``Mean Sq``, ``NumDF``, ``DenDF``, ``F value``, ``Pr(>F)``;
        otherwise ``Estimate``, ``Std. Error``, ``df``, ``t value``, ``lower``, ``upper``, ``Pr(>|t|)``.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> contest(m, [1, 5], joint=False).round(3)
       Estimate  Std. Error    df  t value    lower    upper  Pr(>|t|)
    1   303.742       9.581  17.0   31.702  283.527  323.956       0.0
    >>> contest(m, [[1, 0], [0, 1]], ddf="Kenward-Roger")[["NumDF", "DenDF", "F value"]].round(3)
       NumDF  DenDF  F value
    1      2   16.0  705.844
    """
    _check_fit(fit)
    L = _check_L(fit, L)
    rows = _contest(ddf_method(fit, ddf), L, joint=bool(joint), level=level)
    cols = _F_COLUMNS if joint else ["Estimate", "Std. Error", "df", "t value", "lower", "upper", "Pr(>|t|)"]
    return pd.DataFrame([[r[c] for c in cols] for r in rows], columns=cols, index=range(1, len(rows) + 1))


def anova_table(fit, type: int = 3, ddf: str = "Satterthwaite") -> pd.DataFrame:
    """Single-model F table of the fixed-effect terms: lmerTest's ``anova(m, type=, ddf=)``.

    Parameters
    ----------
    fit : LmerFit
    type : {1, 2, 3}, default 3
        Type I (sequential), II or III (SAS-like, independent of the contrasts) hypotheses; see
        :func:`hierlm.design.hypotheses.hypothesis_matrices`.
    ddf : {"Satterthwaite", "Kenward-Roger", "lme4"}
        ``"lme4"`` gives lme4's sequential table (``npar``, ``Sum Sq``, ``Mean Sq``, ``F value``).

    Returns
    -------
    DataFrame
        One row per term (R's labels, e.g. ``nitro:Variety``): ``Sum Sq``, ``Mean Sq``, ``NumDF``,
        ``DenDF``, ``F value``, ``Pr(>F)``.  Empty for a model without fixed-effect terms.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("yield ~ nitro * Variety + (1 | Block/Variety)", hl.load_dataset("Oats"))
    >>> anova_table(m, type=3).round(3)
                     Sum Sq    Mean Sq  NumDF   DenDF  F value  Pr(>F)
    nitro          19536.40  19536.400      1  51.000  115.771   0.000
    Variety          655.51    327.755      2  21.575    1.942   0.168
    nitro:Variety    168.35     84.175      2  51.000    0.499   0.610
    """
    _check_fit(fit)
    name = _ddf_name(ddf)
    if name == "lme4":  # lme4's table is sequential whatever the type (lmerTest ignores it too)
        return _lme4_anova(fit, term_info(fit.design))
    Ls = hypothesis_matrices(fit.design, type)
    method = ddf_method(fit, name)
    rows, missing = {}, []
    for term, L in Ls.items():
        row = f_test(method, L)
        if row is None:
            missing.append(term)
        else:
            rows[term] = [row[c] for c in _F_COLUMNS]
    for term in missing:  # as lmerTest: terms without a testable contrast come last, as NA
        rows[term] = [np.nan] * len(_F_COLUMNS)
    out = pd.DataFrame.from_dict(rows, orient="index", columns=_F_COLUMNS) if rows else pd.DataFrame(columns=_F_COLUMNS)
    if len(out):
        out["NumDF"] = out["NumDF"].astype("Int64") if missing else out["NumDF"].astype(int)
    return out


def _lme4_anova(fit, info) -> pd.DataFrame:
    """lme4's single-model anova: sequential sums of squares (RX β)² per term over σ²."""
    s2 = fit.sigma_**2
    R = np.linalg.cholesky(np.linalg.inv(fit.vcov_beta) * s2).T  # lme4's RX (upper)
    ss = (R @ fit.beta) ** 2
    rows = {}
    for j, term in enumerate(info.labels, start=1):
        cols = info.assign == j
        k = int(cols.sum())
        if k:
            rows[term] = [k, ss[cols].sum(), ss[cols].sum() / k, ss[cols].sum() / k / s2]
    cols = ["npar", "Sum Sq", "Mean Sq", "F value"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=cols) if rows else pd.DataFrame(columns=cols)


# -- ranova -----------------------------------------------------------------------------------
def _bar_text(bar: Bar) -> list[str]:
    """lme4's ``findbars`` terms of one bar as ``lhs | group`` (``||`` expanded)."""
    return [t[1:-1] for t in bar.expanded()]


def _split_bar(text: str) -> tuple[str, str]:
    lhs, _, group = text.partition("|")
    return lhs.strip(), group.strip()


def _reductions(reform: str) -> list[tuple[str, str | None]]:
    """lmerTest's ``get_newforms``: (row name, replacement bar or None to drop the term)."""
    lhs, group = _split_bar(reform)
    tl = parse_formula(f"y ~ {lhs}").fixed_terms()
    labels = tl.labels()
    # drop.scope: terms whose variables are not all inside another term
    scope = [lab for t, lab in zip(tl.terms, labels) if not any(t < u for u in tl.terms)]
    if not labels or not scope:
        return [(f"({reform})", None)]
    out = []
    for scp in scope:
        rest = [lab for lab in labels if lab != scp]
        if not rest:
            new_lhs = "1"
        else:
            new_lhs = " + ".join(rest) if tl.intercept else "0 + " + " + ".join(rest)
        out.append((f"{scp} in ({reform})", f"{new_lhs} | {group}"))
    return out


def _lm_loglik(design, reml: bool) -> tuple[float, int]:
    """R's ``logLik.lm`` (REML or ML) of the fixed part alone, and its number of parameters."""
    X, y = design.X, np.asarray(design.y, float) - design.offset
    w = np.ones(len(y)) if design.weights is None else np.asarray(design.weights, float)
    keep = w > 0
    X, y, w = X[keep], y[keep], w[keep]
    sw = np.sqrt(w)
    Q, R = np.linalg.qr(X * sw[:, None])
    res = y * sw - Q @ (Q.T @ (y * sw))
    n, p = len(y), X.shape[1]
    N = n - p if reml else n
    val = 0.5 * (np.log(w).sum() - N * (np.log(2 * np.pi) + 1 - np.log(N) + np.log(np.sum(res**2))))
    if reml:
        val -= np.log(np.abs(np.diag(R))).sum()
    return float(val), p + 1


def _refit_loglik(fit, bars: list[str]) -> tuple[float, int]:
    d = fit.design
    fixed = deparse(d.formula.fixed) if d.formula.fixed is not None else "1"
    text = f"{deparse(d.formula.response)} ~ {fixed}" + "".join(f" + ({b})" for b in bars)
    design = make_design(text, d.data, weights=d.weights)
    if design.n != d.n:
        raise HierlmError("number of rows in use has changed: remove missing values?")
    if not bars:
        return _lm_loglik(design, fit.reml)
    check_groups(design, gaussian=True)
    sol = LmmProblem(design, reml=fit.reml).solve()
    return -0.5 * sol.objective, design.p + len(sol.theta) + 1


def ranova(fit) -> pd.DataFrame:
    """Likelihood-ratio tests of the random-effect terms: lmerTest's ``ranova``.

    Every random-effect term (after lme4's expansion of ``||`` and ``/``) is reduced as lmerTest
    reduces it: a term with only an intercept is removed; otherwise each removable variable of its
    left-hand side is dropped in turn (``(Days | Subject)`` → ``(1 | Subject)``, row
    ``Days in (Days | Subject)``).  The reduced models are refitted with the same REML setting
    (without random effects, as ``lm``).

    Parameters
    ----------
    fit : LmerFit

    Returns
    -------
    DataFrame
        First row ``<none>`` (the model itself), then one row per reduction: ``npar``, ``logLik``,
        ``AIC``, ``LRT``, ``Df``, ``Pr(>Chisq)``.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> ranova(m).round(3)
                              npar   logLik       AIC     LRT   Df  Pr(>Chisq)
    <none>                       6 -871.814  1755.628     NaN  NaN         NaN
    Days in (Days | Subject)     4 -893.233  1794.465  42.837  2.0         0.0
    """
    _check_fit(fit)
    if fit.design.data is None:
        raise HierlmError("the fit keeps no data (keep_data=False); ranova needs it to refit the reduced models")
    reforms = [r for bar in fit.design.formula.bars for r in _bar_text(bar)]
    rows = {"<none>": (-0.5 * fit.objective, fit.npar())}
    for i, reform in enumerate(reforms):
        for label, new in _reductions(reform):
            bars = reforms[:i] + ([new] if new is not None else []) + reforms[i + 1 :]
            bars = list(dict.fromkeys(" ".join(b.split()) for b in bars))  # R drops repeated terms
            rows[label] = _refit_loglik(fit, bars)
    ll = np.array([v[0] for v in rows.values()])
    npar = np.array([v[1] for v in rows.values()])
    lrt = np.r_[np.nan, 2 * (ll[0] - ll[1:])]
    df = np.r_[np.nan, npar[0] - npar[1:]].astype(float)
    with np.errstate(invalid="ignore"):
        p = np.where(df > 0, chdtrc(np.where(df > 0, df, 1), lrt), np.nan)
    p[0] = np.nan
    return pd.DataFrame({"npar": npar, "logLik": ll, "AIC": -2 * ll + 2 * npar, "LRT": lrt, "Df": df,
                         "Pr(>Chisq)": p}, index=list(rows))
