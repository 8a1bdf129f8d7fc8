"""R's ``anova`` for models without random effects: F tables for lm, deviance tables for glm.

* one :class:`~hierlm.fits.lm.LmFit`: the sequential (type I) table of ``anova.lm`` — ``Df``,
  ``Sum Sq``, ``Mean Sq``, ``F value``, ``Pr(>F)`` per term, then ``Residuals``;
* several lm fits: ``anova.lmlist``'s F tests of each model against the one before it —
  ``Res.Df``, ``RSS``, ``Df``, ``Sum of Sq``, ``F``, ``Pr(>F)``, the residual variance of the
  largest model in the denominator;
* one :class:`~hierlm.fits.lm.GlmFit`: ``anova.glm``'s sequential deviance table (the terms added one
  by one, each sub-model refitted) — ``Df``, ``Deviance``, ``Resid. Df``, ``Resid. Dev`` and the test;
* several glm fits: ``anova.glmlist`` — ``Resid. Df``, ``Resid. Dev``, ``Df``, ``Deviance`` and the test.

The glm test is ``"Chisq"`` (``Pr(>Chi)``) for families without a dispersion parameter and ``"F"``
for the Gaussian family (R ≥ 4.4's defaults; pass ``test=`` to choose, ``None`` for none).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import chdtrc, fdtrc

from ..design.evaluate import Evaluator
from ..design.fixed import model_matrix
from ..engines.frequentist.glm import irls
from ..errors import HierlmError
from ..formula.terms import TermList
from .protocol import check_same_data, is_fit

__all__ = ["anova_lm", "term_columns"]


def term_columns(design) -> list[tuple[str, list[int]]]:
    """The columns of the (kept) model matrix that belong to each term, in R's term order.

    Parameters
    ----------
    design : Design

    Returns
    -------
    list of (str, list of int)
        ``("(Intercept)", [0])`` first when the model has an intercept, then each term label
        (R's ``term.labels``) with the indices of its columns in ``design.X``; a term whose
        columns were all dropped as aliased has an empty list.

    Examples
    --------
    >>> from hierlm.design import make_design
    >>> import hierlm as hl
    >>> term_columns(make_design("mpg ~ wt * factor(cyl)", hl.load_dataset("mtcars")))
    [('(Intercept)', [0]), ('wt', [1]), ('factor(cyl)', [2, 3]), ('wt:factor(cyl)', [4, 5])]
    """
    tl = design.formula.fixed_terms()
    if design.data is None:
        raise HierlmError("this fit does not keep its data, so its terms cannot be told apart")
    ev = Evaluator(design.data, state=design.state)
    assign = [0] if tl.intercept else []
    for j, term in enumerate(tl.terms):
        sub = TermList(terms=[term], intercept=False, offsets=[], variables=tl.variables)
        X, _, _ = model_matrix(sub, ev, [design.codings[j]])
        assign += [j + 1] * X.shape[1]
    if len(assign) != len(design.all_xnames):
        raise HierlmError("internal: the term columns do not add up to the model matrix")
    kept = [assign[k] for k in design.keep]
    labels = (["(Intercept)"] if tl.intercept else []) + tl.labels()
    first = 0 if tl.intercept else 1
    return [(lab, [i for i, a in enumerate(kept) if a == t]) for t, lab in enumerate(labels, start=first)]


def _check(fits, model: str) -> None:
    if not all(is_fit(f, "frequentist", model) for f in fits):
        kinds = sorted({type(f).__name__ for f in fits})
        raise HierlmError(f"anova_lm compares lm fits with lm fits and glm fits with glm fits, not {kinds}; "
                          "hl.anova compares an lmer with an lm")


def f_sf(x, df1, df2):
    """Upper tail of the F distribution, R's ``pf(x, df1, df2, lower.tail = FALSE)`` (``df2 = inf`` included)."""
    x, df1, df2 = np.broadcast_arrays(np.asarray(x, float), np.asarray(df1, float), np.asarray(df2, float))
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(df2), chdtrc(df1, x * df1), fdtrc(df1, np.where(np.isinf(df2), 1.0, df2), x))


def _f_test(table: pd.DataFrame, dev: str, df: str, scale: float, df_scale: float) -> None:
    """R's ``stat.anova(test = "F")``, in place."""
    dfs = table[df].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        fval = table[dev].to_numpy(float) / dfs / scale
    fval[(dfs == 0) | (fval < 0)] = np.nan
    table["F"] = fval
    table["Pr(>F)"] = f_sf(fval, np.abs(dfs), df_scale)


def _chisq_test(table: pd.DataFrame, dev: str, df: str, scale: float) -> None:
    """R's ``stat.anova(test = "Chisq")``, in place."""
    dfs = table[df].to_numpy(float)
    vals = table[dev].to_numpy(float) / scale * np.sign(dfs)
    vals[(dfs == 0) | (vals < 0)] = np.nan
    table["Pr(>Chi)"] = chdtrc(np.abs(dfs), vals)


def _lm_sequential(fit) -> pd.DataFrame:
    s = fit.solution
    rows, df, ss = [], [], []
    for label, cols in term_columns(fit.design):
        if label == "(Intercept)" or not cols:
            continue
        rows.append(label)
        df.append(len(cols))
        ss.append(float(np.sum(s.effects[cols] ** 2)))
    dfr, rss = s.df_residual, s.deviance
    table = pd.DataFrame({"Df": df + [dfr], "Sum Sq": ss + [rss]}, index=rows + ["Residuals"])
    table["Mean Sq"] = table["Sum Sq"] / table["Df"]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["F value"] = table["Mean Sq"] / (rss / dfr)
    table["Pr(>F)"] = f_sf(table["F value"], table["Df"], dfr)
    table.loc["Residuals", ["F value", "Pr(>F)"]] = np.nan
    return table


