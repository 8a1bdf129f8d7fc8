"""Model comparison: lme4's likelihood-ratio ``anova`` for frequentist fits, printed as R prints it.

``hl.anova(m0, m1, ...)`` refits REML fits by maximum likelihood first (as lme4 does), sorts the
models by their number of parameters (as lme4 does, whatever the order given) and tests each
against the one before it.  The result is an :class:`AnovaTable`: a DataFrame of the numbers whose
``print()`` is R's, digit for digit (``print.anova``: the ``Data:`` / ``Models:`` heading, the table
through ``printCoefmat``, significance stars and the legend).

Deliberate differences from R's console:

* row names are the ``names=`` given, else ``m0``, ``m1``, ... in the order of the arguments (R uses
  the argument expressions, which Python cannot see);
* the data line reads ``Data: data`` unless ``data_name=`` is given;
* R's message "refitting model(s) with ML (instead of REML)" (sent to the console by ``message()``) is
  the first line of the printed table, not a warning: it is information, not a problem.

Cumulative link mixed models (``glmer(family="cumulative")``) get ordinal's ``anova.clm`` table
(:func:`clm_lrt_table`: ``no.par, AIC, logLik, LR.stat, df, Pr(>Chisq)`` under a table of the models'
formulas, links and thresholds).  Lists of lm / glm fits get R's ``anova.lmlist`` / ``anova.glmlist`` tables
(:func:`hierlm.fits.lm_anova.anova_lm`); one fit gets its single-model table (lm's sequential F
table, lmerTest's type III F table for an lmer fit); Bayesian fits get :func:`hierlm.compare`'s table.
"""

from __future__ import annotations

import html
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.special import chdtrc

from ...errors import HierlmError
from ...fits.lm_anova import anova_lm
from ...fits.lmm_tests import anova_table
from ...fits.lmm_tests import ranova as _ranova_table
from ...fits.protocol import check_same_data, is_fit
from ...formula import parse_expr
from ..rformat import (
    deparse_lines,
    formula_lines,
    print_anova,
    print_coefmat,
    print_matrix,
)
from .kfold import KFold
from .loo import compare

__all__ = ["anova", "lrt_table", "clm_lrt_table", "AnovaTable", "ClmAnovaTable", "REFIT_MESSAGE"]

#: lme4's message when REML fits are refitted for the likelihood-ratio test
REFIT_MESSAGE = "refitting model(s) with ML (instead of REML)"
_TYPES = {1: "I", 2: "II", 3: "III"}


class AnovaTable(pd.DataFrame):
    """An anova table: the numbers as a DataFrame, printed as R's ``print.anova`` prints them.

    Attributes
    ----------
    heading : list of str
        The lines R prints above the table (``Data: ...``, ``Models:``, one line per model).
    notes : list of str
        Lines printed first (the refit message of lme4's ``anova``).

    Examples
    --------
    >>> import pandas as pd
    >>> t = AnovaTable(pd.DataFrame({"Df": [1.0, 48.0], "Sum Sq": [450.67, 5745.1], "Mean Sq": [450.67, 119.69],
    ...                              "F value": [3.7653, float("nan")], "Pr(>F)": [0.058213, float("nan")]},
    ...                             index=["wool", "Residuals"]), heading=["Analysis of Variance Table"])
    >>> print(t)  # doctest: +NORMALIZE_WHITESPACE
    Analysis of Variance Table
              Df Sum Sq Mean Sq F value  Pr(>F)
    wool       1  450.7  450.67  3.7653 0.05821 .
    Residuals 48 5745.1  119.69
    ---
    Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1
    """

    _metadata: ClassVar[list[str]] = ["heading", "notes"]

    def __init__(self, data=None, *args, heading=None, notes=None, **kwargs):
        super().__init__(data, *args, **kwargs)
        # pandas copies _metadata onto derived frames before __init__ runs; keep it unless given anew
        if heading is not None or "heading" not in self.__dict__:
            object.__setattr__(self, "heading", list(heading or []))
        if notes is not None or "notes" not in self.__dict__:
            object.__setattr__(self, "notes", list(notes or []))

    @property
    def _constructor(self):
        return AnovaTable

    def lines(self) -> list[str]:
        """The printed lines (notes, heading, table, legend).

        Returns
        -------
        list of str

        Examples
        --------
        >>> import pandas as pd
        >>> AnovaTable(pd.DataFrame({"F": [2.0]}, index=["x"]), heading=["Title"]).lines()
        ['Title', '  F', 'x 2']
        """
        return list(getattr(self, "notes", [])) + print_anova(pd.DataFrame(self), getattr(self, "heading", []))

    def __repr__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        return "<pre style='margin:0'>" + html.escape(repr(self)) + "</pre>"


