"""R's ``print(summary(lm(...)))`` and ``print(summary(glm(...)))`` (R 4.2), digit for digit.

:class:`LmSummary` / :class:`GlmSummary` hold the numbers; :func:`format_lm_summary` and
:func:`format_glm_summary` lay them out as ``print.summary.lm`` / ``print.summary.glm`` with
``digits = max(3, getOption("digits") - 3)``; :func:`lm_summary` and :func:`glm_summary` read them from
hierlm's :class:`~hierlm.fits.lm.LmFit` / :class:`~hierlm.fits.lm.GlmFit`.

The ``Call:`` line is rebuilt from the formula and ``data_name`` (hierlm keeps no call); R 4.2's
``Deviance Residuals:`` block of glm summaries is printed (R >= 4.3 dropped it).

Examples
--------
>>> import pandas as pd
>>> s = LmSummary(call=["lm(formula = mpg ~ wt, data = mtcars)"],
...               resid_quantiles=[-4.5432, -2.3647, -0.1252, 1.4096, 6.8727],
...               coefficients=pd.DataFrame({"Estimate": [37.2851, -5.3445], "Std. Error": [1.8776, 0.5591],
...                                          "t value": [19.858, -9.559], "Pr(>|t|)": [8.24e-19, 1.29e-10]},
...                                         index=["(Intercept)", "wt"]),
...               sigma=3.045882, df=30, r_squared=0.7528328, adj_r_squared=0.7445939,
...               fstatistic=(91.37533, 1, 30), f_pvalue=1.293959e-10)
>>> print(format_lm_summary(s).lines[-4])
Residual standard error: 3.046 on 30 degrees of freedom
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...formula import Call, Name, Str, parse_expr
from ..rformat import (
    SIGNIF_LEGEND,
    deparse_lines,
    format_c,
    format_coefmat,
    format_num,
    format_pval,
    print_matrix,
    print_named,
    quantile7,
    r_signif,
    zapsmall,
)
from .summary import Printout

__all__ = ["LmSummary", "GlmSummary", "format_lm_summary", "format_glm_summary", "lm_summary", "glm_summary",
           "call_lines"]

_QNAMES = ["Min", "1Q", "Median", "3Q", "Max"]


@dataclass
class LmSummary:
    """The numbers of R's ``summary.lm``.

    Attributes
    ----------
    call : list of str
        The deparsed call (:func:`call_lines`).
    coefficients : DataFrame
        ``Estimate``, ``Std. Error``, ``t value``, ``Pr(>|t|)``; NaN rows for aliased coefficients.
    sigma : float
    df : int
        Residual degrees of freedom.
    r_squared, adj_r_squared : float
    fstatistic : (value, numdf, dendf) or None
    f_pvalue : float or None
    resid_quantiles : list of float, optional
        Quantiles of the (weighted) residuals; or give ``residuals``.
    residuals : Series, optional
        The residuals, named by row (printed in full when ``df <= 5``).
    weighted : bool
        Prior weights that are not all equal (prints ``Weighted Residuals:``).
    n_singular : int
        Coefficients not defined because of singularities.
    """

    call: list[str]
    coefficients: pd.DataFrame
    sigma: float
    df: int
    r_squared: float
    adj_r_squared: float
    fstatistic: tuple | None = None
    f_pvalue: float | None = None
    resid_quantiles: list[float] | None = None
    residuals: pd.Series | None = None
    weighted: bool = False
    n_singular: int = 0


@dataclass
class GlmSummary:
    """The numbers of R's ``summary.glm``.

    Attributes
    ----------
    call : list of str
    coefficients : DataFrame
        ``Estimate``, ``Std. Error``, ``z value`` / ``t value``, ``Pr(>|z|)`` / ``Pr(>|t|)``.
    family : str
        R's family name (``binomial``, ``poisson``, ``quasipoisson``, ``Gamma``).
    dispersion : float
    null_deviance, deviance : float
    df_null, df_residual : int
    aic : float
        NaN for quasi families (prints ``NA``).
    iter : int
        Fisher scoring iterations.
    resid_quantiles : list of float, optional
        Quantiles of the deviance residuals; or give ``residuals``.
    residuals : Series, optional
    n_singular : int
    """

    call: list[str]
    coefficients: pd.DataFrame
    family: str
    dispersion: float
    null_deviance: float
    df_null: int
    deviance: float
    df_residual: int
    aic: float
    iter: int
    resid_quantiles: list[float] | None = None
    residuals: pd.Series | None = None
    n_singular: int = 0
    extra: dict = field(default_factory=dict)


def call_lines(fun: str, formula: str, data_name: str, family: str | None = None,
               weights: str | None = None) -> list[str]:
    """The deparsed call R prints under ``Call:``, e.g. ``lm(formula = y ~ x, data = d)`` (width cutoff 60).

    Parameters
    ----------
    fun : {"lm", "glm"}
    formula : str
    data_name : str
    family : str, optional
        An R expression (``binomial``, ``Gamma(link = "log")``), for glm.
    weights : str, optional
        The weights argument as written.

    Returns
    -------
    list of str

    Examples
    --------
    >>> call_lines("glm", "cbind(incidence, size - incidence) ~ period", "cbpp", family="binomial")
    ['glm(formula = cbind(incidence, size - incidence) ~ period, family = binomial, ', '    data = cbpp)']
    """
    kwargs = [("formula", parse_expr(formula))]
    if family is not None:
        kwargs.append(("family", parse_expr(family)))
    kwargs.append(("data", Name(data_name) if data_name.isidentifier() else Str(data_name)))
    if weights is not None:
        kwargs.append(("weights", parse_expr(weights)))
    return deparse_lines(Call(fun, (), tuple(kwargs)))


def _resid_block(title: str, quantiles, residuals, df: int, digits: int, gap: int, zap_all: bool) -> list[str]:
    """The residual quantiles (df > 5), else every residual (zapped first in glm summaries)."""
    out = [title]
    if df > 5 or residuals is None:
        q = quantiles if quantiles is not None else quantile7(list(residuals))
        out += print_named(format_num(zapsmall(list(q), digits + 1), digits), _QNAMES, gap=gap)
    elif df > 0:
        vals = zapsmall(list(residuals), digits + 1) if zap_all else list(residuals)
        out += print_named(format_num(vals, digits), [str(i) for i in residuals.index], gap=gap)
    return out


def _coef_block(out: Printout, coefficients: pd.DataFrame, n_singular: int, digits: int) -> None:
    head = (f"Coefficients: ({n_singular} not defined because of singularities)" if n_singular else "Coefficients:")
    cells, rows, cols, legend = format_coefmat(coefficients, digits=digits, na_print="NA")
    out.add(["", head])
    out.add(print_matrix(cells, rows, cols, right=True) + (["---", SIGNIF_LEGEND] if legend else []),
            table=pd.DataFrame(cells, index=rows, columns=cols), heading="Coefficients:")


def format_lm_summary(s: LmSummary, digits: int = 4) -> Printout:
    """Lay out ``summary(lm(...))`` line for line as R's ``print.summary.lm``.

    Parameters
    ----------
    s : LmSummary
    digits : int, default 4

    Returns
    -------
    Printout

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.fits.lm import lm
    >>> print(lm_summary(lm("mpg ~ wt + hp", hl.load_dataset("mtcars")), data_name="mtcars"))  # doctest: +ELLIPSIS
    <BLANKLINE>
    Call:
    lm(formula = mpg ~ wt + hp, data = mtcars)
    ...
    Residual standard error: 2.593 on 29 degrees of freedom
    Multiple R-squared:  0.8268,	Adjusted R-squared:  0.8148
    F-statistic: 69.21 on 2 and 29 DF,  p-value: 9.109e-12
    <BLANKLINE>
    """
    out = Printout()
    out.add(["", "Call:"] + list(s.call) + [""])
    title = ("Weighted " if s.weighted else "") + "Residuals:"
    if s.df > 0:
        out.add(_resid_block(title, s.resid_quantiles, s.residuals, s.df, digits, 1, False))
    else:
        out.add([title, f"ALL {len(s.coefficients)} residuals are 0: no residual degrees of freedom!"])
    _coef_block(out, s.coefficients, s.n_singular, digits)
    tail = ["", f"Residual standard error: {format_num([r_signif(s.sigma, digits)])[0]} on {s.df} degrees of freedom"]
    if s.fstatistic is not None:
        value, numdf, dendf = s.fstatistic
        tail.append(f"Multiple R-squared:  {format_c(s.r_squared, digits)},\tAdjusted R-squared:  "
                    f"{format_c(s.adj_r_squared, digits)} ")
        tail.append(f"F-statistic: {format_c(value, digits)} on {format_num([numdf])[0]} and "
                    f"{format_num([dendf])[0]} DF,  p-value: {format_pval([s.f_pvalue], digits)[0]}")
    out.add(tail + [""])
    return out


def format_glm_summary(s: GlmSummary, digits: int = 4) -> Printout:
    """Lay out ``summary(glm(...))`` line for line as R 4.2's ``print.summary.glm``.

    Parameters
    ----------
    s : GlmSummary
    digits : int, default 4

    Returns
    -------
    Printout

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.fits.lm import glm
    >>> g = glm("am ~ wt + hp", hl.load_dataset("mtcars"), family="binomial")
    >>> print("\\n".join(glm_summary(g, data_name="mtcars").lines[-8:-1]))
    (Dispersion parameter for binomial family taken to be 1)
    <BLANKLINE>
        Null deviance: 43.230  on 31  degrees of freedom
    Residual deviance: 10.059  on 29  degrees of freedom
    AIC: 16.059
    <BLANKLINE>
    Number of Fisher Scoring iterations: 8
    """
    out = Printout()
    out.add(["", "Call:"] + list(s.call) + [""])
    out.add(_resid_block("Deviance Residuals: ", s.resid_quantiles, s.residuals, s.df_residual, digits, 2, True))
    _coef_block(out, s.coefficients, s.n_singular, digits)
    dev = format_num([s.null_deviance, s.deviance], max(5, digits + 1))
    dfs = format_num([float(s.df_null), float(s.df_residual)])
    aic = format_num([s.aic], max(4, digits + 1))[0]
    out.add(["", f"(Dispersion parameter for {s.family} family taken to be {format_num([s.dispersion])[0]})", "",
             f"    Null deviance: {dev[0]}  on {dfs[0]}  degrees of freedom",
             f"Residual deviance: {dev[1]}  on {dfs[1]}  degrees of freedom",
             f"AIC: {aic}", "", f"Number of Fisher Scoring iterations: {s.iter}", ""])
    return out


def _coefficients(fit) -> tuple[pd.DataFrame, int]:
    """The coefficient table with NaN rows where R reports aliased coefficients."""
    table = fit.fixef()
    dropped = list(fit.design.dropped)
    if not dropped:
        return table, 0
    full = pd.DataFrame(np.nan, index=list(fit.design.all_xnames), columns=table.columns)
    full.loc[table.index] = table.to_numpy()
    return full, len(dropped)


def _row_names(fit) -> list[str]:
    """Observation names as R has them: integer row labels are R's 1-based row numbers."""
    return [str(r + 1) if isinstance(r, (int, np.integer)) else str(r) for r in fit.design.rows]


