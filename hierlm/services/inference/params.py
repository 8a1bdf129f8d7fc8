"""The parameter vector lme4's ``confint`` reports on, and its names.

The variance parameters are reported as lme4 does with ``oldNames=TRUE``: ``.sig01, .sig02, …``
run over θ in its own order — per random-effects block, the lower triangle of the covariance
matrix column by column, with the standard deviation on the diagonal and the correlation below
it — and ``.sigma`` is the residual standard deviation.  For ``(Days | Subject)``: ``.sig01`` = sd
of ``(Intercept)``, ``.sig02`` = correlation of ``(Intercept)`` and ``Days``, ``.sig03`` = sd of
``Days``.  :func:`param_labels` gives lme4's long names (``sd_(Intercept)|Subject``, ...).
The conversions themselves are :mod:`hierlm.design.covariance`'s.
"""

from __future__ import annotations

import numpy as np

from ...design import covariance

__all__ = ["param_names", "param_labels", "fit_params"]


def param_names(design) -> list[str]:
    """lme4's ``oldNames`` of the variance parameters: ``.sig01 …`` in θ order, then ``.sigma``."""
    return covariance.param_names([t.ncols for t in design.reterms])


def param_labels(design) -> dict[str, str]:
    """``.sigNN`` → lme4's descriptive name (``sd_(Intercept)|Subject``, ``cor_Days.(Intercept)|Subject``)."""
    return covariance.param_labels([(t.group, list(t.columns)) for t in design.reterms])


def fit_params(fit) -> np.ndarray:
    """(.sig01, …, .sigma, β) of a fit, the vector lme4's ``confint`` reports on."""
    sizes = [t.ncols for t in fit.design.reterms]
    return np.concatenate([covariance.sdcor_of_theta(fit.theta, sizes, fit.sigma_), [fit.sigma_], fit.beta])
