"""Responses simulated from a fitted model (lme4's ``simulate.merMod``) and the seeds behind them.

Linear mixed models draw ``y = Xβ + offset + Zb + ε``; generalised ones draw from the family at
``μ = g⁻¹(Xβ + offset + Zb)`` — binomial successes out of the row's trials (Bernoulli 0/1),
Poisson counts (offsets are part of η), negative-binomial counts with the fitted θ.  The random
effects are drawn anew from N(0, Σ) (lme4's default ``re.form = NA``) or kept at the conditional
modes (``use_re=False``, lme4's ``use.u = TRUE``).

A :class:`Simulator` can also simulate on another design of the same model — more or fewer levels of
a grouping factor, more observations per level (power analysis) — with other fixed effects.

Replicate ``i`` draws from its own child :class:`numpy.random.SeedSequence`, so simulations (and
everything built on them: parametric bootstrap, power) depend only on the seed, never on how the
replicates are split between processes.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..design import GlmResponse, response_of
from ..errors import HierlmError, HierlmWarning
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

    Returns
    -------
    list of numpy.random.SeedSequence

    Examples
    --------
    >>> a, b = seed_children(1, 3)[2], seed_children(1, 10)[2]
    >>> bool(np.random.default_rng(a).random() == np.random.default_rng(b).random())
    True
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


def _check_design(fit, design) -> None:
    """``design`` must have the fit's fixed-effect columns and random-effects blocks."""
    d = fit.design
    if list(design.xnames) != list(d.xnames):
        raise HierlmError(f"cannot simulate from the fit on this design: its fixed effects are {list(design.xnames)}, "
                          f"the fit's {list(d.xnames)} (a factor level missing or added?)")
    have = [(t.group, list(t.columns)) for t in design.reterms]
    want = [(t.group, list(t.columns)) for t in d.reterms]
    if have != want:
        raise HierlmError(f"cannot simulate from the fit on this design: its random-effects blocks are {have}, the "
                          f"fit's {want}")


