"""Inference on fitted models: confidence intervals (Wald, profile, parametric bootstrap), the bootstrap
likelihood-ratio test, intraclass correlations, R² (Nakagawa's, Bayesian, LOO) and brms-style hypotheses.

A service over the fit protocol (:mod:`hierlm.fits.protocol`); it imports the fits and engines below it.
"""

from .bootstrap import BootstrapLRT, bootstrap_lrt, bootstrap_params, percentile_interval
from .confint import confint
from .hypothesis import hypothesis
from .icc import icc
from .params import fit_params, param_labels, param_names
from .r2 import r2
from .variances import get_variance

__all__ = ["confint", "bootstrap_lrt", "BootstrapLRT", "bootstrap_params", "percentile_interval", "icc",
           "hypothesis", "fit_params", "param_names", "param_labels", "r2", "get_variance"]
