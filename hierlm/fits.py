"""Plain result objects of the frequentist engine: :class:`LmerFit`, :class:`GlmerFit` and their base.

A fit holds numbers (θ, β, b, σ, the objective) and its :class:`~hierlm.design.Design`; the
extractors are thin methods over :mod:`hierlm.extract`, named as in lme4 and ``API.md``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtr

from . import extract
from .design import Design
from .errors import HierlmWarning

__all__ = ["FrequentistFit", "LmerFit", "GlmerFit"]


@dataclass
class FrequentistFit:
    """Shared part of :class:`LmerFit` and ``GlmerFit``.

    Attributes
    ----------
    design : Design
    theta : ndarray
        lme4's θ (relative Cholesky factors, column-major lower triangles per block).
    beta : ndarray
    b : list of ndarray
        Conditional modes per block, (levels, terms).
    sigma_ : float
        Residual standard deviation (1 for families without one).
    vcov_beta : ndarray
    objective : float
        The optimised criterion (REML criterion, ML deviance or Laplace deviance).
    """

    design: Design
    theta: np.ndarray
    beta: np.ndarray
    b: list[np.ndarray]
    sigma_: float
    vcov_beta: np.ndarray
    objective: float
    family: str = "gaussian"
    optinfo: dict = field(default_factory=dict)

    # -- structure --------------------------------------------------------------------------
    @property
    def formula(self) -> str:
        return self.design.formula.text

    def nobs(self) -> int:
        """Number of observations used (after dropping rows with missing values)."""
        return self.design.n

    def ngrps(self) -> dict[str, int]:
        """Number of levels per grouping factor."""
        return extract.ngrps(self.design)

    def npar(self) -> int:
        """Number of parameters: fixed effects, θ and (for the Gaussian family) σ."""
        return self.design.p + len(self.theta) + (1 if self.family == "gaussian" else 0)

    def lambdas(self) -> list[np.ndarray]:
        """Relative covariance factors λᵢ (Σᵢ = σ² λᵢλᵢᵀ)."""
        out, start = [], 0
        for t in self.design.reterms:
            p = t.ncols
            k = p * (p + 1) // 2
            lam = np.zeros((p, p))
            rows, cols = np.tril_indices(p)
            order = np.lexsort((rows, cols))
            lam[rows[order], cols[order]] = self.theta[start : start + k]
            out.append(lam)
            start += k
        return out

    def covariances(self) -> list[np.ndarray]:
        """Σᵢ of every random-effects block."""
        return [self.sigma_**2 * lam @ lam.T for lam in self.lambdas()]

    # -- extractors -------------------------------------------------------------------------
    def fixef(self) -> pd.DataFrame:
        """Fixed effects: ``Estimate``, ``Std. Error``, ``t value`` (``z value`` for GLMMs)."""
        se = np.sqrt(np.diag(self.vcov_beta))
        stat = "t value" if self.family == "gaussian" else "z value"
        frame = pd.DataFrame({"Estimate": self.beta, "Std. Error": se, stat: self.beta / se}, index=self.design.xnames)
        if self.family != "gaussian":
            frame["Pr(>|z|)"] = 2 * ndtr(-np.abs(frame[stat]))
        return frame

    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the fixed-effect estimates."""
        names = self.design.xnames
        return pd.DataFrame(self.vcov_beta, index=names, columns=names)

    def ranef(self, intervals: bool = False):
        """Conditional modes per grouping factor; with ``intervals=True`` a long table with
        conditional SDs (lme4's ``condVar``) and 95% normal intervals."""
        frames = extract.ranef_frames(self.design, self.b)
        if not intervals:
            return frames
        rows = []
        for t, bi, V in zip(self.design.reterms, self.b, self.cond_var()):
            for j, term in enumerate(t.columns):
                sd = np.sqrt(np.maximum(V[:, j, j], 0))
                rows.append(pd.DataFrame({
                    "grpvar": t.group, "term": term, "grp": t.levels, "condval": bi[:, j], "condsd": sd,
                    "Q2.5": bi[:, j] - 1.959964 * sd, "Q97.5": bi[:, j] + 1.959964 * sd,
                }))
        return pd.concat(rows, ignore_index=True)

    def cond_var(self) -> list[np.ndarray]:  # pragma: no cover - overridden
        raise NotImplementedError

    def coef(self) -> dict[str, pd.DataFrame]:
        """Fixed plus random effects per level (lme4's ``coef``)."""
        return extract.coef_frames(pd.Series(self.beta, index=self.design.xnames), self.ranef())

    def varcorr(self) -> pd.DataFrame:
        """lme4's ``as.data.frame(VarCorr(m))``: grp, var1, var2, vcov, sdcor."""
        sigma = self.sigma_ if self.family == "gaussian" else None
        return extract.varcorr_frame(self.design, self.covariances(), sigma)

    def sigma(self) -> float:
        """Residual standard deviation."""
        return float(self.sigma_)

    def predict(self, newdata: pd.DataFrame | None = None, re_form: str | None = None,
                allow_new_levels: bool = False, type: str = "response") -> np.ndarray:
        """Predictions (lme4's ``predict.merMod``).

        Parameters
        ----------
        newdata : DataFrame, optional
            Defaults to the data used for fitting.
        re_form : str, optional
            ``None``: all random effects; ``"~0"``: none; or a formula naming the bars to keep.
        allow_new_levels : bool
            Predict unseen levels at the population level (their random effects are 0).
        type : {"response", "link"}
        """
        eta = extract.linear_predictor(self.design, self.beta, self.b, newdata, re_form, allow_new_levels)
        return self.inverse_link(eta) if type == "response" else eta

    def inverse_link(self, eta: np.ndarray) -> np.ndarray:
        return eta

    def fitted(self) -> np.ndarray:
        """Fitted values on the response scale."""
        return self.predict()

    def residuals(self) -> np.ndarray:
        """Response residuals y − fitted."""
        y = self.design.y if self.design.y.ndim == 1 else self.design.y[:, 0] / self.design.y.sum(axis=1)
        return y - self.fitted()

    def is_singular(self, tol: float = 1e-4) -> bool:
        """lme4's rule: a diagonal element of some λᵢ below ``tol``."""
        diag = np.concatenate([np.diag(lam) for lam in self.lambdas()]) if self.design.reterms else np.zeros(0)
        return bool(np.any(diag < tol))

    def save(self, path):
        """Save the fit to the folder ``path`` (JSON + netCDF, never pickle); read it back with ``hl.load``."""
        from .io import save

        return save(self, path)

    def aic(self) -> float:
        """Akaike information criterion, −2 logLik + 2 npar."""
        return -2 * self.loglik() + 2 * self.npar()

    def bic(self) -> float:
        """Bayesian information criterion, −2 logLik + log(n) npar."""
        return -2 * self.loglik() + np.log(self.nobs()) * self.npar()

    def loglik(self) -> float:  # pragma: no cover - overridden
        raise NotImplementedError


