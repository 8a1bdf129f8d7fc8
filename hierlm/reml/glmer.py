"""``hl.glmer``: formula + data + family → :class:`~hierlm.fits.GlmerFit` (lme4's ``glFormula →
mkGlmerDevfun → optimizeGlmer`` pipeline, and ``glmer.nb`` for the negative binomial)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..design import Design, make_design
from ..errors import DataError, HierlmError, HierlmWarning
from ..families import get_family, prepare_response
from ..fits import GlmerFit
from ..formula import deparse
from .glmm import GlmmProblem

__all__ = ["glmer", "fit_glmm"]


def _check_groups(design: Design) -> None:
    for t in design.reterms:
        if t.nlevels < 2:
            raise DataError(
                f"the grouping factor '{t.group}' has {t.nlevels} level(s) in the data used; "
                "a random effect needs at least 2 levels (drop the term or use a fixed effect)"
            )


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
    return int(nAGQ)


def fit_glmm(design: Design, family, nAGQ: int = 1) -> GlmerFit:
    """Fit a prepared design (checked response, groups) by Laplace / AGQ maximum likelihood."""
    fam = get_family(family)
    resp = prepare_response(fam, design.response_value, design.weights, rows=design.rows,
                            name=deparse(design.formula.response))
    prob = GlmmProblem(design, fam, resp)
    sol = prob.solve(nAGQ=nAGQ, nb=fam.name == "negbinomial")
    fam = prob.family  # with the estimated θ for the negative binomial
    for msg in [sol.optinfo.get("vcov_warning")]:
        if msg:
            warnings.warn(msg, HierlmWarning, stacklevel=3)
    return GlmerFit(
        design=design,
        theta=sol.theta,
        beta=sol.beta,
        b=sol.b,
        sigma_=1.0,
        vcov_beta=sol.vcov_beta,
        objective=sol.objective,
        family=fam.name,
        optinfo=dict(sol.optinfo, theta_internal=sol.theta_internal, beta_internal=sol.beta_internal),
        family_spec=fam,
        response=resp,
        nAGQ=nAGQ,
        nb_theta=sol.nb_theta,
        eta=sol.eta,
        mu=sol.mu,
        cond_var_=sol.cond_var,
    )


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
    family : {"binomial", "bernoulli", "poisson", "negbinomial", "gaussian"}
        ``"negbinomial"`` estimates the negative-binomial θ too (lme4's ``glmer.nb``; see
        ``fit.nb_theta``).  ``"gaussian"`` (identity link) is a linear mixed model: the fit is
        :func:`hierlm.lmer`'s (REML), as lme4's ``glmer`` hands it to ``lmer``.
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

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
    ...              family="binomial")
    >>> m.fixef()["Estimate"].round(3).tolist()
    [-1.399, -0.992, -1.129, -1.58]
    >>> round(m.loglik(), 2)
    -92.03
    """
    fam = get_family(family)
    if fam.name == "gaussian":
        from .lmer import lmer

        warnings.warn("family='gaussian' (identity link) is a linear mixed model: fitted with hl.lmer (REML), "
                      "as lme4's glmer does; call hl.lmer directly", HierlmWarning, stacklevel=2)
        return lmer(formula, data, weights=weights)
    design = make_design(formula, data, weights=weights)
    _check_groups(design)
    nAGQ = _check_nagq(nAGQ, design, fam)
    return fit_glmm(design, fam, nAGQ)
