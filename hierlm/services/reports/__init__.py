"""Reports: printed summaries laid out as lme4's, lmerTest's and brms's, text and HTML from one content.

A service over the fit protocol; ``fit.summary()`` is :func:`summary` (bound in ``hierlm/__init__``).
The frequentist printouts follow R's own formatting rules digit for digit (:mod:`hierlm.services.rformat`).
"""

from .bayes import bayes_summary
from .frequentist import (
    format_lmer_summary,
    glmer_summary,
    lmer_summary,
    mer_summary_of,
)
from .lmprint import glm_summary, lm_summary
from .ordinal import clmm_summary
from .summary import Printout, Summary
from .tidy import glance, tidy
from .varcorr import print_varcorr

__all__ = [
    "Printout",
    "Summary",
    "bayes_summary",
    "clmm_summary",
    "format_lmer_summary",
    "glance",
    "glm_summary",
    "glmer_summary",
    "lm_summary",
    "lmer_summary",
    "mer_summary_of",
    "print_varcorr",
    "summary",
    "tidy",
]


def summary(fit, **kwargs):
    """The summary of any fit: lmerTest's / lme4's / R's layout for frequentist fits, brms's for Bayesian ones.

    Parameters
    ----------
    fit : LmerFit, GlmerFit, ClmmFit, LmFit, GlmFit or BayesFit
    **kwargs
        Options of the report: ``ddf``, ``data_name``, ``correlation`` (:func:`lmer_summary`,
        :func:`glmer_summary`), ``data_name`` (:func:`lm_summary`, :func:`glm_summary`).

    Returns
    -------
    Printout or Summary

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Yield ~ 1 + (1 | Batch)", hl.load_dataset("Dyestuff"))
    >>> str(summary(m, ddf="lme4")).splitlines()[0]
    "Linear mixed model fit by REML ['lmerMod']"
    """
    if fit.kind.bayesian:
        return bayes_summary(fit, **kwargs)
    model = fit.kind.model
    if model == "lmm":
        return lmer_summary(fit, **kwargs)
    if model == "lm":
        return lm_summary(fit, **kwargs)
    if model == "glm":
        return glm_summary(fit, **kwargs)
    if model == "ordinal":
        return clmm_summary(fit, **kwargs)
    return glmer_summary(fit, **kwargs)
