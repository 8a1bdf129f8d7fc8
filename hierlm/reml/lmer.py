"""``hl.lmer``: formula + data → :class:`~hierlm.fits.LmerFit` (lme4's ``lFormula → mkLmerDevfun →
optimizeLmer`` pipeline)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..design import Design, make_design
from ..errors import DataError, HierlmError
from ..fits import LmerFit
from .lmm import LmmProblem

__all__ = ["lmer", "fit_lmm", "check_groups"]


def check_groups(design: Design, gaussian: bool = True) -> None:
    """lme4's checks: every grouping factor needs 2+ levels, and fewer levels than observations
    for a Gaussian model (otherwise it cannot be told apart from the residual)."""
    for t in design.reterms:
        if t.nlevels < 2:
            raise DataError(
                f"the grouping factor '{t.group}' has {t.nlevels} level(s) in the data used; "
                "a random effect needs at least 2 levels (drop the term or use a fixed effect)"
            )
        if gaussian and t.nlevels * t.ncols >= design.n:
            raise DataError(
                f"the grouping factor '{t.group}' has {t.nlevels} levels for {design.n} observations; "
                f"with {t.ncols} term(s) per level the random effects ({t.nlevels * t.ncols}) are as many as the "
                "observations and cannot be told apart from the residual; use fewer terms or a coarser group"
            )
    if design.y.ndim != 1:
        raise DataError(
            f"the response '{design.formula.response}' has {design.y.shape[1]} columns; a Gaussian model needs one "
            "(cbind() responses are for family='binomial')"
        )
    if design.response_value.kind == "cat":
        raise DataError(
            f"the response '{design.formula.response}' is a factor; a Gaussian model needs a numeric response "
            "(for a binary response use hl.glmer(..., family='bernoulli'))"
        )


def fit_lmm(design: Design, reml: bool = True, start: np.ndarray | None = None) -> LmerFit:
    """Fit a prepared design by REML or ML."""
    prob = LmmProblem(design, reml=reml)
    theta_int, info = prob.optimize(start)
    sol = prob.solution_at(theta_int, info)
    info = dict(info, theta_internal=theta_int)
    info.pop("x", None)
    return LmerFit(
        design=design,
        theta=sol.theta,
        beta=sol.beta,
        b=sol.b,
        sigma_=sol.sigma,
        vcov_beta=sol.vcov_beta,
        objective=sol.objective,
        family="gaussian",
        optinfo=info,
        reml=reml,
        problem=prob,
    )


def lmer(formula: str, data: pd.DataFrame, reml: bool = True, weights=None, start=None) -> LmerFit:
    """Fit a linear mixed model by REML (default) or maximum likelihood, as lme4's ``lmer``.

    Parameters
    ----------
    formula : str
        lme4 formula, e.g. ``"Reaction ~ Days + (Days | Subject)"``.
    data : DataFrame
    reml : bool, default True
        REML; ``False`` for maximum likelihood.
    weights : str or array-like, optional
        Prior weights (column name or values).
    start : array-like, optional
        Starting θ in internal coordinates (advanced).

    Returns
    -------
    LmerFit

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> m.fixef()["Estimate"].round(3).tolist()
    [251.405, 10.467]
    >>> round(m.reml_criterion(), 2)
    1743.63
    """
    if not isinstance(reml, (bool, np.bool_)):
        raise HierlmError(f"reml must be True (REML) or False (maximum likelihood), not {reml!r}")
    design = make_design(formula, data, weights=weights)
    check_groups(design, gaussian=True)
    return fit_lmm(design, reml=reml, start=start)
