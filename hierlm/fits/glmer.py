"""``hl.glmer``: formula + data + family → :class:`GlmerFit` (lme4's ``glFormula → mkGlmerDevfun →
optimizeGlmer`` pipeline, and ``glmer.nb`` for the negative binomial): the Laplace / AGQ solution of
the frequentist engine and the fit object around it (log-likelihood, links, residual types)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from ..design import (
    Design,
    GlmResponse,
    check_model,
    get_family,
    make_design,
    response_of,
)
from ..engines.frequentist import GlmmProblem
from ..errors import HierlmError, HierlmWarning
from ..formula import deparse
from .frequentist import SINGULAR_MESSAGE, FrequentistFit
from .lmer import lmer
from .ordinal import clmm
from .protocol import FitKind, services
from .simulate import simulate
from .update import updated_call

__all__ = ["GlmerFit", "fit_glmm", "glmer"]


@dataclass(repr=False, eq=False)
class GlmerFit(FrequentistFit):
    """A generalised linear mixed model fitted by maximum likelihood (:func:`hierlm.glmer`).

    Besides the extractors shared with :class:`LmerFit` (see :class:`FrequentistFit`),
    ``predict(type="link")`` gives η and ``residuals(type=...)`` the residual types of lme4
    (deviance residuals by default).

    Attributes
    ----------
    family : hierlm.design.Family
        The family and its link (with the estimated θ for the negative binomial).
    response : hierlm.design.GlmResponse
        The response in the family's canonical form.
    nb_theta : float or None
        Negative-binomial θ (``family="negbinomial"``, as lme4's ``glmer.nb``), else None.
    nAGQ : int
        0, 1 (Laplace) or the number of adaptive Gauss-Hermite quadrature points.
    eta, mu : ndarray
        Linear predictor and fitted mean per observation.
    design, theta, beta, b, vcov_beta, objective, optinfo
        As in :class:`FrequentistFit`.

    Examples
    --------
    >>> import hierlm as hl
    >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
    ...              family="binomial")
    >>> g.family.name, g.nAGQ, g.nobs()
    ('binomial', 1, 56)
    >>> g.fixef().round(3)
                 Estimate  Std. Error  z value  Pr(>|z|)
    (Intercept)    -1.399       0.232   -6.015     0.000
    period2        -0.992       0.307   -3.236     0.001
    period3        -1.129       0.327   -3.455     0.001
    period4        -1.580       0.427   -3.697     0.000
    """

    response: GlmResponse | None = None
    nAGQ: int = 1
    nb_theta: float | None = None
    eta: np.ndarray | None = None
    mu: np.ndarray | None = None
    cond_var_: list | None = None

    kind: ClassVar[FitKind] = FitKind("frequentist", "glmm")
    saved_arrays: ClassVar[tuple[str, ...]] = FrequentistFit.saved_arrays + ("eta", "mu")
    saved_settings: ClassVar[tuple[str, ...]] = ("nAGQ", "nb_theta")

    def npar(self) -> int:
        """Number of parameters: fixed effects and θ (plus the negative-binomial θ, as ``glmer.nb`` counts it, and
        σ for Gamma and inverse Gaussian, as lme4's ``logLik`` df counts it).

        Returns
        -------
        int

        Examples
        --------
        >>> import hierlm as hl
        >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
        ...              family="binomial")
        >>> g.npar()  # 4 fixed effects and one SD
        5
        """
        return (self.design.p + len(self.theta) + (1 if self.nb_theta is not None else 0)
                + (1 if self.family.has_dispersion else 0))

    def loglik(self) -> float:
        """Log-likelihood at the optimum (Laplace, or AGQ for ``nAGQ > 1``), constants included.

        Returns
        -------
        float
            lme4's ``logLik``.

        Examples
        --------
        >>> import hierlm as hl
        >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
        ...              family="binomial")
        >>> round(g.loglik(), 3)
        -92.026
        """
        return -0.5 * self.objective

    def fixef(self) -> pd.DataFrame:
        """Fixed-effect estimates, standard errors, z values and p-values (lme4's ``coef(summary(m))``).

        For Gamma and inverse Gaussian the statistic column is headed ``t value`` (with ``Pr(>|z|)``),
        as lme4 heads it for families with a scale parameter.

        Returns
        -------
        DataFrame

        Examples
        --------
        >>> import hierlm as hl
        >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
        ...              family="binomial")
        >>> list(g.fixef().columns)
        ['Estimate', 'Std. Error', 'z value', 'Pr(>|z|)']
        """
        frame = super().fixef()
        return frame.rename(columns={"z value": "t value"}) if self.family.has_dispersion else frame

    def deviance(self) -> float:
        """lme4's ``deviance()`` of a GLMM: the sum of squared deviance residuals at the conditional modes.

        The ``deviance`` column of the summary and of :func:`hierlm.anova` is −2 logLik instead, as
        in lme4.

        Returns
        -------
        float

        Examples
        --------
        >>> import hierlm as hl
        >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
        ...              family="binomial")
        >>> round(g.deviance(), 2)
        73.47
        """
        return float(np.sum(self.residuals("deviance") ** 2))

    def sigma(self) -> float:
        """Residual scale, as lme4's ``sigma()``: 1 for binomial, Poisson and negative-binomial GLMMs; for Gamma
        and inverse Gaussian √(pwrss / n), pwrss the Pearson χ² plus ‖u‖² at the conditional modes.

        Returns
        -------
        float

        Examples
        --------
        >>> import hierlm as hl
        >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
        ...              family="binomial")
        >>> g.sigma()
        1.0
        """
        return float(self.sigma_) if self.family.has_dispersion else 1.0

    def fitted(self) -> np.ndarray:
        """Fitted means μ (proportions for binomial models), conditional on the random effects.

        Returns
        -------
        ndarray
            One value per observation used.

        Examples
        --------
        >>> import hierlm as hl
        >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
        ...              family="binomial")
        >>> g.fitted()[:3].round(3)
        array([0.308, 0.142, 0.126])
        """
        return np.asarray(self.mu)

    def residuals(self, type: str = "deviance") -> np.ndarray:
        """Residuals as lme4's ``residuals.merMod``.

        Parameters
        ----------
        type : {"deviance", "pearson", "response", "working"}
            Deviance residuals (the default), Pearson residuals, y − μ, or working residuals
            (y − μ) / (dμ/dη).

        Returns
        -------
        ndarray
            One residual per observation used.

        Examples
        --------
        >>> import hierlm as hl
        >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
        ...              family="binomial")
        >>> g.residuals()[:3].round(3)
        array([-1.438,  0.989,  2.357])
        >>> g.residuals("response")[:3].round(3)
        array([-0.165,  0.108,  0.318])
        """
        y, mu, wt = self.response.y, self.mu, self.response.weights
        fam = self.family
        if type == "deviance":
            return fam.deviance_residuals(y, mu, wt)
        if type == "pearson":
            return fam.pearson_residuals(y, mu, wt)
        if type == "response":
            return y - mu
        if type == "working":
            return (y - mu) / fam.link.mu_eta(self.eta)
        raise HierlmError(f"type must be 'deviance', 'pearson', 'response' or 'working', not {type!r}")

    def cond_var(self) -> list[np.ndarray]:
        """Conditional covariances of the random effects per block, at the conditional modes.

        Returns
        -------
        list of ndarray
            One (levels, q, q) array per block.

        Examples
        --------
        >>> import hierlm as hl
        >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
        ...              family="binomial")
        >>> g.cond_var()[0].shape
        (15, 1, 1)
        """
        return self.cond_var_

    def update(self, formula: str | None = None, data=None, **settings) -> GlmerFit:
        """Refit with a changed formula, data or settings, as R's ``update`` (``". ~ . - Days"``).

        Parameters
        ----------
        formula : str, optional
            A change such as ``". ~ . - Days"`` or ``"log(.) ~ ."`` (R's ``update.formula``), or a new formula.
        data : DataFrame, optional
            Default: the data frame the fit was made from.
        **settings
            Arguments of the fitting function to change (``family=``, ``nAGQ=``, ``weights=``).

        Returns
        -------
        GlmerFit

        Examples
        --------
        >>> import hierlm as hl
        >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
        ...              family="binomial")
        >>> g.update(". ~ . - period").fixef().index.tolist()
        ['(Intercept)']
        """
        formula, data, weights = updated_call(self, formula, data, settings, glmer)
        family = get_family(self.family.name, self.family.link.name)  # a negative binomial's θ is estimated again
        return glmer(formula, data, **{"family": family, "nAGQ": self.nAGQ, "weights": weights, **settings})

    def simulate(self, nsim: int = 1, seed=None, use_re: bool = True) -> np.ndarray:
        """Responses simulated from the fit (lme4's ``simulate.merMod``).

        Parameters
        ----------
        nsim : int, default 1
        seed : None, int or numpy Generator
            Same seed, same responses; column ``i`` depends only on ``seed`` and ``i``.
        use_re : bool, default True
            New random effects from N(0, Σ); ``False``: the conditional modes (lme4's ``use.u = TRUE``).

        Returns
        -------
        ndarray
            (n, nsim): binomial successes out of ``fit.response.trials`` (0/1 for Bernoulli), or counts.

        Examples
        --------
        >>> import hierlm as hl
        >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
        ...              family="binomial")
        >>> g.simulate(nsim=2, seed=1)[:3]
        array([[1., 6.],
               [1., 3.],
               [0., 3.]])
        """
        return simulate(self, nsim=nsim, seed=seed, use_re=use_re)

    def confint(self, parm=None, level: float = 0.95, method: str = "profile", oldNames: bool = True) -> pd.DataFrame:
        """Confidence intervals for the random-effect sds/correlations and the fixed effects (lme4's ``confint``).

        Parameters
        ----------
        parm : list of str, "theta_" or "beta_", optional
            Parameters to report (default all).
        level : float, default 0.95
        method : {"profile", "wald"}
            The profile of the Laplace (or quadrature) deviance, lme4's default; or Wald (fixed effects only).
        oldNames : bool, default True
            ``False``: lme4's long names (``sd_(Intercept)|herd``), as ``hl.side_by_side``.

        Returns
        -------
        DataFrame
            Rows ``.sig01, …`` then the fixed effects; columns ``2.5 %`` and ``97.5 %`` (for ``level=0.95``).
            See :func:`hierlm.services.inference.confint`.

        Examples
        --------
        >>> import hierlm as hl
        >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
        ...              family="binomial")
        >>> g.confint().round(3)
                     2.5 %  97.5 %
        .sig01       0.346   1.100
        (Intercept) -1.901  -0.948
        period2     -1.617  -0.408
        period3     -1.801  -0.512
        period4     -2.501  -0.801
        """
        return services["confint"](self, parm=parm, level=level, method=method, oldNames=oldNames)

    def refit_ml(self) -> GlmerFit:
        """The fit itself: a GLMM fit already is a maximum-likelihood fit (for :func:`hierlm.anova`).

        Returns
        -------
        GlmerFit

        Examples
        --------
        >>> import hierlm as hl
        >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
        ...              family="binomial")
        >>> g.refit_ml() is g
        True
        """
        return self


def _check_nagq(nAGQ, design: Design, family) -> int:
    if isinstance(nAGQ, bool) or not isinstance(nAGQ, (int, np.integer)) or not 0 <= nAGQ <= 25:
        raise HierlmError(
            f"nAGQ must be a whole number from 0 to 25 (1: Laplace, 0: lme4's fast nAGQ = 0), got {nAGQ!r}")
    if nAGQ > 1:
        if len(design.reterms) != 1 or design.reterms[0].ncols != 1:
            raise HierlmError(
                f"nAGQ = {nAGQ} (adaptive Gauss-Hermite quadrature) needs a single scalar random effect such as "
                f"(1 | g); the model has {[t.bar.source for t in design.reterms]}. Use nAGQ=1 (Laplace)"
            )
        if family.name == "negbinomial":
            raise HierlmError("nAGQ > 1 is not available for family='negbinomial' (as in lme4's glmer.nb); use nAGQ=1")
        if family.has_dispersion:
            raise HierlmError(f"nAGQ > 1 is not available for family='{family.name}' (a family with a dispersion); "
                              "use nAGQ=1 (Laplace)")
    return int(nAGQ)


def fit_glmm(design: Design, family, nAGQ: int = 1) -> GlmerFit:
    """Fit a prepared design (checked response, groups) by Laplace / AGQ maximum likelihood."""
    fam, resp = response_of(design, family)
    fam.check_response(resp.y[resp.weights > 0], design.rows[resp.weights > 0], deparse(design.formula.response))
    prob = GlmmProblem(design, fam, resp)
    sol = prob.solve(nAGQ=nAGQ, nb=fam.name == "negbinomial")
    fam = prob.family  # with the estimated θ for the negative binomial
    for msg in [sol.optinfo.get("vcov_warning")]:
        if msg:
            warnings.warn(msg, HierlmWarning, stacklevel=3)
    fit = GlmerFit(
        design=design,
        theta=sol.theta,
        beta=sol.beta,
        b=sol.b,
        sigma_=sol.sigma,
        vcov_beta=sol.vcov_beta,
        objective=sol.objective,
        family=fam,
        optinfo=dict(sol.optinfo, theta_internal=sol.theta_internal, beta_internal=sol.beta_internal),
        response=resp,
        nAGQ=nAGQ,
        nb_theta=sol.nb_theta,
        eta=sol.eta,
        mu=sol.mu,
        cond_var_=[V * sol.sigma**2 for V in sol.cond_var],
    )
    if fit.is_singular():
        warnings.warn(SINGULAR_MESSAGE, HierlmWarning, stacklevel=3)
    return fit


def glmer(formula: str, data: pd.DataFrame, family, weights=None, nAGQ: int = 1):
    """Fit a generalised linear mixed model by maximum likelihood, as lme4's ``glmer``.

    The Laplace approximation (``nAGQ=1``) is optimised as lme4 does: first over θ with β inside
    PIRLS (lme4's ``nAGQ = 0`` stage), then over (θ, β) jointly.  Standard errors come from the
    finite-difference Hessian of the deviance, as lme4's ``vcov``.

    Parameters
    ----------
    formula : str
        lme4 formula.  Binomial responses: ``cbind(successes, failures)``, a proportion with
        ``weights=`` the number of trials, or a binary response (0/1, logical, or a factor whose
        first level is failure).
    data : DataFrame
    family : str or Family
        ``"binomial"``, ``"bernoulli"``, ``"poisson"``, ``"negbinomial"``, ``"gaussian"``, ``"gamma"``,
        ``"inverse_gaussian"`` or ``"cumulative"``, at the canonical link, or ``hl.family(name, link=...)``
        for another link (binomial: ``probit``, ``cloglog``; Gamma: ``log``, ``identity``; inverse
        Gaussian: ``log``, ``inverse``, ``identity``), fitted by lme4's general PIRLS.
        ``"negbinomial"`` estimates the negative-binomial θ too (lme4's ``glmer.nb``; see
        ``fit.nb_theta``).  Gamma and inverse Gaussian have lme4's dispersion: ``sigma()`` is
        √(pwrss / n) and ``varcorr()`` scales the random-effect SDs by it.  ``"gaussian"`` (identity
        link) is a linear mixed model: the fit is :func:`hierlm.lmer`'s (REML), as lme4's ``glmer``
        hands it to ``lmer``.  ``"cumulative"`` (an ordered categorical response) is a cumulative link
        mixed model, as ``ordinal::clmm``: the result is a :class:`~hierlm.fits.ordinal.ClmmFit`.
    weights : str or array-like, optional
        Number of trials for a binomial proportion; prior weights otherwise.
    nAGQ : int, default 1
        1: Laplace approximation.  0: lme4's faster ``nAGQ = 0`` (β estimated inside PIRLS,
        standard errors from RX).  2-25: adaptive Gauss-Hermite quadrature (one scalar random
        effect only); its log-likelihood keeps the constants of the Laplace one (lme4 drops them
        for nAGQ > 1), so fits with different nAGQ compare directly.

    Returns
    -------
    GlmerFit
        (:class:`~hierlm.fits.ordinal.ClmmFit` for ``family="cumulative"``.)

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
    ...              family="binomial")
    >>> m.fixef()["Estimate"].round(3).tolist()
    [-1.399, -0.992, -1.129, -1.58]
    >>> round(m.loglik(), 2)
    -92.03
    >>> from hierlm.design.family import family  # hl.family
    >>> p = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
    ...              family=family("binomial", link="probit"))
    >>> p.fixef()["Estimate"].round(3).tolist(), round(p.loglik(), 2)
    ([-0.835, -0.528, -0.617, -0.8], -92.62)
    >>> g = hl.glmer("Yield ~ 1 + (1 | Batch)", hl.load_dataset("Dyestuff"), family=family("gamma", link="log"))
    >>> round(float(g.fixef()["Estimate"].iloc[0]), 4), round(g.sigma(), 4), g.npar()
    (7.3309, 0.0334, 3)
    """
    fam = get_family(family).require_engine("frequentist", "glmer")
    if fam.is_ordinal:
        return clmm(formula, data, fam, weights=weights, nAGQ=nAGQ)
    if fam.name == "gaussian":
        warnings.warn("family='gaussian' (identity link) is a linear mixed model: fitted with hl.lmer (REML), "
                      "as lme4's glmer does; call hl.lmer directly", HierlmWarning, stacklevel=2)
        return lmer(formula, data, weights=weights)
    design = make_design(formula, data, weights=weights)
    check_model(design, fam)
    nAGQ = _check_nagq(nAGQ, design, fam)
    return fit_glmm(design, fam, nAGQ)
