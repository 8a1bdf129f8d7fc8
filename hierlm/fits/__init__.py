"""Plain result objects of the frequentist engine: :class:`LmerFit`, :class:`GlmerFit` and their base.

A fit holds numbers (θ, β, b, σ, the objective) and its :class:`~hierlm.design.Design`; the
extractors are thin methods over :mod:`hierlm.extract`, named as in lme4 and ``API.md``.
"""

from .base import FrequentistFit
from .glmer import GlmerFit
from .lmer import LmerFit

__all__ = ["FrequentistFit", "GlmerFit", "LmerFit"]
