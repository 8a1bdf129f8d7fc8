"""The checks every engine makes of a design before fitting it (lme4's ``checkNlevels`` and friends).

One home for them, so that ``lmer``, ``glmer`` and ``blmer`` refuse the same data with the same words.
"""

from __future__ import annotations

from ..errors import DataError

__all__ = ["check_groups", "check_gaussian_response"]


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
