"""Summaries of frequentist fits printed digit for digit as lme4's and lmerTest's ``summary()``.

:func:`mer_summary_of` reads the numbers of an :class:`~hierlm.LmerFit` or :class:`~hierlm.GlmerFit`
into a :class:`~hierlm.services.reports.mermod.MerSummary`; :func:`lmer_summary` and
:func:`glmer_summary` lay it out with R's rules (:mod:`.mermod`).

Where hierlm's printout differs from R's on purpose:

* ``   Data: data`` — hierlm does not know the name of the data frame; pass ``data_name=`` to print it;
* the title names lme4's classes (``lmerMod``, ``lmerModLmerTest``, ``glmerMod``), as users of lme4
  expect to read them;
* no ``Control:`` or ``Subset:`` line (hierlm has no such arguments);
* the optimizer line names hierlm's optimizer (``optimizer (bobyqa) convergence code: 0 (OK)``), and
  a singular fit points to hierlm's help (:data:`~.mermod.SINGULAR_MESSAGE`) instead of
  ``help('isSingular')``;
* lme4's convergence checks (``Model failed to converge with max|grad| = ...``) are not run: hierlm's
  optimizer converges further, so those lines do not appear;
* with more than 12 fixed effects lme4 sends "Correlation matrix not shown by default" to the console
  as a message; hierlm prints it in the summary;
* GLMMs with ``nAGQ > 1``: lme4's logLik (and AIC, BIC, deviance) leaves out a constant that it
  includes for ``nAGQ = 1``; hierlm's keeps it, so the AIC table stays comparable across ``nAGQ``.

The numbers are hierlm's: where lme4's default optimizer stops short of the optimum (a flat likelihood,
or PIRLS stopped at ``tolPwrss = 1e-7``), the last printed digits can differ from lme4's printout
although every line is laid out as R lays it out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import HierlmError
from ...fits.lmm_tests import coef_table as lmm_coef_table
from ..rformat import format_num, formula_lines, r_round
from .mermod import SINGULAR_MESSAGE, MerSummary, format_mer_summary
from .summary import Printout


__all__ = ["mer_summary_of", "lmer_summary", "format_lmer_summary", "glmer_summary", "scale_message", "DDF"]

#: ``ddf`` values and the words lmerTest prints in the title
DDF = {"Satterthwaite": "Satterthwaite's", "Kenward-Roger": "Kenward-Roger's"}
_TEST_COLS = ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"]


def scale_message(X: np.ndarray, tol: float = 1e3) -> str | None:
    """lme4's ``checkScaleX``: the warning for predictors on very different scales, or None.

    Columns that are not all 0/1 are compared by their standard deviations: a ratio, or an SD
    itself, beyond ``tol`` (on the log scale) gives the warning.

    Parameters
    ----------
    X : ndarray (n, p)
        The fixed-effects model matrix.
    tol : float, default 1000

    Returns
    -------
    str or None

    Examples
    --------
    >>> import numpy as np
    >>> X = np.column_stack([np.ones(4), [1.0, 2000.0, 4000.0, 9000.0], [0.0, 1.0, 0.0, 1.0]])
    >>> scale_message(X)
    'Some predictor variables are on very different scales: consider rescaling'
    >>> scale_message(X[:, [0, 2]]) is None
    True
    """
    X = np.asarray(X, dtype=float)
    cont = [j for j in range(X.shape[1]) if not np.all(np.isin(X[:, j], (0.0, 1.0)))]
    if not cont or X.shape[0] < 2:
        return None
    sd = X[:, cont].std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(np.log(sd[:, None] / sd[None, :]))
        logs = np.concatenate([ratio[np.tril_indices(len(sd), -1)], np.abs(np.log(sd))])
    if np.any(logs > np.log(tol)):
        return "Some predictor variables are on very different scales: consider rescaling"
    return None


def _weights_name(fit) -> str | None:
    w = fit.design.weights
    if w is None:
        return None
    data = fit.design.data
    if data is not None:
        for col in data.columns:
            vals = pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float)
            if len(vals) == len(w) and np.array_equal(vals, w):
                return str(col)
    return "weights"


def _nb_family(theta: float) -> str:
    return f"Negative Binomial({format_num([r_round(theta, 4)])[0]})"


def mer_summary_of(fit, data_name: str | None = "data") -> MerSummary:
    """The numbers of lme4's ``summary()`` of a frequentist mixed-model fit.

    Parameters
    ----------
    fit : LmerFit or GlmerFit
    data_name : str or None, default "data"
        What the ``   Data:`` line shows (R shows the data argument's name); None omits the line.

    Returns
    -------
    MerSummary

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days || Subject)", hl.load_dataset("sleepstudy"))
    >>> s = mer_summary_of(m)
    >>> s.method_title, s.obj_class, s.formula
    ('Linear mixed model fit by REML', 'lmerMod', ['Reaction ~ Days + ((1 | Subject) + (0 + Days | Subject))'])
    """
    design, glmm = fit.design, fit.kind.model == "glmm"
    fam = fit.family
    if glmm:
        nagq = fit.nAGQ
        how = "(Laplace Approximation)" if nagq == 1 else f"(Adaptive Gauss-Hermite Quadrature, nAGQ = {nagq})"
        title = f"Generalized linear mixed model fit by maximum likelihood {how}"
        loglik = fit.loglik()
        aictab = {"AIC": fit.aic(), "BIC": fit.bic(), "logLik": loglik, "deviance": -2 * loglik,
                  "df.resid": fit.nobs() - fit.npar()}
        sigma = fit.sigma() if fam.has_dispersion else 1.0
        resid = fit.residuals("pearson") / sigma
        family = _nb_family(fit.nb_theta) if fit.nb_theta is not None else fam.r_name
        link = fam.link.name
    else:
        title = "Linear mixed model fit by " + ("REML" if fit.reml else "maximum likelihood ")
        if fit.reml:
            aictab = {"REML": fit.objective}
        else:
            aictab = {"AIC": fit.aic(), "BIC": fit.bic(), "logLik": fit.loglik(), "deviance": fit.objective,
                      "df.resid": fit.nobs() - fit.npar()}
        w = design.weights
        resid = fit.residuals() * (np.sqrt(w) if w is not None else 1.0) / fit.sigma()
        family = link = None
    msgs = []
    if design.dropped:
        k = len(design.dropped)
        msgs.append(f"fixed-effect model matrix is rank deficient so dropping {k} "
                    + ("column / coefficient" if k == 1 else "columns / coefficients"))
    scale = scale_message(design.X)
    if scale:
        msgs.append(scale)
    conv = [SINGULAR_MESSAGE] if fit.is_singular() else []
    if fit.optinfo.get("vcov_warning"):
        conv.append(fit.optinfo["vcov_warning"])
    coefs = fit.fixef()
    se = coefs["Std. Error"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.asarray(fit.vcov_beta, dtype=float) / np.outer(se, se)
    return MerSummary(
        method_title=title, obj_class="glmerMod" if glmm else "lmerMod", formula=formula_lines(fit.formula),
        aictab=aictab, varcorr=fit.varcorr(), ngrps=fit.ngrps(), nobs=fit.nobs(), coefficients=coefs,
        residuals=np.asarray(resid, dtype=float), corr=corr, family=family, link=link, data=data_name,
        weights=_weights_name(fit), fit_msgs=msgs, optimizer=str(fit.optinfo.get("optimizer", "bobyqa")),
        conv_messages=conv)


def format_lmer_summary(fit, coef_table: pd.DataFrame | None = None, ddf: str = "Satterthwaite",
                        data_name: str | None = "data", correlation: bool | None = None) -> Printout:
    """lmerTest's ``summary()`` layout of an :class:`~hierlm.LmerFit`, with a given df / p-value table.

    Parameters
    ----------
    fit : LmerFit
    coef_table : DataFrame, optional
        ``Estimate``, ``Std. Error``, ``df``, ``t value``, ``Pr(>|t|)`` per fixed effect (lmerTest's
        ``coef(summary(m))``).  None: lme4's own layout (no df, no p-values).
    ddf : {"Satterthwaite", "Kenward-Roger"}
        The method named in the title.
    data_name : str or None, default "data"
    correlation : bool, optional
        Show the correlation of fixed effects (default: for at most 12 fixed effects).

    Returns
    -------
    Printout

    Examples
    --------
    >>> import pandas as pd
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> tab = m.fixef().assign(df=[17.0, 17.0], **{"Pr(>|t|)": [1.17e-17, 3.26e-06]})
    >>> tab = tab[["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"]]
    >>> print("\\n".join(format_lmer_summary(m, tab).lines[:2]))
    Linear mixed model fit by REML. t-tests use Satterthwaite's method [
    lmerModLmerTest]
    """
    s = mer_summary_of(fit, data_name)
    if coef_table is not None:
        if ddf not in DDF:
            raise HierlmError(f"ddf must be 'Satterthwaite' or 'Kenward-Roger' with a coefficient table, not {ddf!r}")
        missing = [c for c in _TEST_COLS if c not in coef_table.columns]
        if missing:
            raise HierlmError(f"the coefficient table lacks the column(s) {missing}; it needs {_TEST_COLS}")
        s.coefficients = coef_table[_TEST_COLS]
        s.method_title += f". t-tests use {DDF[ddf]} method"
        s.obj_class = "lmerModLmerTest"
    return format_mer_summary(s, correlation=correlation)


def lmer_summary(fit, ddf: str = "Satterthwaite", data_name: str | None = "data", correlation: bool | None = None,
                 coef_table: pd.DataFrame | None = None) -> Printout:
    """Summary of an :class:`~hierlm.LmerFit`, printed as lmerTest (``ddf``) or lme4 (``ddf="lme4"``) print it.

    Parameters
    ----------
    fit : LmerFit
    ddf : {"Satterthwaite", "Kenward-Roger", "lme4"}, optional
        Denominator degrees of freedom of the t-tests, as ``summary(m, ddf=)`` of lmerTest;
        ``"lme4"``: lme4's layout, without df and p-values.  Default ``"Satterthwaite"``, lmerTest's.
    data_name : str or None, default "data"
        Shown on the ``   Data:`` line (R shows the name of the data frame); None omits the line.
    correlation : bool, optional
        Show the correlation of fixed effects (default: for at most 12 fixed effects, as lme4).
    coef_table : DataFrame, optional
        The df / p-value table to print (default: :func:`hierlm.fits.lmm_tests.coef_table`).

    Returns
    -------
    Printout
        ``print()`` gives R's text line for line; notebooks show tables.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> print(lmer_summary(m, ddf="lme4", data_name="sleepstudy"))
    Linear mixed model fit by REML ['lmerMod']
    Formula: Reaction ~ Days + (Days | Subject)
       Data: sleepstudy
    <BLANKLINE>
    REML criterion at convergence: 1743.6
    <BLANKLINE>
    Scaled residuals:
        Min      1Q  Median      3Q     Max
    -3.9536 -0.4634  0.0231  0.4634  5.1793
    <BLANKLINE>
    Random effects:
     Groups   Name        Variance Std.Dev. Corr
     Subject  (Intercept) 612.09   24.740
              Days         35.07    5.922   0.07
     Residual             654.94   25.592
    Number of obs: 180, groups:  Subject, 18
    <BLANKLINE>
    Fixed effects:
                Estimate Std. Error t value
    (Intercept)  251.405      6.825  36.838
    Days          10.467      1.546   6.771
    <BLANKLINE>
    Correlation of Fixed Effects:
         (Intr)
    Days -0.138
    """
    if ddf == "lme4":
        return format_mer_summary(mer_summary_of(fit, data_name), correlation=correlation)
    if ddf not in DDF:
        raise HierlmError(f"ddf must be 'Satterthwaite', 'Kenward-Roger' or 'lme4', not {ddf!r}")
    if coef_table is None:
        coef_table = lmm_coef_table(fit, ddf)
    return format_lmer_summary(fit, coef_table, ddf, data_name, correlation)


def glmer_summary(fit, data_name: str | None = "data", correlation: bool | None = None) -> Printout:
    """Summary of a :class:`~hierlm.GlmerFit`, printed as lme4's ``summary(glmer(...))``.

    Parameters
    ----------
    fit : GlmerFit
    data_name : str or None, default "data"
        Shown on the ``   Data:`` line; None omits the line.
    correlation : bool, optional
        Show the correlation of fixed effects (default: for at most 12 fixed effects).

    Returns
    -------
    Printout

    Examples
    --------
    >>> import hierlm as hl
    >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
    ...              family="binomial")
    >>> print("\\n".join(glmer_summary(g, data_name="cbpp").lines[:8]))
    Generalized linear mixed model fit by maximum likelihood (Laplace
      Approximation) [glmerMod]
     Family: binomial  ( logit )
    Formula: cbind(incidence, size - incidence) ~ period + (1 | herd)
       Data: cbpp
    <BLANKLINE>
         AIC      BIC   logLik deviance df.resid
       194.1    204.2    -92.0    184.1       51
    """
    return format_mer_summary(mer_summary_of(fit, data_name), correlation=correlation)
