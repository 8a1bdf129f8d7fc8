"""lme4's Laplace approximation for generalised linear mixed models, and its optimum.

For θ (and β) the conditional modes ũ of the spherical random effects come from PIRLS: penalised
iteratively reweighted least squares on the blocked system of :mod:`hierlm.engines.frequentist.blocked`, rebuilt
with the IRLS weights ``w = wt (dμ/dη)² / V(μ)`` and the working response at every iteration,
with step halving on the penalised deviance ``Σ dev_resid + ‖u‖²``.  The Laplace deviance is then
(as lme4's ``glmResp::Laplace``)::

    d(θ, β) = −2 log p(y | ũ) + ‖ũ‖² + log|Λᵀ ZᵀWZ Λ + I|

with −2 log p(y | u) the family's ``aic()`` term (R's constants included).  Every link goes through the
same general PIRLS (working weights ``wt (dμ/dη)² / V(μ)``, never the canonical-link shortcut).  For
Gamma and inverse Gaussian, as in lme4, PIRLS runs at dispersion 1 (the penalty ‖u‖² is not scaled),
the ``aic()`` term uses the mean deviance as dispersion (and adds 2), and σ is √(pwrss / n) with pwrss
the Pearson χ² plus ‖u‖² (:meth:`GlmmProblem.sigma_at`).  The optimum is found
as lme4 finds it: stage 1 (lme4's ``nAGQ = 0``) minimises over θ with β updated inside PIRLS;
stage 2 minimises over (θ, β) jointly with BOBYQA, from the stage-1 values.  Internally θ uses
the scaled term columns of :mod:`hierlm.engines.frequentist.theta`, β is centred/scaled (``X T``) and, in stage 2,
whitened by the stage-1 covariance (β = β₁ + C δ).  vcov(β) is lme4's default: 2 H⁻¹ with H the
central finite-difference Hessian of d over (θ, β).  PIRLS is iterated to convergence (lme4's
default ``tolPwrss = 1e-7`` stops after a couple of steps, which shifts its deviance by ~1e-3 and
its standard errors by up to ~1%).

Small models (random + fixed effects ≤ ``DENSE_MAX``) solve each PIRLS step with a dense Cholesky
of ``[ZΛ X]ᵀW[ZΛ X] + I``: the same numbers as the blocked system, without its per-weights symbolic
set-up.  The final system (RX, condVar) always comes from :class:`~hierlm.engines.frequentist.blocked.CrossProducts`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.optimize import minimize_scalar

from ...design import FAMILIES, Design, Family, GlmResponse
from ...errors import HierlmError
from .blocked import CrossProducts, Factor
from .optimize import blas_threads, minimize_theta
from .pirls import IrlsSystem
from .theta import ThetaMap, column_transform

__all__ = ["GlmmProblem", "GlmmSolution", "PirlsResult", "nb_theta_ml"]

STAGE1_FTOL, STAGE2_FTOL = 1e-4, 1e-8  # absolute deviance tolerances of the two BOBYQA stages
DENSE_MAX = 400  # up to this many random + fixed effects PIRLS uses a dense Cholesky (no symbolic set-up)


@dataclass
class PirlsResult:
    """Conditional modes at one (θ, β): spherical u, β (internal), η, μ and the Laplace deviance."""

    u: np.ndarray
    beta: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    pdev: float  # Σ dev_resid + ‖u‖²
    logdet: float  # log|Λᵀ ZᵀWZ Λ + I|
    laplace: float
    iterations: int


@dataclass
class GlmmSolution:
    """The optimum of a GLMM, in the model's own parametrisation."""

    theta: np.ndarray
    beta: np.ndarray
    b: list[np.ndarray]
    objective: float  # Laplace deviance = −2 logLik
    eta: np.ndarray
    mu: np.ndarray
    vcov_beta: np.ndarray
    cond_var: list[np.ndarray]
    theta_internal: np.ndarray
    beta_internal: np.ndarray
    nb_theta: float | None = None
    sigma: float = 1.0  # families with a dispersion (Gamma, inverse Gaussian): lme4's sqrt(pwrss / n)
    optinfo: dict = field(default_factory=dict)


