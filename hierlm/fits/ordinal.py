"""Ordinal mixed models: ``hl.glmer(..., family="cumulative")`` fits ``ordinal::clmm`` → :class:`ClmmFit`.

The model (ordinal's sign convention)::

    P(Yᵢ ≤ j) = F(αⱼ − xᵢᵀβ − zᵢᵀb),   b ~ N(0, Σ)

with thresholds α₁ < … < α_{J−1} in place of an intercept and F the latent distribution of the link
(``logit``, ``probit``, ``cloglog``).  The numbers come from
:class:`hierlm.engines.frequentist.ordinal.ClmmProblem` (Laplace approximation, or adaptive
Gauss–Hermite quadrature with ``nAGQ > 1`` for one scalar random effect).

:class:`ClmmFit` holds them on :class:`~hierlm.fits.ordinal_base.ClmmBase` (the estimates, variance
components and likelihood); this module adds the predictions, saving and ``update``, the response
preparation and the entry point :func:`clmm`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from ..design import Design, Family, check_model, get_family, make_design
from ..design.covariance import param_names
from ..design.predictor import linear_predictor
from ..engines.frequentist.ordinal import ClmmProblem, category_probabilities
from ..errors import DataError, HierlmError, HierlmWarning
from ..formula import deparse
from .frequentist import SINGULAR_MESSAGE
from .ordinal_base import ClmmBase
from .protocol import FitKind
from .storage import save_fit
from .update import updated_call

__all__ = ["ClmmFit", "clmm", "ordinal_response"]


@dataclass(repr=False, eq=False)
class ClmmFit(ClmmBase):
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

    kind: ClassVar[FitKind] = FitKind("frequentist", "ordinal")

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
        """Not defined for cumulative link models (ordinal has no ``residuals.clmm`` either): always raises.

        Returns
        -------
        None
            Never returns: the error says what to use instead (:meth:`predict` with ``type="prob"``
            and the observed categories, or :meth:`fitted`).

        Raises
        ------
        HierlmError

        Examples
        --------
        >>> import hierlm as hl, pandas as pd
        >>> va = hl.load_dataset("VerbAgg")
        >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
        >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
        >>> m.residuals()
        Traceback (most recent call last):
        ...
        hierlm.errors.HierlmError: a cumulative link model has no residuals; use predict(type='prob') ...
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