def _weights_arg(fit) -> str | None:
    w = fit.design.weights
    if w is None:
        return None
    data = fit.design.data
    for col in (data.columns if data is not None else []):
        vals = pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float)
        if len(vals) == len(w) and np.array_equal(vals, w):
            return str(col)
    return "weights"


def lm_summary(fit, data_name: str = "data") -> Printout:
    """``summary(lm(...))`` of an :class:`~hierlm.fits.lm.LmFit`, printed as R prints it.

    Parameters
    ----------
    fit : LmFit
    data_name : str, default "data"
        The data argument shown in the ``Call:`` line.

    Returns
    -------
    Printout

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.fits.lm import lm
    >>> lm_summary(lm("mpg ~ wt", hl.load_dataset("mtcars")), data_name="mtcars").lines[2]
    'lm(formula = mpg ~ wt, data = mtcars)'
    """
    coefs, nsing = _coefficients(fit)
    w = fit.design.weights
    resid = np.asarray(fit.residuals("response"), dtype=float)
    if w is not None:
        resid = resid * np.sqrt(w)
    r2, f = fit.r2(), fit.fstatistic()
    return format_lm_summary(LmSummary(
        call=call_lines("lm", fit.formula, data_name, weights=_weights_arg(fit)), coefficients=coefs,
        sigma=fit.sigma(), df=int(fit.df_residual), r_squared=float(r2["r2"]), adj_r_squared=float(r2["adj_r2"]),
        fstatistic=None if f is None else (float(f["value"]), float(f["numdf"]), float(f["dendf"])),
        f_pvalue=None if f is None else float(f["p"]),
        residuals=pd.Series(resid, index=_row_names(fit)),
        weighted=w is not None and float(np.ptp(w)) != 0.0, n_singular=nsing))


