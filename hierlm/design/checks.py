"""The checks every engine makes of a design before fitting it (lme4's ``checkNlevels`` and friends).

One home for them, so that ``lmer``, ``glmer`` and ``blmer`` refuse the same data with the same words.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from ..formula import deparse

__all__ = ["check_model", "check_groups", "check_gaussian_response", "check_rank", "check_response"]


def check_model(design, family, response: bool = True) -> None:
    """Every check an engine makes before fitting a mixed model of ``family`` (a name or a Family).

    ``response=False`` skips the checks of the response's values (for a design whose response is a
    placeholder to be simulated, as in simulation-based calibration).
    """
    gaussian = getattr(family, "name", family) == "gaussian"
    check_groups(design, gaussian=gaussian)
    if gaussian:
        check_gaussian_response(design)
    check_rank(design)
    if response:
        check_response(design, family)


def check_groups(design, gaussian: bool = True) -> None:
    """Every grouping factor needs 2+ levels; for a Gaussian model also fewer random effects than
    observations (otherwise they cannot be told apart from the residual)."""
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
    total = sum(t.nlevels * t.ncols for t in design.reterms)
    if gaussian and total >= design.n:
        raise DataError(
            f"the model has {total:,} random effects for {design.n:,} observations "
            f"({', '.join(f'{t.bar.source}: {t.nlevels * t.ncols:,}' for t in design.reterms[:4])}"
            f"{', ...' if len(design.reterms) > 4 else ''}); with as many random effects as observations they cannot "
            "be told apart from the residual (lme4: 'number of observations <= number of random effects'). "
            "Use fewer terms or coarser groups")


def check_gaussian_response(design) -> None:
    """A Gaussian model needs one numeric response column."""
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


def check_rank(design) -> None:
    """More observations than fixed-effect columns (lme4: "number of observations (=n) <= rank(X)")."""
    if design.n <= design.p:
        raise DataError(
            f"the model has {design.p} fixed-effect column(s) for {design.n} observation(s): the number of "
            "observations must exceed the number of fixed effects (lme4: 'number of observations <= rank(X)'). "
            "Use fewer predictors or more data")


def check_response(design, family) -> None:
    """Refuse a response the family cannot learn anything from: constant, all zero counts, all successes.

    ``family`` is a :class:`~hierlm.design.Family` (or its name); the response is the design's, before
    the family's canonical form (so ``cbind(k, n - k)`` and 0/1 responses are both covered).
    """
    name = getattr(family, "name", family)
    what = deparse(design.formula.response)
    v = design.response_value
    y = np.asarray(design.y, float) if v.kind != "cat" else v.data.astype(float)
    if y.size == 0:
        return
    if name in ("binomial", "bernoulli"):
        if y.ndim == 2:
            succ, fail = y[:, 0], y[:, 1]
        else:
            p = (y != 0).astype(float) if v.kind == "cat" else y  # factor: the first level is failure
            w = np.ones(len(y)) if design.weights is None else design.weights
            succ, fail = p * w, (1 - p) * w
        if np.all(succ == 0) or np.all(fail == 0):
            which = "failures (0)" if np.all(succ == 0) else "successes (1)"
            raise DataError(f"the response '{what}' has only {which}: the estimated probability of success would be "
                            "exactly 0 or 1 (its logit ±∞), so there is nothing to model; check the response")
        return
    if y.ndim == 2:
        return
    if name in ("poisson", "negbinomial") and np.all(y == 0):
        raise DataError(f"the response '{what}' is 0 in every row; a count model needs some positive counts "
                        "(its log-mean would be -∞)")
    if np.ptp(y) == 0:
        raise DataError(f"the response '{what}' is constant (every value is {y[0]:g}); there is no variation to "
                        "model (lme4: 'Response is constant')")
