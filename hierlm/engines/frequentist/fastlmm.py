"""lme4's profiled deviance of one linear mixed model for many responses: the refits of simulations.

A parametric bootstrap or a power simulation refits the same design thousands of times with new
responses.  :class:`FastLmm` takes an :class:`~hierlm.engines.frequentist.lmm.LmmProblem` (its internal
θ coordinates, column scalings and blocked cross products) and keeps everything that does not depend
on the response: ``Z₁ᵀWZ₁`` per level, ``[Z₂…Z_k X]ᵀWZ₁`` and ``[Z₂…Z_k X]ᵀW[Z₂…Z_k X]`` as dense arrays.
:meth:`FastLmm.set_response` then only computes the response's row of the cross products (one sparse
mat-vec), and every deviance evaluation is one compiled (numba) pass: the per-level Cholesky factors of
the first block, the Schur update of the rest, ``Λ_Rᵀ(·)Λ_R + I`` and a dense Cholesky of the rest —
the same factorisation as :meth:`CrossProducts.factor <hierlm.engines.frequentist.blocked.CrossProducts.factor>`,
so the deviance agrees with :meth:`LmmProblem.objective` to rounding (~1e-12 relative).

The optimum is lme4's BOBYQA from a warm start with lme4's boundary check, without
:meth:`LmmProblem.optimize`'s Newton polish (which needs the analytic gradient): the refitted
deviance is within the optimiser's tolerance (~1e-7) of the polished one.  :class:`FastLmm` offers
the attributes :func:`hierlm.engines.frequentist.ddf.satterthwaite` reads (``tmap``, ``cp.factor``,
``TX``, ...), so lmerTest's Satterthwaite degrees of freedom of a refit cost ~70 compiled evaluations.

Designs whose rest matrix is large (``q_rest >= NEWTON_MIN_REST``, e.g. InstEval) are left to
:class:`LmmProblem`: :func:`fast_enough` says which.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from numba import njit

from ...design.covariance import tril_colmajor
from .ddf import Satterthwaite, richardson_hessian, richardson_jacobian
from .lmm import NEWTON_MIN_REST, LmmProblem, LmmSolution
from .optimize import minimize_theta

__all__ = ["FastLmm", "FastFactor", "fast_enough", "satterthwaite_fast"]

_LOG2PI = np.log(2 * np.pi)


def fast_enough(prob: LmmProblem) -> bool:
    """Whether :class:`FastLmm` suits the problem (a rest matrix below ``NEWTON_MIN_REST`` rows)."""
    return prob.cp.q_rest < NEWTON_MIN_REST


# -- compiled pieces --------------------------------------------------------------------------
@njit(cache=True)
def _chol(M, n):
    """In-place lower Cholesky of M[:n, :n] (row-major reads); False if not positive definite."""
    for j in range(n):
        s = M[j, j]
        for k in range(j):
            s -= M[j, k] * M[j, k]
        if not s > 0.0:
            return False
        d = np.sqrt(s)
        M[j, j] = d
        for i in range(j + 1, n):
            t = M[i, j]
            for k in range(j):
                t -= M[i, k] * M[j, k]
            M[i, j] = t / d
    return True


@njit(cache=True)
def _lams_of_theta(theta, sizes, out):
    """θ (lme4's column-major lower triangles) → stacked row-major p×p blocks in ``out``."""
    pos = 0
    off = 0
    for k in range(len(sizes)):
        p = sizes[k]
        for i in range(p * p):
            out[off + i] = 0.0
        for c in range(p):
            for r in range(c, p):
                out[off + r * p + c] = theta[pos]
                pos += 1
        off += p * p


@njit(cache=True)
def _factor(lam, lam_off, sizes, A11, AR1, rows_ptr, rows_idx, ARR, unit_start, unit_size, unit_block, q_re, p, L):
    """Factor the penalised system at the λ blocks ``lam``; the rest's Cholesky goes into L.

    Returns (ok, log|ΛᵀZᵀWZΛ + I|, log|RXᵀRX|, pwrss).
    """
    L1 = A11.shape[0]
    p1 = A11.shape[1]
    q = ARR.shape[0]
    lam1 = np.empty((p1, p1))
    for a in range(p1):
        for b in range(p1):
            lam1[a, b] = lam[lam_off[0] + a * p1 + b]
    C = L  # ARR − AR1 blockdiag(Wₗ) AR1ᵀ, lower triangle, built in L's storage
    for i in range(q):
        for j in range(i + 1):
            C[i, j] = ARR[i, j]
    S = np.empty((p1, p1))
    T = np.empty((p1, p1))
    B = np.empty((q, p1))
    ld1 = 0.0
    for lv in range(L1):
        # S = λ₁ᵀ A11ₗ λ₁ + I
        for a in range(p1):
            for b in range(p1):
                t = 0.0
                for c in range(p1):
                    t += A11[lv, a, c] * lam1[c, b]
                T[a, b] = t
        for a in range(p1):
            for b in range(p1):
                t = 0.0
                for c in range(p1):
                    t += lam1[c, a] * T[c, b]
                S[a, b] = t + (1.0 if a == b else 0.0)
        if not _chol(S, p1):
            return False, np.inf, np.inf, np.inf
        for a in range(p1):
            ld1 += 2.0 * np.log(S[a, a])
        # K = AR1ₗ λ₁ Lₗ⁻ᵀ on the rows this level touches; C −= K Kᵀ
        r0, r1 = rows_ptr[lv], rows_ptr[lv + 1]
        for ii in range(r0, r1):
            r = rows_idx[ii]
            for b in range(p1):
                t = 0.0
                for c in range(p1):
                    t += AR1[r, lv * p1 + c] * lam1[c, b]
                B[ii - r0, b] = t
            for b in range(p1):  # forward solve Lₗ k = B[r]
                t = B[ii - r0, b]
                for c in range(b):
                    t -= S[b, c] * B[ii - r0, c]
                B[ii - r0, b] = t / S[b, b]
        for ii in range(r0, r1):
            ri = rows_idx[ii]
            for jj in range(r0, ii + 1):
                rj = rows_idx[jj]
                t = 0.0
                for b in range(p1):
                    t += B[ii - r0, b] * B[jj - r0, b]
                if ri >= rj:
                    C[ri, rj] -= t
                else:
                    C[rj, ri] -= t
    # M = Λ_Rᵀ C Λ_R + I on the random-effect rows (Λ_R: unit blocks λ of the later terms, I on X and y)
    full = np.empty((q, q))
    for i in range(q):
        for j in range(i + 1):
            full[i, j] = C[i, j]
            full[j, i] = C[i, j]
    D = np.empty((q, q))
    for u in range(len(unit_start)):
        s0, m, k = unit_start[u], unit_size[u], unit_block[u]
        if k < 0:
            for i in range(q):
                for j in range(s0, s0 + m):
                    D[i, j] = full[i, j]
        else:
            o = lam_off[k]
            for i in range(q):
                for b in range(m):
                    t = 0.0
                    for c in range(m):
                        t += full[i, s0 + c] * lam[o + c * m + b]
                    D[i, s0 + b] = t
    for u in range(len(unit_start)):
        s0, m, k = unit_start[u], unit_size[u], unit_block[u]
        if k < 0:
            for a in range(s0, s0 + m):
                for j in range(q):
                    L[a, j] = D[a, j]
        else:
            o = lam_off[k]
            for a in range(m):
                for j in range(q):
                    t = 0.0
                    for c in range(m):
                        t += lam[o + c * m + a] * D[s0 + c, j]
                    L[s0 + a, j] = t
    for i in range(q_re):
        L[i, i] += 1.0
    if not _chol(L, q):
        return False, np.inf, np.inf, np.inf
    ldre = ld1
    for i in range(q_re):
        ldre += 2.0 * np.log(L[i, i])
    ldx = 0.0
    for i in range(q_re, q_re + p):
        ldx += 2.0 * np.log(L[i, i])
    for i in range(q):  # a clean lower factor (callers slice it)
        for j in range(i + 1, q):
            L[i, j] = 0.0
    return True, ldre, ldx, L[q - 1, q - 1] ** 2


@njit(cache=True)
def _deviance(theta, sizes, lam, lam_off, A11, AR1, rows_ptr, rows_idx, ARR, unit_start, unit_size, unit_block,
              q_re, p, L, n, reml, ldW):
    _lams_of_theta(theta, sizes, lam)
    ok, ldre, ldx, pwrss = _factor(lam, lam_off, sizes, A11, AR1, rows_ptr, rows_idx, ARR, unit_start, unit_size,
                                   unit_block, q_re, p, L)
    if not ok or not pwrss > 0.0:
        return np.inf
    if reml:
        dof = n - p
        return ldre + ldx + dof * (1.0 + np.log(2.0 * np.pi) + np.log(pwrss / dof)) - ldW
    return ldre + n * (1.0 + np.log(2.0 * np.pi) + np.log(pwrss / n)) - ldW


@njit(cache=True)
def _varpar_pieces(theta, sizes, Tinv, lam, lam_off, A11, AR1, rows_ptr, rows_idx, ARR, unit_start, unit_size,
                   unit_block, q_re, p, L):
    """lmerTest's pieces at θ as written: log|ΛᵀZᵀWZΛ + I|, pwrss, log|RXᵀRX| and (RXᵀRX)⁻¹ (internal X)."""
    _lams_of_theta(theta, sizes, lam)
    for k in range(len(sizes)):  # internal λ = T⁻¹ λ (not triangular in general)
        m, o = sizes[k], lam_off[k]
        blk = np.empty((m, m))
        for a in range(m):
            for b in range(m):
                t = 0.0
                for c in range(m):
                    t += Tinv[o + a * m + c] * lam[o + c * m + b]
                blk[a, b] = t
        for a in range(m):
            for b in range(m):
                lam[o + a * m + b] = blk[a, b]
    ok, ldre, ldx, pwrss = _factor(lam, lam_off, sizes, A11, AR1, rows_ptr, rows_idx, ARR, unit_start, unit_size,
                                   unit_block, q_re, p, L)
    cov = np.zeros((p, p))
    if not ok:
        return False, ldre, pwrss, ldx, cov
    Ri = np.zeros((p, p))  # RX⁻¹ (lower)
    for j in range(p):
        Ri[j, j] = 1.0 / L[q_re + j, q_re + j]
        for i in range(j + 1, p):
            t = 0.0
            for k in range(j, i):
                t += L[q_re + i, q_re + k] * Ri[k, j]
            Ri[i, j] = -t / L[q_re + i, q_re + i]
    for a in range(p):
        for b in range(p):
            t = 0.0
            for k in range(max(a, b), p):
                t += Ri[k, a] * Ri[k, b]
            cov[a, b] = t
    return True, ldre, pwrss, ldx, cov


# -- the problem ------------------------------------------------------------------------------
@dataclass
class FastFactor:
    """What :func:`~hierlm.engines.frequentist.ddf.satterthwaite` reads from a factor."""

    lambdas: list
    Lrr: np.ndarray
    logdet_re: float
    logdet_x: float
    pwrss: float


class FastLmm:
    """An LMM design ready to be refitted to many responses (see the module docstring).

    Parameters
    ----------
    prob : LmmProblem
        The design and REML/ML setting; its current response is the starting one.

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.design import make_design
    >>> prob = LmmProblem(make_design("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy")))
    >>> fast = FastLmm(prob)
    >>> x = prob.tmap.start()
    >>> bool(abs(fast.objective(x) - prob.objective(x)) < 1e-9)
    True
    >>> round(fast.solve().objective, 4)
    1743.6283
    """

    def __init__(self, prob: LmmProblem):
        cp = prob.cp
        self.reml, self.n, self.p = prob.reml, prob.n, prob.p
        self.tmap, self.TX, self.log_det_TX, self.ldW = prob.tmap, prob.TX, prob.log_det_TX, prob.ldW
        self.q_re, self.q_rest = cp.q_re, cp.q_rest
        self.sizes = np.asarray(prob.tmap.sizes, np.int64)
        self.lam_off = np.concatenate([[0], np.cumsum(self.sizes**2)[:-1]]).astype(np.int64)
        self._lam = np.zeros(int(np.sum(self.sizes**2)))
        self.A11 = np.ascontiguousarray(cp.A11, float)
        AR1 = cp.AR1.tocsc()
        L1, p1 = cp.first.nlevels, cp.first.p
        ptr, idx = [0], []
        for lv in range(L1):  # rows of the rest each level of the first block touches (and y's row)
            rows = set(AR1.indices[AR1.indptr[lv * p1] : AR1.indptr[(lv + 1) * p1]].tolist())
            rows.add(cp.q_rest - 1)
            idx += sorted(rows)
            ptr.append(len(idx))
        self.rows_ptr, self.rows_idx = np.asarray(ptr, np.int64), np.asarray(idx, np.int64)
        self.AR1 = np.ascontiguousarray(AR1.toarray())
        self.ARR = np.ascontiguousarray(cp.ARR, float)
        starts, units, blocks = [], [], []
        for k, t in enumerate(cp.rest, start=1):
            for lv in range(t.nlevels):
                starts.append(t.offset + lv * t.p)
                units.append(t.p)
                blocks.append(k)
        starts.append(cp.q_re)
        units.append(cp.q_rest - cp.q_re)
        blocks.append(-1)
        self.unit_start, self.unit_size = np.asarray(starts, np.int64), np.asarray(units, np.int64)
        self.unit_block = np.asarray(blocks, np.int64)
        self._L = np.zeros((cp.q_rest, cp.q_rest))
        # the response's row of the cross products: Zᵀ W e for [Z₁ Z₂…Z_k X]
        sw = np.ones(self.n) if prob.sqrtw is None else np.asarray(prob.sqrtw, float)
        cols = [_z_block(idx_, V, L, sw) for (idx_, V), L in zip(prob.terms_internal, prob.nlevels)]
        self._ZT = sp.hstack(cols + [sp.csc_matrix(prob.X_internal * sw[:, None])], format="csc").T.tocsr()
        self._sw, self._X, self._offset = sw, prob.X_internal, np.asarray(prob.design.offset, float)
        self._pinv = np.linalg.pinv(prob.X_internal * sw[:, None]) if self.p else np.zeros((0, self.n))
        self.set_response(prob.y)

    @property
    def cp(self):  # satterthwaite() reads prob.cp.factor / q_re / q_rest
        return self

    def set_response(self, y: np.ndarray) -> None:
        """Use another response with the same design: recomputes only its row of the cross products."""
        y = np.asarray(y, float)
        self.y = y
        r = y - self._offset
        self.beta_shift = self._pinv @ (r * self._sw)
        e = (r - self._X @ self.beta_shift) * self._sw
        v = self._ZT @ e
        q1 = self.AR1.shape[1]
        self.AR1[-1, :] = v[:q1]
        self.ARR[-1, :-1] = v[q1:]
        self.ARR[:-1, -1] = v[q1:]
        self.ARR[-1, -1] = e @ e

    def _args(self):
        return (self.A11, self.AR1, self.rows_ptr, self.rows_idx, self.ARR, self.unit_start, self.unit_size,
                self.unit_block, self.q_re, self.p, self._L)

    def objective(self, theta_internal: np.ndarray) -> float:
        """Profiled deviance (REML or ML) at internal θ, as :meth:`LmmProblem.objective`."""
        return _deviance(np.asarray(theta_internal, float), self.sizes, self._lam, self.lam_off, *self._args(),
                         self.n, self.reml, self.ldW)

    def factor(self, lambdas: list[np.ndarray], keep_ceff: bool = False) -> FastFactor | None:
        """The factor at (internal, not necessarily triangular) λ's; None if not positive definite."""
        lam = np.concatenate([np.ascontiguousarray(x, float).ravel() for x in lambdas])
        ok, ldre, ldx, pwrss = _factor(lam, self.lam_off, self.sizes, *self._args())
        if not ok:
            return None
        return FastFactor(lambdas, self._L.copy(), float(ldre), float(ldx), float(pwrss))

    def optimize(self, start: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
        """BOBYQA from ``start`` (internal θ) with lme4's boundary check (no gradient polish)."""
        lb = self.tmap.lower_bounds()
        x0 = self.tmap.start() if start is None else np.maximum(np.asarray(start, float), lb)
        res = minimize_theta(self.objective, x0, lb)
        x = np.asarray(res["x"], float)
        for i in np.flatnonzero((lb == 0) & (x > 0) & (x < 1e-5)):
            trial = x.copy()
            trial[i] = 0.0
            ft = self.objective(trial)
            if ft <= res["fun"]:
                x, res["fun"] = trial, ft
        res["x"] = x
        return x, res

    def solution_at(self, theta_internal: np.ndarray, optinfo: dict | None = None) -> LmmSolution:
        """β, σ, the objective and vcov(β) at internal θ (``b`` is left empty: refits do not need it)."""
        f = self.factor(self.tmap.lambdas(theta_internal))
        if f is None:
            raise FloatingPointError("the penalised system is not positive definite")
        q, p, k = self.q_re, self.p, self.q_rest - 1
        Lrr = f.Lrr
        x = sla.solve_triangular(Lrr[:k, :k], Lrr[k, :k], lower=True, trans="T") if k else np.zeros(0)
        sigma = float(np.sqrt(f.pwrss / (self.n - p if self.reml else self.n)))
        objective = self.objective(theta_internal) - (2.0 * self.log_det_TX if self.reml else 0.0)
        RXinv = sla.solve_triangular(Lrr[q : q + p, q : q + p], np.eye(p), lower=True) if p else np.zeros((0, 0))
        return LmmSolution(
            theta=self.tmap.to_original(theta_internal), beta=self.TX @ (x[q:] + self.beta_shift), b=[], sigma=sigma,
            objective=float(objective), pwrss=f.pwrss, logdet_re=f.logdet_re,
            vcov_beta=self.TX @ (sigma**2 * (RXinv.T @ RXinv)) @ self.TX.T, reml=self.reml, optinfo=optinfo or {},
            theta_internal=np.asarray(theta_internal, float))

    def solve(self, start: np.ndarray | None = None) -> LmmSolution:
        """Optimise and return the solution."""
        x, info = self.optimize(start)
        return self.solution_at(x, info)

    def is_singular(self, theta_internal: np.ndarray, tol: float = 1e-4) -> bool:
        """lme4's ``isSingular`` at internal θ: a diagonal element of some λ (as written) below ``tol``."""
        theta = self.tmap.to_original(theta_internal)
        diag, pos = [], 0
        for p in self.tmap.sizes:
            r, c = tril_colmajor(p)
            diag += [theta[pos + i] for i in range(len(r)) if r[i] == c[i]]
            pos += len(r)
        return bool(np.any(np.asarray(diag) < tol))


def _z_block(idx: np.ndarray, V: np.ndarray, nlevels: int, sw: np.ndarray) -> sp.csc_matrix:
    """Z of one block with weighted rows, columns level-major (as the blocked cross products)."""
    n, p = V.shape
    rows = np.repeat(np.arange(n), p)
    cols = (idx[:, None] * p + np.arange(p)[None, :]).ravel()
    return sp.csc_matrix(((V * sw[:, None]).ravel(), (rows, cols)), shape=(n, nlevels * p))


def satterthwaite_fast(fast: FastLmm, sol: LmmSolution, tol: float = 1e-8) -> Satterthwaite:
    """lmerTest's Satterthwaite ingredients at the optimum of a refit, with compiled deviance pieces.

    The same computation as :func:`hierlm.engines.frequentist.ddf.satterthwaite` (numDeriv's Richardson
    Hessian of the deviance in (θ as written, σ) and Jacobian of vcov(β̂)), each θ one compiled
    evaluation.

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.design import make_design
    >>> from hierlm.engines.frequentist.ddf import t_test
    >>> fast = FastLmm(LmmProblem(make_design("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))))
    >>> round(t_test(satterthwaite_fast(fast, fast.solve()), np.array([0.0, 1.0]))["df"], 3)
    17.0
    """
    Tinv = np.concatenate([np.linalg.inv(T).ravel() for T in fast.tmap.transforms])
    args = (fast.sizes, Tinv, fast._lam, fast.lam_off, *fast._args())
    cache: dict = {}
    n, p, reml, TX = fast.n, fast.p, sol.reml, fast.TX
    ldTX = 2.0 * fast.log_det_TX

    def pieces(theta):
        key = theta.tobytes()
        if key not in cache:
            ok, ldre, pwrss, ldx, cov = _varpar_pieces(np.ascontiguousarray(theta), *args)
            if not ok:
                raise FloatingPointError("the penalised system is not positive definite near the optimum")
            cache[key] = (ldre, pwrss, ldx - ldTX, TX @ cov @ TX.T)
        return cache[key]

    def deviance(varpar):
        ldl, r2, ldrx, _ = pieces(varpar[:-1])
        s2 = varpar[-1] ** 2
        dev = ldl + r2 / s2 + n * (_LOG2PI + np.log(s2))
        return dev + ldrx - p * (_LOG2PI + np.log(s2)) if reml else dev

    def covbeta(varpar):
        return (varpar[-1] ** 2 * pieces(varpar[:-1])[3]).reshape(-1, order="F")

    varpar = np.concatenate([np.asarray(sol.theta, float), [sol.sigma]])
    H = richardson_hessian(deviance, varpar)
    w, V = np.linalg.eigh(H)
    notes = []
    if (w < -tol).any():
        notes.append(f"Model failed to converge with {int((w < -tol).sum())} negative eigenvalue(s)")
    if (np.abs(w) < tol).any():
        notes.append(f"Model may not have converged with {int((np.abs(w) < tol).sum())} eigenvalue(s) close to zero")
    pos = w > tol
    A = 2.0 * (V[:, pos] / w[pos]) @ V[:, pos].T
    J = richardson_jacobian(covbeta, varpar)
    jac = np.stack([J[:, i].reshape(p, p, order="F") for i in range(len(varpar))]) if p else np.zeros((len(varpar), 0, 0))
    return Satterthwaite(np.asarray(sol.beta, float), np.asarray(sol.vcov_beta, float), float(sol.sigma), varpar, H, A,
                         jac, notes)

