"""lme4's ``print.summary.merMod`` (and lmerTest's summary, which prints through it), from numbers.

:class:`MerSummary` holds what the printout shows; :func:`format_mer_summary` lays it out line for
line as R 4.2 / lme4 1.1-31 do (``options(digits = 7, width = 80)``): the title wrapped at the width
(``.prt.methTit``), family, formula and call lines (``cat(fill = TRUE)``), the REML criterion or the
AIC table, the scaled-residual quantiles (``zapsmall(quantile(r), digits + 1)``, ``digits = 4``), the
random effects (``formatVC``), the group counts, the coefficient table (``printCoefmat``), the
correlation of fixed effects (``format(round(corr, 3), nsmall = 3)``, abbreviated names; shown for
p <= 12) and the fit and optimizer messages.

The numbers may come from a hierlm fit (:mod:`.frequentist`) or from R itself (the tests feed R's own
numbers to check the layout independently of the fit).

Examples
--------
>>> import pandas as pd
>>> s = MerSummary(method_title="Linear mixed model fit by REML", obj_class="lmerMod",
...     formula=["Yield ~ 1 + (1 | Batch)"], data="Dyestuff", aictab={"REML": 319.6543},
...     resid_quantiles=[-1.4117, -0.7634, 0.1418, 0.7792, 1.8296],
...     varcorr=pd.DataFrame({"grp": ["Batch", "Residual"], "var1": ["(Intercept)", None], "var2": [None, None],
...                           "sdcor": [42.00063, 49.51004]}),
...     ngrps={"Batch": 6}, nobs=30,
...     coefficients=pd.DataFrame({"Estimate": [1527.5], "Std. Error": [19.38341], "t value": [78.80452]},
...                               index=["(Intercept)"]))
>>> print(format_mer_summary(s))
Linear mixed model fit by REML ['lmerMod']
Formula: Yield ~ 1 + (1 | Batch)
   Data: Dyestuff
<BLANKLINE>
REML criterion at convergence: 319.7
<BLANKLINE>
Scaled residuals:
    Min      1Q  Median      3Q     Max
-1.4117 -0.7634  0.1418  0.7792  1.8296
<BLANKLINE>
Random effects:
 Groups   Name        Variance Std.Dev.
 Batch    (Intercept) 1764     42.00
 Residual             2451     49.51
Number of obs: 30, groups:  Batch, 6
<BLANKLINE>
Fixed effects:
            Estimate Std. Error t value
(Intercept)  1527.50      19.38   78.81
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..rformat import (
    SIGNIF_LEGEND,
    WIDTH,
    abbreviate,
    cat_fill,
    format_coefmat,
    format_num,
    print_matrix,
    print_named,
    print_named_real,
    quantile7,
    r_round,
    strwrap,
    zapsmall,
)
from .summary import Printout
from .varcorr import vc_cells

__all__ = ["MerSummary", "format_mer_summary", "method_title_lines", "correlation_lines", "aictab_lines",
           "resid_lines", "SINGULAR_MESSAGE", "COR_MAX"]

#: hierlm's words where lme4 prints "boundary (singular) fit: see help('isSingular')"
from ...fits.frequentist import SINGULAR_MESSAGE  # noqa: E402  (one home: the fits announce it at fit time)
#: lme4's ``getOption("lme4.summary.cor.max")``: the correlation of fixed effects is shown for p <= 12
COR_MAX = 12
_QNAMES = ["Min", "1Q", "Median", "3Q", "Max"]


@dataclass
class MerSummary:
    """The numbers and words of a mixed-model summary, as lme4's ``summary.merMod`` holds them.

    Attributes
    ----------
    method_title : str
        lme4's ``methTitle`` (lmerTest appends ``". t-tests use Satterthwaite's method"``).
    obj_class : str
        ``lmerMod``, ``lmerModLmerTest`` or ``glmerMod``.
    formula : list of str
        The deparsed formula pieces (:func:`hierlm.services.rformat.formula_lines`).
    aictab : dict
        ``{"REML": crit}`` for REML fits, else ``AIC, BIC, logLik, deviance, df.resid``.
    resid_quantiles : list of float
        Quantiles of the scaled Pearson residuals (unzapped); or pass ``residuals``.
    varcorr : DataFrame
        ``as.data.frame(VarCorr(m))`` layout.
    ngrps : dict
        Grouping factor -> number of levels.
    nobs : int
    coefficients : DataFrame
        The coefficient table (R's column names, NaN for NA).
    corr : ndarray, optional
        Correlation matrix of the fixed effects.
    family, link : str, optional
        For GLMMs (the `` Family:`` line).
    data, weights, offset, control, subset : str, optional
        The call's arguments as R deparses them; a line is printed for each one given.
    fit_msgs : list of str
        lme4's ``fit warnings:`` (rank deficiency, predictor scales).
    optimizer : str
        Name shown in the convergence line.
    conv_code : int
        Optimizer convergence code (0 = OK).
    conv_messages : list of str
        Convergence messages (e.g. the singular-fit message); with a non-zero code or any message the
        optimizer line and these are printed last.
    """

    method_title: str
    obj_class: str
    formula: list[str]
    aictab: dict
    varcorr: pd.DataFrame
    ngrps: dict
    nobs: int
    coefficients: pd.DataFrame
    resid_quantiles: list[float] | None = None
    residuals: np.ndarray | None = None
    corr: np.ndarray | None = None
    family: str | None = None
    link: str | None = None
    data: str | None = None
    weights: str | None = None
    offset: str | None = None
    control: str | None = None
    subset: str | None = None
    fit_msgs: list[str] = field(default_factory=list)
    optimizer: str = "bobyqa"
    conv_code: int = 0
    conv_messages: list[str] = field(default_factory=list)


def method_title_lines(title: str, obj_class: str, width: int = WIDTH) -> list[str]:
    """lme4's ``.prt.methTit``: ``title ['class']``, or wrapped as ``strwrap`` + ``cat(fill = TRUE)`` when long.

    Parameters
    ----------
    title, obj_class : str
    width : int, default 80

    Returns
    -------
    list of str

    Examples
    --------
    >>> method_title_lines("Linear mixed model fit by REML. t-tests use Satterthwaite's method", "lmerModLmerTest")
    ["Linear mixed model fit by REML. t-tests use Satterthwaite's method [", 'lmerModLmerTest]']
    """
    if len(title) + 5 + len(obj_class) > width:
        return cat_fill(strwrap(title, width - 2, exdent=2) + [" [", obj_class, "]"], width=width, sep="")
    return [f"{title} ['{obj_class}']"]


def aictab_lines(aictab: dict, digits: int = 1) -> list[str]:
    """lme4's ``.prt.aictab``: the REML criterion, or the AIC/BIC/logLik/deviance/df.resid table.

    Parameters
    ----------
    aictab : dict
    digits : int, default 1

    Returns
    -------
    list of str

    Examples
    --------
    >>> aictab_lines({"AIC": 194.0531, "BIC": 204.1799, "logLik": -92.02657, "deviance": 184.0531, "df.resid": 51})
    ['     AIC      BIC   logLik deviance df.resid ', '   194.1    204.2    -92.0    184.1       51 ']
    """
    if list(aictab) == ["REML"]:
        return cat_fill(["REML criterion at convergence:", format_num([r_round(aictab["REML"], digits)])[0]])
    names = list(aictab)
    vals = r_round([float(v) for v in aictab.values()], digits)
    cells = format_num(vals)
    if "df.resid" in names:
        k = names.index("df.resid")
        cells[k] = format_num([vals[k]])[0]
    return print_named(cells, names)


def resid_lines(quantiles, digits: int = 4, title: str = "Scaled residuals:") -> list[str]:
    """lme4's ``.prt.resids``: the title, then ``print(zapsmall(quantile(r), digits + 1), digits = digits)``.

    Parameters
    ----------
    quantiles : sequence of float
        The five quantiles (min, quartiles, max), unzapped.
    digits : int, default 4
    title : str

    Returns
    -------
    list of str

    Examples
    --------
    >>> resid_lines([-3.953567, -0.463398, 0.023118, 0.463402, 5.179260])[1:]
    ['    Min      1Q  Median      3Q     Max ', '-3.9536 -0.4634  0.0231  0.4634  5.1793 ', '']
    """
    return [title + " "] + print_named_real(zapsmall(list(quantiles), digits + 1), _QNAMES, digits) + [""]


def correlation_lines(corr: np.ndarray, names: list[str], width: int = WIDTH) -> list[str]:
    """lme4's "Correlation of Fixed Effects" triangle (rows abbreviated to 11, columns to 6 characters).

    Parameters
    ----------
    corr : ndarray (p, p)
    names : list of str
    width : int, default 80

    Returns
    -------
    list of str
        Without the heading.

    Examples
    --------
    >>> import numpy as np
    >>> correlation_lines(np.array([[1.0, -0.1375], [-0.1375, 1.0]]), ["(Intercept)", "Days"])
    ['     (Intr)', 'Days -0.138']
    """
    p = len(names)
    flat = format_num(r_round(list(np.asarray(corr, dtype=float).ravel(order="F")), 3), nsmall=3, nan="NaN")
    cells = np.array(flat, dtype=object).reshape((p, p), order="F")
    rns, cns = abbreviate(names, 11), abbreviate(names, 6)
    rows = [[cells[i, j] if j < i else "" for j in range(p - 1)] for i in range(1, p)]
    return print_matrix(rows, rns[1:], cns[:-1], right=False, width=width)


def format_mer_summary(s: MerSummary, digits: int = 4, correlation: bool | None = None, signif_stars: bool = True,
                       width: int = WIDTH) -> Printout:
    """Lay out a mixed-model summary line for line as lme4's ``print.summary.merMod``.

    Parameters
    ----------
    s : MerSummary
    digits : int, default 4
        lme4's ``max(3, getOption("digits") - 3)``.
    correlation : bool, optional
        Show the correlation of fixed effects (default: when there are at most 12 fixed effects).
    signif_stars : bool, default True
    width : int, default 80

    Returns
    -------
    Printout

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.services.reports.frequentist import mer_summary_of
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> print(format_mer_summary(mer_summary_of(m, data_name="sleepstudy")))  # doctest: +ELLIPSIS
    Linear mixed model fit by REML ['lmerMod']
    Formula: Reaction ~ Days + (Days | Subject)
       Data: sleepstudy
    ...
    Fixed effects:
                Estimate Std. Error t value
    (Intercept)  251.405      6.825  36.838
    Days          10.467      1.546   6.771
    ...
    """
    out = Printout()
    head = method_title_lines(s.method_title, s.obj_class, width)
    if s.family is not None:
        head += cat_fill([" Family:", s.family] + ([f" ( {s.link} )"] if s.link is not None else []), width)
    head += cat_fill(["Formula:"] + list(s.formula), width)
    for label, value in (("   Data:", s.data), ("Weights:", s.weights), (" Offset:", s.offset),
                         ("Control:", s.control), (" Subset:", s.subset)):
        if value is not None:
            head += cat_fill([label, value], width)
    out.add(head + [""] + aictab_lines(s.aictab) + [""])
    q = s.resid_quantiles if s.resid_quantiles is not None else quantile7(s.residuals)
    out.add(resid_lines(q, digits))
    rows, cols = vc_cells(s.varcorr, digits=digits)
    out.add(["Random effects:"])
    out.add(print_matrix(rows, [""] * len(rows), cols, right=False, width=width),
            table=pd.DataFrame(rows, columns=cols), heading="Random effects:")
    out.add(cat_fill([f"Number of obs: {s.nobs}, groups: ", "; ".join(f"{g}, {k}" for g, k in s.ngrps.items())],
                     width))
    p = len(s.coefficients)
    if p > 0:
        cells, rows, cols, legend = format_coefmat(s.coefficients, digits=digits, signif_stars_=signif_stars)
        lines = print_matrix(cells, rows, cols, right=True, width=width) + (["---", SIGNIF_LEGEND] if legend else [])
        out.add(["", "Fixed effects:"])
        out.add(lines, table=pd.DataFrame(cells, index=rows, columns=cols), heading="Fixed effects:")
        show = (p <= COR_MAX) if correlation is None else correlation
        if correlation is None and p > COR_MAX:
            out.add(["", f"Correlation matrix not shown by default, as p = {p} > {COR_MAX}.",
                     "Use summary(correlation=True) or fit.vcov() if you need it"])
        if show and s.corr is not None and p > 1:
            corr = correlation_lines(s.corr, list(s.coefficients.index), width)
            out.add(["", "Correlation of Fixed Effects:"] + corr)
    tail = []
    if any(s.fit_msgs):
        tail += ["fit warnings:"] + [m for m in s.fit_msgs if m]
    if s.conv_code > 0 or s.conv_messages:
        tail += [f"optimizer ({s.optimizer}) convergence code: {s.conv_code} {'(OK)' if s.conv_code == 0 else ''}"]
        tail += list(s.conv_messages) + [""]
    if tail:
        out.add(tail)
    return out