class GlmmProblem:
    """A GLMM ready to be optimised.

    Parameters
    ----------
    design : Design
    family : Family
    response : GlmResponse
        The response in canonical form (:func:`hierlm.design.prepare_response`).

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.design import make_design
    >>> from hierlm.design import get_family, prepare_response
    >>> d = make_design("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"))
    >>> prob = GlmmProblem(d, get_family("binomial"), prepare_response("binomial", d.response_value))
    >>> round(prob.solve().objective, 3)
    184.053
    """

    def __init__(self, design: Design, family: Family, response: GlmResponse):
        if not design.reterms:
            raise HierlmError(
                f"the formula '{design.formula.text}' has no random-effect term such as (1 | g); "
                "for a model without random effects use an ordinary GLM"
            )
        self.design, self.family, self.resp = design, family, response
        self.n, self.p = design.X.shape
        terms = design.reterms
        self.tmap = ThetaMap(
            sizes=[t.ncols for t in terms],
            transforms=[column_transform(t.values, t.columns, center=t.correlated) for t in terms],
        )
        self.TX = column_transform(design.X, design.xnames, center=True)
        self.terms_internal = [(t.index, t.values @ T) for t, T in zip(terms, self.tmap.transforms)]
        self.nlevels = [t.nlevels for t in terms]
        self.q = sum(t.nlevels * t.ncols for t in terms)
        self.X = design.X @ self.TX
        self.X0 = np.zeros((self.n, 0))
        self.offset = np.asarray(design.offset, float)
        self.y, self.wt = response.y, response.weights
        self.q1 = self.nlevels[0] * terms[0].ncols
        self.nevals = 0
        self.dense = self.q + self.p <= DENSE_MAX
        self._zs = None
        self.gh: tuple[np.ndarray, np.ndarray] | None = None
        self.saturated = 0.0

    # -- pieces ---------------------------------------------------------------------------------
    def zlu(self, u: np.ndarray, lams: list[np.ndarray]) -> np.ndarray:
        """Σₖ Zₖ Λₖ uₖ (internal columns)."""
        out = np.zeros(self.n)
        start = 0
        for (idx, V), lam, L in zip(self.terms_internal, lams, self.nlevels):
            p = V.shape[1]
            b = u[start : start + L * p].reshape(L, p) @ lam.T
            start += L * p
            out += V[:, 0] * b[idx, 0] if p == 1 else np.einsum("ij,ij->i", V, b[idx])
        return out

    def _pdev(self, mu: np.ndarray, u: np.ndarray) -> float:
        return float(self.family.dev_resids(self.y, mu, self.wt).sum() + u @ u)

    def working(self, eta: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """IRLS weights ``wt (dμ/dη)² / V(μ)`` and working response (without the offset) at η."""
        me = self.family.link.mu_eta(eta)
        return self.wt * me * me / self.family.variance(mu), eta - self.offset + (self.y - mu) / me

    def irls_system(self, eta: np.ndarray, mu: np.ndarray, X: np.ndarray, xb: np.ndarray | float = 0.0):
        """Cross products of the weighted least-squares problem of one PIRLS iteration."""
        w, z = self.working(eta, mu)
        return CrossProducts(self.terms_internal, self.nlevels, X, z - xb, np.sqrt(w))

    def wls_solve(self, lams, eta, mu, beta, update_beta: bool):
        """One PIRLS solve at η: new u, β and log|ΛᵀZᵀWZΛ + I| (None if not positive definite).

        The blocked system's structure is worked out once per fit and only its numbers are refreshed
        (:class:`~hierlm.engines.frequentist.pirls.IrlsSystem`)."""
        irls = self.__dict__.setdefault("_irls", {})
        if update_beta not in irls:
            irls[update_beta] = IrlsSystem(self.terms_internal, self.nlevels, self.X if update_beta else self.X0)
        w, z = self.working(eta, mu)
        out = irls[update_beta].solve(lams, w, z if update_beta else z - self.X @ beta)
        if out is None:
            return None
        return out[0], (out[1] if update_beta else beta), out[2]

    def _dense_solve(self, lams, eta, mu, beta, update_beta: bool):
        """The same solve with a dense Cholesky of [ZΛ X]ᵀW[ZΛ X] + I (small q: no symbolic set-up)."""
        w, z = self.working(eta, mu)
        if self._zs is None:
            self._zs = sp.hstack([_z_rows(idx, V, L) for (idx, V), L in zip(self.terms_internal, self.nlevels)],
                                 format="csr")
        ZL = self._zs @ _lambda_matrix(lams, self.nlevels)
        ZLw = ZL.multiply(w[:, None]).tocsr()
        return augmented_solve((ZL.T @ ZLw).toarray(), (ZLw.T @ self.X).T if update_beta else None, self.X, w, z,
                               ZLw, beta)

    def pirls(self, lams: list[np.ndarray], beta: np.ndarray | None, u: np.ndarray | None,
              update_beta: bool, tol: float = 1e-10, maxit: int = 100) -> PirlsResult | None:
        """Conditional modes at λ (and β unless ``update_beta``), from u (None: R's mustart)."""
        link = self.family.link
        if u is None:
            u = np.zeros(self.q)
            beta = np.zeros(self.p) if beta is None else beta
            mu = self.family.mustart(self.resp)
            eta = link.linkfun(mu)
            if not update_beta:
                eta = self.offset + self.X @ beta
                mu = link.linkinv(eta)
            pdev = np.inf
        else:
            eta = self.offset + self.X @ beta + self.zlu(u, lams)
            mu = link.linkinv(eta)
            pdev = self._pdev(mu, u)
            if not np.isfinite(pdev):  # the warm start leaves the family's range at this λ: start afresh
                return self.pirls(lams, None if update_beta else beta, None, update_beta, tol, maxit)
        for it in range(1, maxit + 1):
            out = self.wls_solve(lams, eta, mu, beta, update_beta)
            if out is None:
                return None
            unew, bnew, logdet = out
            step, du, db = 1.0, unew - u, bnew - beta
            for _ in range(30):
                un, bn = u + step * du, beta + step * db
                eta_n = self.offset + self.X @ bn + self.zlu(un, lams)
                mu_n = link.linkinv(eta_n)
                pdev_n = self._pdev(mu_n, un)
                if pdev_n <= pdev + 1e-11 * abs(pdev_n) + 1e-11:
                    break
                step *= 0.5
            if not np.isfinite(pdev_n):  # no step stays inside the family's range (μ ≤ 0 for Gamma, ...)
                return None
            change = float(np.max(np.abs(eta_n - eta)))
            u, beta, eta, mu, pdev = un, bn, eta_n, mu_n, pdev_n
            if change < tol or step < 1e-8:
                break
        return PirlsResult(u, beta, eta, mu, pdev, logdet, self.family.aic(self.resp, mu) + u @ u + logdet, it)

    # -- objectives -----------------------------------------------------------------------------
    def agq_deviance(self, lams, r: PirlsResult) -> float:
        """lme4's adaptive Gauss-Hermite deviance (one scalar random-effects block), on the scale of
        the Laplace deviance (lme4 itself drops the saturated log-likelihood constant for nAGQ > 1)."""
        idx, V = self.terms_internal[0]
        L, lam = self.nlevels[0], lams[0][0, 0]
        w, _ = self.working(r.eta, r.mu)
        sd = 1.0 / np.sqrt(1.0 + lam * lam * np.bincount(idx, weights=w * V[:, 0] ** 2, minlength=L))
        fixed = r.eta - lam * V[:, 0] * r.u[idx]

        def devc(u):
            mu = self.family.link.linkinv(fixed + lam * V[:, 0] * u[idx])
            return np.bincount(idx, weights=self.family.dev_resids(self.y, mu, self.wt), minlength=L) + u * u

        d0 = devc(r.u)
        mult = np.zeros(L)
        for z, wk in zip(*self.gh):
            mult += wk if z == 0 else wk * np.exp(-0.5 * (devc(r.u + z * sd) - d0) + 0.5 * z * z)
        return float(d0.sum() - 2.0 * np.log(sd).sum() - 2.0 * np.log(mult).sum() + self.saturated)

    def _eval(self, lams, beta, update_beta, warm, tol: float = 1e-7) -> float:
        self.nevals += 1
        r = self.pirls(lams, beta, warm.get("u"), update_beta, tol=tol)
        if r is None or not np.isfinite(r.laplace):
            return np.inf
        warm["u"] = r.u
        if update_beta:
            warm["beta"] = r.beta
        return self.agq_deviance(lams, r) if self.gh is not None and not update_beta else r.laplace

    def stage1(self, warm: dict, start: np.ndarray | None = None, ftol: float = STAGE1_FTOL) -> tuple[np.ndarray, dict]:
        """lme4's nAGQ = 0 stage: minimise over internal θ with β profiled inside PIRLS."""
        lb = self.tmap.lower_bounds()
        x0 = self.tmap.start() if start is None else np.maximum(start, lb)
        res = minimize_theta(lambda th: self._eval(self.tmap.lambdas(th), warm.get("beta"), True, warm), x0, lb,
                        ftol_abs=ftol)
        return res["x"], res

    def _stage2_fun(self, x, beta0, C, warm, nb: bool, tol: float = 1e-7) -> float:
        """Stage-2 objective at x = (internal θ, δ[, log θ_NB]) with β = β₁ + C δ."""
        nt = self.tmap.ntheta
        if nb:
            self.family = self.family.with_theta(np.exp(x[-1]))
            x = x[:-1]
        return self._eval(self.tmap.lambdas(x[:nt]), beta0 + C @ x[nt:], False, warm, tol)

    # -- results --------------------------------------------------------------------------------
    def final_system(self, lams, r: PirlsResult) -> tuple[CrossProducts, Factor]:
        """The blocked system with X at the weights of the conditional modes (RX and condVar)."""
        cp = self.irls_system(r.eta, r.mu, self.X)
        return cp, cp.factor(lams)

    def rx_vcov(self, cp: CrossProducts, f: Factor) -> np.ndarray:
        """(RXᵀRX)⁻¹ for internal β (the conditional covariance used by nAGQ = 0 fits)."""
        k = cp.q_re
        RXinv = sla.solve_triangular(f.Lrr[k : k + self.p, k : k + self.p], np.eye(self.p), lower=True)
        return RXinv.T @ RXinv

    def solve(self, nAGQ: int = 1, nb: bool = False) -> GlmmSolution:
        """Optimise (stage 1, then stage 2 unless ``nAGQ == 0``) and return the solution.

        ``nb=True`` also estimates the negative-binomial θ (jointly with θ and β in stage 2, which
        is the optimum of lme4's ``glmer.nb`` profile over θ).  ``nAGQ > 1`` (one scalar block)
        uses adaptive Gauss-Hermite quadrature in stage 2.
        """
        with blas_threads(max(self.q + self.p if self.dense else 0, self.q - self.q1 + self.p)):
            return self._solve(nAGQ, nb)

    def _solve(self, nAGQ: int, nb: bool) -> GlmmSolution:
        t0 = time.perf_counter()
        warm: dict = {}
        nt = self.tmap.ntheta
        if nAGQ > 1:
            z, w = np.polynomial.hermite_e.hermegauss(nAGQ)
            self.gh = (z, w / w.sum())
            self.saturated = -2.0 * self.family.loglik(self.resp, self.resp.y)
        nbfam = self.family
        if nb:
            self.family = FAMILIES["poisson"]
        ftol1 = STAGE1_FTOL if nAGQ > 0 else STAGE2_FTOL  # nAGQ = 0: stage 1 is the fit
        theta, res1 = self.stage1(warm, ftol=ftol1)
        info: dict = {"stage1_nevals": res1["nevals"], "stage1_fun": res1["fun"]}
        if nb:
            r = self.pirls(self.tmap.lambdas(theta), warm["beta"], warm["u"], False)
            self.family = nbfam.with_theta(nb_theta_ml(self.y, r.mu, self.resp.prior_weights))
            theta, _ = self.stage1(warm, theta, ftol1)
        lams = self.tmap.lambdas(theta)
        r = self.pirls(lams, warm["beta"], warm["u"], True)
        cp, f = self.final_system(lams, r)
        vcov_i = self.rx_vcov(cp, f)
        if nAGQ > 0:
            C = np.linalg.cholesky(vcov_i)
            beta0 = r.beta.copy()
            warm["u"] = r.u
            lb = np.concatenate([self.tmap.lower_bounds(), np.full(self.p, -np.inf)])
            x0 = np.concatenate([theta, np.zeros(self.p)])
            step = np.concatenate([np.maximum(0.1, 0.1 * np.abs(theta)), np.full(self.p, 0.5)])
            if nb:
                lb, x0, step = np.append(lb, -np.inf), np.append(x0, np.log(self.family.theta)), np.append(step, 0.2)
            fun = lambda x: self._stage2_fun(x, beta0, C, warm, nb)
            res = minimize_theta(fun, x0, lb, initial_step=step, ftol_rel=1e-12, ftol_abs=STAGE2_FTOL)
            x = res["x"]
            for i in np.flatnonzero((lb == 0) & (x > 0) & (x < 1e-5)):  # lme4's boundary check
                trial = x.copy()
                trial[i] = 0.0
                if (ft := fun(trial)) <= res["fun"]:
                    x, res["fun"] = trial, ft
            if nb:
                self.family = self.family.with_theta(np.exp(x[-1]))
                x = x[:-1]
            theta = x[:nt]
            lams = self.tmap.lambdas(theta)
            r = self.pirls(lams, beta0 + C @ x[nt:], warm["u"], False)
            info.update(stage2_nevals=res["nevals"], message=res["message"])
            vh, H, grad, f0 = self._hessian_vcov(x, beta0, C, r.u)
            polished = self._polish(x, H, grad, f0, lb[: len(x)], beta0, C, r.u)
            info["polished"] = polished is not None
            if polished is not None:  # BOBYQA stops on a flat valley: one Newton step finishes the descent
                x = polished
                theta = x[:nt]
                lams = self.tmap.lambdas(theta)
                r = self.pirls(lams, beta0 + C @ x[nt:], r.u, False)
            cp, f = self.final_system(lams, r)
            if vh is None:
                info["vcov_warning"] = ("the finite-difference Hessian is not positive definite; "
                                        "vcov computed from RX (as lme4 falls back)")
            else:
                vcov_i = vh
        objective = self.agq_deviance(lams, r) if nAGQ > 1 else r.laplace
        _, _, LR1 = cp.solve(f)
        b, cond, start = [], [], 0
        for lam, T, t, V in zip(lams, self.tmap.transforms, self.design.reterms, cp.u_cond_var(f, LR1)):
            k = t.nlevels * t.ncols
            b.append((r.u[start : start + k].reshape(t.nlevels, t.ncols) @ lam.T) @ T.T)
            start += k
            M = T @ lam
            cond.append(np.matmul(np.matmul(M, V), M.T))
        info.update(fun=objective, seconds=time.perf_counter() - t0, nevals=self.nevals, dense=self.dense)
        sigma = self.sigma_at(r)
        return GlmmSolution(
            theta=self.tmap.to_original(theta), beta=self.TX @ r.beta, b=b, objective=float(objective),
            eta=r.eta, mu=r.mu, vcov_beta=self.TX @ vcov_i @ self.TX.T, cond_var=cond,
            theta_internal=np.asarray(theta, float), beta_internal=r.beta,
            nb_theta=self.family.theta if nb else None, sigma=sigma, optinfo=info,
        )

    def sigma_at(self, r: PirlsResult) -> float:
        """lme4's ``sigma()`` at the conditional modes: √(pwrss / n), pwrss = Σ squared Pearson residuals
        + ‖u‖² (families with a dispersion: Gamma, inverse Gaussian); 1 for the others."""
        if not self.family.has_dispersion:
            return 1.0
        wrss = float(np.sum(self.wt * (self.y - r.mu) ** 2 / self.family.variance(r.mu)))
        return float(np.sqrt((wrss + r.u @ r.u) / self.n))

    def _converged_fun(self, beta0, C, u):
        """The stage-2 deviance at (internal θ, δ) with PIRLS converged to 1e-10 from the modes u."""
        nt = self.tmap.ntheta
        return lambda z: self._eval(self.tmap.lambdas(z[:nt]), beta0 + C @ z[nt:], False, {"u": u}, 1e-10)

    def _hessian_vcov(self, x, beta0, C, u):
        """vcov of internal β: 2 H⁻¹ of the deviance over (θ, δ), central differences (lme4's
        ``deriv12``), mapped back through β = β₁ + C δ (None if H is not positive definite); also H, the
        central-difference gradient and the deviance at x."""
        nt = self.tmap.ntheta
        # 1e-4 (lme4's deriv12), relative for large θ (identity / inverse links on a raw scale: θ in the
        # hundreds), where an absolute step changes the deviance by less than its rounding
        delta = np.concatenate([1e-4 * np.maximum(1.0, np.abs(x[:nt])), np.full(self.p, 1e-3)])
        H, grad, f0 = _hessian(self._converged_fun(beta0, C, u), x, delta)
        try:
            np.linalg.cholesky(H)
        except np.linalg.LinAlgError:
            return None, H, grad, f0
        V = 2.0 * np.linalg.inv(H)[nt:, nt:]
        return C @ (0.5 * (V + V.T)) @ C.T, H, grad, f0

    def _polish(self, x, H, grad, f0: float, lb, beta0, C, u) -> np.ndarray | None:
        """One Newton step x − H⁻¹∇d from BOBYQA's optimum (θ at 0 stays there), if it lowers the deviance."""
        free = ~((lb == 0) & (x == 0))
        try:
            step = np.linalg.solve(H[np.ix_(free, free)], grad[free])
        except np.linalg.LinAlgError:
            return None
        new = x.copy()
        new[free] -= step
        if not np.all(np.isfinite(new)) or np.any(new[lb == 0] < 0):
            return None
        return new if self._converged_fun(beta0, C, u)(new) < f0 - 1e-10 else None


def _hessian(fun, x: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Central finite-difference Hessian (the formula of lme4's ``deriv12``), the gradient and f(x)."""
    m = len(x)
    f0 = fun(x)
    E = np.diag(delta)
    fp = np.array([fun(x + E[i]) for i in range(m)])
    fm = np.array([fun(x - E[i]) for i in range(m)])
    H = np.diag((fp - 2 * f0 + fm) / delta**2)
    for i in range(m):
        for j in range(i):
            fpp, fmm = fun(x + E[i] + E[j]), fun(x - E[i] - E[j])
            H[i, j] = H[j, i] = (fpp - fp[i] - fp[j] + 2 * f0 - fm[i] - fm[j] + fmm) / (2 * delta[i] * delta[j])
    return H, (fp - fm) / (2 * delta), float(f0)


def nb_theta_ml(y: np.ndarray, mu: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Maximum-likelihood θ of a negative binomial with means μ (MASS's ``theta.ml``).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> y = rng.negative_binomial(2.0, 2.0 / (2.0 + 3.0), size=4000)
    >>> 1.8 < nb_theta_ml(y, np.full(4000, 3.0)) < 2.2
    True
    """
    from scipy.special import gammaln

    w = np.ones_like(y) if weights is None else weights

    def nll(lt):
        th = np.exp(lt)
        return -np.sum(w * (gammaln(y + th) - gammaln(th) + th * np.log(th) - (y + th) * np.log(mu + th)))

    res = minimize_scalar(nll, bounds=(-8.0, 12.0), method="bounded", options={"xatol": 1e-8})
    return float(np.exp(res.x))


def augmented_solve(AZZ: np.ndarray, AXZ: np.ndarray | None, X: np.ndarray, w: np.ndarray, z: np.ndarray, ZLw,
                    beta: np.ndarray):
    """Dense Cholesky solve of the PIRLS system [ZΛ X]ᵀW[ZΛ X] + diag(I, 0) for (u, β), or for u alone at a
    fixed β when ``AXZ`` is None.

    ``AZZ`` is (ZΛ)ᵀWZΛ and ``AXZ`` XᵀWZΛ (both dense), ``ZLw`` is W ZΛ (dense or sparse).  Returns
    (u, β, log det of the u block) or None when the system is not positive definite.
    """
    q = AZZ.shape[0]
    update_beta = AXZ is not None
    p = X.shape[1] if update_beta else 0
    A = np.empty((q + p, q + p))
    A[:q, :q] = AZZ
    if update_beta:
        A[q:, :q] = AXZ
        A[q:, q:] = X.T @ (w[:, None] * X)
        rhs = np.concatenate([ZLw.T @ z, X.T @ (w * z)])
    else:
        rhs = ZLw.T @ (z - X @ beta)
    A[np.arange(q), np.arange(q)] += 1.0
    L, info = sla.lapack.dpotrf(A, lower=1, clean=0, overwrite_a=1)
    if info != 0:
        return None
    sol, _ = sla.lapack.dpotrs(L, rhs, lower=1)
    logdet = 2.0 * float(np.log(np.diagonal(L)[:q]).sum())
    return sol[:q], (sol[q:] if update_beta else beta), logdet


def _z_rows(idx: np.ndarray, V: np.ndarray, nlevels: int) -> sp.csr_matrix:
    """Z of one block, columns level-major (level l, term j at l·p + j)."""
    n, p = V.shape
    cols = (idx[:, None] * p + np.arange(p)[None, :]).ravel()
    return sp.csr_matrix((V.ravel(), (np.repeat(np.arange(n), p), cols)), shape=(n, nlevels * p))


def _lambda_matrix(lams: list[np.ndarray], nlevels: list[int]) -> sp.spmatrix:
    """Λ = blockdiag(I_L ⊗ λ) over the blocks (level-major u)."""
    if all(lam.shape == (1, 1) for lam in lams):
        return sp.diags(np.concatenate([np.full(L, lam[0, 0]) for lam, L in zip(lams, nlevels)]))
    return sp.block_diag([sp.kron(sp.identity(L), sp.csr_matrix(lam)) for lam, L in zip(lams, nlevels)], format="csr")