def _lm_list(fits) -> pd.DataFrame:
    resdf = np.array([f.df_residual for f in fits], float)
    rss = np.array([f.deviance() for f in fits])
    table = pd.DataFrame({"Res.Df": resdf, "RSS": rss,
                          "Df": np.concatenate([[np.nan], -np.diff(resdf)]),
                          "Sum of Sq": np.concatenate([[np.nan], -np.diff(rss)])},
                         index=[str(i + 1) for i in range(len(fits))])
    big = int(np.argmin(resdf))
    _f_test(table, "Sum of Sq", "Df", rss[big] / resdf[big], resdf[big])
    return table


def _glm_test(test, fit) -> str | None:
    if test == "default":
        return "F" if fit.family.has_dispersion else "Chisq"
    if test not in (None, "Chisq", "LRT", "F"):
        raise HierlmError(f"test must be 'Chisq' (or 'LRT'), 'F' or None, not {test!r}")
    return "Chisq" if test == "LRT" else test


def _glm_sequential(fit, test) -> pd.DataFrame:
    s, d = fit.solution, fit.design
    parts = [(lab, cols) for lab, cols in term_columns(d) if lab != "(Intercept)"]
    icpt = [0] if s.intercept else []
    resdf, resdev = [s.df_null], [s.null_deviance]
    for k in range(len(parts) - 1):
        cols = sorted(icpt + [c for _, cs in parts[: k + 1] for c in cs])
        sub = irls(d.X[:, cols], fit.response, fit.family, d.offset, [d.xnames[c] for c in cols], null_deviance=False)
        resdf.append(sub.df_residual)
        resdev.append(sub.deviance)
    if parts:
        resdf.append(s.df_residual)
        resdev.append(s.deviance)
    resdf, resdev = np.array(resdf, float), np.array(resdev)
    table = pd.DataFrame({"Df": np.concatenate([[np.nan], -np.diff(resdf)]),
                          "Deviance": np.concatenate([[np.nan], -np.diff(resdev)]),
                          "Resid. Df": resdf, "Resid. Dev": resdev}, index=["NULL"] + [lab for lab, _ in parts])
    disp = fit.dispersion()
    if test == "Chisq":
        _chisq_test(table, "Deviance", "Df", disp)
    elif test == "F":
        _f_test(table, "Deviance", "Df", disp, s.df_residual if fit.family.has_dispersion else np.inf)
    return table


def _glm_list(fits, test) -> pd.DataFrame:
    resdf = np.array([f.df_residual for f in fits], float)
    resdev = np.array([f.deviance() for f in fits])
    table = pd.DataFrame({"Resid. Df": resdf, "Resid. Dev": resdev,
                          "Df": np.concatenate([[np.nan], -np.diff(resdf)]),
                          "Deviance": np.concatenate([[np.nan], -np.diff(resdev)])},
                         index=[str(i + 1) for i in range(len(fits))])
    big = fits[int(np.argmin(resdf))]
    disp = big.dispersion()
    if test == "Chisq":
        _chisq_test(table, "Deviance", "Df", disp)
    elif test == "F":
        _f_test(table, "Deviance", "Df", disp, resdf.min() if big.family.has_dispersion else np.inf)
    return table


def anova_lm(*fits, test: str | None = "default") -> pd.DataFrame:
    """R's ``anova`` of lm or glm fits: one fit's sequential table, or tests between nested fits.

    Parameters
    ----------
    *fits : LmFit or GlmFit
        One fit (sequential table, terms added in formula order) or several of the same data, in
        the order to compare (each row is tested against the one above).
    test : {"default", "Chisq", "LRT", "F", None}
        glm only: the test column (``"default"``: ``"Chisq"`` for binomial / Poisson, ``"F"`` for
        the Gaussian family).  lm tables always have R's F test.

    Returns
    -------
    DataFrame
        R's columns and row names (see the module docstring).

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.fits.lm import lm
    >>> cars = hl.load_dataset("mtcars")
    >>> anova_lm(lm("mpg ~ wt + hp", cars), lm("mpg ~ wt * hp", cars)).round(4)
       Res.Df       RSS   Df  Sum of Sq       F  Pr(>F)
    1    29.0  195.0478  NaN        NaN     NaN     NaN
    2    28.0  129.7615  1.0    65.2863  14.0875  0.0008
    >>> anova_lm(lm("mpg ~ wt + hp", cars)).round(3)
               Df   Sum Sq  Mean Sq  F value  Pr(>F)
    wt          1  847.725  847.725  126.041   0.000
    hp          1   83.274   83.274   12.381   0.001
    Residuals  29  195.048    6.726      NaN     NaN
    """
    if len(fits) == 1 and isinstance(fits[0], (list, tuple)):
        fits = tuple(fits[0])
    if not fits:
        raise HierlmError("anova_lm needs one fit (sequential table) or several nested fits to compare")
    model = "glm" if is_fit(fits[0], "frequentist", "glm") else "lm"
    _check(fits, model)
    if len(fits) > 1:
        check_same_data(fits, "F tests" if model == "lm" else "deviance tests")
        if model == "glm" and len({f.family for f in fits}) > 1:
            raise HierlmError("the glm fits have different families; a deviance test needs the same family")
    if model == "lm":
        return _lm_sequential(fits[0]) if len(fits) == 1 else _lm_list(fits)
    t = _glm_test(test, fits[0])
    return _glm_sequential(fits[0], t) if len(fits) == 1 else _glm_list(fits, t)
