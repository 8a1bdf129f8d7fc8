"""lme4's profiled deviance for linear mixed models, and its optimum.

For θ, with the blocked Cholesky of :mod:`hierlm.engines.frequentist.blocked`::

    ML:    d(θ) = log|L|² + n (1 + log(2π r²/n))
    REML:  d(θ) = log|L|² + log|RX|² + (n−p)(1 + log(2π r²/(n−p)))

(Bates et al. 2015, eqs. 34 and 41; minus Σ log wᵢ with prior weights).  β, u and σ follow from
the same factor.  The optimiser works in internal coordinates (centred and scaled columns, see
:mod:`hierlm.engines.frequentist.theta`); results are reported for the model as written.

Models with one or two scalar blocks are optimised by lme4's BOBYQA, finished by Newton steps (the
polish, usually one evaluation with derivatives).  From a rest matrix of ``NEWTON_MIN_REST`` rows on
(e.g. InstEval: 1145), where each evaluation costs a dense Cholesky, and from ``NEWTON_MIN_THETA``
covariance parameters on (correlated blocks), a Newton iteration with the analytic gradient and an
average-information Hessian (:mod:`hierlm.engines.frequentist.gradient`) from a moment-based start
needs 5-12 evaluations instead of 50-300 (crossover measured in ``docs/performance.md``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla

from ...design import Design
from ...errors import HierlmError
from .blocked import CrossProducts, Factor
from .gradient import derivatives
from .optimize import blas_threads, bobyqa, minimize_theta, newton_ai
from .theta import ThetaMap, column_transform

__all__ = ["LmmProblem", "LmmSolution", "NEWTON_MIN_REST", "NEWTON_MIN_THETA"]

_LOG2PI = np.log(2 * np.pi)
NEWTON_MIN_REST = 100  # rest-matrix size from which the Newton (gradient) optimiser replaces BOBYQA
NEWTON_MIN_THETA = 3  # from this many covariance parameters Newton replaces BOBYQA (bench/freq_speed.py)
POLISH_TOL = 1e-11  # Newton decrement at which the polish of a BOBYQA optimum stops


@dataclass
class LmmSolution:
    """The optimum of a linear mixed model, in the model's own parametrisation."""

    theta: np.ndarray
    beta: np.ndarray
    b: list[np.ndarray]  # per block: (levels, p) conditional modes
    sigma: float
    objective: float  # REML criterion or ML deviance (lme4's value)
    pwrss: float
    logdet_re: float
    vcov_beta: np.ndarray
    reml: bool
    optinfo: dict = field(default_factory=dict)
    theta_internal: np.ndarray | None = None