@dataclass
class LmerFit(FrequentistFit):
    """A linear mixed model fitted by REML or maximum likelihood (:func:`hierlm.lmer`)."""

    reml: bool = True
    problem: object = None  # LmmProblem, rebuilt on demand

    def _problem(self):
        if self.problem is None:
            from .reml.lmm import LmmProblem

            self.problem = LmmProblem(self.design, reml=self.reml)
        return self.problem

    def loglik(self) -> float:
        """Log-likelihood (the REML log-likelihood for REML fits, as lme4's ``logLik``)."""
        return -0.5 * self.objective

    def deviance(self) -> float:
        """ML deviance; for a REML fit lme4 returns the REML criterion with a warning, and so do we."""
        if self.reml:
            warnings.warn(
                "deviance() of a REML fit is the REML criterion; use reml_criterion(), or refit with "
                "reml=False for the deviance",
                HierlmWarning,
                stacklevel=2,
            )
        return float(self.objective)

    def reml_criterion(self) -> float:
        """REML criterion (−2 × REML log-likelihood), at the ML estimates for an ML fit."""
        if self.reml:
            return float(self.objective)
        prob = self._problem()
        f = prob.cp.factor(prob.tmap.lambdas(self.optinfo["theta_internal"]))
        return float(prob.deviance_of(f, reml=True) - 2.0 * prob.log_det_TX)

    def cond_var(self) -> list[np.ndarray]:
        """Conditional covariances of the random effects per block, (levels, p, p)."""
        from .reml.lmm import LmmSolution

        prob = self._problem()
        sol = LmmSolution(self.theta, self.beta, self.b, self.sigma_, self.objective, 0.0, 0.0,
                          self.vcov_beta, self.reml, theta_internal=self.optinfo["theta_internal"])
        return prob.cond_var(sol)

    def refit_ml(self) -> "LmerFit":
        """The same model fitted by maximum likelihood (what ``anova`` compares)."""
        if not self.reml:
            return self
        from .reml.lmer import fit_lmm

        return fit_lmm(self.design, reml=False, start=self.optinfo.get("theta_internal"))

    def simulate(self, nsim: int = 1, seed=None, use_re: bool = True) -> np.ndarray:
        """Responses simulated from the fit, (n, nsim); see :func:`hierlm.inference.simulate`."""
        from .inference import simulate

        return simulate(self, nsim=nsim, seed=seed, use_re=use_re)

    def confint(self, parm=None, level: float = 0.95, method: str = "profile", nsim: int = 500, seed=None,
                n_jobs=None) -> pd.DataFrame:
        """lme4's ``confint``: rows ``.sig01 …, .sigma``, fixed effects; see :func:`hierlm.inference.confint`."""
        from .inference import confint

        return confint(self, parm=parm, level=level, method=method, nsim=nsim, seed=seed, n_jobs=n_jobs)

    def summary(self):
        """lme4-style summary; ``str()`` gives the text, notebooks show HTML."""
        from .summary import lmer_summary

        return lmer_summary(self)

    def __repr__(self) -> str:
        return str(self.summary())


