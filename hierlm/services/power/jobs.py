"""The work of one batch of power simulations: simulate, refit at every size, test (picklable jobs).

:class:`LmmPowerJob` refits linear mixed models with the compiled
:class:`~hierlm.engines.frequentist.fastlmm.FastLmm` (only the response's row of the cross products
changes between simulations; warm starts at the fit's θ) and tests by Satterthwaite t / F
(:func:`~hierlm.engines.frequentist.fastlmm.satterthwaite_fast`), Kenward–Roger F (the engine's
:func:`~hierlm.engines.frequentist.ddf.kenward_roger`), Wald z or the likelihood ratio.
:class:`GlmmPowerJob` refits GLMMs with the engine's Laplace :class:`~hierlm.engines.frequentist.GlmmProblem`
and tests by Wald z / χ² or the likelihood ratio.

A job maps a batch of :class:`numpy.random.SeedSequence` to rows ``[p-values per size, singular
flags per size]``; a failed refit gives a NaN p-value (counted as failed, never dropped).
"""

from __future__ import annotations

import copy

import numpy as np
from scipy import special

from ...design import GlmResponse
from ...engines.frequentist import GlmmProblem, LmmProblem
from ...engines.frequentist.ddf import f_test, kenward_roger, satterthwaite, t_test
from ...engines.frequentist.fastlmm import FastLmm, fast_enough, satterthwaite_fast
from ...errors import HierlmError

__all__ = ["LmmPowerJob", "GlmmPowerJob", "SizeModels", "LmNull", "wald_p"]

_FAILURES = (HierlmError, np.linalg.LinAlgError, ValueError, ArithmeticError, RuntimeError)


class LmNull:
    """A null model without random effects (a linear model): its −2 log-likelihood for any response.

    The REML criterion is for X as written (R's ``logLik(lm, REML = TRUE)``), comparable with an
    LMM's REML criterion of the same fixed part.

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.design import make_design
    >>> d = make_design("Reaction ~ Days + (1 | Subject)", hl.load_dataset("sleepstudy"))
    >>> round(LmNull(d, reml=False).deviance(d.y), 3)  # -2 logLik(lm(Reaction ~ Days, sleepstudy))
    1900.293
    >>> round(LmNull(d, reml=True).deviance(d.y), 3)  # ... logLik(, REML = TRUE)
    1893.664
    """

    def __init__(self, design, reml: bool):
        w = np.ones(design.n) if design.weights is None else np.asarray(design.weights, float)
        self.keep = w > 0
        self.sw = np.sqrt(w[self.keep])
        self.offset = np.asarray(design.offset, float)[self.keep]
        Xw = design.X[self.keep] * self.sw[:, None]
        self.Q, R = np.linalg.qr(Xw)
        n, p = Xw.shape
        self.N = n - p if reml else n
        self.const = -np.log(w[self.keep]).sum() + (2 * np.log(np.abs(np.diag(R))).sum() if reml else 0.0)
        self.reml = reml

    def deviance(self, y: np.ndarray) -> float:
        z = (np.asarray(y, float)[self.keep] - self.offset) * self.sw
        rss = float(z @ z - np.sum((self.Q.T @ z) ** 2))
        return float(self.N * (np.log(2 * np.pi) + 1 + np.log(rss / self.N)) + self.const)


def wald_p(beta: np.ndarray, vcov: np.ndarray, cols: list[int]) -> float:
    """Two-sided Wald z p-value of one coefficient, or the χ² p-value of several being zero.

    Examples
    --------
    >>> round(wald_p(np.array([1.0, 2.0]), np.diag([1.0, 1.0]), [1]), 6)  # 2 Φ(−2)
    0.0455
    """
    b = beta[cols]
    V = vcov[np.ix_(cols, cols)]
    if len(cols) == 1:
        return float(special.erfc(abs(b[0]) / np.sqrt(V[0, 0]) / np.sqrt(2.0)))
    stat = float(b @ np.linalg.solve(V, b))
    return float(special.chdtrc(len(cols), stat))


def _lrt_p(dev0: float, dev1: float, df: int) -> float:
    if not (np.isfinite(dev0) and np.isfinite(dev1)) or dev0 >= 1e299 or dev1 >= 1e299:
        raise HierlmError("refit did not converge")
    return float(special.chdtrc(df, max(dev0 - dev1, 0.0)))


class SizeModels:
    """Everything one size of the curve refits: rows of the simulated response, problems, warm starts."""

    def __init__(self, rows, alt, alt_start, null=None, null_start=None, df: int = 0):
        self.rows, self.alt, self.alt_start = np.asarray(rows), alt, alt_start
        self.null, self.null_start, self.df = null, null_start, df  # null: a problem, an LmNull or None


