"""Reports: printed summaries laid out as lme4's and brms's, text and HTML from one content.

A service over the fit protocol; ``fit.summary()`` is :func:`summary` (bound in ``hierlm/__init__``).
"""

from .bayes import bayes_summary
from .frequentist import glmer_summary, lmer_summary
from .summary import Summary

__all__ = ["summary", "Summary", "lmer_summary", "glmer_summary", "bayes_summary"]


def summary(fit, **kwargs) -> Summary:
    """The summary of any fit: lme4's layout for frequentist fits, brms's for Bayesian ones.

    Parameters
    ----------
    fit : LmerFit, GlmerFit or BayesFit

    Returns
    -------
    Summary

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Yield ~ 1 + (1 | Batch)", hl.load_dataset("Dyestuff"))
    >>> str(summary(m)).splitlines()[0]
    "Linear mixed model fit by REML ['LmerFit']"
    """
    if fit.kind.bayesian:
        return bayes_summary(fit, **kwargs)
    if fit.kind.model == "lmm":
        return lmer_summary(fit, **kwargs)
    return glmer_summary(fit, **kwargs)
