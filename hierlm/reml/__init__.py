"""Frequentist engine: lme4's profiled deviance (LMMs) and Laplace deviance (GLMMs) with a blocked
sparse Cholesky and BOBYQA."""

from .glmer import fit_glmm, glmer
from .glmm import GlmmProblem, GlmmSolution
from .lmer import fit_lmm, lmer
from .lmm import LmmProblem, LmmSolution

__all__ = ["lmer", "fit_lmm", "LmmProblem", "LmmSolution", "glmer", "fit_glmm", "GlmmProblem", "GlmmSolution"]
