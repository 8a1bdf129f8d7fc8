"""Validation of the Bayesian engine: simulation from the priors, simulation-based calibration (SBC) and
parameter recovery.

A service over the fits layer (it refits with :func:`hierlm.blmer`).
"""

from .prior_sim import draw_prior, lkj_corr, simulate_response
from .recovery import full_truth, recovery, simulate_data
from .sbc import SBCResult, holm, rank_uniformity, sbc, thin_draws

__all__ = ["sbc", "SBCResult", "holm", "rank_uniformity", "thin_draws", "recovery", "full_truth", "simulate_data",
           "draw_prior", "lkj_corr", "simulate_response"]
