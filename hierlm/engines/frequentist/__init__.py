"""Layer 3a, the frequentist engine: lme4's profiled deviance (REML/ML) and the Laplace / AGQ deviance of
GLMMs on a blocked sparse Cholesky, optimised by BOBYQA or Newton.

Pure numerics: a problem (:class:`LmmProblem`, :class:`GlmmProblem`) is built from a
:class:`~hierlm.design.Design` and returns a solution (θ, β, b, σ, the objective, vcov) — never a fit
object; :mod:`hierlm.fits` wraps solutions into ``LmerFit`` / ``GlmerFit``.

* :mod:`.blocked`, :mod:`.pairs` — the Cholesky of lme4's penalised system, symbolic structure once;
* :mod:`.lmm` — profiled deviance, its optimum, conditional variances;
* :mod:`.gradient` — analytic gradient and average-information Hessian (large models);
* :mod:`.glmm` — PIRLS, Laplace and adaptive Gauss–Hermite deviances, the two-stage optimisation;
* :mod:`.theta` — the optimiser's internal θ coordinates (centred, scaled columns);
* :mod:`.optimize` — BOBYQA (nlopt), the 1-D optimiser, Newton steps, BLAS thread limits;
* :mod:`.pirls` — the penalised IRLS system, structure worked out once per fit, numbers refreshed per step;
* :mod:`.ordinal` — cumulative-link (ordinal) mixed models by the Laplace approximation (``ordinal::clmm``);
* :mod:`.glm` — least squares and IRLS for models without random effects; :mod:`.ddf` — Satterthwaite and
  Kenward–Roger denominator degrees of freedom; :mod:`.hat` — hat values;
* :mod:`.fastlmm`, :mod:`.fastglmm` — compiled refit kernels for many-fit work (power, bootstrap): the same
  deviances for a fixed design and new responses.
"""

from .glmm import GlmmProblem, GlmmSolution
from .lmm import LmmProblem, LmmSolution

__all__ = ["LmmProblem", "LmmSolution", "GlmmProblem", "GlmmSolution"]
