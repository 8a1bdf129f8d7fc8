"""What a fitted cumulative link mixed model holds, and its estimates: :class:`ClmmBase`, the base of
:class:`~hierlm.fits.ordinal.ClmmFit`.

The thresholds α, coefficients β and θ with their joint covariance; the tables built on them
(``thresholds``, ``fixef``, ``coef``, ``vcov``), the variance components and random effects, and the
likelihood with the criteria built on it.  Predictions, saving, ``update`` and the entry point
``clmm`` are in :mod:`hierlm.fits.ordinal`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtr

from ..design import Design, Family
from ..design.covariance import covariances_of_theta, lambdas_of_theta
from . import extract
from .protocol import Fit

__all__ = ["ClmmBase"]


@dataclass(repr=False, eq=False)
class ClmmBase(Fit):
    """The numbers of a cumulative link mixed model and the extractors on them (see :class:`ClmmFit`).

    Attributes
    ----------
    design : Design
    family : Family
    alpha, beta, theta : ndarray
        Thresholds, coefficients (no intercept) and lme4's θ.
    vcov_all : ndarray
        Covariance of (α, β, θ).
    """

    design: Design
    family: Family
    alpha: np.ndarray
    beta: np.ndarray
    theta: np.ndarray
    b: list
    levels: list
    vcov_all: np.ndarray
    objective: float
    eta: np.ndarray
    cond_var_: list
    nAGQ: int = 1
    gradient: np.ndarray | None = None
    hessian: np.ndarray | None = None
    optinfo: dict = field(default_factory=dict)

    # -- names ----------------------------------------------------------------------------------
    @property
    def threshold_names(self) -> list[str]:
        """``1|2``, ``2|3``, … (ordinal's names of the thresholds)."""
        lv = self.levels
        return [f"{lv[j]}|{lv[j + 1]}" for j in range(len(lv) - 1)]

    @property
    def xnames(self) -> list[str]:
        """Names of the coefficients (the design's columns without the intercept)."""
        return [x for x in self.design.xnames if x != "(Intercept)"]

    @property
    def theta_names(self) -> list[str]:
        """lme4's names of θ (``judge.(Intercept)``)."""
        out = []
        for t in self.design.reterms:
            p = t.ncols
            for j in range(p):
                for i in range(j, p):
                    out.append(f"{t.group}.{t.columns[i]}" if i == j else f"{t.group}.{t.columns[i]}.{t.columns[j]}")
        return out

    # -- estimates ------------------------------------------------------------------------------
    def _table(self, est: np.ndarray, se: np.ndarray, names: list[str], pvalues: bool) -> pd.DataFrame:
        with np.errstate(divide="ignore", invalid="ignore"):
            z = est / se
        frame = pd.DataFrame({"Estimate": est, "Std. Error": se, "z value": z}, index=names)
        if pvalues:
            frame["Pr(>|z|)"] = 2 * ndtr(-np.abs(z))
        return frame

    def _se(self) -> np.ndarray:
        return np.sqrt(np.maximum(np.diag(self.vcov_all), 0))

    def fixef(self) -> pd.DataFrame:
        """The coefficients β with standard errors, z values and p-values (``coef(summary(clmm))``'s β rows).

        Returns
        -------
        DataFrame
            Columns ``Estimate``, ``Std. Error``, ``z value``, ``Pr(>|z|)``.

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> m.fixef().round(3)
                    Estimate  Std. Error  z value  Pr(>|z|)
        btypescold    -0.848       0.057  -14.876       0.0
        btypeshout    -1.728       0.063  -27.567       0.0
        """
        k = len(self.alpha)
        return self._table(self.beta, self._se()[k : k + len(self.beta)], self.xnames, True)

    def thresholds(self) -> pd.DataFrame:
        """The thresholds α with standard errors and z values (``clmm``'s "Threshold coefficients").

        Returns
        -------
        DataFrame
            Indexed ``1|2``, ``2|3``, …; columns ``Estimate``, ``Std. Error``, ``z value``.

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> m.thresholds().index.tolist()
        ['no|perhaps', 'perhaps|yes']
        """
        return self._table(self.alpha, self._se()[: len(self.alpha)], self.threshold_names, False)

    def coef(self) -> pd.Series:
        """All the model's coefficients: the thresholds α, then the coefficients β, as ordinal's ``coef(clmm)``.

        Unlike lme4's ``coef`` of a ``glmer`` fit (each level's own coefficients), ordinal's ``coef``
        is the named vector of estimates; the random-effect parameters are not in it (see
        :meth:`varcorr`).  ``coefficients()`` is the same.

        Returns
        -------
        Series
            Indexed by the threshold names (``1|2``, ``2|3``, …) then the coefficient names.

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> m.coef().round(3)
        no|perhaps    -0.719
        perhaps|yes    0.969
        btypescold    -0.848
        btypeshout    -1.728
        dtype: float64
        >>> m.coefficients().equals(m.coef())
        True
        """
        return pd.Series(np.concatenate([self.alpha, self.beta]), index=self.threshold_names + self.xnames)

    #: ``coefficients()`` is ``coef()`` (R's ``coefficients`` is an alias of ``coef``)
    coefficients = coef

    def vcov(self) -> pd.DataFrame:
        """Covariance of the thresholds, coefficients and θ (ordinal's ``vcov``, with θ on the SD scale).

        Returns
        -------
        DataFrame

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> m.vcov().columns.tolist()
        ['no|perhaps', 'perhaps|yes', 'btypescold', 'btypeshout', 'id.(Intercept)']
        """
        names = self.threshold_names + self.xnames + self.theta_names
        return pd.DataFrame(self.vcov_all, index=names, columns=names)

    # -- variance components and random effects -------------------------------------------------
    def covariances(self) -> list[np.ndarray]:
        """Σ of every random-effects block (no residual scale: Σ = λλᵀ).

        Returns
        -------
        list of ndarray
            One (q, q) matrix per block, in the order of the formula's bars.

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> [s.round(3) for s in m.covariances()]
        [array([[1.363]])]
        """
        return covariances_of_theta(self.theta, [t.ncols for t in self.design.reterms], 1.0)

    def varcorr(self) -> pd.DataFrame:
        """Variance components as lme4's ``as.data.frame(VarCorr(m))`` (no residual row).

        Returns
        -------
        DataFrame
            Columns ``grp``, ``var1``, ``var2``, ``vcov``, ``sdcor``.

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> m.varcorr().round(3)
          grp         var1  var2   vcov  sdcor
        0  id  (Intercept)  None  1.363  1.167
        """
        return extract.varcorr_frame(self.design, self.covariances(), None)

    def ranef(self) -> dict:
        """Conditional modes of the random effects per grouping factor (ordinal's ``ranef``).

        Returns
        -------
        dict
            Grouping factor → DataFrame (levels × terms), on the linear-predictor scale.

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> m.ranef()["id"]["(Intercept)"].head(2).round(3).tolist()
        [-0.299, -2.176]
        """
        return extract.ranef_frames(self.design, self.b)

    def cond_var(self) -> list[np.ndarray]:
        """Conditional covariances of the random effects per block (ordinal's ``condVar``).

        Returns
        -------
        list of ndarray
            One (levels, q, q) array per block, the levels in the order of :meth:`ranef`.

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> cv = m.cond_var()[0]
        >>> cv.shape, cv[:3, 0, 0].round(4).tolist()
        ((316, 1, 1), [0.1639, 0.3373, 0.1473])
        """
        return self.cond_var_

    def ngrps(self) -> dict[str, int]:
        """Number of levels of every grouping factor.

        Returns
        -------
        dict
            Grouping factor → number of levels.

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> m.ngrps(), m.nobs()
        ({'id': 316}, 7584)
        """
        return extract.ngrps(self.design)

    def sigma(self) -> float:
        """1: the latent scale of a cumulative link model is fixed by the link.

        Returns
        -------
        float

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> m.sigma()
        1.0
        """
        return 1.0

    def is_singular(self, tol: float = 1e-4) -> bool:
        """Whether a diagonal element of a Cholesky factor of Σ is below ``tol`` (lme4's rule): a variance
        at (nearly) zero or a correlation of ±1.

        Parameters
        ----------
        tol : float, default 1e-4

        Returns
        -------
        bool

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> m.is_singular(), m.theta.round(3).tolist()
        (False, [1.167])
        """
        lams = lambdas_of_theta(self.theta, [t.ncols for t in self.design.reterms])
        return bool(np.any(np.concatenate([np.diag(lam) for lam in lams]) < tol))

    # -- likelihood -----------------------------------------------------------------------------
    def npar(self) -> int:
        """Number of parameters: thresholds, coefficients and θ.

        Returns
        -------
        int

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> m.npar(), len(m.alpha), len(m.beta), len(m.theta)
        (5, 2, 2, 1)
        """
        return len(self.alpha) + len(self.beta) + len(self.theta)

    def loglik(self) -> float:
        """Log-likelihood at the optimum (Laplace, or AGQ for ``nAGQ > 1``), as ordinal's ``logLik``.

        Returns
        -------
        float

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> round(m.loglik(), 2), round(m.aic(), 2), m.npar()
        (-6733.32, 13476.63, 5)
        """
        return -0.5 * self.objective

    def aic(self) -> float:
        """Akaike information criterion, −2 logLik + 2 npar (ordinal's ``AIC``).

        Returns
        -------
        float

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> round(m.aic(), 2), round(-2 * m.loglik() + 2 * m.npar(), 2)
        (13476.63, 13476.63)
        """
        return -2 * self.loglik() + 2 * self.npar()

    def bic(self) -> float:
        """Bayesian information criterion, −2 logLik + log(n) npar (R's ``BIC``, n the number of rows).

        Returns
        -------
        float

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> round(m.bic(), 1), m.nobs()
        (13511.3, 7584)
        """
        return float(-2 * self.loglik() + np.log(self.nobs()) * self.npar())

    def deviance(self) -> float:
        """−2 logLik (the Laplace / AGQ deviance).

        Returns
        -------
        float

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> round(m.deviance(), 2), round(-2 * m.loglik(), 2)
        (13466.63, 13466.63)
        """
        return float(self.objective)
