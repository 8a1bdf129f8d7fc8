"""Frequentist engine: lme4's profiled deviance with a blocked sparse Cholesky and BOBYQA."""

from .lmer import fit_lmm, lmer
from .lmm import LmmProblem, LmmSolution

__all__ = ["lmer", "fit_lmm", "LmmProblem", "LmmSolution"]