@dataclass
class GlmerFit(FrequentistFit):
    """A generalised linear mixed model fitted by maximum likelihood (:func:`hierlm.glmer`).

    Besides the shared extractors: ``fit.nb_theta`` (negative binomial θ), ``fit.family_spec``
    (the :class:`~hierlm.families.Family`), ``fit.nAGQ``; ``predict(type="link")`` for η,
    ``residuals(type=...)`` as lme4 (deviance residuals by default).
    """

    family_spec: object = None  # hierlm.families.Family
    response: object = None  # hierlm.families.GlmResponse
    nAGQ: int = 1
    nb_theta: float | None = None
    eta: np.ndarray | None = None
    mu: np.ndarray | None = None
    cond_var_: list | None = None

    def npar(self) -> int:
        """Fixed effects and θ (plus the negative-binomial θ, as lme4's ``glmer.nb`` counts it)."""
        return self.design.p + len(self.theta) + (1 if self.nb_theta is not None else 0)

    def loglik(self) -> float:
        """Log-likelihood at the optimum (Laplace, or AGQ for ``nAGQ > 1``), constants included."""
        return -0.5 * self.objective

    def deviance(self) -> float:
        """lme4's ``deviance()`` of a GLMM: the sum of squared deviance residuals at the
        conditional modes (the summary's ``deviance`` column is −2 logLik)."""
        return float(np.sum(self.residuals("deviance") ** 2))

    def sigma(self) -> float:
        """1: binomial, Poisson and negative-binomial GLMMs have no residual scale."""
        return 1.0

    def inverse_link(self, eta: np.ndarray) -> np.ndarray:
        return self.family_spec.link.linkinv(eta)

    def fitted(self) -> np.ndarray:
        """Fitted means μ (proportions for binomial models), conditional on the random effects."""
        return np.asarray(self.mu)

    def residuals(self, type: str = "deviance") -> np.ndarray:
        """Residuals as lme4's ``residuals.merMod``: ``"deviance"`` (default), ``"pearson"``,
        ``"response"`` (y − μ) or ``"working"``."""
        y, mu, wt = self.response.y, self.mu, self.response.weights
        fam = self.family_spec
        if type == "deviance":
            return fam.deviance_residuals(y, mu, wt)
        if type == "pearson":
            return fam.pearson_residuals(y, mu, wt)
        if type == "response":
            return y - mu
        if type == "working":
            return (y - mu) / fam.link.mu_eta(self.eta)
        raise ValueError(f"type must be 'deviance', 'pearson', 'response' or 'working', not {type!r}")

    def cond_var(self) -> list[np.ndarray]:
        """Conditional covariances of the random effects per block, (levels, p, p)."""
        return self.cond_var_

    def refit_ml(self) -> "GlmerFit":
        """Already a maximum-likelihood fit."""
        return self

    def summary(self):
        """lme4-style summary; ``str()`` gives the text, notebooks show HTML."""
        from .summary import glmer_summary

        return glmer_summary(self)

    def __repr__(self) -> str:
        return str(self.summary())