def _family_expr(family) -> str:
    canonical = {"binomial": "logit", "bernoulli": "logit", "poisson": "log", "gaussian": "identity"}
    name = "binomial" if family.name == "bernoulli" else family.name
    if canonical.get(family.name) == family.link.name:
        return name
    return f'{name}(link = "{family.link.name}")'


def glm_summary(fit, data_name: str = "data") -> Printout:
    """``summary(glm(...))`` of a :class:`~hierlm.fits.lm.GlmFit`, printed as R 4.2 prints it.

    Parameters
    ----------
    fit : GlmFit
    data_name : str, default "data"
        The data argument shown in the ``Call:`` line.

    Returns
    -------
    Printout

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.fits.lm import glm
    >>> g = glm("am ~ wt + hp", hl.load_dataset("mtcars"), family="binomial")
    >>> glm_summary(g, data_name="mtcars").lines[2]
    'glm(formula = am ~ wt + hp, family = binomial, data = mtcars)'
    """
    coefs, nsing = _coefficients(fit)
    resid = np.asarray(fit.residuals("deviance"), dtype=float)
    aic = fit.aic() if fit.family.name in ("binomial", "bernoulli", "poisson", "gaussian", "negbinomial") else np.nan
    return format_glm_summary(GlmSummary(
        call=call_lines("glm", fit.formula, data_name, family=_family_expr(fit.family), weights=_weights_arg(fit)),
        coefficients=coefs, family=fit.family.r_name, dispersion=fit.dispersion(), null_deviance=fit.null_deviance,
        df_null=int(fit.df_null), deviance=fit.deviance(), df_residual=int(fit.df_residual), aic=aic,
        iter=int(fit.iter), residuals=pd.Series(resid, index=_row_names(fit)), n_singular=nsing))