class ClmAnovaTable(AnovaTable):
    """ordinal's ``anova.clm`` table: the numbers as a DataFrame, printed as ``print.anova.clm`` prints them.

    Attributes
    ----------
    heading : list of str
        The title and the table of the models (formula, link, threshold), as ordinal prints them.
    models : DataFrame
        The models' ``formula:``, ``link:`` and ``threshold:``, one row per model.

    Examples
    --------
    >>> import pandas as pd
    >>> t = ClmAnovaTable(pd.DataFrame({"no.par": [6, 7], "AIC": [189.4775, 177.1308], "logLik": [-88.7388, -81.5654],
    ...                                 "LR.stat": [float("nan"), 14.3467], "df": [float("nan"), 1.0],
    ...                                 "Pr(>Chisq)": [float("nan"), 0.000152]}, index=["m0", "m1"]),
    ...                   heading=["Likelihood ratio tests of cumulative link models:", ""])
    >>> print(t)  # doctest: +NORMALIZE_WHITESPACE
    Likelihood ratio tests of cumulative link models:
    <BLANKLINE>
       no.par    AIC  logLik LR.stat df Pr(>Chisq)
    m0      6 189.48 -88.739
    m1      7 177.13 -81.565  14.347  1   0.000152 ***
    ---
    Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1
    """

    _metadata: ClassVar[list[str]] = ["heading", "notes", "models"]

    def __init__(self, data=None, *args, models=None, **kwargs):
        super().__init__(data, *args, **kwargs)
        if models is not None or "models" not in self.__dict__:
            object.__setattr__(self, "models", models)

    @property
    def _constructor(self):
        return ClmAnovaTable

    def lines(self) -> list[str]:
        """The printed lines: heading, models, then ``printCoefmat(x, tst.ind = 4, cs.ind = NULL)``.

        Returns
        -------
        list of str

        Examples
        --------
        >>> import pandas as pd
        >>> t = ClmAnovaTable(pd.DataFrame({"no.par": [6, 7], "AIC": [189.4775, 177.1308],
        ...                                 "logLik": [-88.7388, -81.5654], "LR.stat": [None, 14.3467], "df": [None, 1],
        ...                                 "Pr(>Chisq)": [None, 0.000152]}, index=["m0", "m1"]), heading=["Title"])
        >>> t.lines()[:2]
        ['Title', '   no.par    AIC  logLik LR.stat df Pr(>Chisq)    ']
        """
        table = pd.DataFrame(self).astype(float)
        return list(getattr(self, "notes", [])) + list(getattr(self, "heading", [])) + print_coefmat(
            table, digits=5, cs_ind=None, tst_ind=[3], P_values=True, has_Pvalue=True, na_print="")


