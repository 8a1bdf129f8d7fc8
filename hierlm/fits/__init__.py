"""Layer 4, the fits: result objects and the user entry points, one protocol for all kinds.

* :mod:`.protocol` — :class:`Fit`, :class:`FitKind`: what every fit offers, and the late-bound
  services behind ``fit.summary()``, ``fit.confint()``, ...;
* :mod:`.lmer`, :mod:`.glmer` — ``hl.lmer`` / ``hl.glmer`` and :class:`LmerFit` / :class:`GlmerFit`
  (on :class:`~.frequentist.FrequentistFit`), wrapping the frequentist engine's solutions;
* :mod:`.bayes` — ``hl.blmer`` and :class:`BayesFit` (on :mod:`.bayes_base`, which owns the draws),
  wrapping the Bayesian engine's output; :mod:`.bayes_setup` holds blmer's steps before sampling, and
  :mod:`.bayes_draws`, :mod:`.bayes_predict` functions of the fit its methods delegate to;
* :mod:`.ordinal` — :class:`ClmmFit`, ordinal (cumulative-link) mixed models from ``hl.glmer(family="cumulative")``
  (on :mod:`.ordinal_base`, which holds the estimates, variance components and likelihood);
* :mod:`.lm` — ``hl.lm`` / ``hl.glm`` and :class:`LmFit` / :class:`GlmFit` (on :mod:`.regression`), the
  models without random effects that courses set beside the mixed ones;
* :mod:`.lmm_tests` — lmerTest's t and F tests (Satterthwaite, Kenward–Roger) and ``ranova``;
* :mod:`.influence`, :mod:`.intervals` — hat values, Cook's distance, residual types; prediction intervals;
* :mod:`.extract` — lme4's extractor tables, shared by every kind;
* :mod:`.simulate` — responses simulated from a fit and the seeds behind them;
* :mod:`.storage` — a fit's state for ``fit.save`` (the format is :mod:`hierlm.storage`'s).
"""

from .bayes import BayesFit, blmer
from .bayes_setup import get_priors
from .frequentist import FrequentistFit
from .glmer import GlmerFit, glmer
from .lm import GlmFit, LmFit, glm, lm
from .lmer import LmerFit, lmer
from .ordinal import ClmmFit
from .protocol import Fit, FitKind, is_fit, services

__all__ = ["Fit", "FitKind", "is_fit", "services", "FrequentistFit", "LmerFit", "GlmerFit", "BayesFit", "ClmmFit", "LmFit",
           "GlmFit", "lmer", "glmer", "blmer", "lm", "glm", "get_priors"]
