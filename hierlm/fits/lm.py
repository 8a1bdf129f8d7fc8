"""``lm`` and ``glm``: the same formulas and data as ``lmer`` / ``glmer``, without random effects.

:func:`lm` fits by weighted least squares (R's ``lm``), :func:`glm` by IRLS (R's ``glm``); both
use the design layer of the mixed models (formula language, contrasts, ``poly()``, offsets,
rows with missing values dropped, aliased columns dropped with a warning) and give
:class:`LmFit` / :class:`GlmFit`, whose extractors carry the mixed fits' names (see
:class:`~hierlm.fits.regression.RegressionFit`).  Every number of R's ``summary.lm`` and
``summary.glm`` is a method: ``sigma()`` and ``df_residual`` (residual standard error),
``r2()``, ``fstatistic()``, ``deviance()`` / ``null_deviance`` with ``df_residual`` / ``df_null``,
``dispersion()``, ``aic()`` and ``iter`` (Fisher scoring iterations).

Examples
--------
>>> import hierlm as hl
>>> m = lm("mpg ~ wt + hp", hl.load_dataset("mtcars"))
>>> m.r2().round(4).to_dict()
{'r2': 0.8268, 'adj_r2': 0.8148}
"""

from __future__ import annotations

import warnings
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.special import fdtrc, ndtri

from ..design import (
    check_gaussian_response,
    check_rank,
    check_response,
    get_family,
    make_design,
    prepare_response,
    response_of,
)
from ..design.build import Design
from ..engines.frequentist.glm import irls, least_squares
from ..errors import FormulaError, HierlmError, HierlmWarning
from ..formula import ModelFormula, parse_formula
from .intervals import check_level, quantile_of
from .protocol import FitKind
from .regression import RegressionFit
from .update import updated_call

__all__ = ["GlmFit", "LmFit", "fit_glm", "fit_lm", "glm", "lm"]