class Simulator:
    """Draws responses from a fitted mixed model (picklable; the bootstrap and power workers use it).

    Parameters
    ----------
    fit : LmerFit or GlmerFit
    use_re : bool, default True
        New random effects from N(0, Σ) (lme4's ``re.form = NA``); ``False``: the conditional modes
        (lme4's ``use.u = TRUE``; only on the fit's own design).
    design : Design, optional
        Simulate on this design instead (same formula, fixed-effect columns and blocks; new levels of
        a grouping factor get new effects from N(0, Σ)).
    beta : array-like, optional
        Fixed effects to simulate with (default the fit's; e.g. an effect size set by hand).

    Notes
    -----
    :meth:`draw` gives the response as the formula would see it for a linear model, and the
    successes (binomial; 0/1 for Bernoulli) or counts (Poisson, negative binomial) for a GLMM;
    :meth:`response` turns a draw into the engine's :class:`~hierlm.design.GlmResponse`.

    Examples
    --------
    >>> import hierlm as hl
    >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
    ...              family="binomial")
    >>> sim = Simulator(g)
    >>> y = sim.draw(np.random.default_rng(1))
    >>> bool(np.all((y >= 0) & (y <= g.response.trials)))
    True
    """

    def __init__(self, fit, use_re: bool = True, design=None, beta=None):
        if not is_fit(fit, "frequentist", ("lmm", "glmm")):
            raise HierlmError("simulate() is available for mixed models fitted by hl.lmer or hl.glmer")
        self.glmm = fit.kind.model == "glmm"
        self.use_re = bool(use_re)
        d = fit.design if design is None else design
        if design is not None:
            _check_design(fit, design)
            if not use_re:
                raise HierlmError("use_re=False keeps the fitted conditional modes, which exist only for the fit's own "
                                  "levels: simulate on another design with use_re=True (new random effects)")
        b = np.asarray(fit.beta if beta is None else beta, float)
        if b.shape != np.shape(fit.beta):
            raise HierlmError(f"beta needs {len(fit.beta)} values ({list(fit.design.xnames)}), got shape {b.shape}")
        if design is None and beta is None:
            self.mean = np.asarray(fit.predict(re_form="~0" if use_re else None, type="link"), float)
        elif use_re:
            self.mean = d.X @ b + d.offset
        else:  # the fit's modes with other fixed effects
            self.mean = np.asarray(fit.predict(type="link"), float) + fit.design.X @ (b - fit.beta)
        self.blocks = []
        if use_re:
            scale = 1.0 if self.glmm else fit.sigma_
            for t, lam in zip(d.reterms, fit.lambdas()):
                self.blocks.append((t.index, t.values, t.nlevels, scale * lam))
        w = d.weights
        self.family = fit.family
        if self.glmm:
            self.link = fit.family.link
            self.nb_theta = fit.nb_theta
            _, resp = response_of(d, fit.family)
            self.trials, self.prior_weights = resp.trials, resp.prior_weights
            name = fit.family.name
            if name == "binomial" and np.any(np.abs(self.trials - np.round(self.trials)) > 1e-7):
                raise HierlmError("cannot simulate binomial counts for non-integer numbers of trials (weights)")
            if name in ("poisson", "negbinomial") and np.any(self.prior_weights != 1):
                warnings.warn("ignoring prior weights (as R's simulate for the Poisson and negative-binomial families)",
                              HierlmWarning, stacklevel=2)
        else:
            self.resid_sd = fit.sigma_ if w is None else fit.sigma_ / np.sqrt(w)

    def eta(self, rng: np.random.Generator) -> np.ndarray:
        """The linear predictor (mean for a linear model) with new random effects drawn from ``rng``."""
        y = self.mean.copy()
        for idx, V, L, chol in self.blocks:
            b = rng.standard_normal((L, chol.shape[0])) @ chol.T
            y += (V * b[idx]).sum(axis=1)
        return y

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """One simulated response vector (successes or counts for a GLMM)."""
        eta = self.eta(rng)
        if not self.glmm:
            return eta + self.resid_sd * rng.standard_normal(len(eta))
        mu = self.link.linkinv(eta)
        name = self.family.name
        if name in ("binomial", "bernoulli"):
            return rng.binomial(np.round(self.trials).astype(np.int64), np.clip(mu, 0.0, 1.0)).astype(float)
        if name == "poisson":
            return rng.poisson(mu).astype(float)
        if name == "negbinomial":
            th = float(self.nb_theta)
            return rng.negative_binomial(th, th / (th + mu)).astype(float)
        raise HierlmError(f"simulate() has no random draws for family '{name}'")  # pragma: no cover

    def response(self, draw: np.ndarray) -> GlmResponse:
        """A GLMM draw as the engine's response (proportions and trials for binomial models)."""
        if self.family.name in ("binomial", "bernoulli"):
            y = np.divide(draw, self.trials, out=np.zeros(len(draw)), where=self.trials > 0)
            return GlmResponse(y, self.trials, self.prior_weights)
        return GlmResponse(np.asarray(draw, float), np.ones(len(draw)), self.prior_weights)


def simulate(fit, nsim: int = 1, seed=None, use_re: bool = True) -> np.ndarray:
    """Simulate responses from a fitted mixed model (lme4's ``simulate.merMod``).

    Parameters
    ----------
    fit : LmerFit or GlmerFit
    nsim : int, default 1
        Number of simulated response vectors.
    seed : None, int or numpy Generator
        Same seed, same responses.  Column ``i`` depends only on ``seed`` and ``i`` (each replicate
        has its own child :class:`~numpy.random.SeedSequence`), so ``simulate(fit, 1, s)`` is the
        first column of ``simulate(fit, 100, s)``.
    use_re : bool, default True
        ``True``: draw new random effects from N(0, Σ) (lme4's ``simulate(re.form=NA)``, the
        parametric bootstrap's model).  ``False``: keep the fitted conditional modes and draw only
        the response given them (lme4's ``use.u=TRUE``).

    Returns
    -------
    ndarray (n, nsim)
        Linear models: the response.  Binomial models: the number of successes of each row out of
        its trials (``fit.response.trials``; Bernoulli 0/1; divide by the trials for proportions);
        Poisson and negative binomial: counts (with the fitted θ; offsets included).

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> m.simulate(nsim=3, seed=1).shape
    (180, 3)
    >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
    ...              family="binomial")
    >>> simulate(g, nsim=2, seed=1)[:4]
    array([[1., 6.],
           [1., 3.],
           [0., 3.],
           [0., 1.]])
    """
    if isinstance(nsim, bool) or not isinstance(nsim, (int, float, np.integer, np.floating)) or nsim != int(nsim) \
            or nsim < 1:
        raise HierlmError(f"nsim must be a positive integer, not {nsim!r}")
    sim = Simulator(fit, use_re=use_re)
    cols = [sim.draw(np.random.default_rng(s)) for s in seed_children(seed, int(nsim))]
    return np.column_stack(cols)