class LmmProblem:
    """A linear mixed model ready to be optimised.

    Parameters
    ----------
    design : Design
    reml : bool
        REML (default) or maximum likelihood.

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.design import make_design
    >>> prob = LmmProblem(make_design("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy")))
    >>> round(prob.solve().objective, 4)
    1743.6283
    """

    def __init__(self, design: Design, reml: bool = True, y: np.ndarray | None = None):
        if not design.reterms:
            raise HierlmError(
                f"the formula '{design.formula.text}' has no random-effect term such as (1 | g); "
                "for a model without random effects use ordinary least squares"
            )
        self.design = design
        self.reml = reml
        self.n, self.p = design.X.shape
        terms = design.reterms
        self.tmap = ThetaMap(
            sizes=[t.ncols for t in terms],
            transforms=[column_transform(t.values, t.columns, center=t.correlated) for t in terms],
        )
        self.TX = column_transform(design.X, design.xnames, center=True)
        self.log_det_TX = float(np.log(np.abs(np.diag(self.TX))).sum())
        w = design.weights
        self.sqrtw = None if w is None else np.sqrt(w)
        self.ldW = 0.0 if w is None else float(np.log(w[w > 0]).sum())
        self.terms_internal = [(t.index, t.values @ T) for t, T in zip(terms, self.tmap.transforms)]
        self.nlevels = [t.nlevels for t in terms]
        self.X_internal = design.X @ self.TX
        self.set_response(design.y if y is None else y)

    def set_response(self, y: np.ndarray) -> None:
        """Use another response with the same design (simulation, bootstrap); rebuilds the cross products.

        The cross products use y minus its least-squares fit on X (``beta_shift``, internal
        coordinates; added back to β wherever β is read from the factor): the last pivot of the
        Cholesky of ``[Z X y]ᵀ[Z X y]`` is √pwrss, computed as yᵀy minus the explained part, so a
        response far from 0 relative to its spread (y = 1e9 + noise) would lose every digit.
        """
        y = np.asarray(y, float)
        self.y = y
        r = y - self.design.offset
        sw = np.ones(self.n) if self.sqrtw is None else self.sqrtw
        self.beta_shift = (np.linalg.lstsq(self.X_internal * sw[:, None], r * sw, rcond=None)[0] if self.p
                           else np.zeros(0))
        self.cp = CrossProducts(self.terms_internal, self.nlevels, self.X_internal,
                                r - self.X_internal @ self.beta_shift, self.sqrtw)

    # -- objective ----------------------------------------------------------------------------
    def deviance_of(self, f: Factor | None, reml: bool | None = None) -> float:
        reml = self.reml if reml is None else reml
        if f is None:
            return np.inf
        n, p = self.n, self.p
        if reml:
            dof = n - p
            return f.logdet_re + f.logdet_x + dof * (1 + _LOG2PI + np.log(f.pwrss / dof)) - self.ldW
        return f.logdet_re + n * (1 + _LOG2PI + np.log(f.pwrss / n)) - self.ldW

    def objective(self, theta_internal: np.ndarray) -> float:
        """Profiled deviance (REML or ML) at internal θ."""
        return self.deviance_of(self.cp.factor(self.tmap.lambdas(np.asarray(theta_internal, float))))

    def value_and_derivatives(self, theta_internal: np.ndarray):
        """Deviance at internal θ and a callable giving its gradient and average-information Hessian."""
        f = self.cp.factor(self.tmap.lambdas(np.asarray(theta_internal, float)), keep_ceff=True)
        if f is None:
            return np.inf, None
        return self.deviance_of(f), lambda: derivatives(self.cp, f, self.reml, self.tmap.entries())

    @property
    def use_newton(self) -> bool:
        """Newton with the analytic gradient for large rest matrices (an evaluation costs a dense
        Cholesky, so fewer of them pay for the gradient) and for ``NEWTON_MIN_THETA`` or more
        covariance parameters (correlated blocks: BOBYQA needs 50-300 evaluations, Newton 6-12);
        models with one or two scalar blocks keep lme4's BOBYQA, which is as fast there."""
        return self.cp.pairs is not None and (self.cp.q_rest >= NEWTON_MIN_REST
                                              or self.tmap.ntheta >= NEWTON_MIN_THETA)

    def moment_start(self) -> np.ndarray:
        """Internal θ from moment estimates: each column of each block on its own against the OLS
        residual, ``σₖ² ≈ (Σₗ sₗ² − s² Σₗ aₗ)/(Σₗ aₗ² − Σₗ aₗ)`` with ``sₗ = Zₖₗᵀr`` and
        ``aₗ = Zₖₗᵀ Zₖₗ``; diagonal λ's (all from the cross products)."""
        cp, q, p = self.cp, self.cp.q_re, self.p
        XX, Xy = cp.ARR[q : q + p, q : q + p], cp.ARR[q : q + p, -1]
        beta = np.linalg.lstsq(XX, Xy, rcond=None)[0] if p else np.zeros(0)
        v = np.concatenate([np.zeros(q), beta, [-1.0]])
        s2 = (cp.ARR[-1, -1] - Xy @ beta) / max(self.n - p, 1)
        blocks = [(-(cp.AR1.T @ v).reshape(cp.first.nlevels, -1), np.diagonal(cp.A11, axis1=1, axis2=2))]
        zr, dr = -(cp.ARR @ v)[:q], np.diag(cp.ARR)[:q]
        for t in cp.rest:
            rows = slice(t.offset, t.offset + t.q)
            blocks.append((zr[rows].reshape(t.nlevels, t.p), dr[rows].reshape(t.nlevels, t.p)))
        var = [np.maximum(((S * S).sum(0) - s2 * a.sum(0)) / np.maximum((a * a).sum(0) - a.sum(0), 1e-300), 0.0)
               for S, a in blocks]
        resid = max(s2 - sum(float(v_[0]) for v_ in var), 0.1 * s2)
        lams = [np.diag(np.sqrt(v_ / resid)) for v_ in var]
        return self.tmap.theta_of(lams)

    # -- optimum ------------------------------------------------------------------------------
    def optimize(self, start: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
        """Minimise the profiled deviance over internal θ: BOBYQA and a Newton polish, or (see
        :attr:`use_newton`) the Newton iteration of :func:`~hierlm.engines.frequentist.optimize.newton_ai`
        (BOBYQA and the polish finish if it fails)."""
        t0 = time.perf_counter()
        lb = self.tmap.lower_bounds()
        x0 = self.tmap.start() if start is None else np.maximum(np.asarray(start, float), lb)
        with blas_threads(self.cp.q_rest):
            if self.use_newton:
                res = self._newton(x0, start is None)
                if not res["converged"]:
                    res = self._polish(res, lb)
            else:
                res = self._polish(minimize_theta(self.objective, x0, lb, restarts=0), lb)
        x = res["x"]
        # lme4/MixedModels boundary check: a tiny variance may belong exactly on the boundary
        for i in np.flatnonzero((lb == 0) & (x > 0) & (x < 1e-5)):
            trial = x.copy()
            trial[i] = 0.0
            ft = self.objective(trial)
            if ft <= res["fun"]:
                x, res["fun"] = trial, ft
        res["x"] = x
        res["seconds"] = time.perf_counter() - t0
        return x, res

    def _polish(self, res: dict, lb: np.ndarray, steps: int = 8) -> dict:
        """Finish a derivative-free optimum with Newton steps on the profiled deviance.

        BOBYQA stops where the surface is flat to its tolerance, which on flat surfaces leaves the
        fixed effects 1e-4 apart on different BLAS/CPU paths.  Newton steps with the analytic
        gradient and the average-information Hessian (plus its curvature correction; the exact
        Hessian at an interior optimum of scalar blocks) take the free parameters to the stationary
        point, usually in one or two steps; a step is kept only when it lowers the deviance, and
        coordinates on their bound with the gradient pushing outwards stay there.
        """
        x0, fun0 = np.asarray(res["x"], float), float(res["fun"])
        try:
            out = newton_ai(self.value_and_derivatives, x0, lb, tol=POLISH_TOL, maxiter=steps)
        except (np.linalg.LinAlgError, ValueError):
            return dict(res, polish_steps=0)
        taken = max(out["iterations"] - 1, 0) if out["converged"] else out["iterations"]
        nevals = res.get("nevals", 0) + out["nevals"]
        if not out["fun"] <= fun0:
            return dict(res, polish_steps=0, nevals=nevals)
        return dict(res, x=out["x"], fun=out["fun"], polish_steps=taken, nevals=nevals)

    def _gradient(self, theta_internal: np.ndarray) -> np.ndarray | None:
        val, d = self.value_and_derivatives(theta_internal)
        return None if d is None or not np.isfinite(val) else d()[0]

    def _newton(self, x0: np.ndarray, try_moments: bool) -> dict:
        """Newton from the better of x0 and the moment start; BOBYQA from there if it fails."""
        lb = self.tmap.lower_bounds()
        first = self.value_and_derivatives(x0)
        nevals = 1
        if try_moments:
            xm = np.maximum(self.moment_start(), np.where(np.isfinite(lb), 0.05, -np.inf))  # off the boundary
            other = self.value_and_derivatives(xm)
            nevals += 1
            if other[0] < first[0]:
                x0, first = xm, other
        tol = 1e-9 if self.cp.q_rest >= NEWTON_MIN_REST else POLISH_TOL  # small models: as tight as the polish
        res = newton_ai(self.value_and_derivatives, x0, lb, tol=tol, at_x0=first)
        res.update(nevals=res["nevals"] + nevals, optimizer="newton")
        if not res["converged"]:
            more = bobyqa(self.objective, res["x"], lb)
            res.update(x=more["x"], fun=more["fun"], nevals=res["nevals"] + more["nevals"], optimizer="newton+bobyqa",
                       message=res["message"] + "; then " + more["message"])
        return res

    def solution_at(self, theta_internal: np.ndarray, optinfo: dict | None = None) -> LmmSolution:
        """β, b, σ, the objective and vcov(β) at internal θ, mapped to the model as written."""
        lams = self.tmap.lambdas(theta_internal)
        f = self.cp.factor(lams)
        if f is None:
            raise HierlmError(self._not_pd_message(theta_internal))
        with blas_threads(self.cp.q_rest):
            beta_i, us = self.cp.modes(f)
        n, p = self.n, self.p
        dof = n - p if self.reml else n
        sigma = float(np.sqrt(f.pwrss / dof))
        objective = self.deviance_of(f)
        if self.reml:  # REML criterion for X as written: X_int = X TX
            objective -= 2.0 * self.log_det_TX
        b = []
        for u, lam, T, t in zip(us, lams, self.tmap.transforms, self.design.reterms):
            b.append((u.reshape(t.nlevels, t.ncols) @ lam.T) @ T.T)
        RX = f.Lrr[self.cp.q_re : self.cp.q_re + p, self.cp.q_re : self.cp.q_re + p]
        RXinv = sla.solve_triangular(RX, np.eye(p), lower=True) if p else np.zeros((0, 0))
        vcov_i = sigma**2 * (RXinv.T @ RXinv)
        return LmmSolution(
            theta=self.tmap.to_original(theta_internal),
            beta=self.TX @ (beta_i + self.beta_shift),
            b=b,
            sigma=sigma,
            objective=float(objective),
            pwrss=f.pwrss,
            logdet_re=f.logdet_re,
            vcov_beta=self.TX @ vcov_i @ self.TX.T,
            reml=self.reml,
            optinfo=optinfo or {},
            theta_internal=np.asarray(theta_internal, float),
        )

    def _not_pd_message(self, theta_internal: np.ndarray) -> str:
        """Why the penalised system cannot be factored: name the columns and scales that make it so."""
        X = self.design.X
        scale = np.sqrt((X**2).mean(axis=0)) if X.size else np.zeros(0)
        parts = []
        if X.shape[1]:
            with np.errstate(all="ignore"):
                Xs = X / np.where(scale > 0, scale, 1.0)
                sv = np.linalg.svd(Xs, compute_uv=False) if np.all(np.isfinite(Xs)) else np.array([np.inf, 0.0])
            cond = sv[0] / sv[-1] if sv[-1] > 0 else np.inf
            if cond > 1e10:
                v = np.linalg.svd(Xs, full_matrices=False)[2][-1] if np.isfinite(cond) else np.ones(X.shape[1])
                which = [self.design.xnames[j] for j in np.argsort(-np.abs(v))[:3] if abs(v[j]) > 1e-3]
                parts.append(f"the fixed-effect columns {which} are (nearly) collinear (condition number {cond:.2g})")
            spread = scale[scale > 0]
            if spread.size and spread.max() / spread.min() > 1e8:
                parts.append(f"the columns' scales range from {spread.min():.3g} to {spread.max():.3g}")
        ymax = float(np.max(np.abs(self.y))) if self.y.size else 0.0
        if ymax > 1e100:
            parts.append(f"the response reaches {ymax:.3g}")
        why = "; ".join(parts) or f"at θ = {np.round(self.tmap.to_original(theta_internal), 6).tolist()}"
        return (f"the penalised least-squares system of '{self.design.formula.text}' is not positive definite: {why}. "
                "Rescale or centre the predictors, or drop a redundant column")

    def solve(self, start: np.ndarray | None = None) -> LmmSolution:
        """Optimise and return the solution."""
        x, info = self.optimize(start)
        return self.solution_at(x, info)

    def cond_var(self, sol: LmmSolution) -> list[np.ndarray]:
        """lme4's ``condVar``: per block an array (levels, p, p) of conditional covariances of b."""
        lams = self.tmap.lambdas(sol.theta_internal)
        f = self.cp.factor(lams)
        with blas_threads(self.cp.q_rest):
            _, _, LR1 = self.cp.solve(f)
            var_u = self.cp.u_cond_var(f, LR1)
        out = []
        for V, lam, T in zip(var_u, lams, self.tmap.transforms):
            M = T @ lam
            out.append(sol.sigma**2 * np.matmul(np.matmul(M, V), M.T))
        return out
