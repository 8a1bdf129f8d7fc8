"""Cumulative link mixed models (ordinal regression with random effects), as ``ordinal::clmm`` fits them.

The model for an ordered response with categories 1 … J (ordinal's parametrisation)::

    P(Yᵢ ≤ j | b) = F(αⱼ − ηᵢ),   ηᵢ = xᵢᵀβ + offsetᵢ + zᵢᵀb,   b ~ N(0, Σ),   α₁ < … < α_{J−1}

with F the latent distribution of the link (logistic, normal, Gumbel-min for ``cloglog``;
:func:`hierlm.design.links.latent_distribution`).  The random effects are spherical, ``b = Λu``, Λ from
lme4's θ (Cholesky factors of Σ, no residual scale).  For given (α, β, θ) the conditional modes ũ
minimise ``−2 Σ wᵢ log pᵢ + ‖u‖²`` by Newton steps with step halving; each step is a penalised
weighted least-squares solve with the *observed* weights ``Wᵢ = −∂² log pᵢ / ∂ηᵢ²`` (dense for small
models, lme4's blocked sparse Cholesky otherwise, :mod:`hierlm.engines.frequentist.pirls`).  The
Laplace deviance is then::

    −2 log L ≈ −2 Σ wᵢ log pᵢ(ũ) + ‖ũ‖² + log|ΛᵀZᵀWZΛ + I|

and, for a single scalar random effect, ``nAGQ > 1`` gives adaptive Gauss–Hermite quadrature around the
modes.  (α, β, θ) are found jointly by BOBYQA in internal coordinates (centred, scaled X; α as its first
value and log increments, so the thresholds stay ordered; θ in the scaled columns of
:mod:`hierlm.engines.frequentist.theta`), from the marginal category proportions.  The covariance of
(α, β, θ) is the inverse of the central finite-difference Hessian of −log L, as ``clmm``'s ``vcov``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from ...design.links import latent_distribution
from ...errors import HierlmError
from .glmm import _lambda_matrix, _z_rows
from .optimize import blas_threads, bobyqa
from .pirls import IrlsSystem
from .theta import ThetaMap, column_transform

__all__ = ["ClmmProblem", "ClmmSolution", "category_probabilities"]

DENSE_MAX = 100  # up to this many random effects each Newton step uses a dense Cholesky


@dataclass
class ClmmSolution:
    """The optimum of a cumulative link mixed model.

    Attributes
    ----------
    alpha : ndarray (J − 1,)
        Thresholds.
    beta : ndarray (p,)
        Coefficients of the fixed-effect columns (no intercept: the thresholds take its place).
    theta : ndarray
        lme4's θ of every block (lower Cholesky factor of Σ, column-major).
    b : list of ndarray
        Conditional modes per block, (levels, q), on the linear-predictor scale.
    cond_var : list of ndarray
        Their conditional covariances, (levels, q, q).
    objective : float
        −2 log-likelihood (Laplace, or AGQ for nAGQ > 1).
    vcov : ndarray
        Covariance of (α, β, θ) (inverse Hessian of −log L); NaN when the Hessian is not positive definite.
    gradient : ndarray
        Central finite-difference gradient of −log L at the optimum, in (α, β, θ).
    hessian : ndarray
        The Hessian of −log L in (α, β, θ).
    eta : ndarray (n,)
        xᵀβ + offset + zᵀb at the modes.
    """

    alpha: np.ndarray
    beta: np.ndarray
    theta: np.ndarray
    b: list[np.ndarray]
    cond_var: list[np.ndarray]
    objective: float
    vcov: np.ndarray
    gradient: np.ndarray
    hessian: np.ndarray
    eta: np.ndarray
    optinfo: dict = field(default_factory=dict)


def category_probabilities(alpha: np.ndarray, eta: np.ndarray, link: str) -> np.ndarray:
    """P(Y = j) for every row and category: ``F(αⱼ − η) − F(αⱼ₋₁ − η)`` (rows × J).

    Examples
    --------
    >>> category_probabilities(np.array([-1.0, 1.0]), np.array([0.0]), "logit").round(4)
    array([[0.2689, 0.4621, 0.2689]])
    """
    dist = latent_distribution(link)
    eta = np.asarray(eta, float)
    cum = dist.cdf(np.asarray(alpha, float)[None, :] - eta[:, None])
    cum = np.column_stack([np.zeros(len(eta)), cum, np.ones(len(eta))])
    return np.maximum(np.diff(cum, axis=1), 0.0)


class ClmmProblem:
    """A cumulative link mixed model ready to be optimised.

    Parameters
    ----------
    X : ndarray (n, p)
        Fixed-effect columns without the intercept.
    y : ndarray (n,)
        Category codes 0 … J − 1 (every category observed).
    ncat : int
        J, the number of categories.
    reterms : list of ReTerm
        The design's random-effects terms.
    link : {"logit", "probit", "cloglog"}
    weights, offset : ndarray (n,), optional

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> g = np.repeat(np.arange(10), 20)
    >>> x = rng.normal(size=200)
    >>> lat = 0.8 * x + rng.normal(size=10)[g] + rng.logistic(size=200)
    >>> y = np.digitize(lat, [-1.0, 1.0])
    >>> import hierlm as hl, pandas as pd
    >>> from hierlm.design import make_design
    >>> d = make_design("y ~ x + (1 | g)", pd.DataFrame({"y": y, "x": x, "g": g}))
    >>> sol = ClmmProblem(d.X[:, 1:], y, 3, d.reterms, "logit").solve()
    >>> sol.alpha.round(2).tolist(), sol.beta.round(2).tolist(), sol.theta.round(2).tolist()
    ([-1.04, 0.94], [0.91], [1.05])
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, ncat: int, reterms, link: str,
                 weights: np.ndarray | None = None, offset: np.ndarray | None = None):
        if not reterms:
            raise HierlmError("a cumulative link mixed model needs a random-effect term such as (1 | g)")
        self.dist = latent_distribution(link)
        self.link = link
        self.n, self.p = X.shape
        self.y = np.asarray(y, dtype=np.int64)
        self.ncat = int(ncat)
        self.w = np.ones(self.n) if weights is None else np.asarray(weights, float)
        self.offset = np.zeros(self.n) if offset is None else np.asarray(offset, float)
        self.xmean = X.mean(axis=0) if self.n else np.zeros(self.p)
        sd = X.std(axis=0) if self.n else np.ones(self.p)
        self.xscale = np.where(sd > 0, sd, 1.0)
        self.Xs = (X - self.xmean) / self.xscale
        self.reterms = reterms
        self.tmap = ThetaMap(sizes=[t.ncols for t in reterms],
                             transforms=[column_transform(t.values, t.columns, center=t.correlated) for t in reterms])
        self.terms_internal = [(t.index, t.values @ T) for t, T in zip(reterms, self.tmap.transforms)]
        self.nlevels = [t.nlevels for t in reterms]
        self.q = sum(t.nlevels * t.ncols for t in reterms)
        self.Z = sp.hstack([_z_rows(idx, V, L) for (idx, V), L in zip(self.terms_internal, self.nlevels)],
                           format="csr")
        self.dense = self.q <= DENSE_MAX
        self._irls: IrlsSystem | None = None  # the blocked system (larger models), structure worked out once
        self.scalar1 = len(reterms) == 1 and reterms[0].ncols == 1
        self.nevals = 0
        self.newton = 0  # Newton steps of the conditional modes
        self.gh: tuple[np.ndarray, np.ndarray] | None = None

    # -- parameters ------------------------------------------------------------------------------
    @property
    def npar(self) -> int:
        return self.ncat - 1 + self.p + self.tmap.ntheta

    def unpack(self, x: np.ndarray):
        """Internal x → centred thresholds α′, scaled β′ and internal θ."""
        k = self.ncat - 1
        a = np.cumsum(np.concatenate([x[:1], np.exp(x[1:k])]))
        return a, x[k : k + self.p], x[k + self.p :]

    def to_model(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Internal x → (α, β, θ) of the model as written."""
        a, bs, th = self.unpack(x)
        beta = bs / self.xscale
        return a + self.xmean @ beta, beta, self.tmap.to_original(th)

    def to_internal(self, alpha, beta, theta) -> np.ndarray:
        """(α, β, θ) of the model → internal x (α must be increasing)."""
        a = np.asarray(alpha, float) - self.xmean @ np.asarray(beta, float)
        d = np.diff(a)
        if np.any(d <= 0):
            raise HierlmError("the thresholds must be increasing")
        return np.concatenate([a[:1], np.log(d), np.asarray(beta, float) * self.xscale,
                               self.tmap.to_internal(np.asarray(theta, float))])

    # -- conditional log-likelihood ---------------------------------------------------------------
    def pieces(self, a: np.ndarray, eta: np.ndarray):
        """log pᵢ, ∂ log pᵢ/∂ηᵢ and Wᵢ = −∂² log pᵢ/∂ηᵢ² at η (a: the J − 1 thresholds)."""
        hi = np.append(a, np.inf)[self.y] - eta
        lo = np.append(-np.inf, a)[self.y] - eta
        d = self.dist
        fin_hi, fin_lo = np.isfinite(hi), np.isfinite(lo)
        h, lw = np.where(fin_hi, hi, 0.0), np.where(fin_lo, lo, 0.0)
        upper = lw > 0  # both limits in the upper tail: use the survival function
        Fh = np.where(fin_hi, np.where(upper, -d.sf(h), d.cdf(h)), np.where(upper, 0.0, 1.0))
        Fl = np.where(fin_lo, np.where(upper, -d.sf(lw), d.cdf(lw)), 0.0)
        p = Fh - Fl
        fh = np.where(fin_hi, d.pdf(h), 0.0)
        fl = np.where(fin_lo, d.pdf(lw), 0.0)
        dfh = np.where(fin_hi, d.dpdf(h), 0.0)
        dfl = np.where(fin_lo, d.dpdf(lw), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            lp = np.where(p > 0, np.log(np.maximum(p, 1e-300)), -np.inf)
            r = (fh - fl) / p
            W = r * r - (dfh - dfl) / p
        return lp, -r, W

    def zlu(self, u: np.ndarray, lams: list[np.ndarray]) -> np.ndarray:
        """Σₖ Zₖ Λₖ uₖ."""
        out = np.zeros(self.n)
        start = 0
        for (idx, V), lam, L in zip(self.terms_internal, lams, self.nlevels):
            p = V.shape[1]
            b = u[start : start + L * p].reshape(L, p) @ lam.T
            start += L * p
            out += V[:, 0] * b[idx, 0] if p == 1 else np.einsum("ij,ij->i", V, b[idx])
        return out

    def _newton_solve(self, lams, W: np.ndarray, z: np.ndarray):
        """Solve (ΛᵀZᵀWZΛ + I) u = ΛᵀZᵀW z; also log|ΛᵀZᵀWZΛ + I| and the factor (None if not PD)."""
        sw = np.sqrt(W)
        if self.scalar1:  # one scalar block: ΛᵀZᵀWZΛ + I is diagonal
            idx, V = self.terms_internal[0]
            lam, v, L = lams[0][0, 0], V[:, 0], self.nlevels[0]
            H = 1.0 + lam * lam * np.bincount(idx, weights=W * v * v, minlength=L)
            u = lam * np.bincount(idx, weights=W * v * z, minlength=L) / H
            return u, float(np.log(H).sum()), H
        if self.dense:
            ZL = (self.Z @ _lambda_matrix(lams, self.nlevels)).tocsr()
            ZLw = ZL.multiply(sw[:, None]).tocsr()
            A = (ZLw.T @ ZLw).toarray()
            A[np.diag_indices_from(A)] += 1.0
            try:
                L = sla.cholesky(A, lower=True)
            except np.linalg.LinAlgError:
                return None
            u = sla.cho_solve((L, True), ZLw.T @ (sw * z))
            return u, 2.0 * float(np.log(np.diag(L)).sum()), L
        if self._irls is None:
            self._irls = IrlsSystem(self.terms_internal, self.nlevels, np.zeros((self.n, 0)))
        cp = self._irls.update(W, z)
        f = cp.factor(lams)
        if f is None:
            return None
        _, us = cp.modes(f)
        return np.concatenate(us), f.logdet_re, (cp, f)

    def modes(self, a, eta0, lams, u=None, tol: float = 1e-10, maxit: int = 100):
        """Conditional modes ũ at thresholds a, fixed part η₀ and λ; None if no finite mode is found."""
        w = self.w
        u = np.zeros(self.q) if u is None else u
        eta = eta0 + self.zlu(u, lams)
        lp, s, W = self.pieces(a, eta)
        obj = -2.0 * float(w @ lp) + u @ u
        if not np.isfinite(obj):
            u = np.zeros(self.q)
            eta = eta0.copy()
            lp, s, W = self.pieces(a, eta)
            obj = -2.0 * float(w @ lp) + u @ u
            if not np.isfinite(obj):
                return None
        for _ in range(maxit):
            self.newton += 1
            Wp = np.maximum(w * W, 0.0)
            z = (eta - eta0) + np.divide(w * s, Wp, out=np.zeros(self.n), where=Wp > 0)
            out = self._newton_solve(lams, Wp, z)
            if out is None:
                return None
            unew = out[0]
            du = unew - u
            step = 1.0
            for _ in range(40):
                un = u + step * du
                eta_n = eta0 + self.zlu(un, lams)
                lp_n, s_n, W_n = self.pieces(a, eta_n)
                obj_n = -2.0 * float(w @ lp_n) + un @ un
                if obj_n <= obj + 1e-12 * abs(obj):
                    break
                step *= 0.5
            if not np.isfinite(obj_n):
                return None
            change = float(np.max(np.abs(un - u))) if self.q else 0.0
            u, eta, lp, s, W, obj = un, eta_n, lp_n, s_n, W_n, obj_n
            if change < tol or step < 1e-10:
                break
        Wp = np.maximum(w * W, 0.0)
        out = self._newton_solve(lams, Wp, np.ones(self.n))  # (any z ≠ 0: the blocked factor includes it)
        if out is None:
            return None
        return u, eta, lp, out[1], Wp, out[2]

    # -- objective ---------------------------------------------------------------------------------
    def deviance(self, x: np.ndarray, warm: dict | None = None) -> float:
        """−2 log L (Laplace / AGQ) at internal x."""
        self.nevals += 1
        a, bs, th = self.unpack(x)
        if not np.all(np.isfinite(a)):
            return np.inf
        lams = self.tmap.lambdas(th)
        eta0 = self.Xs @ bs + self.offset
        warm = {} if warm is None else warm
        r = self.modes(a, eta0, lams, warm.get("u"))
        if r is None:
            return np.inf
        u, _, lp, logdet, Wp, _ = r
        warm["u"] = u
        if self.gh is not None:
            return self._agq(a, eta0, lams, u, Wp)
        return float(-2.0 * (self.w @ lp) + u @ u + logdet)

    def _agq(self, a, eta0, lams, u, Wp) -> float:
        """Adaptive Gauss–Hermite deviance of a single scalar random-effects term."""
        idx, V = self.terms_internal[0]
        L, lam = self.nlevels[0], lams[0][0, 0]
        v = V[:, 0]
        H = 1.0 + lam * lam * np.bincount(idx, weights=Wp * v * v, minlength=L)
        sd = 1.0 / np.sqrt(H)
        total = np.zeros((len(self.gh[0]), L))
        for k, z in enumerate(self.gh[0]):
            uk = u + z * sd
            lp, _, _ = self.pieces(a, eta0 + lam * v * uk[idx])
            total[k] = np.bincount(idx, weights=self.w * lp, minlength=L) - 0.5 * uk * uk + 0.5 * z * z
        m = total.max(axis=0)
        logL = m + np.log(self.gh[1] @ np.exp(total - m)) + np.log(sd)
        return float(-2.0 * logL.sum())

    # -- optimum ---------------------------------------------------------------------------------
    def start(self) -> np.ndarray:
        """Thresholds from the marginal cumulative proportions, β = 0, lme4's θ start."""
        counts = np.bincount(self.y, weights=self.w, minlength=self.ncat)
        cum = np.cumsum(counts)[:-1] / counts.sum()
        cum = np.clip(cum, 1e-4, 1 - 1e-4)
        a = _quantile(self.dist, cum)
        a = np.maximum.accumulate(a + np.arange(len(a)) * 1e-3)
        return np.concatenate([a[:1], np.log(np.maximum(np.diff(a), 1e-3)), np.zeros(self.p), self.tmap.start()])

    def solve(self, nAGQ: int = 1) -> ClmmSolution:
        """Maximise the Laplace (nAGQ = 1) or AGQ likelihood; covariance from the Hessian."""
        with blas_threads(self.q if self.dense else 0):
            return self._solve(nAGQ)

    def _solve(self, nAGQ: int) -> ClmmSolution:
        t0 = time.perf_counter()
        if nAGQ > 1:
            if not self.scalar1:
                raise HierlmError(f"nAGQ = {nAGQ} needs a single scalar random effect such as (1 | g); use nAGQ=1")
            z, wq = np.polynomial.hermite_e.hermegauss(nAGQ)
            self.gh = (z, wq / wq.sum())
        k = self.ncat - 1
        x0 = self.start()
        lb = np.concatenate([np.full(k + self.p, -np.inf), self.tmap.lower_bounds()])
        warm: dict = {}
        step = np.concatenate([np.full(k + self.p, 0.5), np.full(self.tmap.ntheta, 0.3)])
        res = bobyqa(lambda x: self.deviance(x, warm), x0, lb, initial_step=step, ftol_rel=1e-14, ftol_abs=1e-10)
        x = res["x"]
        for i in np.flatnonzero((lb == 0) & (x > 0) & (x < 1e-4)):  # a variance at the boundary: try 0
            trial = x.copy()
            trial[i] = 0.0
            if (ft := self.deviance(trial, warm)) <= res["fun"]:
                x, res["fun"] = trial, ft
        par = np.concatenate(self.to_model(x))
        grad, hess, vcov = self._curvature(par)
        par, grad, polished = self._polish(par, grad, hess, float(res["fun"]))
        alpha, beta, theta = par[:k], par[k : k + self.p], par[k + self.p :]
        x = self.to_internal(alpha, beta, theta)
        objective = self.deviance(x, warm)
        a, bs, th = self.unpack(x)
        lams = self.tmap.lambdas(th)
        eta0 = self.Xs @ bs + self.offset
        u, eta, _, _, _, fac = self.modes(a, eta0, lams, warm.get("u"))
        b, cond = self._effects(u, lams, fac)
        info = {"nevals": res["nevals"], "newton": self.newton, "message": res["message"], "polished": polished,
                "seconds": time.perf_counter() - t0, "nAGQ": nAGQ, "dense": self.dense, "theta_internal": th}
        return ClmmSolution(alpha=alpha, beta=beta, theta=theta, b=b, cond_var=cond, objective=float(objective),
                            vcov=vcov, gradient=grad, hessian=hess, eta=eta + self.xmean @ beta, optinfo=info)

    def _polish(self, par, grad, hess, fun: float):
        """One Newton step on −log L from BOBYQA's optimum (variances at 0 stay there); kept if it lowers
        the deviance, with the gradient recomputed there."""
        k = self.ncat - 1 + self.p
        lb = np.concatenate([np.full(k, -np.inf), self.tmap.lower_bounds()])
        free = ~((lb == 0) & (par == 0))
        try:
            step = np.linalg.solve(hess[np.ix_(free, free)], grad[free])
        except np.linalg.LinAlgError:
            return par, grad, False
        new = par.copy()
        new[free] -= step
        if np.any(new[lb == 0] < 0) or not np.all(np.isfinite(new)):
            return par, grad, False
        if self.model_deviance(new, {}) >= fun:
            return par, grad, False
        return new, self._curvature(new, hessian=False)[0], True

    def _effects(self, u, lams, fac) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """b = Λu per block as (levels, q) and the conditional covariances Λ H⁻¹ Λᵀ per level."""
        b, cond, start = [], [], 0
        if self.scalar1:
            blocks = [(1.0 / fac)[:, None, None]]
        elif self.dense:
            Hinv = sla.cho_solve((fac, True), np.eye(self.q))
            blocks = []
            for L, t in zip(self.nlevels, self.reterms):
                p = t.ncols
                k = L * p
                Hb = Hinv[start : start + k, start : start + k]
                blocks.append(np.stack([Hb[i * p : (i + 1) * p, i * p : (i + 1) * p] for i in range(L)]))
                start += k
        else:
            cp, f = fac
            blocks = cp.u_cond_var(f, cp.solve(f)[2])
        start = 0
        for lam, T, t, V in zip(lams, self.tmap.transforms, self.reterms, blocks):
            k = t.nlevels * t.ncols
            b.append((u[start : start + k].reshape(t.nlevels, t.ncols) @ lam.T) @ T.T)
            start += k
            M = T @ lam
            cond.append(np.matmul(np.matmul(M, V), M.T))
        return b, cond

    def model_deviance(self, par: np.ndarray, warm: dict) -> float:
        """−2 log L at (α, β, θ) of the model, stacked (np.inf where the thresholds are not increasing)."""
        k = self.ncat - 1
        alpha, beta, theta = par[:k], par[k : k + self.p], par[k + self.p :]
        if np.any(np.diff(alpha) <= 0):
            return np.inf
        lb = self.tmap.lower_bounds()
        theta = np.where(np.isfinite(lb), np.abs(theta), theta)
        return self.deviance(self.to_internal(alpha, beta, theta), warm)

    def _curvature(self, par: np.ndarray, hessian: bool = True):
        """Gradient and Hessian of −log L in (α, β, θ) by central differences; vcov = H⁻¹."""
        warm: dict = {}
        k = self.ncat - 1
        self.deviance(self.to_internal(par[:k], par[k : k + self.p], par[k + self.p :]), warm)

        def fun(z):
            return 0.5 * self.model_deviance(z, dict(warm))

        m = len(par)
        h = 1e-4 * np.maximum(np.abs(par), 0.1)
        E = np.diag(h)
        fp = np.array([fun(par + E[i]) for i in range(m)])
        fm = np.array([fun(par - E[i]) for i in range(m)])
        grad = (fp - fm) / (2 * h)
        if not hessian:
            return grad, None, None
        f0 = fun(par)
        H = np.diag((fp - 2 * f0 + fm) / h**2)
        for i in range(m):
            for j in range(i):
                fpp, fmm = fun(par + E[i] + E[j]), fun(par - E[i] - E[j])
                H[i, j] = H[j, i] = (fpp - fp[i] - fp[j] + 2 * f0 - fm[i] - fm[j] + fmm) / (2 * h[i] * h[j])
        try:
            np.linalg.cholesky(H)
            vcov = np.linalg.inv(H)
            vcov = 0.5 * (vcov + vcov.T)
        except np.linalg.LinAlgError:
            vcov = np.full((m, m), np.nan)
        return grad, H, vcov


def _quantile(dist, p: np.ndarray) -> np.ndarray:
    """F⁻¹(p) by bisection (F increasing), for the starting thresholds."""
    lo, hi = np.full(len(p), -40.0), np.full(len(p), 40.0)
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        below = dist.cdf(mid) < p
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)
