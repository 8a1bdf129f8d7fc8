"""Generalized linear mixed-model fits (``hl.glmer``): Laplace log-likelihood, links, residual types."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import FrequentistFit

__all__ = ["GlmerFit"]


@dataclass
class GlmerFit(FrequentistFit):
    """A generalised linear mixed model fitted by maximum likelihood (:func:`hierlm.glmer`).

    Besides the extractors shared with :class:`LmerFit` (see :class:`FrequentistFit`),
    ``predict(type="link")`` gives η and ``residuals(type=...)`` the residual types of lme4
    (deviance residuals by default).

    Attributes
    ----------
    family_spec : hierlm.families.Family
        The family and its link (with the estimated θ for the negative binomial).
    nb_theta : float or None
        Negative-binomial θ (``family="negbinomial"``, as lme4's ``glmer.nb``), else None.
    nAGQ : int
        0, 1 (Laplace) or the number of adaptive Gauss-Hermite quadrature points.
    eta, mu : ndarray
        Linear predictor and fitted mean per observation.
    design, theta, beta, b, vcov_beta, objective, family, optinfo
        As in :class:`FrequentistFit`.

    Examples
    --------
    >>> import hierlm as hl
    >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
    ...              family="binomial")
    >>> g.family, g.nAGQ, g.nobs()
    ('binomial', 1, 56)
    >>> g.fixef().round(3)
                 Estimate  Std. Error  z value  Pr(>|z|)
    (Intercept)    -1.399       0.232   -6.016     0.000
    period2        -0.992       0.307   -3.236     0.001
    period3        -1.129       0.327   -3.455     0.001
    period4        -1.580       0.427   -3.697     0.000
    """

    family_spec: object = None  # hierlm.families.Family
    response: object = None  # hierlm.families.GlmResponse
    nAGQ: int = 1
    nb_theta: float | None = None
    eta: np.ndarray | None = None
    mu: np.ndarray | None = None
    cond_var_: list | None = None

    def npar(self) -> int:
        """Number of parameters: fixed effects and θ (plus the negative-binomial θ, as ``glmer.nb`` counts it).

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
        return self.design.p + len(self.theta) + (1 if self.nb_theta is not None else 0)

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
        """Residual scale: 1, since binomial, Poisson and negative-binomial GLMMs have none (as lme4).

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
        return 1.0

    def inverse_link(self, eta: np.ndarray) -> np.ndarray:
        """Map the linear predictor η to the mean μ with the family's inverse link.

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
        >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
        ...              family="binomial")
        >>> g.inverse_link(np.array([0.0, -1.4])).round(4)  # inverse logit
        array([0.5   , 0.1978])
        """
        return self.family_spec.link.linkinv(eta)

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

    def summary(self):
        """lme4-style summary: ``print()`` gives lme4's text layout, notebooks show it as HTML.

        Returns
        -------
        Summary
            Its ``str()`` is laid out like lme4's ``summary(glmer(...))``.

        Examples
        --------
        >>> import hierlm as hl
        >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
        ...              family="binomial")
        >>> print(g.summary())
        Generalized linear mixed model fit by maximum likelihood (Laplace Approximation) ['GlmerFit']
         Family: binomial  ( logit )
        Formula: cbind(incidence, size - incidence) ~ period + (1 | herd)
            AIC    BIC  logLik  deviance  df.resid
          194.1  204.2   -92.0     184.1        51
        ...
        Random effects:
         Groups Name        Variance Std.Dev.
         herd   (Intercept) 0.4126   0.64234
        Number of obs: 56, groups:  herd, 15
        ...
        """
        from ..summary import glmer_summary

        return glmer_summary(self)

    def __repr__(self) -> str:
        return str(self.summary())