def clm_lrt_table(fits, names: list[str] | None = None) -> ClmAnovaTable:
    """ordinal's ``anova.clm`` of cumulative link (mixed) models: sorted by the number of parameters, each
    tested against the one above by a likelihood-ratio test.

    Parameters
    ----------
    fits : list of ClmmFit
        Two or more fits of the same data.
    names : list of str, optional
        Row names, in the order of ``fits`` (default ``m0``, ``m1``, ...).

    Returns
    -------
    ClmAnovaTable
        ``no.par, AIC, logLik, LR.stat, df, Pr(>Chisq)``: ``LR.stat = 2 diff(logLik)``, ``df = diff(no.par)``,
        ``Pr(>Chisq)`` NA where ``df`` is 0, as in ordinal 2022.11.

    Examples
    --------
    >>> import hierlm as hl, pandas as pd
    >>> va = hl.load_dataset("VerbAgg")
    >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
    >>> m1 = hl.glmer("resp ~ btype + mode + (1 | id)", va, family="cumulative")
    >>> m0 = m1.update(". ~ . - mode")
    >>> print(clm_lrt_table([m0, m1]))  # doctest: +NORMALIZE_WHITESPACE
    Likelihood ratio tests of cumulative link models:
    <BLANKLINE>
       formula:                       link: threshold:
    m0 resp ~ btype + (1 | id)        logit flexible
    m1 resp ~ btype + mode + (1 | id) logit flexible
    <BLANKLINE>
       no.par   AIC  logLik LR.stat df Pr(>Chisq)
    m0      5 13477 -6733.3
    m1      6 13328 -6658.2  150.29  1  < 2.2e-16 ***
    ---
    Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1
    """
    if len(fits) < 2:
        raise HierlmError("anova() of a cumulative link mixed model needs two or more fits to compare (ordinal "
                          "has no anova of a single clmm fit either)")
    check_same_data(fits)
    names = list(names) if names is not None else [f"m{i}" for i in range(len(fits))]
    if len(names) != len(fits) or len(set(names)) != len(names):
        raise HierlmError(f"names must give {len(fits)} different row names, one per model; got {names!r}")
    npar = np.array([f.npar() for f in fits])
    order = np.argsort(npar, kind="stable")
    fits, names, npar = [fits[i] for i in order], [names[i] for i in order], npar[order]
    ll = np.array([f.loglik() for f in fits])
    stat = np.concatenate([[np.nan], 2 * np.diff(ll)])
    df = np.concatenate([[np.nan], np.diff(npar)]).astype(float)
    with np.errstate(invalid="ignore"):
        p = np.where(df == 0, np.nan, chdtrc(df, stat))
    table = pd.DataFrame({"no.par": npar, "AIC": -2 * ll + 2 * npar, "logLik": ll, "LR.stat": stat, "df": df,
                          "Pr(>Chisq)": p}, index=names)
    table["df"] = table["df"].astype("Int64")
    models = pd.DataFrame({"formula:": ["".join(deparse_lines(parse_expr(f.formula), 500)) for f in fits],
                           "link:": [f.family.link.name for f in fits], "threshold:": "flexible"}, index=names)
    heading = ["Likelihood ratio tests of cumulative link models:", " "]
    heading += print_matrix(models.to_numpy().tolist(), names, list(models.columns), right=False) + [""]
    return ClmAnovaTable(table, heading=heading, models=models)


def _deparse1(text: str) -> str:
    return " ".join(formula_lines(text, cutoff=500))


def lrt_table(fits, names: list[str] | None = None, data_name: str = "data") -> AnovaTable:
    """lme4's likelihood-ratio table of ML fits: sorted by ``npar``, each row tested against the one above.

    Parameters
    ----------
    fits : list of fits
        Maximum-likelihood fits (or lm / glm fits) of the same data.
    names : list of str, optional
        Row names, in the order of ``fits`` (default ``m0``, ``m1``, ...).
    data_name : str, default "data"
        Shown on the ``Data:`` line.

    Returns
    -------
    AnovaTable
        ``npar, AIC, BIC, logLik, deviance, Chisq, Df, Pr(>Chisq)``; ``Chisq`` is
        ``2 * max(0, diff(logLik))`` and ``Pr(>Chisq)`` is NA where ``Df`` is 0, as in lme4.

    Examples
    --------
    >>> import hierlm as hl
    >>> sleep = hl.load_dataset("sleepstudy")
    >>> m1 = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep, reml=False)
    >>> m0 = hl.lmer("Reaction ~ Days + (1 | Subject)", sleep, reml=False)
    >>> lrt_table([m1, m0], data_name="sleepstudy").index.tolist()  # fewer parameters first
    ['m1', 'm0']
    """
    check_same_data(fits)
    names = list(names) if names is not None else [f"m{i}" for i in range(len(fits))]
    if len(names) != len(fits) or len(set(names)) != len(names):
        raise HierlmError(f"names must give {len(fits)} different row names, one per model; got {names!r}")
    npar = np.array([f.npar() for f in fits])
    order = np.argsort(npar, kind="stable")
    fits, names, npar = [fits[i] for i in order], [names[i] for i in order], npar[order]
    ll = np.array([f.loglik() for f in fits])
    n = fits[0].nobs()
    chisq = np.concatenate([[np.nan], 2 * np.maximum(0, np.diff(ll))])
    df = np.concatenate([[np.nan], np.diff(npar)]).astype(float)
    with np.errstate(invalid="ignore"):
        p = np.where(df == 0, np.nan, chdtrc(df, chisq))
    table = pd.DataFrame({"npar": npar, "AIC": -2 * ll + 2 * npar, "BIC": -2 * ll + np.log(n) * npar, "logLik": ll,
                          "deviance": -2 * ll, "Chisq": chisq, "Df": df, "Pr(>Chisq)": p}, index=names)
    table["Df"] = table["Df"].astype("Int64")
    heading = [f"Data: {data_name}", "Models:"] + [f"{nm}: {_deparse1(f.formula)}" for nm, f in zip(names, fits)]
    return AnovaTable(table, heading=heading)


