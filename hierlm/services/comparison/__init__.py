"""Model comparison: lme4's likelihood-ratio ``anova``, LOO / WAIC / K-fold for Bayesian fits, and the
frequentist and Bayesian answers side by side.

A service over the fit protocol; refits go through :func:`hierlm.blmer` in the fits layer below.
"""

from .anova import AnovaTable, anova, lrt_table, ranova
from .kfold import KFold, kfold, make_folds
from .loo import compare, loo, waic
from .side_by_side import side_by_side
from .table import ComparisonTable

__all__ = ["anova", "ranova", "AnovaTable", "lrt_table", "compare", "loo", "waic", "kfold", "KFold", "make_folds", "side_by_side",
           "ComparisonTable"]
