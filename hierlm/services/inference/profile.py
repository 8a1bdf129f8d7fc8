"""Likelihood profiles of linear mixed models and the confidence limits they give (lme4's ``profile``).

As lme4's ``profile.merMod`` (through ``devfun2``), the profile is that of the maximum-likelihood
deviance — a REML fit is refitted by ML first — over ψ = (sds and correlations in θ order, σ, β):

* a variance parameter ψ_w = x: ``d(ψ) = log|ΛᵀZᵀWZΛ + I| + pwrss(θ)/σ² + n log(2πσ²) − Σ log w``
  with θ = Λ/σ built from the sds and correlations, β profiled out exactly, and the other
  variance parameters (including σ) optimised numerically;
* a fixed effect β_j = x: the ML deviance with σ and the other β profiled out exactly,
  ``pwrss = r² + (x − β̂_j(θ))²/v_j(θ)`` from the same Cholesky factor, optimised over θ.

ζ(x) = sign(x − x̂)·√(d(x) − d̂); the limits solve ζ = ±z by bracketing and Brent's method
(lme4 interpolates a spline through a grid of ζ values instead; both target the same roots).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
from scipy import optimize

from ...design.covariance import lower_cholesky_of_product, tril_colmajor
from ...engines.frequentist.optimize import bobyqa
from ...errors import HierlmError
from .params import fit_params

__all__ = ["Profiler", "profile_limits", "lambdas_of_sdcor", "zeta_root"]

_LOG2PI = np.log(2 * np.pi)
_BIG = 1e300


def _factor_of_corr(C: np.ndarray) -> np.ndarray | None:
    """A square root M (M Mᵀ = C) of a correlation matrix; None if C is not positive semi-definite."""
    if C.shape[0] == 1:
        return np.ones((1, 1))
    if C.shape[0] == 2:
        r = C[1, 0]
        return np.array([[1.0, 0.0], [r, np.sqrt(max(0.0, 1 - r * r))]])
    w, V = np.linalg.eigh(C)
    if w.min() < -1e-10:
        return None
    return V * np.sqrt(np.maximum(w, 0.0))[None, :]


def lambdas_of_sdcor(vals: np.ndarray, sigma: float, sizes: list[int], transforms: list[np.ndarray]
                     ) -> list[np.ndarray] | None:
    """Internal relative factors λ (lower Cholesky, in the engine's column transforms) of the blocks whose
    sds and correlations are ``vals`` (lme4's ``.sig`` order) with residual scale ``sigma``; None where a
    block's correlations are not positive semi-definite."""
    lams, start = [], 0
    for p, T in zip(sizes, transforms):
        r, c = tril_colmajor(p)
        block = vals[start : start + len(r)]
        start += len(r)
        sd = block[r == c]
        C = np.eye(p)
        off = r != c
        C[r[off], c[off]] = block[off]
        C[c[off], r[off]] = block[off]
        M = _factor_of_corr(C)
        if M is None:
            return None
        lams.append(lower_cholesky_of_product(np.linalg.solve(T, (sd / sigma)[:, None] * M)))
    return lams


class Profiler:
    """ML profile of an :class:`~hierlm.fits.LmerFit` (see the module docstring).

    Parameters
    ----------
    fit : LmerFit
        REML fits are refitted by maximum likelihood, as lme4's ``profile`` does.
    """

    def __init__(self, fit):
        ml = fit.refit_ml() if fit.reml else fit
        self.fit = ml
        self.prob = ml._problem()
        if self.prob.reml:  # pragma: no cover - defensive
            raise HierlmError("internal: the profile needs the ML problem")
        self.base = float(ml.objective)
        self.sizes = list(self.prob.tmap.sizes)
        self.transforms = self.prob.tmap.transforms
        self.psi_hat = fit_params(ml)  # (.sig…, .sigma, β)
        self.nvar = len(self.psi_hat) - ml.design.p
        kinds = []
        for p in self.sizes:
            r, c = tril_colmajor(p)
            kinds += ["sd" if i == j else "cor" for i, j in zip(r, c)]
        self.kinds = kinds + ["sigma"]
        self.lower = np.array([{"sd": 0.0, "cor": -1.0, "sigma": 0.0}[k] for k in self.kinds])
        self.upper = np.array([{"sd": np.inf, "cor": 1.0, "sigma": np.inf}[k] for k in self.kinds])
        sig = ml.sigma_
        vpar = self.psi_hat[: self.nvar]
        self.scale = np.where(np.array(self.kinds) == "cor", 1.0, np.where(vpar > 1e-3 * sig, vpar, 0.1 * sig))
        self.se = np.sqrt(np.diag(ml.vcov_beta))
        th = ml.optinfo.get("theta_internal")
        self.theta_hat = np.asarray(th, float) if th is not None else self.prob.tmap.to_internal(ml.theta)
        if not np.isfinite(self.dev_psi(vpar)) or abs(self.dev_psi(vpar) - self.base) > 1e-6 * max(1, abs(self.base)):
            raise HierlmError("internal: the profiled deviance does not reproduce the ML deviance")

    # -- deviance as a function of the variance parameters ------------------------------------
    def lambdas_of(self, psi: np.ndarray) -> list[np.ndarray] | None:
        """Internal relative factors λ for sds/correlations ψ and σ = ψ[-1]."""
        return lambdas_of_sdcor(psi[:-1], psi[-1], self.sizes, self.transforms)

    def dev_psi(self, psi: np.ndarray) -> float:
        """ML deviance at (sds/correlations, σ), β profiled out (lme4's ``devfun2``)."""
        sigma = psi[-1]
        if not sigma > 0:
            return np.inf
        lams = self.lambdas_of(psi)
        f = None if lams is None else self.prob.cp.factor(lams)
        if f is None:
            return np.inf
        n = self.prob.n
        return f.logdet_re + f.pwrss / sigma**2 + n * (_LOG2PI + 2 * np.log(sigma)) - self.prob.ldW

    def _inner_var(self, w: int, x: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        others = np.array([i for i in range(self.nvar) if i != w])
        sc = self.scale[others]
        lb, ub = self.lower[others] / sc, self.upper[others] / sc
        psi = start.copy()
        psi[w] = x

        def f(z):
            psi[others] = z * sc
            return self.dev_psi(psi)

        z0 = np.clip(start[others] / sc, lb, ub)
        res = bobyqa(f, z0, lb, np.where(np.isfinite(ub), ub, _BIG), initial_step=0.1)
        out = start.copy()
        out[w] = x
        out[others] = res["x"] * sc
        return float(res["fun"]), out

    # -- deviance with one fixed effect held fixed ---------------------------------------------
    def _beta_dev(self, j: int, x: float, theta: np.ndarray) -> float:
        prob = self.prob
        f = prob.cp.factor(prob.tmap.lambdas(theta))
        if f is None:
            return np.inf
        q, p = prob.cp.q_re, prob.p
        RX = f.Lrr[q : q + p, q : q + p]
        ry = f.Lrr[q + p, q : q + p]
        c = sla.solve_triangular(RX, prob.TX[j], lower=True)  # a = TXᵀ e_j
        bj, v = float(c @ ry + prob.TX[j] @ prob.beta_shift), float(c @ c)
        pwrss = f.pwrss + (x - bj) ** 2 / v
        n = prob.n
        return f.logdet_re + n * (1 + _LOG2PI + np.log(pwrss / n)) - prob.ldW

    def _inner_beta(self, j: int, x: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        res = bobyqa(lambda th: self._beta_dev(j, x, th), start, self.prob.tmap.lower_bounds())
        return float(res["fun"]), np.asarray(res["x"])

    # -- ζ and its roots --------------------------------------------------------------------------
    def limits(self, i: int, z: float) -> tuple[float, float]:
        """(lower, upper) where ζ of parameter ``i`` (index into ψ) crosses ∓z."""
        est = self.psi_hat[i]
        if i < self.nvar:
            lo, hi, h = self.lower[i], self.upper[i], 0.15 * self.scale[i]
            inner, start0 = (lambda x, s: self._inner_var(i, x, s)), self.psi_hat[: self.nvar].copy()
        else:
            j = i - self.nvar
            lo, hi, h = -np.inf, np.inf, self.se[j]
            inner, start0 = (lambda x, s: self._inner_beta(j, x, s)), self.theta_hat.copy()
        seen: list[tuple[float, np.ndarray]] = [(est, start0)]
        memo: dict[float, float] = {est: 0.0}

        def zeta(x: float) -> float:
            if x in memo:
                return memo[x]
            start = min(seen, key=lambda t: abs(t[0] - x))[1]
            dev, sol = inner(x, start)
            seen.append((x, sol))
            memo[x] = float(np.sign(x - est) * np.sqrt(max(0.0, dev - self.base))) if np.isfinite(dev) else np.nan
            return memo[x]

        return zeta_root(zeta, est, -1, lo, h, z), zeta_root(zeta, est, +1, hi, h, z)


def zeta_root(zeta, est: float, side: int, bound: float, h: float, z: float) -> float:
    """Where the signed root deviance ``zeta`` crosses ``side·z``, stepping out from ``est`` by ``h`` (then Brent)."""
    target = side * z
    x0, z0 = est, 0.0
    step = h
    for _ in range(60):
        x1 = est + side * step if x0 == est else x0 + side * step
        if np.isfinite(bound) and (x1 - bound) * side >= 0:
            x1 = bound
        z1 = zeta(x1)
        if not np.isfinite(z1):
            return np.nan
        if abs(z1) >= z and np.sign(z1) == side:
            g = lambda x: zeta(x) - target
            return optimize.brentq(g, x0, x1, xtol=1e-9 * max(1.0, abs(est), abs(h)), rtol=1e-10)
        if x1 == bound:
            return bound  # ζ never reaches the cutoff: lme4 reports the bound
        slope = (z1 - z0) / (x1 - x0)
        x0, z0 = x1, z1
        # extrapolate linearly to the target (a little beyond), at most 4× the last step
        step = min(4 * step, abs((target - z1) / slope) * 1.1) if slope > 0 else 2 * step
        step = max(step, 1e-3 * h)
    return np.nan


def profile_limits(fit, which: list[int], z: float) -> np.ndarray:
    """Profile confidence limits ``(len(which), 2)`` for the parameters ``which`` (indices into
    ``(.sig…, .sigma, β)``) at ζ = ±z.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Yield ~ 1 + (1 | Batch)", hl.load_dataset("Dyestuff"))
    >>> profile_limits(m, [0], 1.959964).round(2).tolist()
    [[12.2, 84.06]]
    """
    prof = Profiler(fit)
    return np.array([prof.limits(i, z) for i in which]).reshape(len(which), 2)