def _lm_heading(fits) -> list[str]:
    glm = is_fit(fits[0], "frequentist", "glm")
    title = "Analysis of Deviance Table" if glm else "Analysis of Variance Table"
    if len(fits) == 1:
        f = fits[0]
        response = _deparse1(f.formula).split(" ~ ")[0]
        if glm:
            return [f"{title}\n\nModel: {f.family.r_name}, link: {f.family.link.name}\n\nResponse: {response}\n\n"
                    "Terms added sequentially (first to last)\n\n"]
        return [f"{title}\n", f"Response: {response}"]
    width = len(str(len(fits)))
    return [f"{title}\n", "\n".join(f"Model {str(i + 1).rjust(width)}: {_deparse1(f.formula)}"
                                    for i, f in enumerate(fits))]


def anova(*fits, names: list[str] | None = None, refit: bool = True, data_name: str = "data",
          type: int = 3, ddf: str = "Satterthwaite", **kwargs) -> pd.DataFrame:
    """Compare nested models (lme4's ``anova``), or test the terms of one model.

    Parameters
    ----------
    *fits : LmerFit, GlmerFit, ClmmFit, LmFit, GlmFit or BayesFit
        Two or more fits of the same data; or one frequentist fit for its F table.
    names : list of str, optional
        Row labels, in the order of the fits (default ``m0``, ``m1``, ...).
    refit : bool, default True
        Refit REML fits by maximum likelihood first, as lme4 does.
    data_name : str, default "data"
        Shown on the ``Data:`` line of the printout (R shows the data frame's name).
    type : {1, 2, 3}, default 3
        One lmer fit: the type of the F tests (lmerTest's ``anova(m, type=)``).
    ddf : {"Satterthwaite", "Kenward-Roger", "lme4"}, default "Satterthwaite"
        One lmer fit: the denominator degrees of freedom.
    **kwargs
        Bayesian fits: passed to :func:`hierlm.compare`; lm / glm fits: ``test=``.

    Returns
    -------
    AnovaTable or ComparisonTable
        Frequentist mixed fits: ``npar, AIC, BIC, logLik, deviance, Chisq, Df, Pr(>Chisq)``, one row
        per model, sorted by ``npar`` (as lme4 sorts them), each tested against the row above; it
        prints as R does.  lm / glm fits: R's ``anova.lm`` / ``anova.glm`` tables.  Bayesian fits:
        the LOO table of :func:`hierlm.compare`.  Cumulative link mixed models (``family="cumulative"``):
        ordinal's ``anova.clm`` table (:func:`clm_lrt_table`), ``no.par, AIC, logLik, LR.stat, df, Pr(>Chisq)``.

    Examples
    --------
    >>> import hierlm as hl
    >>> sleep = hl.load_dataset("sleepstudy")
    >>> m0 = hl.lmer("Reaction ~ Days + (1 | Subject)", sleep)
    >>> m1 = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep)
    >>> print(hl.anova(m0, m1, data_name="sleepstudy"))  # doctest: +NORMALIZE_WHITESPACE
    refitting model(s) with ML (instead of REML)
    Data: sleepstudy
    Models:
    m0: Reaction ~ Days + (1 | Subject)
    m1: Reaction ~ Days + (Days | Subject)
       npar    AIC    BIC  logLik deviance  Chisq Df Pr(>Chisq)
    m0    4 1802.1 1814.8 -897.04   1794.1
    m1    6 1763.9 1783.1 -875.97   1751.9 42.139  2  7.072e-10 ***
    ---
    Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1
    >>> round(float(hl.anova(m0, m1)["Chisq"].iloc[1]), 3)
    42.139
    """
    if len(fits) == 1 and isinstance(fits[0], (list, tuple)):
        fits = tuple(fits[0])
    if not fits:
        raise HierlmError("anova() needs one fitted model (its F table) or two or more to compare")
    bayes = [is_fit(f, "bayesian") or isinstance(f, KFold) for f in fits]
    if all(bayes):
        if len(fits) < 2:
            raise HierlmError("anova() of Bayesian fits needs two or more fits to compare (hl.compare)")
        return compare(*fits, names=names, **kwargs)
    if any(bayes):
        raise HierlmError("anova() cannot mix Bayesian and frequentist fits; use hl.side_by_side for that")
    bad = [f.__class__.__name__ for f in fits if not is_fit(f, "frequentist")]
    if bad:
        raise HierlmError(f"anova() compares fitted models (hl.lmer, hl.glmer, hl.lm, hl.glm), not {bad[0]}")
    ordinal = [f.kind.model == "ordinal" for f in fits]
    if any(ordinal):
        if not all(ordinal):
            raise HierlmError("anova() compares cumulative link mixed models (family='cumulative') only with each "
                              "other; the other fits model the response on another scale")
        return clm_lrt_table(list(fits), names)
    if all(f.kind.model in ("lm", "glm") for f in fits):
        return AnovaTable(anova_lm(*fits, **kwargs), heading=_lm_heading(fits))
    if len(fits) == 1:
        fit = fits[0]
        if fit.kind.model != "lmm":
            raise HierlmError("anova() of one glmer fit is not available; compare two nested fits instead")
        table = anova_table(fit, type=type, ddf=ddf)
        if ddf == "lme4":
            return AnovaTable(table, heading=["Analysis of Variance Table"])
        method = "Kenward-Roger's" if ddf.lower().startswith("k") else "Satterthwaite's"
        title = f"Type {_TYPES.get(type, type)} Analysis of Variance Table with {method} method"
        return AnovaTable(table, heading=[title])
    reml = [f.kind.model == "lmm" and f.reml for f in fits]
    notes = [REFIT_MESSAGE] if refit and any(reml) else []
    ml = [f.refit_ml() if (refit and r) else f for f, r in zip(fits, reml)]
    table = lrt_table(ml, names, data_name)
    object.__setattr__(table, "notes", notes)
    return table


def ranova(fit) -> AnovaTable:
    """lmerTest's ``ranova``: a likelihood-ratio test of every random-effect term, printed as R prints it.

    Parameters
    ----------
    fit : LmerFit

    Returns
    -------
    AnovaTable
        ``npar``, ``logLik``, ``AIC``, ``LRT``, ``Df``, ``Pr(>Chisq)``; first row ``<none>``.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> print(m.ranova())
    ANOVA-like table for random-effects: Single term deletions
    <BLANKLINE>
    Model:
    Reaction ~ Days + (Days | Subject)
                             npar  logLik    AIC    LRT Df Pr(>Chisq)    
    <none>                      6 -871.81 1755.6                         
    Days in (Days | Subject)    4 -893.23 1794.5 42.837  2   4.99e-10 ***
    ---
    Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1
    """
    table = _ranova_table(fit)
    heading = ["ANOVA-like table for random-effects: Single term deletions", "", "Model:", _deparse1(fit.formula)]
    return AnovaTable(table, heading=heading)
