"""``hl.lmer``: formula + data → :class:`LmerFit` (lme4's ``lFormula → mkLmerDevfun → optimizeLmer →
mkMerMod``): the design, the frequentist engine's REML/ML solution, and the fit object around it."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from ..design import Design, check_model, get_family, make_design
from ..engines.frequentist import LmmProblem, LmmSolution
from ..engines.frequentist.optimize import blas_threads
from ..errors import HierlmError, HierlmWarning
from . import influence
from .frequentist import SINGULAR_MESSAGE, FrequentistFit
from .lmm_tests import coef_table, contest, ddf_method
from .protocol import FitKind, services
from .simulate import simulate
from .update import updated_call

__all__ = ["LmerFit", "lmer", "fit_lmm"]


@dataclass(repr=False, eq=False)
class LmerFit(FrequentistFit):
    """A linear mixed model fitted by REML or maximum likelihood (:func:`hierlm.lmer`).

    Holds the numbers of the fit (see :class:`FrequentistFit` for the shared attributes) and
    offers lme4's extractors as methods: :meth:`fixef`, :meth:`ranef`, :meth:`coef`,
    :meth:`varcorr`, :meth:`sigma`, :meth:`predict`, :meth:`summary`, :meth:`confint`, ...

    Attributes
    ----------
    reml : bool
        True for a REML fit, False for maximum likelihood.
    design, theta, beta, b, sigma_, vcov_beta, objective, family, optinfo
        As in :class:`FrequentistFit`.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> m.reml, m.nobs(), round(m.sigma(), 3)
    (True, 180, 25.592)
    """

    reml: bool = True
    problem: LmmProblem | None = None  # the engine's problem, rebuilt on demand

    kind: ClassVar[FitKind] = FitKind("frequentist", "lmm")
    saved_settings: ClassVar[tuple[str, ...]] = ("reml",)

    def _problem(self) -> LmmProblem:
        if self.problem is None:
            self.problem = LmmProblem(self.design, reml=self.reml)
        return self.problem

    def fixef(self, ddf: str | None = None) -> pd.DataFrame:
        """Fixed-effect estimates with their standard errors, and with ``ddf`` lmerTest's df and p-values.

        Parameters
        ----------
        ddf : {None, "Satterthwaite", "Kenward-Roger", "lme4"}, optional
            ``None`` / ``"lme4"``: lme4's ``coef(summary(m))`` (Estimate, Std. Error, t value).
            ``"Satterthwaite"`` or ``"Kenward-Roger"``: lmerTest's table with ``df`` and ``Pr(>|t|)``
            (Kenward–Roger with pbkrtest's adjusted standard errors, REML fits only).

        Returns
        -------
        DataFrame
            Indexed by term (lme4's names).

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.fixef().round(3)
                     Estimate  Std. Error  t value
        (Intercept)   251.405       6.825   36.838
        Days           10.467       1.546    6.771
        >>> m.fixef(ddf="Satterthwaite").round(3)
                     Estimate  Std. Error    df  t value  Pr(>|t|)
        (Intercept)   251.405       6.825  17.0   36.838       0.0
        Days           10.467       1.546  17.0    6.771       0.0
        """
        if ddf is None:
            return super().fixef()
        return coef_table(self, ddf)

    def vcov(self, adjusted: bool = False) -> pd.DataFrame:
        """Covariance matrix of the fixed effects (lme4's ``vcov``), or pbkrtest's Kenward–Roger adjusted one.

        Parameters
        ----------
        adjusted : bool, default False
            ``True``: pbkrtest's ``vcovAdj`` (the small-sample adjusted covariance behind
            Kenward–Roger's tests; REML fits only).

        Returns
        -------
        DataFrame
            Terms × terms.

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.vcov(adjusted=True).round(3)
                     (Intercept)   Days
        (Intercept)       46.575 -1.451
        Days              -1.451  2.389
        """
        if not adjusted:
            return super().vcov()
        names = self.design.xnames
        return pd.DataFrame(ddf_method(self, "Kenward-Roger").vcov_adj, index=names, columns=names)

    def anova(self, type: int = 3, ddf: str = "Satterthwaite") -> pd.DataFrame:
        """F tests of the fixed-effect terms, as lmerTest's ``anova(m, type=, ddf=)``.

        Parameters
        ----------
        type : {1, 2, 3}, default 3
            Sequential (I), marginal to containing terms (II) or SAS-style (III) hypotheses.
        ddf : {"Satterthwaite", "Kenward-Roger", "lme4"}
            Denominator degrees of freedom; ``"lme4"`` gives lme4's table without tests.

        Returns
        -------
        DataFrame
            One row per term: ``Sum Sq``, ``Mean Sq``, ``NumDF``, ``DenDF``, ``F value``, ``Pr(>F)``;
            printed as lmerTest prints it (``hl.anova(fit)`` gives the same table).

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> print(m.anova())
        Type III Analysis of Variance Table with Satterthwaite's method
             Sum Sq Mean Sq NumDF DenDF F value    Pr(>F)    
        Days  30031   30031     1    17  45.853 3.264e-06 ***
        ---
        Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1
        """
        return services["anova"](self, type=type, ddf=ddf)

    def ranova(self) -> pd.DataFrame:
        """Likelihood-ratio tests of the random-effect terms, as lmerTest's ``ranova``.

        Each term is reduced as lmerTest reduces it (``(Days | Subject)`` to ``(1 | Subject)``, an
        intercept-only term removed) and the model refitted with the same REML setting.

        Returns
        -------
        DataFrame
            ``npar``, ``logLik``, ``AIC``, ``LRT``, ``Df``, ``Pr(>Chisq)``; the first row ``<none>``.

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
        return services["ranova"](self)

    def contest(self, L, ddf: str = "Satterthwaite", joint: bool = True, level: float = 0.95) -> pd.DataFrame:
        """Test linear combinations L β of the fixed effects, as lmerTest's ``contest``.

        Parameters
        ----------
        L : array-like
            One row (a t test) or several rows (a joint F test) of length ``len(fit.fixef())``.
        ddf : {"Satterthwaite", "Kenward-Roger"}
        joint : bool, default True
            Several rows: one joint F test, or one t test per row.
        level : float, default 0.95
            Confidence level of the t tests' intervals.

        Returns
        -------
        DataFrame

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.contest([0, 1], joint=False).round(3)[["Estimate", "df", "t value"]]
           Estimate    df  t value
        1    10.467  17.0    6.771
        """
        return contest(self, L, ddf=ddf, joint=joint, level=level)

    def update(self, formula: str | None = None, data=None, **settings) -> LmerFit:
        """Refit with a changed formula, data or settings, as R's ``update`` (``". ~ . - Days"``).

        Parameters
        ----------
        formula : str, optional
            A change such as ``". ~ . - Days"`` or ``"log(.) ~ ."`` (R's ``update.formula``), or a new formula.
        data : DataFrame, optional
            Default: the data frame the fit was made from.
        **settings
            Arguments of the fitting function to change (``reml=False``, ``weights=``).

        Returns
        -------
        LmerFit

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.update(". ~ . - Days").formula
        'Reaction ~ (Days | Subject)'
        >>> m.update(reml=False).reml
        False
        """
        formula, data, weights = updated_call(self, formula, data, settings, lmer)
        return lmer(formula, data, **{"reml": self.reml, "weights": weights, **settings})

    def loglik(self) -> float:
        """Log-likelihood at the optimum (lme4's ``logLik``): the REML log-likelihood for REML fits.

        Returns
        -------
        float

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> round(m.loglik(), 2)
        -871.81
        >>> round(m.refit_ml().loglik(), 2)
        -875.97
        """
        return -0.5 * self.objective

    def deviance(self) -> float:
        """ML deviance, −2 × log-likelihood (lme4's ``deviance``).

        For a REML fit lme4 returns the REML criterion with a warning, and so does hierlm: use
        :meth:`reml_criterion`, or refit with ``reml=False`` (:meth:`refit_ml`) for the deviance.

        Returns
        -------
        float

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> round(m.refit_ml().deviance(), 2)
        1751.94
        """
        if self.reml:
            warnings.warn(
                "deviance() of a REML fit is the REML criterion; use reml_criterion(), or refit with "
                "reml=False for the deviance",
                HierlmWarning,
                stacklevel=2,
            )
        return float(self.objective)

    def residuals(self, type: str = "response") -> np.ndarray:
        """Residuals, as lme4's ``residuals.merMod``.

        Parameters
        ----------
        type : {"response", "pearson", "deviance", "working"}
            y − fitted (the default; for an LMM all four coincide up to prior weights), Pearson
            residuals (× √weights), deviance residuals, working residuals.

        Returns
        -------
        ndarray
            One residual per observation used.

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.residuals()[:3].round(2)
        array([ -4.1 , -14.63, -42.2 ])
        """
        return influence.residuals_of(self, type)

    def reml_criterion(self) -> float:
        """REML criterion, −2 × REML log-likelihood (lme4's ``REMLcrit``); at the ML estimates for an ML fit.

        Returns
        -------
        float

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> round(m.reml_criterion(), 2)
        1743.63
        """
        if self.reml:
            return float(self.objective)
        prob = self._problem()
        f = prob.cp.factor(prob.tmap.lambdas(self.optinfo["theta_internal"]))
        return float(prob.deviance_of(f, reml=True) - 2.0 * prob.log_det_TX)

    def cond_var(self) -> list[np.ndarray]:
        """Conditional covariances of the random effects per block (lme4's ``condVar``).

        Returns
        -------
        list of ndarray
            One (levels, q, q) array per block; the square roots of the diagonals are the
            ``condsd`` of ``ranef(intervals=True)``.

        Examples
        --------
        >>> import numpy as np
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> V = m.cond_var()[0]
        >>> V.shape
        (18, 2, 2)
        >>> np.sqrt(V[0].diagonal()).round(3)
        array([12.071,  2.305])
        """
        prob = self._problem()
        sol = LmmSolution(self.theta, self.beta, self.b, self.sigma_, self.objective, 0.0, 0.0,
                          self.vcov_beta, self.reml, theta_internal=self.optinfo["theta_internal"])
        return prob.cond_var(sol)

    def refit_ml(self) -> LmerFit:
        """The same model fitted by maximum likelihood (lme4's ``refitML``; what ``anova`` compares).

        Returns
        -------
        LmerFit
            ``self`` when the fit already is an ML fit.

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> ml = m.refit_ml()
        >>> ml.reml, round(ml.deviance(), 2)
        (False, 1751.94)
        """
        if not self.reml:
            return self
        return fit_lmm(self.design, reml=False, start=self.optinfo.get("theta_internal"))

    def simulate(self, nsim: int = 1, seed=None, use_re: bool = True) -> np.ndarray:
        """Responses simulated from the fit (lme4's ``simulate``).

        Parameters
        ----------
        nsim : int, default 1
            Number of simulated response vectors.
        seed : None, int or numpy Generator
            Same seed, same responses; column ``i`` depends only on ``seed`` and ``i``.
        use_re : bool, default True
            ``True``: new random effects drawn from N(0, Σ) as well as new residuals;
            ``False``: keep the fitted conditional modes (lme4's ``use.u = TRUE``).

        Returns
        -------
        ndarray
            (n, nsim); see :func:`hierlm.fits.simulate.simulate`.

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> y = m.simulate(nsim=2, seed=1)
        >>> y.shape
        (180, 2)
        >>> y[:3].round(1)
        array([[213.7, 318.5],
               [203.2, 345.9],
               [194.1, 296.4]])
        """
        return simulate(self, nsim=nsim, seed=seed, use_re=use_re)

    def confint(self, parm=None, level: float = 0.95, method: str = "profile", nsim: int = 500, seed=None,
                n_jobs=None, executor=None, progressbar: bool = True, oldNames: bool = True) -> pd.DataFrame:
        """Confidence intervals for the variance parameters and fixed effects (lme4's ``confint``).

        Parameters
        ----------
        parm : list of str, "theta_" or "beta_", optional
            Parameters to report (default all).
        level : float, default 0.95
        method : {"profile", "wald", "boot"}
            Likelihood profile (lme4's default), Wald (fixed effects only) or parametric bootstrap.
        nsim : int, default 500
            Bootstrap replicates (``method="boot"``).
        seed : int or Generator, optional
            Bootstrap seed.
        n_jobs : int, optional
            Worker processes for the bootstrap (``None``/1: serial, -1: all cores).
        executor : concurrent.futures.Executor or distributed.Client, optional
            Run the bootstrap refits there (the intervals are the same for every executor).
        progressbar : bool, default True
            A progress bar on bootstrap runs longer than a second.
        oldNames : bool, default True
            ``False``: lme4's long names (``sd_(Intercept)|Subject``, ``sigma``), as ``hl.side_by_side``.

        Returns
        -------
        DataFrame
            Rows ``.sig01, …, .sigma``, then the fixed effects; columns ``2.5 %`` and ``97.5 %``
            (for ``level=0.95``).  See :func:`hierlm.services.inference.confint` for the details.

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.confint().round(2)
                      2.5 %  97.5 %
        .sig01        14.38   37.72
        .sig02        -0.48    0.69
        .sig03         3.80    8.75
        .sigma        22.90   28.86
        (Intercept)  237.68  265.13
        Days           7.36   13.58
        >>> m.confint(method="wald", parm="beta_").round(2)
                      2.5 %  97.5 %
        (Intercept)  238.03  264.78
        Days           7.44   13.50
        """
        return services["confint"](self, parm=parm, level=level, method=method, nsim=nsim, seed=seed, n_jobs=n_jobs,
                                   executor=executor, progressbar=progressbar, oldNames=oldNames)

    def summary(self, ddf: str = "Satterthwaite", data_name: str = "data", correlation: bool | None = None):
        """The summary as lmerTest (default) or lme4 print it, with R's own number formatting.

        Parameters
        ----------
        ddf : {"Satterthwaite", "Kenward-Roger", "lme4"}, default "Satterthwaite"
            lmerTest's layout with df and p-values, or lme4's own (``"lme4"``).
        data_name : str, default "data"
            The name shown on the ``Data:`` line (R shows the data frame's name, which Python cannot see).
        correlation : bool, optional
            Show the correlation of the fixed effects (default: when there are at most 12, as lme4).

        Returns
        -------
        Printout
            Its ``str()`` is R's text, line for line; notebooks show it as HTML.

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Yield ~ 1 + (1 | Batch)", hl.load_dataset("Dyestuff"))
        >>> print(m.summary(ddf="lme4", data_name="Dyestuff"))
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
        (Intercept)  1527.50      19.38    78.8
        """
        return services["summary"](self, ddf=ddf, data_name=data_name, correlation=correlation)


def fit_lmm(design: Design, reml: bool = True, start: np.ndarray | None = None) -> LmerFit:
    """Fit a prepared (checked) design by REML or ML: the engine's solution wrapped as an :class:`LmerFit`."""
    with blas_threads(0):  # one BLAS thread for the set-up's small dense algebra (see blas_threads)
        prob = LmmProblem(design, reml=reml)
    with blas_threads(prob.cp.q_rest):
        theta_int, info = prob.optimize(start)
        sol = prob.solution_at(theta_int, info)
        info = dict(info, theta_internal=theta_int)
        info.pop("x", None)
        fit = LmerFit(design=design, theta=sol.theta, beta=sol.beta, b=sol.b, sigma_=sol.sigma,
                      vcov_beta=sol.vcov_beta, objective=sol.objective, family=get_family("gaussian"), optinfo=info,
                      reml=reml, problem=prob)
        singular = fit.is_singular()
    if singular:
        warnings.warn(SINGULAR_MESSAGE, HierlmWarning, stacklevel=3)
    return fit


def lmer(formula: str, data: pd.DataFrame, reml: bool = True, weights=None, start=None) -> LmerFit:
    """Fit a linear mixed model by REML (default) or maximum likelihood, as lme4's ``lmer``.

    Parameters
    ----------
    formula : str
        lme4 formula, e.g. ``"Reaction ~ Days + (Days | Subject)"``.
    data : DataFrame
    reml : bool, default True
        REML; ``False`` for maximum likelihood.
    weights : str or array-like, optional
        Prior weights (column name or values).
    start : array-like, optional
        Starting θ in internal coordinates (advanced).

    Returns
    -------
    LmerFit

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> m.fixef()["Estimate"].round(3).tolist()
    [251.405, 10.467]
    >>> round(m.reml_criterion(), 2)
    1743.63
    """
    if not isinstance(reml, (bool, np.bool_)):
        raise HierlmError(f"reml must be True (REML) or False (maximum likelihood), not {reml!r}")
    with blas_threads(0):
        design = make_design(formula, data, weights=weights)
        check_model(design, "gaussian")
    return fit_lmm(design, reml=reml, start=start)