class LmmPowerJob:
    """Power simulations of a linear mixed model (see the module docstring).

    Parameters
    ----------
    simulator : hierlm.fits.simulate.Simulator
        Draws responses on the largest extended design.
    sizes : list of SizeModels
        ``alt`` / ``null`` are :class:`LmmProblem` (turned into :class:`FastLmm` where that applies).
    test : PowerTest
    """

    def __init__(self, simulator, sizes: list[SizeModels], test):
        self.simulator, self.test = simulator, test
        self.sizes = []
        for s in sizes:
            s = copy.copy(s)
            s.alt = self._prepare(s.alt, test.method != "kr")
            if isinstance(s.null, LmmProblem):
                s.null = self._prepare(s.null, True)
            self.sizes.append(s)

    @staticmethod
    def _prepare(prob: LmmProblem, fast: bool):
        return FastLmm(prob) if fast and fast_enough(prob) else copy.copy(prob)

    def _p_value(self, s: SizeModels, y: np.ndarray) -> tuple[float, bool]:
        t = self.test
        s.alt.set_response(y)
        x, info = s.alt.optimize(s.alt_start)
        singular = _singular(s.alt, x)
        if t.method == "lrt":  # −2 logLik (REML criteria for X as written, as lmerTest's ranova)
            dev1 = float(info["fun"]) - (2.0 * s.alt.log_det_TX if s.alt.reml else 0.0)
            if isinstance(s.null, LmNull):
                dev0 = s.null.deviance(y)
            else:
                s.null.set_response(y)
                _, info0 = s.null.optimize(s.null_start)
                dev0 = float(info0["fun"]) - (2.0 * s.null.log_det_TX if s.null.reml else 0.0)
            return _lrt_p(dev0, dev1, s.df), singular
        if not np.isfinite(info["fun"]) or info["fun"] >= 1e299:
            raise HierlmError("refit did not converge")
        sol = s.alt.solution_at(x, info)
        cols = t.columns
        if t.method == "z":
            return wald_p(sol.beta, sol.vcov_beta, cols), singular
        if t.method == "kr":
            L = np.eye(len(sol.beta))[cols]
            return float(f_test(kenward_roger(s.alt, sol), L)["Pr(>F)"]), singular
        sat = satterthwaite_fast(s.alt, sol) if isinstance(s.alt, FastLmm) else satterthwaite(s.alt, sol)
        if len(cols) == 1:
            l = np.zeros(len(sol.beta))
            l[cols[0]] = 1.0
            return float(t_test(sat, l)["Pr(>|t|)"]), singular
        row = f_test(sat, np.eye(len(sol.beta))[cols])
        return (np.nan if row is None else float(row["Pr(>F)"])), singular

    def __call__(self, items: list) -> np.ndarray:
        K = len(self.sizes)
        out = np.full((len(items), 2 * K), np.nan)
        for i, item in enumerate(items):
            y = self.simulator.draw(np.random.default_rng(item))
            for k, s in enumerate(self.sizes):
                try:
                    with np.errstate(all="ignore"):
                        out[i, k], sing = self._p_value(s, y[s.rows])
                    out[i, K + k] = float(sing)
                except _FAILURES:
                    pass
        return out


def _singular(prob, x, tol: float = 1e-4) -> bool:
    theta = prob.tmap.to_original(x)
    return _theta_singular(theta, prob.tmap.sizes, tol)


def _theta_singular(theta: np.ndarray, sizes, tol: float = 1e-4) -> bool:
    pos, diag = 0, []
    for p in sizes:
        for c in range(p):
            for r in range(c, p):
                if r == c:
                    diag.append(theta[pos])
                pos += 1
    return bool(np.any(np.asarray(diag) < tol))


class GlmmPowerJob:
    """Power simulations of a GLMM: Laplace refits by the engine (Wald z / χ² or likelihood ratio).

    ``sizes`` hold :class:`~hierlm.engines.frequentist.GlmmProblem` objects (``alt`` / ``null``) built on
    the response of the size's rows; each simulation refits copies of them with the new response.
    """

    def __init__(self, simulator, sizes: list[SizeModels], test, nAGQ: int = 1):
        self.simulator, self.sizes, self.test, self.nAGQ = simulator, sizes, test, int(nAGQ)
        self.nb = simulator.family.name == "negbinomial"

    def _solve(self, prob: GlmmProblem, resp: GlmResponse):
        p = copy.copy(prob)
        p.resp, p.y, p.wt = resp, resp.y, resp.weights
        p.nevals = 0
        return p.solve(nAGQ=self.nAGQ, nb=self.nb)

    def __call__(self, items: list) -> np.ndarray:
        K = len(self.sizes)
        out = np.full((len(items), 2 * K), np.nan)
        for i, item in enumerate(items):
            resp = self.simulator.response(self.simulator.draw(np.random.default_rng(item)))
            for k, s in enumerate(self.sizes):
                r = s.rows
                sub = GlmResponse(resp.y[r], resp.trials[r], resp.prior_weights[r])
                try:
                    with np.errstate(all="ignore"):
                        sol = self._solve(s.alt, sub)
                        if self.test.method == "lrt":
                            sol0 = self._solve(s.null, sub)
                            out[i, k] = _lrt_p(sol0.objective, sol.objective, s.df)
                        else:
                            out[i, k] = wald_p(sol.beta, sol.vcov_beta, self.test.columns)
                    out[i, K + k] = float(_theta_singular(sol.theta, s.alt.tmap.sizes))
                except _FAILURES:
                    pass
        return out
