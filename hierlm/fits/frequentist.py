"""The frequentist fits' common base: numbers (θ, β, b, σ, the objective), the design, and the
extractors shared by :class:`~hierlm.fits.LmerFit` and :class:`~hierlm.fits.GlmerFit`.

The numbers come from the frequentist engine's solution (:mod:`hierlm.engines.frequentist`); the
tables are built by :mod:`hierlm.fits.extract` and the design layer, shared with ``BayesFit``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.special import ndtr

from ..design import Design, Family, linear_predictor
from ..design.covariance import covariances_of_theta, lambdas_of_theta
from ..errors import HierlmError
from . import extract, influence, intervals
from .protocol import Fit
from .storage import save_fit

#: what a singular fit announces at fit time (lme4: "boundary (singular) fit: see help('isSingular')")
SINGULAR_MESSAGE = ("boundary (singular) fit: see hierlm's help on singular fits "
                    "(docs/troubleshooting.md#singular-fits)")

__all__ = ["SINGULAR_MESSAGE", "FrequentistFit"]


@dataclass(repr=False, eq=False)
class FrequentistFit(Fit):
    """Shared part of :class:`LmerFit` and :class:`GlmerFit`: the fitted numbers and the extractors.

    Fits are made by :func:`hierlm.lmer` and :func:`hierlm.glmer` (or read back by
    :func:`hierlm.load`), not by hand.

    Attributes
    ----------
    design : Design
        The model frame: response, fixed-effects matrix ``X`` (names in ``xnames``), one
        random-effects term per block (``reterms``), the rows used and the formula.
    theta : ndarray
        lme4's θ (relative Cholesky factors, column-major lower triangles per block).
    beta : ndarray
        Fixed-effect estimates, in the order of ``design.xnames``.
    b : list of ndarray
        Conditional modes per block, (levels, terms).
    sigma_ : float
        Residual standard deviation (1 for families without one).
    vcov_beta : ndarray
        Covariance matrix of ``beta``.
    objective : float
        The optimised criterion (REML criterion, ML deviance or Laplace deviance).
    family : Family
        The response family and link (``fit.family == "gaussian"`` for :class:`LmerFit`).
    optinfo : dict
        Optimiser details (evaluations, convergence messages, internal θ).

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> m.theta.round(4).tolist()
    [0.9667, 0.0152, 0.2309]
    >>> m.design.xnames
    ['(Intercept)', 'Days']
    """

    design: Design
    theta: np.ndarray
    beta: np.ndarray
    b: list[np.ndarray]
    sigma_: float
    vcov_beta: np.ndarray
    objective: float
    family: Family
    optinfo: dict = field(default_factory=dict)

    #: what ``save`` stores besides b (arrays) and σ, the objective, family and optinfo (settings)
    saved_arrays: ClassVar[tuple[str, ...]] = ("theta", "beta", "vcov_beta")
    saved_settings: ClassVar[tuple[str, ...]] = ()

    # -- structure --------------------------------------------------------------------------
    def ngrps(self) -> dict[str, int]:
        """Number of levels of every grouping factor, as lme4's ``ngrps``.

        Returns
        -------
        dict
            Grouping factor (as lme4 names it, e.g. ``cask:batch``) -> number of levels.

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("strength ~ 1 + (1 | batch/cask)", hl.load_dataset("Pastes"))
        >>> m.ngrps()
        {'cask:batch': 30, 'batch': 10}
        """
        return extract.ngrps(self.design)

    def npar(self) -> int:
        """Number of parameters: fixed effects, θ and (for the Gaussian family) σ.

        This is the ``npar`` column of :func:`hierlm.anova` and the penalty of :meth:`aic`.

        Returns
        -------
        int

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.npar()  # 2 fixed effects, 3 covariance parameters, sigma
        6
        """
        return self.design.p + len(self.theta) + (1 if self.family.has_dispersion else 0)

    def lambdas(self) -> list[np.ndarray]:
        """Relative covariance factors λᵢ of every block (Σᵢ = σ² λᵢλᵢᵀ), lme4's θ as matrices.

        Returns
        -------
        list of ndarray
            One lower-triangular (q, q) matrix per random-effects block.

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.lambdas()[0].round(4)
        array([[0.9667, 0.    ],
               [0.0152, 0.2309]])
        """
        return lambdas_of_theta(self.theta, [t.ncols for t in self.design.reterms])

    def covariances(self) -> list[np.ndarray]:
        """Covariance matrix Σᵢ of the random effects of every block.

        Returns
        -------
        list of ndarray
            One (q, q) matrix per block, in the order of :meth:`varcorr`'s groups.

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.covariances()[0].round(2)
        array([[612.09,   9.6 ],
               [  9.6 ,  35.07]])
        """
        return covariances_of_theta(self.theta, [t.ncols for t in self.design.reterms], self.sigma_)

    # -- extractors -------------------------------------------------------------------------
    def fixef(self) -> pd.DataFrame:
        """Fixed-effect estimates with their standard errors (lme4's ``coef(summary(m))``).

        Returns
        -------
        DataFrame
            Indexed by term (lme4's names), with columns ``Estimate``, ``Std. Error`` and ``t value``;
            GLMMs have ``z value`` and ``Pr(>|z|)`` instead of ``t value``.

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.fixef().round(3)
                     Estimate  Std. Error  t value
        (Intercept)   251.405       6.825   36.838
        Days           10.467       1.546    6.771
        >>> round(float(m.fixef().loc["Days", "Estimate"]), 3)  # lme4's fixef(m)["Days"]
        10.467
        """
        se = np.sqrt(np.diag(self.vcov_beta))
        stat = "t value" if self.kind.linear else "z value"
        frame = pd.DataFrame({"Estimate": self.beta, "Std. Error": se, stat: self.beta / se}, index=self.design.xnames)
        if not self.kind.linear:
            frame["Pr(>|z|)"] = 2 * ndtr(-np.abs(frame[stat]))
        return frame

    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the fixed-effect estimates (lme4's ``vcov``).

        Returns
        -------
        DataFrame
            Terms × terms; the square roots of its diagonal are the standard errors of :meth:`fixef`.

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.vcov().round(3)
                     (Intercept)   Days
        (Intercept)       46.575 -1.451
        Days              -1.451  2.389
        """
        names = self.design.xnames
        return pd.DataFrame(self.vcov_beta, index=names, columns=names)

    def ranef(self, intervals: bool = False):
        """Conditional modes of the random effects per grouping factor (lme4's ``ranef``).

        Parameters
        ----------
        intervals : bool, default False
            ``True``: one long table with the conditional SDs (lme4's ``condVar``) and 95% normal
            intervals, as ``as.data.frame(ranef(m, condVar = TRUE))``.

        Returns
        -------
        dict or DataFrame
            ``intervals=False``: grouping factor -> DataFrame (index: level, columns: terms).
            ``intervals=True``: DataFrame with columns ``grpvar``, ``term``, ``grp``, ``condval``,
            ``condsd``, ``Q2.5``, ``Q97.5``.

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.ranef()["Subject"].head(3).round(3)
                 (Intercept)   Days
        Subject
        308            2.259  9.199
        309          -40.399 -8.620
        310          -38.960 -5.449
        >>> m.ranef(intervals=True).head(3).round(3)
            grpvar         term  grp  condval  condsd    Q2.5   Q97.5
        0  Subject  (Intercept)  308    2.259  12.071 -21.400  25.917
        1  Subject  (Intercept)  309  -40.399  12.071 -64.057 -16.740
        2  Subject  (Intercept)  310  -38.960  12.071 -62.619 -15.302
        """
        if not intervals:
            return extract.ranef_frames(self.design, self.b)
        sds = [np.sqrt(np.maximum(np.diagonal(V, axis1=1, axis2=2), 0)) for V in self.cond_var()]
        return extract.ranef_long(self.design, {
            "condval": self.b, "condsd": sds, "Q2.5": [b - 1.959964 * sd for b, sd in zip(self.b, sds)],
            "Q97.5": [b + 1.959964 * sd for b, sd in zip(self.b, sds)]})

    def cond_var(self) -> list[np.ndarray]:  # pragma: no cover - overridden
        """Conditional covariances of the random effects per block (lme4's ``condVar``).

        Returns
        -------
        list of ndarray
            One (levels, q, q) array per block.

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> V = m.cond_var()[0]
        >>> V.shape
        (18, 2, 2)
        """
        raise NotImplementedError

    def coef(self) -> dict[str, pd.DataFrame]:
        """Fixed plus random effects per level: each level's own coefficients (lme4's ``coef``).

        Returns
        -------
        dict
            Grouping factor -> DataFrame (index: level, columns: every fixed-effect term; terms
            without a random effect repeat the fixed effect).

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.coef()["Subject"].head(3).round(3)
                 (Intercept)    Days
        Subject
        308          253.664  19.666
        309          211.007   1.848
        310          212.445   5.018
        """
        return extract.coef_frames(pd.Series(self.beta, index=self.design.xnames), self.ranef())

    def varcorr(self) -> pd.DataFrame:
        """Variance components: lme4's ``as.data.frame(VarCorr(m))``.

        Returns
        -------
        DataFrame
            Columns ``grp``, ``var1``, ``var2``, ``vcov`` (variance or covariance) and ``sdcor``
            (standard deviation or correlation), in lme4's row order: per block the variances, then
            the covariances; the ``Residual`` row last (Gaussian models).  ``var1`` / ``var2`` are
            None where lme4 has NA.

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.varcorr().round(3)
                grp         var1  var2     vcov   sdcor
        0   Subject  (Intercept)  None  612.090  24.740
        1   Subject         Days  None   35.072   5.922
        2   Subject  (Intercept)  Days    9.604   0.066
        3  Residual         None  None  654.941  25.592
        """
        sigma = self.sigma_ if self.family.has_dispersion else None
        return extract.varcorr_frame(self.design, self.covariances(), sigma)

    def sigma(self) -> float:
        """Residual standard deviation (lme4's ``sigma``).

        Returns
        -------
        float

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> round(m.sigma(), 3)
        25.592
        """
        return float(self.sigma_)

    def predict(self, newdata: pd.DataFrame | None = None, re_form: str | None = None,
                allow_new_levels: bool = False, type: str = "response", interval: str | None = None,
                level: float = 0.95):
        """Predictions, as lme4's ``predict.merMod``.

        Parameters
        ----------
        newdata : DataFrame, optional
            Defaults to the data used for fitting.  Factor levels, ``poly()`` and ``scale()`` are
            evaluated with the training data's levels and coefficients.
        re_form : str, optional
            ``None``: all random effects; ``"~0"``: none (population level); or a formula naming the
            bars to keep, e.g. ``"~(1 | Subject)"``.
        allow_new_levels : bool, default False
            Predict unseen levels at the population level (their random effects are 0); without it a
            new level is an error.
        type : {"response", "link"}
            Scale of the predictions (they differ for GLMMs only).
        interval : {None, "confidence", "prediction"}
            With an interval, a DataFrame ``fit``, ``lwr``, ``upr`` (R's names): ``"confidence"`` carries
            the fixed effects' uncertainty (x'Vx); ``"prediction"`` (LMMs) adds the variance of the random
            effects not conditioned on and σ² (the GLMM FAQ's recipe; :mod:`hierlm.fits.intervals`).
        level : float, default 0.95

        Returns
        -------
        ndarray or DataFrame
            One prediction per row of ``newdata`` (or of the data used); a DataFrame with ``interval``.

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> import pandas as pd
        >>> new = pd.DataFrame({"Days": [0, 5, 10], "Subject": ["308", "308", "new"]})
        >>> m.predict(new, allow_new_levels=True).round(2)
        array([253.66, 351.99, 356.08])
        >>> m.predict(new, re_form="~0").round(2)
        array([251.41, 303.74, 356.08])
        >>> m.predict(new, re_form="~0", interval="confidence").round(2)
              fit     lwr     upr
        0  251.41  238.03  264.78
        1  303.74  284.96  322.52
        2  356.08  324.69  387.47
        """
        if type not in ("response", "link"):
            raise HierlmError(f"type must be 'response' or 'link', not {type!r}")
        if interval is not None:
            return intervals.predict_interval(self, newdata, interval, level, re_form, allow_new_levels, type)
        eta = linear_predictor(self.design, self.beta, self.b, newdata, re_form, allow_new_levels)
        return self.inverse_link(eta) if type == "response" else eta

    def inverse_link(self, eta: np.ndarray) -> np.ndarray:
        """Map the linear predictor η to the response scale with the family's inverse link (the identity for LMMs).

        Parameters
        ----------
        eta : ndarray
            Values of the linear predictor.

        Returns
        -------
        ndarray

        Examples
        --------
        >>> import numpy as np
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.inverse_link(np.array([1.0, 2.0]))
        array([1., 2.])
        """
        return self.family.link.linkinv(eta)

    def fitted(self) -> np.ndarray:
        """Fitted values on the response scale, conditional on the random effects (lme4's ``fitted``).

        Returns
        -------
        ndarray
            One value per observation used.

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.fitted()[:3].round(2)
        array([253.66, 273.33, 293.  ])
        """
        return self.predict()

    def residuals(self) -> np.ndarray:
        """Response residuals y − fitted (lme4's ``residuals``).

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
        y = self.design.y if self.design.y.ndim == 1 else self.design.y[:, 0] / self.design.y.sum(axis=1)
        return y - self.fitted()

    def hatvalues(self) -> np.ndarray:
        """Diagonal of the hat matrix of the mixed model, as lme4's ``hatvalues.merMod``.

        Returns
        -------
        ndarray
            One leverage per observation used.

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.hatvalues()[:3].round(4)
        array([0.2293, 0.1697, 0.1268])
        """
        return influence.hatvalues(self)

    def cooks_distance(self) -> np.ndarray:
        """Cook's distance of every observation, as lme4's ``cooks.distance.merMod``.

        (r_pearson / (1 − h))² · h / (φ · rank(X)) with lme4's hat values h (not case deletion).

        Returns
        -------
        ndarray

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> int(m.cooks_distance().argmax())  # the most influential observation
        59
        """
        return influence.cooks_distance(self)

    def is_singular(self, tol: float = 1e-4) -> bool:
        """Whether the fit is singular, by lme4's rule (``isSingular``).

        A fit is singular when some diagonal element of a relative covariance factor λᵢ is below
        ``tol``: a variance estimated as (nearly) zero, or a correlation of ±1.

        Parameters
        ----------
        tol : float, default 1e-4

        Returns
        -------
        bool

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.is_singular()
        False
        """
        diag = np.concatenate([np.diag(lam) for lam in self.lambdas()]) if self.design.reterms else np.zeros(0)
        return bool(np.any(diag < tol))

    def save(self, path, overwrite: bool = False):
        """Save the fit to the folder ``path`` (JSON + netCDF, never pickle).

        Read it back with :func:`hierlm.load`; nothing is refitted, and every extractor gives the same
        numbers.

        Parameters
        ----------
        path : str or Path
            Folder to write (created if needed; ``~`` is expanded): ``hierlm.json``, ``data.nc``,
            ``arrays.nc``.  The save is atomic; an existing hierlm save there is replaced.
        overwrite : bool, default False
            Allow a folder that holds other files: hierlm then writes its own files beside them
            (replacing files of the same names) and touches nothing else.  Without it such a folder
            is refused.

        Returns
        -------
        Path
            The folder written.

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> import os, tempfile
        >>> folder = m.save(os.path.join(tempfile.mkdtemp(), "sleep_fit"))
        >>> sorted(os.listdir(folder))
        ['arrays.nc', 'data.nc', 'hierlm.json']
        >>> hl.load(folder).fixef().equals(m.fixef())
        True
        """
        return save_fit(self, path, overwrite=overwrite)

    def aic(self) -> float:
        """Akaike information criterion, −2 logLik + 2 npar (lme4's ``AIC``).

        Returns
        -------
        float
            For a REML fit, computed from the REML log-likelihood, as lme4 does.

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> round(m.aic(), 2)
        1755.63
        """
        return -2 * self.loglik() + 2 * self.npar()

    def bic(self) -> float:
        """Bayesian information criterion, −2 logLik + log(n) npar (lme4's ``BIC``).

        Returns
        -------
        float

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> round(float(m.bic()), 2)
        1774.79
        """
        return -2 * self.loglik() + np.log(self.nobs()) * self.npar()

    def loglik(self) -> float:  # pragma: no cover - overridden
        """Log-likelihood at the optimum (implemented by :class:`LmerFit` and :class:`GlmerFit`).

        Returns
        -------
        float

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> round(m.loglik(), 2)
        -871.81
        """
        raise NotImplementedError
