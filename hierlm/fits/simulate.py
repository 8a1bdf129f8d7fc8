"""Responses simulated from a fitted model (lme4's ``simulate.merMod``) and the seeds behind them.

Replicate ``i`` draws from its own child :class:`numpy.random.SeedSequence`, so simulations (and
everything built on them: parametric bootstrap, power) depend only on the seed, never on how the
replicates are split between processes.
"""

from __future__ import annotations

import numpy as np

from ..errors import HierlmError
from .protocol import is_fit

__all__ = ["seed_children", "Simulator", "simulate"]


def seed_children(seed, nsim: int) -> list[np.random.SeedSequence]:
    """One independent :class:`numpy.random.SeedSequence` per replicate.

    Replicate ``i`` depends only on ``seed`` and ``i`` — not on ``nsim``, on how replicates are
    split between processes, or on any global random state.

    Parameters
    ----------
    seed : None, int, SeedSequence or Generator
    nsim : int
    """
    if isinstance(seed, np.random.Generator):
        return list(seed.bit_generator.seed_seq.spawn(nsim)) if seed.bit_generator.seed_seq is not None else [
            np.random.SeedSequence(int(s)) for s in seed.integers(0, 2**63, size=nsim)
        ]
    if isinstance(seed, np.random.SeedSequence):
        return list(seed.spawn(nsim))
    if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0):
        raise HierlmError(f"seed must be None, a non-negative integer or a numpy Generator, not {seed!r}")
    return list(np.random.SeedSequence(seed).spawn(nsim))


class Simulator:
    """Draws responses from a fitted linear mixed model (picklable; used by the bootstrap workers).

    ``y = Xβ + offset + Zb + ε`` with ``b ~ N(0, Σ)`` drawn anew per level (``use_re=True``, lme4's
    default ``re.form=NA``) or fixed at the conditional modes (``use_re=False``, lme4's ``use.u=TRUE``),
    and ``ε ~ N(0, σ²/w)`` with prior weights ``w``.
    """

    def __init__(self, fit, use_re: bool = True):
        if not is_fit(fit, "frequentist", "lmm"):
            raise HierlmError("simulate() is available for linear mixed models (hl.lmer fits)")
        d = fit.design
        self.use_re = bool(use_re)
        self.mean = fit.predict(re_form="~0" if use_re else None).astype(float)
        self.blocks = []
        if use_re:
            for t, lam in zip(d.reterms, fit.lambdas()):
                self.blocks.append((t.index, t.values, t.nlevels, fit.sigma_ * lam))
        w = d.weights
        self.resid_sd = fit.sigma_ if w is None else fit.sigma_ / np.sqrt(w)

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """One simulated response vector."""
        y = self.mean.copy()
        for idx, V, L, chol in self.blocks:
            b = rng.standard_normal((L, chol.shape[0])) @ chol.T
            y += (V * b[idx]).sum(axis=1)
        return y + self.resid_sd * rng.standard_normal(len(y))


def simulate(fit, nsim: int = 1, seed=None, use_re: bool = True) -> np.ndarray:
    """Simulate responses from a fitted linear mixed model.

    Parameters
    ----------
    fit : LmerFit
    nsim : int, default 1
        Number of simulated response vectors.
    seed : None, int or numpy Generator
        Same seed, same responses.  Column ``i`` depends only on ``seed`` and ``i`` (each replicate
        has its own child :class:`~numpy.random.SeedSequence`), so ``simulate(fit, 1, s)`` is the
        first column of ``simulate(fit, 100, s)``.
    use_re : bool, default True
        ``True``: draw new random effects from N(0, Σ) (lme4's ``simulate(re.form=NA)``, the
        parametric bootstrap's model).  ``False``: keep the fitted conditional modes and draw only
        new residuals (lme4's ``use.u=TRUE``).

    Returns
    -------
    ndarray (n, nsim)

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> m.simulate(nsim=3, seed=1).shape
    (180, 3)
    """
    nsim = int(nsim)
    if nsim < 1:
        raise HierlmError(f"nsim must be a positive integer, not {nsim}")
    sim = Simulator(fit, use_re=use_re)
    cols = [sim.draw(np.random.default_rng(s)) for s in seed_children(seed, nsim)]
    return np.column_stack(cols)
