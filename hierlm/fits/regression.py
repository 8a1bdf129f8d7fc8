"""The common part of :class:`~hierlm.fits.lm.LmFit` and :class:`~hierlm.fits.lm.GlmFit`: a model without
random effects, fitted by least squares or IRLS (:mod:`hierlm.engines.frequentist.glm`).

The extractors have the names of the mixed fits' (``fixef``, ``vcov``, ``sigma``, ``predict``, ...)
and R's numbers (``summary.lm`` / ``summary.glm``, ``predict.lm``, ``logLik.lm`` / ``logLik.glm``,
``lm.influence``).  Influence diagnostics and residual types are the functions of
:mod:`hierlm.fits.influence`, shared with the mixed fits.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.special import ndtr, stdtr

from ..design import Design, Family, GlmResponse
from ..engines.frequentist.glm import GlmSolution, glm_loglik
from ..errors import HierlmError
from . import influence, intervals
from .protocol import Fit
from .storage import save_fit

__all__ = ["RegressionFit"]


class RegressionFit(Fit):
    """Shared part of :class:`LmFit` and :class:`GlmFit` (made by :func:`hierlm.fits.lm.lm` / ``glm``).

    Attributes
    ----------
    design : Design
        The model frame (no random-effects terms).
    family : Family
        ``gaussian`` for an lm.
    response : GlmResponse
        The response in the family's canonical form (proportions and trials for binomial models).
    solution : GlmSolution
        The engine's numbers: coefficients, QR factor, weights, deviance, dispersion, iterations.

    Examples
    --------
    >>> from hierlm.fits.lm import lm
    >>> import hierlm as hl
    >>> m = lm("mpg ~ wt + hp", hl.load_dataset("mtcars"))
    >>> m.solution.rank, m.df_residual
    (3, 29)
    """

    #: what ``save`` stores (arrays) besides σ, the objective, the family and ``optinfo``
    saved_arrays: ClassVar[tuple[str, ...]] = ("beta", "vcov_beta")
    saved_settings: ClassVar[tuple[str, ...]] = ()

    def __init__(self, design: Design, family: Family, response: GlmResponse, solution: GlmSolution):
        self.design = design
        self.family = family
        self.response = response
        self.solution = solution

    # -- numbers under the names the frequentist fits use (saving, services) ----------------------
    @property
    def beta(self) -> np.ndarray:
        """Coefficients in the order of ``design.xnames`` (aliased columns left out)."""
        return self.solution.coefficients

    @property
    def vcov_beta(self) -> np.ndarray:
        """Covariance matrix of :attr:`beta` (scaled by the dispersion)."""
        return self.solution.vcov

    @property
    def b(self) -> list:
        """Random effects: none."""
        return []

    @property
    def theta(self) -> np.ndarray:
        """Covariance parameters: none."""
        return np.zeros(0)

    @property
    def sigma_(self) -> float:
        return self.sigma()

    @property
    def objective(self) -> float:
        """−2 × log-likelihood (ML)."""
        return -2.0 * self.loglik()

    @property
    def optinfo(self) -> dict:
        """Fitting details: IRLS iterations, convergence, R's warnings."""
        s = self.solution
        return {"iter": s.iter, "converged": s.converged, "boundary": s.boundary, "warnings": list(s.warnings)}

    @property
    def df_residual(self) -> int:
        """Residual degrees of freedom (R's ``df.residual``): observations with non-zero weight − rank."""
        return int(self.solution.df_residual)

    # -- extractors ---------------------------------------------------------------------------
    def _stat_name(self) -> str:
        return "t" if self.family.has_dispersion else "z"

    def fixef(self) -> pd.DataFrame:
        """R's coefficient table (``coef(summary(m))``).

        Returns
        -------
        DataFrame
            Indexed by term, columns ``Estimate``, ``Std. Error``, ``t value``, ``Pr(>|t|)`` (lm and
            Gaussian glm: t with the residual df) or ``z value``, ``Pr(>|z|)`` (binomial, Poisson).

        Examples
        --------
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> lm("mpg ~ wt", hl.load_dataset("mtcars")).fixef().round(4)
                     Estimate  Std. Error  t value  Pr(>|t|)
        (Intercept)   37.2851      1.8776  19.8576       0.0
        wt            -5.3445      0.5591  -9.5590       0.0
        """
        est = self.beta
        se = np.sqrt(np.diag(self.vcov_beta))
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = est / se
        s = self._stat_name()
        if s == "t":
            p = 2 * stdtr(self.df_residual, -np.abs(stat)) if self.df_residual > 0 else np.full_like(stat, np.nan)
        else:
            p = 2 * ndtr(-np.abs(stat))
        return pd.DataFrame({"Estimate": est, "Std. Error": se, f"{s} value": stat, f"Pr(>|{s}|)": p},
                            index=list(self.design.xnames))

    def coef(self) -> pd.Series:
        """Coefficients as R's ``coef``: every column of the model matrix, NaN for aliased ones.

        Returns
        -------
        Series

        Examples
        --------
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> lm("mpg ~ wt + hp", hl.load_dataset("mtcars")).coef().round(4).to_dict()
        {'(Intercept)': 37.2273, 'wt': -3.8778, 'hp': -0.0318}
        """
        d = self.design
        out = pd.Series(np.nan, index=list(d.all_xnames), dtype=float)
        out.iloc[list(d.keep)] = self.beta
        return out

    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the coefficients (R's ``vcov``).

        Returns
        -------
        DataFrame

        Examples
        --------
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> lm("mpg ~ wt", hl.load_dataset("mtcars")).vcov().round(4)
                     (Intercept)      wt
        (Intercept)       3.5255 -1.0057
        wt               -1.0057  0.3126
        """
        names = list(self.design.xnames)
        return pd.DataFrame(self.vcov_beta, index=names, columns=names)

    def dispersion(self) -> float:
        """The dispersion of ``summary()``: σ² for an lm, Pearson χ² / df for a Gaussian glm, 1 for
        binomial, Poisson and negative-binomial glms.

        Returns
        -------
        float

        Examples
        --------
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> round(lm("mpg ~ wt", hl.load_dataset("mtcars")).dispersion(), 4)
        9.2774
        """
        return float(self.solution.dispersion)

    def fitted(self) -> np.ndarray:
        """Fitted values on the response scale (R's ``fitted``: proportions for binomial models).

        Returns
        -------
        ndarray

        Examples
        --------
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> lm("mpg ~ wt", hl.load_dataset("mtcars")).fitted()[:3].round(3)
        array([23.283, 21.92 , 24.886])
        """
        return np.asarray(self.solution.mu)

    def residuals(self, type: str | None = None) -> np.ndarray:
        """Residuals of a type, as R's ``residuals.lm`` / ``residuals.glm``.

        Parameters
        ----------
        type : {"response", "pearson", "deviance", "working"}, optional
            Default: ``"response"`` for an lm, ``"deviance"`` for a glm (R's defaults).  See
            :func:`hierlm.fits.influence.residuals_of`.

        Returns
        -------
        ndarray

        Examples
        --------
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> lm("mpg ~ wt", hl.load_dataset("mtcars")).residuals()[:3].round(3)
        array([-2.283, -0.92 , -2.086])
        """
        return influence.residuals_of(self, type)

    def nobs(self) -> int:
        """Number of observations with non-zero weight (R's ``nobs``).

        Returns
        -------
        int

        Examples
        --------
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> lm("mpg ~ wt", hl.load_dataset("mtcars")).nobs()
        32
        """
        return int(np.sum(self.solution.prior_weights != 0))

    def deviance(self) -> float:
        """R's ``deviance``: the (weighted) residual sum of squares of an lm, the deviance of a glm.

        Returns
        -------
        float

        Examples
        --------
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> round(lm("mpg ~ wt", hl.load_dataset("mtcars")).deviance(), 4)
        278.3219
        """
        return float(self.solution.deviance)

    def npar(self) -> int:
        """Number of parameters as ``logLik`` counts them: the coefficients, plus σ (lm, Gaussian glm).

        Returns
        -------
        int

        Examples
        --------
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> lm("mpg ~ wt + hp", hl.load_dataset("mtcars")).npar()
        4
        """
        return int(self.solution.rank + (1 if self.family.has_dispersion else 0))

    def loglik(self) -> float:
        """Log-likelihood (R's ``logLik``; maximum likelihood, so it is what ``anova(lmer, lm)`` compares).

        Returns
        -------
        float

        Examples
        --------
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> round(lm("mpg ~ wt + hp", hl.load_dataset("mtcars")).loglik(), 4)
        -74.3262
        """
        s = self.solution
        return glm_loglik(self.family, self.response, s.mu, s.deviance)

    def aic(self) -> float:
        """Akaike information criterion, −2 logLik + 2 npar (R's ``AIC``).

        Returns
        -------
        float

        Examples
        --------
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> round(lm("mpg ~ wt + hp", hl.load_dataset("mtcars")).aic(), 4)
        156.6523
        """
        return -2 * self.loglik() + 2 * self.npar()

    def bic(self) -> float:
        """Bayesian information criterion, −2 logLik + log(nobs) npar (R's ``BIC``).

        Returns
        -------
        float

        Examples
        --------
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> round(float(lm("mpg ~ wt + hp", hl.load_dataset("mtcars")).bic()), 4)
        162.5153
        """
        return -2 * self.loglik() + np.log(self.nobs()) * self.npar()

    # -- predictions ------------------------------------------------------------------------------
    def predict(self, newdata: pd.DataFrame | None = None, type: str = "response", interval: str | None = None,
                level: float = 0.95, se_fit: bool = False):
        """Predictions with optional standard errors and intervals, as R's ``predict.lm`` / ``predict.glm``.

        Parameters
        ----------
        newdata : DataFrame, optional
            Defaults to the data used for fitting; factor levels, ``poly()``, ``scale()`` use the
            training data's.
        type : {"response", "link"}
            Scale of the predictions (they differ for glms only; R's ``predict.glm`` defaults to
            ``"link"``, hierlm to ``"response"`` as for the mixed fits).
        interval : {None, "confidence", "prediction"}
            ``"confidence"``: fit ± q·se with se² = xᵀ V x (t quantile with the residual df for lm
            and Gaussian glm, normal otherwise); for a glm the interval is made on the link scale
            and back-transformed.  ``"prediction"`` (lm and Gaussian glm): se² + σ², for a new
            observation of weight 1 (R's ``predict.lm``).
        level : float, default 0.95
        se_fit : bool, default False
            Add the standard error of the fit (on the scale of ``type``; R's ``se.fit``).

        Returns
        -------
        ndarray or DataFrame
            The predictions; with ``interval`` or ``se_fit`` a DataFrame with R's columns ``fit``,
            ``lwr``, ``upr`` (and ``se_fit``), indexed like ``newdata``.

        Examples
        --------
        >>> import pandas as pd
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> m = lm("mpg ~ wt + hp", hl.load_dataset("mtcars"))
        >>> m.predict(pd.DataFrame({"wt": [2.5, 3.2], "hp": [100, 150]}), interval="prediction").round(3)
              fit     lwr     upr
        0  24.355  18.918  29.793
        1  20.052  14.665  25.439
        """
        return intervals.regression_predict(self, newdata, type, interval, level, se_fit)

    # -- influence ----------------------------------------------------------------------------
    def hatvalues(self) -> np.ndarray:
        """Diagonal of the hat matrix (R's ``hatvalues``); see :func:`hierlm.fits.influence.hatvalues`.

        Returns
        -------
        ndarray

        Examples
        --------
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> lm("mpg ~ wt + hp", hl.load_dataset("mtcars")).hatvalues()[:3].round(4)
        array([0.0443, 0.0405, 0.0602])
        """
        return influence.hatvalues(self)

    def cooks_distance(self) -> np.ndarray:
        """Cook's distances (R's ``cooks.distance``); see :func:`hierlm.fits.influence.cooks_distance`.

        Returns
        -------
        ndarray

        Examples
        --------
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> lm("mpg ~ wt + hp", hl.load_dataset("mtcars")).cooks_distance()[:3].round(4)
        array([0.0159, 0.0055, 0.0207])
        """
        return influence.cooks_distance(self)

    def rstandard(self, type: str = "deviance") -> np.ndarray:
        """Standardised residuals (R's ``rstandard``): residual / √(dispersion (1 − h)).

        Parameters
        ----------
        type : {"deviance", "pearson"}
            For an lm both are the (weighted) residuals.

        Returns
        -------
        ndarray

        Examples
        --------
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> lm("mpg ~ wt + hp", hl.load_dataset("mtcars")).rstandard()[:3].round(4)
        array([-1.0146, -0.6233, -0.9848])
        """
        return influence.rstandard(self, type)

    def rstudent(self) -> np.ndarray:
        """Studentised (leave-one-out) residuals (R's ``rstudent``).

        Returns
        -------
        ndarray

        Examples
        --------
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> lm("mpg ~ wt + hp", hl.load_dataset("mtcars")).rstudent()[:3].round(4)
        array([-1.0151, -0.6166, -0.9842])
        """
        return influence.rstudent(self)

    # -- what mixed fits have and these do not ------------------------------------------------------
    def is_singular(self, tol: float = 1e-4) -> bool:
        """Always False: a model without random effects has no variance on the boundary.

        Parameters
        ----------
        tol : float
            Ignored (the mixed fits' threshold).

        Returns
        -------
        bool

        Examples
        --------
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> lm("mpg ~ wt", hl.load_dataset("mtcars")).is_singular()
        False
        """
        return False

    def _no_re(self, what: str):
        raise HierlmError(f"{what}: an {self.kind.model} has no random effects (the formula has no (... | group) term); "
                          f"fit the model with hl.{'lmer' if self.kind.model == 'lm' else 'glmer'} to get them")

    def ranef(self, intervals: bool = False):
        """Not available: raises :class:`HierlmError` (an lm has no random effects).

        Parameters
        ----------
        intervals : bool
            As for the mixed fits.

        Returns
        -------
        None

        Examples
        --------
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> lm("mpg ~ wt", hl.load_dataset("mtcars")).ranef()
        Traceback (most recent call last):
        ...
        hierlm.errors.HierlmError: ranef(): an lm has no random effects ...
        """
        self._no_re("ranef()")

    def varcorr(self):
        """Not available: raises :class:`HierlmError` (an lm has no variance components).

        Returns
        -------
        None

        Examples
        --------
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> lm("mpg ~ wt", hl.load_dataset("mtcars")).varcorr()
        Traceback (most recent call last):
        ...
        hierlm.errors.HierlmError: varcorr(): an lm has no random effects ...
        """
        self._no_re("varcorr()")

    def refit_ml(self):
        """The fit itself: least squares / IRLS already is maximum likelihood (for ``hl.anova``).

        Returns
        -------
        LmFit or GlmFit

        Examples
        --------
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> m = lm("mpg ~ wt", hl.load_dataset("mtcars"))
        >>> m.refit_ml() is m
        True
        """
        return self

    def save(self, path, overwrite: bool = False):
        """Save the fit to the folder ``path`` (JSON + netCDF), as the mixed fits do.

        Parameters
        ----------
        path : str or Path
        overwrite : bool, default False
            As :meth:`hierlm.LmerFit.save`.

        Returns
        -------
        Path

        Examples
        --------
        >>> import os, tempfile
        >>> from hierlm.fits.lm import lm
        >>> import hierlm as hl
        >>> folder = lm("mpg ~ wt", hl.load_dataset("mtcars")).save(os.path.join(tempfile.mkdtemp(), "m"))
        >>> sorted(os.listdir(folder))[0]
        'arrays.nc'
        """
        return save_fit(self, path, overwrite=overwrite)