class LmFit(RegressionFit):
    """A linear model fitted by least squares (:func:`hierlm.fits.lm.lm`, R's ``lm``).

    Attributes
    ----------
    design, family, response, solution
        As in :class:`~hierlm.fits.regression.RegressionFit` (``family`` is ``gaussian``).

    Examples
    --------
    >>> import hierlm as hl
    >>> m = lm("mpg ~ wt + hp", hl.load_dataset("mtcars"))
    >>> m.kind, round(m.sigma(), 4), m.df_residual
    (FitKind(engine='frequentist', model='lm'), 2.5934, 29)
    """

    kind: ClassVar[FitKind] = FitKind("frequentist", "lm")

    def sigma(self) -> float:
        """Residual standard error, √(RSS / df) (R's ``sigma``).

        Returns
        -------
        float

        Examples
        --------
        >>> import hierlm as hl
        >>> round(lm("mpg ~ wt + hp", hl.load_dataset("mtcars")).sigma(), 5)
        2.59341
        """
        return float(np.sqrt(self.solution.dispersion))

    def loglik(self, reml: bool = False) -> float:
        """Log-likelihood (R's ``logLik.lm``): maximum likelihood, or REML with ``reml=True``.

        Parameters
        ----------
        reml : bool, default False

        Returns
        -------
        float

        Examples
        --------
        >>> import hierlm as hl
        >>> m = lm("mpg ~ wt + hp", hl.load_dataset("mtcars"))
        >>> round(m.loglik(), 4), round(m.loglik(reml=True), 4)
        (-74.3262, -77.8738)
        """
        ll = super().loglik()
        if not reml:
            return ll
        s = self.solution
        w = s.prior_weights[s.prior_weights > 0]
        n, p = len(w), s.rank
        N = n - p
        val = 0.5 * (np.log(w).sum() - N * (np.log(2 * np.pi) + 1 - np.log(N) + np.log(s.deviance)))
        return float(val - np.log(np.abs(np.diag(s.R))).sum())

    def r2(self) -> pd.Series:
        """Multiple and adjusted R² (R's ``summary.lm``; weighted).

        With an ``offset()`` the fitted values less the offset are explained, as R ≥ 4.3 computes
        it (R 4.2 left the offset in, R bug PR#18008).

        Returns
        -------
        Series
            ``r2`` and ``adj_r2``.

        Examples
        --------
        >>> import hierlm as hl
        >>> lm("mpg ~ wt + hp", hl.load_dataset("mtcars")).r2().round(4).to_dict()
        {'r2': 0.8268, 'adj_r2': 0.8148}
        """
        mss, rss, n, p, icpt = self._ss()
        r2 = mss / (mss + rss) if mss + rss > 0 else np.nan
        rdf = n - p
        adj = 1 - (1 - r2) * ((n - icpt) / rdf) if rdf > 0 else np.nan
        return pd.Series({"r2": r2, "adj_r2": adj})

    def _ss(self):
        s = self.solution
        ok = s.prior_weights > 0
        w = s.prior_weights[ok]
        f = (s.mu - self.design.offset)[ok]
        icpt = int(s.intercept)
        mss = float(np.sum(w * (f - np.sum(w * f) / np.sum(w)) ** 2)) if icpt else float(np.sum(w * f**2))
        return mss, float(s.deviance), int(ok.sum()), s.rank, icpt

    def fstatistic(self) -> pd.Series | None:
        """The overall F test of ``summary.lm``: all terms but the intercept against none.

        With an ``offset()``, R ≥ 4.3's corrected statistic (see :meth:`r2`).

        Returns
        -------
        Series or None
            ``value``, ``numdf``, ``dendf`` and ``p`` (``Pr(>F)``); None for an intercept-only model.

        Examples
        --------
        >>> import hierlm as hl
        >>> lm("mpg ~ wt + hp", hl.load_dataset("mtcars")).fstatistic().round(4).to_dict()
        {'value': 69.2112, 'numdf': 2.0, 'dendf': 29.0, 'p': 0.0}
        """
        mss, rss, n, p, icpt = self._ss()
        numdf, dendf = p - icpt, n - p
        if numdf <= 0 or dendf <= 0:
            return None
        value = (mss / numdf) / (rss / dendf)
        return pd.Series({"value": value, "numdf": float(numdf), "dendf": float(dendf),
                          "p": float(fdtrc(numdf, dendf, value))})

    def update(self, formula: str | None = None, data=None, **settings) -> LmFit:
        """Refit with a changed formula, data or settings, as R's ``update`` (``". ~ . - x"``).

        Parameters
        ----------
        formula : str, optional
            A change such as ``". ~ . - Days"`` or ``"log(.) ~ ."`` (R's ``update.formula``), or a new formula.
        data : DataFrame, optional
            Default: the data frame the fit was made from.
        **settings
            Arguments of the fitting function to change (``weights=``).

        Returns
        -------
        LmFit

        Examples
        --------
        >>> import hierlm as hl
        >>> hl.lm("Reaction ~ Days", hl.load_dataset("sleepstudy")).update(". ~ . + Subject").nobs()
        180
        """
        formula, data, weights = updated_call(self, formula, data, settings, lm)
        return lm(formula, data, **{"weights": weights, **settings})

    def confint(self, level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals of the coefficients, estimate ± t quantile × SE (R's ``confint.lm``).

        Parameters
        ----------
        level : float, default 0.95

        Returns
        -------
        DataFrame
            Columns ``2.5 %`` and ``97.5 %`` (for ``level=0.95``).

        Examples
        --------
        >>> import hierlm as hl
        >>> lm("mpg ~ wt", hl.load_dataset("mtcars")).confint().round(3)
                      2.5 %  97.5 %
        (Intercept)  33.450  41.120
        wt           -6.486  -4.203
        """
        level = check_level(level)
        return _wald(self, quantile_of(self, level), level)


class GlmFit(RegressionFit):
    """A generalised linear model fitted by IRLS (:func:`hierlm.fits.lm.glm`, R's ``glm``).

    Attributes
    ----------
    design, family, response, solution
        As in :class:`~hierlm.fits.regression.RegressionFit`.
    null_deviance, df_null : float, int
        Deviance and residual df of the intercept-only model (with the offset).
    iter : int
        Number of Fisher scoring (IRLS) iterations.
    converged : bool

    Examples
    --------
    >>> import hierlm as hl
    >>> g = glm("cbind(incidence, size - incidence) ~ period", hl.load_dataset("cbpp"), family="binomial")
    >>> g.kind.model, g.iter, round(g.deviance(), 3), round(g.null_deviance, 3)
    ('glm', 5, 114.102, 154.817)
    """

    kind: ClassVar[FitKind] = FitKind("frequentist", "glm")
    saved_settings: ClassVar[tuple[str, ...]] = ("nb_theta",)

    @property
    def nb_theta(self) -> float | None:
        """θ of a negative-binomial family (fixed, as MASS's ``negative.binomial(θ)``), else None."""
        return self.family.theta if self.family.name == "negbinomial" else None

    @property
    def null_deviance(self) -> float:
        return float(self.solution.null_deviance)

    @property
    def df_null(self) -> int:
        return int(self.solution.df_null)

    @property
    def iter(self) -> int:
        return int(self.solution.iter)

    @property
    def converged(self) -> bool:
        return bool(self.solution.converged)

    def sigma(self) -> float:
        """R's ``sigma`` of a glm: √(deviance / (nobs − rank)) (for a Gaussian glm the residual standard error).

        Returns
        -------
        float

        Examples
        --------
        >>> import hierlm as hl
        >>> round(glm("mpg ~ wt", hl.load_dataset("mtcars"), family="gaussian").sigma(), 4)
        3.0459
        """
        df = self.nobs() - self.solution.rank
        return float(np.sqrt(self.solution.deviance / df)) if df > 0 else np.nan

    def update(self, formula: str | None = None, data=None, **settings) -> GlmFit:
        """Refit with a changed formula, data or settings, as R's ``update`` (``". ~ . - x"``).

        Parameters
        ----------
        formula : str, optional
            A change such as ``". ~ . - Days"`` or ``"log(.) ~ ."`` (R's ``update.formula``), or a new formula.
        data : DataFrame, optional
            Default: the data frame the fit was made from.
        **settings
            Arguments of the fitting function to change (``family=``, ``weights=``).

        Returns
        -------
        GlmFit

        Examples
        --------
        >>> import hierlm as hl
        >>> g = hl.glm("cbind(incidence, size - incidence) ~ period", hl.load_dataset("cbpp"), family="binomial")
        >>> g.update(". ~ . - period").fixef().index.tolist()
        ['(Intercept)']
        """
        formula, data, weights = updated_call(self, formula, data, settings, glm)
        return glm(formula, data, **{"family": self.family.name, "weights": weights, **settings})

    def confint(self, level: float = 0.95) -> pd.DataFrame:
        """Wald intervals of the coefficients (R's ``confint.default``; R's ``confint.glm`` profiles instead).

        Parameters
        ----------
        level : float, default 0.95

        Returns
        -------
        DataFrame

        Examples
        --------
        >>> import hierlm as hl
        >>> g = glm("cbind(incidence, size - incidence) ~ period", hl.load_dataset("cbpp"), family="binomial")
        >>> g.confint().round(3).iloc[0].tolist()
        [-1.553, -0.985]
        """
        level = check_level(level)
        return _wald(self, float(ndtri(0.5 + level / 2)), level)


def _wald(fit: RegressionFit, q: float, level: float) -> pd.DataFrame:
    fe = fit.fixef()
    a = (1 - level) / 2
    lab = [f"{100 * p:.3g} %" for p in (a, 1 - a)]
    return pd.DataFrame({lab[0]: fe["Estimate"] - q * fe["Std. Error"], lab[1]: fe["Estimate"] + q * fe["Std. Error"]},
                        index=fe.index)


# -- entry points -----------------------------------------------------------------------------------
def _no_bars(formula, what: str, mixed: str):
    mf = formula if isinstance(formula, ModelFormula) else parse_formula(formula)
    if mf.bars:
        bars = ", ".join(f"({b.source})" if not b.source.startswith("(") else b.source for b in mf.bars)
        raise FormulaError(f"{what}() fits models without random effects, but the formula '{mf.text}' has the "
                           f"random-effect term(s) {bars}; use hl.{mixed}() for a mixed model, or drop the bars")
    return mf


def _warn_all(notes: list[str]) -> None:
    for msg in notes:
        warnings.warn(msg, HierlmWarning, stacklevel=3)


def fit_lm(design: Design) -> LmFit:
    """Least squares on a prepared design (no random effects): the engine's solution wrapped as :class:`LmFit`.

    Parameters
    ----------
    design : Design

    Returns
    -------
    LmFit

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.design import make_design
    >>> fit_lm(make_design("mpg ~ wt", hl.load_dataset("mtcars"))).beta.round(3).tolist()
    [37.285, -5.344]
    """
    check_gaussian_response(design)
    check_rank(design)
    check_response(design, "gaussian")
    sol = least_squares(design.X, design.y, design.weights, design.offset, design.xnames)
    resp = prepare_response("gaussian", np.asarray(design.y, float), design.weights, rows=design.rows)
    return LmFit(design, get_family("gaussian"), resp, sol)


def fit_glm(design: Design, family) -> GlmFit:
    """IRLS on a prepared design (no random effects): the engine's solution wrapped as :class:`GlmFit`.

    Parameters
    ----------
    design : Design
    family : str or Family

    Returns
    -------
    GlmFit

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.design import make_design
    >>> fit_glm(make_design("am ~ wt", hl.load_dataset("mtcars")), "binomial").beta.round(3).tolist()
    [12.04, -4.024]
    """
    fam, resp = response_of(design, family)
    check_rank(design)
    check_response(design, fam)
    if fam.name == "negbinomial" and fam.theta is None:
        raise HierlmError("glm(family='negbinomial') needs the negative-binomial θ: pass "
                          "hl.design.get_family('negbinomial').with_theta(θ) (MASS's negative.binomial(θ)); "
                          "estimating θ as MASS::glm.nb does is not available, hl.glmer(family='negbinomial') is")
    sol = irls(design.X, resp, fam, design.offset, design.xnames)
    _warn_all(sol.warnings)
    return GlmFit(design, fam, resp, sol)


def lm(formula: str, data: pd.DataFrame, weights=None) -> LmFit:
    """Fit a linear model by least squares, as R's ``lm``.

    Parameters
    ----------
    formula : str
        A formula without random-effect terms, e.g. ``"mpg ~ wt * hp"`` (factors, interactions,
        ``poly()``, ``I()``, ``offset()`` as in :func:`hierlm.lmer`).
    data : DataFrame
    weights : str or array-like, optional
        Prior weights (column name or values); zero weights leave a row out of the fit.

    Returns
    -------
    LmFit

    Examples
    --------
    >>> import hierlm as hl
    >>> m = lm("Reaction ~ Days", hl.load_dataset("sleepstudy"))
    >>> m.fixef()["Estimate"].round(3).tolist(), round(m.loglik(), 3)
    ([251.405, 10.467], -950.147)
    """
    mf = _no_bars(formula, "lm", "lmer")
    return fit_lm(make_design(mf, data, weights=weights))


def glm(formula: str, data: pd.DataFrame, family, weights=None) -> GlmFit:
    """Fit a generalised linear model by iteratively reweighted least squares, as R's ``glm``.

    Parameters
    ----------
    formula : str
        A formula without random-effect terms; responses as in :func:`hierlm.glmer`
        (``cbind(successes, failures)``, 0/1, counts, ``offset(log(exposure))``).
    data : DataFrame
    family : {"binomial", "bernoulli", "poisson", "gaussian"} or Family
        ``"gaussian"`` (identity link) is an lm fitted by IRLS, with t tests and the Pearson
        dispersion; the negative binomial needs a known θ (``get_family("negbinomial").with_theta(θ)``).
    weights : str or array-like, optional
        Number of trials for a binomial proportion; prior weights otherwise.

    Returns
    -------
    GlmFit

    Examples
    --------
    >>> import hierlm as hl
    >>> g = glm("incidence ~ period + offset(log(size))", hl.load_dataset("cbpp"), family="poisson")
    >>> g.fixef()["Estimate"].round(4).tolist()
    [-1.5167, -1.0066, -1.1274, -1.5808]
    """
    fam = get_family(family)
    mf = _no_bars(formula, "glm", "glmer")
    return fit_glm(make_design(mf, data, weights=weights), fam)
