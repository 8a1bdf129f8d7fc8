"""Ordinal mixed models: ``hl.glmer(..., family="cumulative")`` fits ``ordinal::clmm`` → :class:`ClmmFit`.

The model (ordinal's sign convention)::

    P(Yᵢ ≤ j) = F(αⱼ − xᵢᵀβ − zᵢᵀb),   b ~ N(0, Σ)

with thresholds α₁ < … < α_{J−1} in place of an intercept and F the latent distribution of the link
(``logit``, ``probit``, ``cloglog``).  The numbers come from
:class:`hierlm.engines.frequentist.ordinal.ClmmProblem` (Laplace approximation, or adaptive
Gauss–Hermite quadrature with ``nAGQ > 1`` for one scalar random effect).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.special import ndtr

from ..design import Design, Family, check_model, get_family, make_design
from ..design.covariance import covariances_of_theta, lambdas_of_theta, param_names
from ..design.predictor import linear_predictor
from ..engines.frequentist.ordinal import ClmmProblem, category_probabilities
from ..errors import DataError, HierlmError, HierlmWarning
from ..formula import deparse
from . import extract
from .frequentist import SINGULAR_MESSAGE
from .protocol import Fit, FitKind
from .storage import save_fit
from .update import updated_call

__all__ = ["ClmmFit", "clmm", "ordinal_response"]


@dataclass(repr=False, eq=False)
class ClmmFit(Fit):
    """A cumulative link mixed model fitted by maximum likelihood (``ordinal::clmm``).

    Attributes
    ----------
    design : Design
    family : Family
        ``cumulative`` with its link.
    alpha : ndarray
        Thresholds α₁ < … < α_{J−1} (names ``1|2``, ``2|3``, … as ordinal writes them).
    beta : ndarray
        Coefficients of the fixed-effect columns (no intercept).
    theta : ndarray
        lme4's θ of every block (Cholesky factor of Σ; the SD for a scalar term).
    b : list of ndarray
        Conditional modes of the random effects per block (levels × terms).
    levels : list of str
        The response categories in order.
    vcov_all : ndarray
        Covariance of (α, β, θ), the inverse Hessian of −log L.

    Examples
    --------
    >>> import hierlm as hl, pandas as pd
    >>> va = hl.load_dataset("VerbAgg")
    >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
    >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
    >>> m.kind, m.family.link.name, m.levels
    (FitKind(engine='frequentist', model='ordinal'), 'logit', ['no', 'perhaps', 'yes'])
    >>> m.thresholds().round(3)
                 Estimate  Std. Error  z value
    no|perhaps     -0.719       0.078   -9.192
    perhaps|yes     0.969       0.079   12.335
    >>> round(m.loglik(), 2), m.varcorr().round(3)["sdcor"].tolist()
    (-6733.32, [1.167])
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

    kind: ClassVar[FitKind] = FitKind("frequentist", "ordinal")

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

    def coefficients(self) -> pd.Series:
        """α then β, as ordinal's ``coef(clmm)``.

        Returns
        -------
        Series

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> m.coefficients().round(3).tolist()
        [-0.719, 0.969, -0.848, -1.728]
        """
        return pd.Series(np.concatenate([self.alpha, self.beta]), index=self.threshold_names + self.xnames)

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

    def covariances(self) -> list[np.ndarray]:
        """Σ of every random-effects block (no residual scale: Σ = λλᵀ).

        Returns
        -------
        list of ndarray
            One (q, q) matrix per block.
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
            One (levels, q, q) array per block.
        """
        return self.cond_var_

    def ngrps(self) -> dict[str, int]:
        """Number of levels of every grouping factor.

        Returns
        -------
        dict
        """
        return extract.ngrps(self.design)

    def sigma(self) -> float:
        """1: the latent scale of a cumulative link model is fixed by the link.

        Returns
        -------
        float
        """
        return 1.0

    def npar(self) -> int:
        """Number of parameters: thresholds, coefficients and θ.

        Returns
        -------
        int
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
        """Akaike information criterion, −2 logLik + 2 npar (see :meth:`loglik` for an example).

        Returns
        -------
        float
        """
        return -2 * self.loglik() + 2 * self.npar()

    def bic(self) -> float:
        """Bayesian information criterion, −2 logLik + log(n) npar.

        Returns
        -------
        float
        """
        return -2 * self.loglik() + np.log(self.nobs()) * self.npar()

    def deviance(self) -> float:
        """−2 logLik (the Laplace / AGQ deviance).

        Returns
        -------
        float
        """
        return float(self.objective)

    def is_singular(self, tol: float = 1e-4) -> bool:
        """Whether a diagonal element of a Cholesky factor of Σ is below ``tol`` (lme4's rule): a variance
        at (nearly) zero or a correlation of ±1.

        Parameters
        ----------
        tol : float, default 1e-4

        Returns
        -------
        bool
        """
        lams = lambdas_of_theta(self.theta, [t.ncols for t in self.design.reterms])
        return bool(np.any(np.concatenate([np.diag(lam) for lam in lams]) < tol))

    # -- predictions ----------------------------------------------------------------------------
    def _beta_full(self) -> np.ndarray:
        full = np.zeros(len(self.design.xnames))
        pos = [i for i, x in enumerate(self.design.xnames) if x != "(Intercept)"]
        full[pos] = self.beta
        return full

    def predict(self, newdata: pd.DataFrame | None = None, type: str = "prob", re_form: str | None = None,
                allow_new_levels: bool = False):
        """Predictions: category probabilities, cumulative probabilities, the most likely class or η.

        Parameters
        ----------
        newdata : DataFrame, optional
            Defaults to the data used for fitting; factors and ``poly``/``ns``/``bs`` terms are evaluated
            as in the fit.
        type : {"prob", "cum.prob", "class", "linear.predictor"}
            ``"prob"``: P(Y = j) per category (a DataFrame, one column per category);
            ``"cum.prob"``: P(Y ≤ j); ``"class"``: the most probable category; ``"linear.predictor"``:
            η = xᵀβ + zᵀb (P(Y ≤ j) = F(αⱼ − η)).
        re_form : str, optional
            ``None``: conditional on the random effects' modes; ``"~0"``: at b = 0 (population level).
        allow_new_levels : bool, default False
            Predict unseen levels with b = 0.

        Returns
        -------
        DataFrame or ndarray

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> m.predict(va.iloc[:2]).round(3)
              no  perhaps    yes
        0  0.397    0.384  0.219
        1  0.811    0.148  0.041
        >>> m.predict(va.iloc[:2], re_form="~0").round(3).iloc[0].tolist()
        [0.328, 0.397, 0.275]
        >>> list(m.predict(va.iloc[:2], type="class"))
        ['no', 'no']
        """
        if type not in ("prob", "cum.prob", "class", "linear.predictor"):
            raise HierlmError(f"type must be 'prob', 'cum.prob', 'class' or 'linear.predictor', not {type!r}")
        eta = linear_predictor(self.design, self._beta_full(), self.b, newdata, re_form, allow_new_levels)
        if type == "linear.predictor":
            return eta
        P = category_probabilities(self.alpha, eta, self.family.link.name)
        index = self.design.rows if newdata is None else newdata.index
        if type == "class":
            return pd.Categorical(np.asarray(self.levels)[P.argmax(axis=1)], categories=self.levels, ordered=True)
        if type == "cum.prob":
            return pd.DataFrame(np.cumsum(P, axis=1), index=index, columns=self.levels)
        return pd.DataFrame(P, index=index, columns=self.levels)

    def fitted(self) -> np.ndarray:
        """Probability of the observed category of every row, at the random effects' modes (``fitted(clmm)``).

        Returns
        -------
        ndarray

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> m.fitted()[:3].round(3)
        array([0.397, 0.811, 0.376])
        """
        P = category_probabilities(self.alpha, self.eta, self.family.link.name)
        return P[np.arange(len(P)), self.design.response_value.data]

    def residuals(self):
        """Not defined for cumulative link models (ordinal has no ``residuals.clmm`` either).

        Raises
        ------
        HierlmError
        """
        raise HierlmError("a cumulative link model has no residuals; use predict(type='prob') and the observed "
                          "categories (fitted() gives the probability of the observed category)")

    def save(self, path, overwrite: bool = False):
        """Save the fit to the folder ``path`` (JSON + netCDF, never pickle); read it back with :func:`hierlm.load`.

        The link, the ordered categories, thresholds, coefficients, θ and every array the extractors
        use are stored, so nothing is refitted and every extractor and the summary come back identical.

        Parameters
        ----------
        path : str or Path
            Folder to write (``~`` is expanded); atomic, and an existing hierlm save there is replaced.
        overwrite : bool, default False
            Allow a folder that holds other files (hierlm's own files are written beside them).

        Returns
        -------
        Path

        Examples
        --------
        >>> import hierlm as hl, pandas as pd, tempfile
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family=hl.family("cumulative", link="probit"))
        >>> back = hl.load(m.save(tempfile.mkdtemp() + "/verbagg"))
        >>> back.family.link.name, back.thresholds().equals(m.thresholds())
        ('probit', True)
        """
        return save_fit(self, path, overwrite=overwrite)

    def update(self, formula: str | None = None, data=None, **settings) -> ClmmFit:
        """Refit with a changed formula, data or settings, as R's ``update`` (``". ~ . - contact"``).

        Parameters
        ----------
        formula : str, optional
            A change (R's ``update.formula``: ``". ~ . + mode"``, ``". ~ . - (1 | id)"``) or a new formula.
        data : DataFrame, optional
            Default: the data frame the fit was made from.
        **settings
            ``family=`` (``"cumulative"`` or ``hl.family("cumulative", link=...)``), ``nAGQ=``, ``weights=``.

        Returns
        -------
        ClmmFit

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> m1 = m.update(". ~ . + mode")
        >>> m1.formula, m1.xnames
        ('resp ~ btype + mode + (1 | id)', ['btypescold', 'btypeshout', 'modewant'])
        """
        formula, data, weights = updated_call(self, formula, data, settings, clmm)
        fam = get_family(settings.pop("family", self.family))
        if not fam.is_ordinal:
            raise HierlmError(f"update() of a cumulative link mixed model keeps family 'cumulative' (another link: "
                              f"family=hl.family('cumulative', link='probit')); for family {fam.name!r} call hl.glmer")
        return clmm(formula, data, fam, **{"nAGQ": self.nAGQ, "weights": weights, **settings})


def ordinal_response(design: Design) -> tuple[np.ndarray, list[str]]:
    """Category codes and levels of an ordered categorical response; HierlmError otherwise.

    Parameters
    ----------
    design : Design

    Returns
    -------
    (ndarray, list of str)
    """
    v = design.response_value
    name = deparse(design.formula.response)
    how = (f"make it one with data['{name}'] = pd.Categorical(data['{name}'], categories=[lowest, ..., highest], "
           "ordered=True)")
    if v.kind != "cat":
        raise DataError(f"family 'cumulative' needs an ordered categorical response, but '{name}' is "
                        f"{'numeric' if v.kind == 'num' else 'not a factor'}; {how}")
    if not v.ordered:
        raise DataError(f"family 'cumulative' needs an ordered categorical response, but '{name}' is an unordered "
                        f"factor (levels {v.levels[:6]}); the order of the categories matters: {how}")
    counts = np.bincount(v.data[v.data >= 0], minlength=len(v.levels))
    empty = [lv for lv, c in zip(v.levels, counts) if c == 0]
    if empty:
        raise DataError(f"the response '{name}' has categories without observations: {empty}; their thresholds "
                        f"cannot be estimated. Drop them with data['{name}'] = data['{name}'].cat."
                        "remove_unused_categories()")
    if len(v.levels) < 2:
        raise DataError(f"the response '{name}' has a single category; an ordinal model needs two or more")
    alike = sorted({lv for lv in v.levels if list(v.levels).count(lv) > 1})
    if alike:
        raise DataError(f"the response '{name}' has different categories that are written alike ({alike}, such as 1 "
                        "and '1'); thresholds are named by their categories, so give the categories distinct names")
    return np.asarray(v.data, dtype=np.int64), list(v.levels)


def fit_clmm(design: Design, family: Family, nAGQ: int = 1) -> ClmmFit:
    """Fit a prepared design with an ordered response by Laplace / AGQ maximum likelihood."""
    y, levels = ordinal_response(design)
    check_model(design, family)
    if "(Intercept)" not in design.xnames:
        raise HierlmError(f"'{design.formula.text}': a cumulative model has thresholds in place of an intercept, "
                          "so the formula needs one (remove '0 +' or '- 1')")
    if not design.reterms:
        raise HierlmError(f"the formula '{design.formula.text}' has no random-effect term such as (1 | g); "
                          "glmer(family='cumulative') fits cumulative link mixed models")
    if isinstance(nAGQ, bool) or not isinstance(nAGQ, (int, np.integer)) or not 1 <= nAGQ <= 25:
        raise HierlmError(f"nAGQ must be a whole number from 1 to 25 for a cumulative model (1: Laplace), got {nAGQ!r}")
    if nAGQ > 1 and (len(design.reterms) != 1 or design.reterms[0].ncols != 1):
        raise HierlmError(f"nAGQ = {nAGQ} (adaptive Gauss-Hermite quadrature) needs a single scalar random effect "
                          f"such as (1 | g); the model has {[t.bar.source for t in design.reterms]}. Use nAGQ=1")
    keep = [i for i, x in enumerate(design.xnames) if x != "(Intercept)"]
    prob = ClmmProblem(design.X[:, keep], y, len(levels), design.reterms, family.link.name,
                       weights=design.weights, offset=design.offset)
    sol = prob.solve(nAGQ=int(nAGQ))
    fit = ClmmFit(design=design, family=family, alpha=sol.alpha, beta=sol.beta, theta=sol.theta, b=sol.b,
                  levels=levels, vcov_all=sol.vcov, objective=sol.objective, eta=sol.eta, cond_var_=sol.cond_var,
                  nAGQ=int(nAGQ), gradient=sol.gradient, hessian=sol.hessian,
                  optinfo=dict(sol.optinfo, param_names=param_names([t.ncols for t in design.reterms])))
    if np.any(~np.isfinite(sol.vcov)):
        warnings.warn("the Hessian of the log-likelihood is not positive definite: standard errors are not "
                      "available (a variance at zero, or thresholds that cannot be told apart?)", HierlmWarning,
                      stacklevel=3)
    if fit.is_singular():
        warnings.warn(SINGULAR_MESSAGE, HierlmWarning, stacklevel=3)
    return fit


def clmm(formula: str, data: pd.DataFrame, family: Family, weights=None, nAGQ: int = 1) -> ClmmFit:
    """``glmer(formula, data, family="cumulative")``: a cumulative link mixed model (``ordinal::clmm``).

    Parameters
    ----------
    formula : str
        lme4 formula with an ordered categorical response (pandas ``Categorical(..., ordered=True)``).
    data : DataFrame
    family : Family
        ``cumulative`` with link ``logit``, ``probit`` or ``cloglog``.
    weights : str or array-like, optional
        Case weights.
    nAGQ : int, default 1

    Returns
    -------
    ClmmFit
    """
    design = make_design(formula, data, weights=weights)
    return fit_clmm(design, family, nAGQ)
