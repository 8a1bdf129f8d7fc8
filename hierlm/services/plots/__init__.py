"""Plots of fitted models (matplotlib; arviz-plots for the sampler diagnostics).

Every function takes a fit (``LmerFit``, ``GlmerFit`` or ``BayesFit`` where it makes sense) and
returns the matplotlib Figure, labelled with lme4's names of terms, groups and levels.
"""

from .forest import plot_fixef, plot_ranef
from .pooling import plot_pooling
from .power import plot_power
from .predictions import plot_predictions
from .residuals import plot_influence, plot_residuals
from .sampling import plot_ppc, plot_trace
from .shrinkage import plot_shrinkage
from .varcorr import plot_varcorr

__all__ = ["plot_fixef", "plot_ranef", "plot_varcorr", "plot_shrinkage", "plot_pooling", "plot_residuals", "plot_ppc",
           "plot_trace", "plot_influence", "plot_predictions", "plot_power"]
