"""Likelihood profiles of generalised linear mixed models and their confidence limits (lme4's
``profile.merMod`` / ``confint`` for ``glmer`` fits).

The profiled quantity is the fit's own deviance — the Laplace approximation (or adaptive
Gauss–Hermite quadrature for ``nAGQ > 1``) with the conditional modes found by PIRLS — as a function
of ψ = (sds and correlations in θ order, β).  For ψ_i = x, every other component of ψ is optimised
(BOBYQA, warm-started from the nearest profiled point), and ζ(x) = sign(x − x̂)·√(d(x) − d̂).  The
limits solve ζ = ±z by stepping out and Brent's method, as for linear mixed models
(:mod:`.profile`); lme4 interpolates a spline through a grid of ζ values instead, and both target the
same roots.

Families with an estimated dispersion (Gamma, inverse Gaussian) are not profiled: lme4 profiles
their σ through a different deviance, and the Wald or bootstrap intervals are offered instead.  A
negative binomial's θ is held at its estimate, as lme4's profile of a ``glmer.nb`` fit does.
"""

from __future__ import annotations

import numpy as np

from ...design.covariance import sdcor_of_theta, tril_colmajor
from ...engines.frequentist.glmm import GlmmProblem
from ...engines.frequentist.optimize import bobyqa
from ...errors import HierlmError
from .profile import lambdas_of_sdcor, zeta_root

__all__ = ["GlmmProfiler", "glmm_profile_limits"]

_BIG = 1e300


class GlmmProfiler:
    """Profile of a :class:`~hierlm.fits.GlmerFit`'s deviance over (sds/correlations, β).

    Parameters
    ----------
    fit : GlmerFit
    """

    def __init__(self, fit):
        if fit.family.has_dispersion:
            raise HierlmError(f"profile intervals are not available for family='{fit.family.name}' (a family with "
                              "a dispersion parameter); use confint(method='wald') or method='boot'")
        if fit.nAGQ == 0:
            raise HierlmError("profile intervals need the Laplace or quadrature deviance; this fit used nAGQ=0 "
                              "(refit with nAGQ=1, or use confint(method='wald'))")
        self.fit = fit
        prob = GlmmProblem(fit.design, fit.family, fit.response)
        if fit.nAGQ > 1:
            z, w = np.polynomial.hermite_e.hermegauss(fit.nAGQ)
            prob.gh = (z, w / w.sum())
            prob.saturated = -2.0 * prob.family.loglik(prob.resp, prob.resp.y)
        self.prob = prob
        self.sizes = [t.ncols for t in fit.design.reterms]
        self.warm: dict = {"u": np.zeros(prob.q)}
        kinds = []
        for p in self.sizes:
            r, c = tril_colmajor(p)
            kinds += ["sd" if i == j else "cor" for i, j in zip(r, c)]
        self.nvar = len(kinds)
        self.kinds = kinds + ["beta"] * fit.design.p
        self.lower = np.array([{"sd": 0.0, "cor": -1.0, "beta": -np.inf}[k] for k in self.kinds])
        self.upper = np.array([{"sd": np.inf, "cor": 1.0, "beta": np.inf}[k] for k in self.kinds])
        vpar = sdcor_of_theta(fit.theta, self.sizes, 1.0)
        self.psi_hat = np.concatenate([vpar, fit.beta])
        se = np.sqrt(np.diag(fit.vcov_beta))
        vscale = np.where(np.array(kinds) == "cor", 0.25, np.maximum(vpar, 0.05))
        self.scale = np.concatenate([vscale, np.where(se > 0, se, 1.0)])
        self.base = self.deviance(self.psi_hat)
        if not np.isfinite(self.base):  # pragma: no cover - defensive
            raise HierlmError("internal: the profiled deviance is not finite at the estimates")

    def deviance(self, psi: np.ndarray) -> float:
        """The fit's deviance at ψ = (sds/correlations, β), the conditional modes found by PIRLS."""
        lams = lambdas_of_sdcor(psi[: self.nvar], 1.0, self.sizes, self.prob.tmap.transforms)
        if lams is None:
            return np.inf
        beta_int = np.linalg.solve(self.prob.TX, psi[self.nvar :])
        return self.prob._eval(lams, beta_int, False, self.warm, tol=1e-10)

    def _inner(self, i: int, x: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        others = np.array([k for k in range(len(self.psi_hat)) if k != i])
        sc = self.scale[others]
        lb, ub = self.lower[others] / sc, self.upper[others] / sc
        psi = start.copy()
        psi[i] = x

        def f(zv):
            psi[others] = zv * sc
            return self.deviance(psi)

        z0 = np.clip(start[others] / sc, lb, ub)
        res = bobyqa(f, z0, np.where(np.isfinite(lb), lb, -_BIG), np.where(np.isfinite(ub), ub, _BIG),
                     initial_step=0.1)
        out = start.copy()
        out[i] = x
        out[others] = res["x"] * sc
        return float(res["fun"]), out

    def limits(self, i: int, z: float) -> tuple[float, float]:
        """(lower, upper) where ζ of parameter ``i`` (index into ψ) crosses ∓z."""
        est = self.psi_hat[i]
        seen: list[tuple[float, np.ndarray]] = [(est, self.psi_hat.copy())]
        memo: dict[float, float] = {est: 0.0}

        def zeta(x: float) -> float:
            if x in memo:
                return memo[x]
            start = min(seen, key=lambda t: abs(t[0] - x))[1]
            dev, sol = self._inner(i, x, start)
            seen.append((x, sol))
            if dev < self.base - 1e-8 * max(1.0, abs(self.base)):  # a better optimum than the fit's
                self.base = dev
            memo[x] = float(np.sign(x - est) * np.sqrt(max(0.0, dev - self.base))) if np.isfinite(dev) else np.nan
            return memo[x]

        h = 0.15 * self.scale[i] if self.kinds[i] != "beta" else self.scale[i]
        return (zeta_root(zeta, est, -1, self.lower[i], h, z), zeta_root(zeta, est, +1, self.upper[i], h, z))


def glmm_profile_limits(fit, which: list[int], z: float) -> np.ndarray:
    """Profile confidence limits ``(len(which), 2)`` of a GLMM for the parameters ``which`` (indices into
    ``(.sig…, β)``) at ζ = ±z.

    Examples
    --------
    >>> import hierlm as hl
    >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
    ...              family="binomial")
    >>> glmm_profile_limits(g, [0, 1], 1.959964).round(3).tolist()
    [[0.346, 1.1], [-1.901, -0.948]]
    """
    prof = GlmmProfiler(fit)
    return np.array([prof.limits(i, z) for i in which]).reshape(len(which), 2)
