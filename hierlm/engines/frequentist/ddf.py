"""Denominator degrees of freedom for tests on the fixed effects of an LMM: Satterthwaite (lmerTest 3.1)
and Kenward–Roger (pbkrtest 0.5), for any contrast matrix L.

**Satterthwaite** (lmerTest's ``as_lmerModLT``): for ``varpar = (θ as written, σ)``, ``A = 2 H⁺``
(eigenvalues > 1e-8) with H the Hessian of the deviance ``ldL2 + r²/σ² + n log 2πσ²`` (``+ ldRX2 −
p log 2πσ²`` for REML), and ``Jᵢ = ∂ vcov(β̂)/∂ varparᵢ``; ``df = 2 (l C lᵀ)² / (gᵀ A g)``,
``gᵢ = l Jᵢ lᵀ``.  Derivatives are numDeriv's Richardson extrapolations with lmerTest's steps, so
boundary fits behave as in R; each θ costs one (cached) factorisation, σ is free.

**Kenward–Roger** (pbkrtest's ``vcovAdj``, ``KR_adjust``): ``Σ = Σᵣ γᵣ Gᵣ`` over the variance
components (``Gᵣ = Zₖ(I ⊗ Eᵣ)Zₖᵀ``) and the residual (``W⁻¹``).  ``Pᵣ = −XᵀΣ⁻¹GᵣΣ⁻¹X``,
``Qᵣₛ = XᵀΣ⁻¹GᵣΣ⁻¹GₛΣ⁻¹X`` and ``tr(Σ⁻¹GᵣΣ⁻¹Gₛ)`` come without any n×n matrix: with the engine's
factor ``ΛᵀZᵀWZΛ + I = LLᵀ``, ``σ²ZᵀΣ⁻¹Z = A − KᵀK`` and ``σ²ZᵀΣ⁻¹X = ZᵀWX − KᵀJ`` (``A = ZᵀWZ``,
``K = L⁻¹ΛᵀA``, ``J = L⁻¹ΛᵀZᵀWX``).  The first block is block diagonal, so its own traces are per-level
sums plus products in the other blocks' dimension (``tr(KᵀK F KᵀK F') = tr(K F Kᵀ K F' Kᵀ)``); the
residual's terms follow from ``Σᵣ γᵣ Σ⁻¹Gᵣ + σ² Σ⁻¹W⁻¹ = I``.  Prior weights are honoured (pbkrtest
0.5 builds Σ with σ²I).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla
from scipy import special

from ...design.covariance import lambdas_of_theta, tril_colmajor
from ...errors import HierlmError
from .lmm import LmmProblem, LmmSolution
from .optimize import blas_threads

__all__ = ["Satterthwaite", "KenwardRoger", "satterthwaite", "kenward_roger", "t_test", "f_test", "contest",
           "richardson_hessian", "richardson_jacobian"]

_ZERO_TOL = np.sqrt(np.finfo(float).eps / 7e-7)  # numDeriv's zero.tol
_LOG2PI = np.log(2 * np.pi)


# -- numDeriv ---------------------------------------------------------------------------------
def _steps(x: np.ndarray, d: float, eps: float = 1e-4) -> np.ndarray:
    return np.abs(d * x) + eps * (np.abs(x) < _ZERO_TOL)


def _extrapolate(a: np.ndarray) -> np.ndarray:
    """Richardson extrapolation over the first axis (steps halving), numDeriv's ``4^m`` scheme."""
    a = np.array(a, float)
    r = a.shape[0]
    for m in range(1, r):
        a = (a[1 : r - m + 1] * 4**m - a[: r - m]) / (4**m - 1)
    return a[0]


def richardson_hessian(f, x: np.ndarray, d: float = 0.1, r: int = 4) -> np.ndarray:
    """Hessian of a scalar function as ``numDeriv::hessian`` (``genD``, Richardson) computes it.

    Examples
    --------
    >>> richardson_hessian(lambda v: v[0] ** 2 * v[1] + v[1] ** 3, np.array([1.0, 2.0])).round(8)
    array([[ 4.,  2.],
           [ 2., 12.]])
    """
    x = np.asarray(x, float)
    n, f0, h0, eye = len(x), f(x), _steps(x, d), np.eye(len(x))
    hs = [h0 / 2**k for k in range(r)]  # numDeriv halves the steps r times

    def second(e, h):
        return f(x + e * h) - 2 * f0 + f(x - e * h)

    hd = np.array([_extrapolate([second(eye[i], h) / h[i] ** 2 for h in hs]) for i in range(n)])
    H = np.diag(hd)
    for i in range(n):
        for j in range(i):
            H[i, j] = H[j, i] = _extrapolate([(second(eye[i] + eye[j], h) - hd[i] * h[i] ** 2 - hd[j] * h[j] ** 2)
                                              / (2 * h[i] * h[j]) for h in hs])
    return H


def richardson_jacobian(f, x: np.ndarray, d: float = 1e-4, r: int = 4) -> np.ndarray:
    """Jacobian (m × n) of a vector function as ``numDeriv::jacobian`` (Richardson) computes it.

    Examples
    --------
    >>> richardson_jacobian(lambda v: np.array([v[0] * v[1], np.exp(v[0])]), np.array([0.0, 2.0])).round(8)
    array([[2., 0.],
           [1., 0.]])
    """
    x = np.asarray(x, float)
    eye, hs = np.eye(len(x)), [_steps(x, d) / 2**k for k in range(r)]
    cols = [_extrapolate([(np.asarray(f(x + e * h)) - np.asarray(f(x - e * h))) / (2 * h[i]) for h in hs])
            for i, e in enumerate(eye)]
    return np.column_stack(cols) if cols else np.zeros((0, 0))


# -- Satterthwaite ----------------------------------------------------------------------------
class _VarparDeviance:
    """lmerTest's ``devfun_vp`` and ``get_covbeta`` on the engine: functions of varpar = (θ as written, σ)."""

    def __init__(self, prob: LmmProblem, reml: bool):
        self.prob, self.reml = prob, reml
        self.sizes = prob.tmap.sizes
        self.cache: dict[bytes, tuple] = {}

    def pieces(self, theta: np.ndarray):
        key = np.asarray(theta, float).tobytes()
        if key not in self.cache:
            prob = self.prob
            lams = [np.linalg.solve(T, lam) for T, lam in zip(prob.tmap.transforms, lambdas_of_theta(theta, self.sizes))]
            with blas_threads(prob.cp.q_rest):
                f = prob.cp.factor(lams)
                if f is None:
                    raise HierlmError("the penalised system is not positive definite near the optimum")
                q, p = prob.cp.q_re, prob.p
                RX = np.tril(f.Lrr[q : q + p, q : q + p])
                Ri = sla.solve_triangular(RX, np.eye(p), lower=True) if p else np.zeros((0, 0))
            cov = prob.TX @ (Ri.T @ Ri) @ prob.TX.T  # (XᵀV⁻¹X)⁻¹ σ⁻², X as written
            ldrx = f.logdet_x - 2.0 * prob.log_det_TX
            self.cache[key] = (f.logdet_re, f.pwrss, ldrx, cov)
        return self.cache[key]

    def deviance(self, varpar: np.ndarray) -> float:
        theta, sigma = varpar[:-1], varpar[-1]
        ldl, r2, ldrx, _ = self.pieces(theta)
        s2 = sigma * sigma
        dev = ldl + r2 / s2 + self.prob.n * (_LOG2PI + np.log(s2))
        return dev + ldrx - self.prob.p * (_LOG2PI + np.log(s2)) if self.reml else dev

    def covbeta(self, varpar: np.ndarray) -> np.ndarray:
        return (varpar[-1] ** 2 * self.pieces(varpar[:-1])[3]).reshape(-1, order="F")


@dataclass
class Satterthwaite:
    """What lmerTest stores on an ``lmerModLmerTest``: A = vcov(varpar), the Jacobian of vcov(β̂).

    Attributes
    ----------
    beta, vcov_beta : ndarray
    sigma : float
    varpar : ndarray
        (θ as written, σ).
    hessian : ndarray
        Hessian of the (REML or ML) deviance in varpar.
    vcov_varpar : ndarray
        ``2 H⁺`` (Moore–Penrose over eigenvalues > 1e-8).
    jacobian : ndarray (k, p, p)
        ``∂ vcov(β̂) / ∂ varparᵢ``.
    warnings : list of str
        lmerTest's notes on negative or near-zero eigenvalues of H.
    """

    beta: np.ndarray
    vcov_beta: np.ndarray
    sigma: float
    varpar: np.ndarray
    hessian: np.ndarray
    vcov_varpar: np.ndarray
    jacobian: np.ndarray
    warnings: list[str] = field(default_factory=list)
    method: str = "Satterthwaite"

    def variance_df(self, l: np.ndarray) -> tuple[float, float]:
        """Variance of l·β̂ and its Satterthwaite df (``contest1D``)."""
        var = float(l @ self.vcov_beta @ l)
        g = np.einsum("i,kij,j->k", l, self.jacobian, l)
        return var, float(2 * var**2 / (g @ self.vcov_varpar @ g))


def satterthwaite(prob: LmmProblem, sol: LmmSolution, tol: float = 1e-8) -> Satterthwaite:
    """lmerTest's Satterthwaite ingredients at the optimum ``sol`` of ``prob``.

    Parameters
    ----------
    prob : LmmProblem
    sol : LmmSolution
        The optimum (θ as written, σ, β, vcov(β̂)).
    tol : float
        Eigenvalue tolerance of lmerTest.

    Returns
    -------
    Satterthwaite

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.design import make_design
    >>> prob = LmmProblem(make_design("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy")))
    >>> s = satterthwaite(prob, prob.solve())
    >>> round(s.variance_df(np.array([0.0, 1.0]))[1], 4)
    17.0
    """
    vd = _VarparDeviance(prob, sol.reml)
    varpar = np.concatenate([np.asarray(sol.theta, float), [sol.sigma]])
    H = richardson_hessian(vd.deviance, varpar)
    w, V = np.linalg.eigh(H)
    notes = []
    neg, zero = w < -tol, np.abs(w) < tol
    if neg.any():
        notes.append(f"Model failed to converge with {int(neg.sum())} negative eigenvalue(s): "
                     + " ".join(f"{v:.1e}" for v in w[neg]))
    if zero.any():
        notes.append(f"Model may not have converged with {int(zero.sum())} eigenvalue(s) close to zero: "
                     + " ".join(f"{v:.1e}" for v in w[zero]))
    pos = w > tol
    A = 2.0 * (V[:, pos] / w[pos]) @ V[:, pos].T
    p = len(sol.beta)
    J = richardson_jacobian(vd.covbeta, varpar)
    jac = np.stack([J[:, i].reshape(p, p, order="F") for i in range(len(varpar))]) if p else np.zeros((len(varpar), 0, 0))
    return Satterthwaite(np.asarray(sol.beta, float), np.asarray(sol.vcov_beta, float), float(sol.sigma),
                         varpar, H, A, jac, notes)


# -- Kenward-Roger ----------------------------------------------------------------------------
@dataclass
class KenwardRoger:
    """pbkrtest's ``vcovAdj``: the adjusted covariance of β̂ and what ``KR_adjust`` needs.

    Attributes
    ----------
    beta, vcov_beta : ndarray
        β̂ and its unadjusted covariance Φ.
    vcov_adj : ndarray
        Φ_A, the Kenward–Roger adjusted covariance.
    P : list of ndarray
        ``Pᵣ = −XᵀΣ⁻¹GᵣΣ⁻¹X`` per variance component (residual last).
    W : ndarray
        ``2 I_E⁻¹``, the asymptotic covariance of the variance components.
    sigma : float
    """

    beta: np.ndarray
    vcov_beta: np.ndarray
    vcov_adj: np.ndarray
    P: list[np.ndarray]
    W: np.ndarray
    sigma: float
    method: str = "Kenward-Roger"

    def a_terms(self, L: np.ndarray) -> tuple[float, float]:
        """A₁ and A₂ of Kenward & Roger for the rows of L (``Lb_ddf`` / ``KR_adjust``)."""
        Phi = self.vcov_beta
        Theta = L.T @ np.linalg.solve(L @ Phi @ L.T, L)
        U = [Theta @ Phi @ P @ Phi for P in self.P]
        tr = np.array([np.trace(u) for u in U])
        A1 = float(tr @ self.W @ tr)
        A2 = float(sum(self.W[i, j] * np.sum(U[i] * U[j].T) for i in range(len(U)) for j in range(len(U))))
        return A1, A2

    def ddf(self, L: np.ndarray, q: int | None = None) -> tuple[float, float]:
        """Denominator df and F scaling for the rows of L (q = number of rows unless given)."""
        A1, A2 = self.a_terms(L)
        q = L.shape[0] if q is None else q
        B = (A1 + 6 * A2) / (2 * q)
        g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
        c1, c2, c3 = g / (3 * q + 2 * (1 - g)), (q - g) / (3 * q + 2 * (1 - g)), (q + 2 - g) / (3 * q + 2 * (1 - g))
        V0, V1, V2 = 1 + c1 * B, 1 - c2 * B, 1 - c3 * B
        V0 = 0.0 if abs(V0) < 1e-10 else V0
        x, y = 1 - A2 / q, V1
        ratio = 1.0 if abs(x) < 1e-14 and abs(y) < 1e-14 else x / y
        rho = ratio**2 * V0 / V2 / q
        df2 = 4 + (q + 2) / (q * rho - 1)
        scale = 1.0 if abs(df2 - 2) < 1e-2 else df2 * (1 - A2 / q) / (df2 - 2)
        return float(df2), float(scale)

    def variance_df(self, l: np.ndarray) -> tuple[float, float]:
        """Adjusted variance of l·β̂ and its Kenward–Roger df (lmerTest's ``get_KR1D``)."""
        return float(l @ self.vcov_adj @ l), self.ddf(l[None, :])[0]


def _param_blocks(prob: LmmProblem, theta: np.ndarray, sigma: float):
    """Per variance component: (block, E in internal columns, γ = the covariance it multiplies)."""
    out = []
    for k, (lam, T) in enumerate(zip(lambdas_of_theta(theta, prob.tmap.sizes), prob.tmap.transforms)):
        S = sigma**2 * lam @ lam.T
        Ti = np.linalg.inv(T)
        for i, j in zip(*tril_colmajor(lam.shape[0])):
            E = np.zeros_like(S)
            E[i, j] = E[j, i] = 1.0
            out.append((k, Ti @ E @ Ti.T, float(S[i, j])))
    return out


def _per_level(E: np.ndarray, M: np.ndarray, nlev: int) -> np.ndarray:
    """(I ⊗ E) M for M with level-major rows (nlev·p rows)."""
    p = E.shape[0]
    return np.einsum("ij,ljm->lim", E, M.reshape(nlev, p, -1)).reshape(M.shape)


class _Blocks:
    """σ²ZᵀΣ⁻¹Z and σ²ZᵀΣ⁻¹X (internal columns) from the blocked factor, never forming n×n or the
    first block's own q₁×q₁ part (kept as Δ − KR1ᵀKR1, Δ block diagonal)."""

    def __init__(self, prob: LmmProblem, theta_internal: np.ndarray):
        cp, p = prob.cp, prob.p
        lams = prob.tmap.lambdas(theta_internal)
        f = cp.factor(lams)
        if f is None:
            raise HierlmError("the penalised system is not positive definite at the optimum")
        L1, p1, qr = cp.first.nlevels, cp.first.p, cp.q_re
        self.L1, self.p1, self.qr = L1, p1, qr
        self.layout = [cp.first] + cp.rest
        A11 = cp.A11
        r1 = cp.r1(f).tocsr()  # AR1 · blockdiag(λ₁ L11⁻ᵀ): rows Z_R, X, y
        K11 = np.linalg.solve(f.L11, np.matmul(np.swapaxes(lams[0], 0, 1)[None], A11))  # L11⁻¹ λ₁ᵀ A11
        J1 = np.asarray(r1[qr : qr + p].todense()).T  # L11⁻¹ λ₁ᵀ Z₁ᵀWX
        A1X = np.asarray(cp.AR1[qr : qr + p].todense()).T
        self.Delta = A11 - np.matmul(np.swapaxes(K11, 1, 2), K11)
        B1 = A1X - np.einsum("lji,ljm->lim", K11, J1.reshape(L1, p1, p)).reshape(L1 * p1, p)
        RX = np.tril(f.Lrr[qr : qr + p, qr : qr + p])
        self.Phi_hat = sla.cho_solve((RX, True), np.eye(p)) if p else np.zeros((0, 0))  # (RX RXᵀ)⁻¹
        if qr:
            LRR = np.tril(f.Lrr[:qr, :qr])
            r1u = r1[:qr]
            AR1u = np.asarray(cp.AR1[:qr].todense())
            LR1u = cp.lambda_rows(np.asarray(r1u.todense()), lams[1:])
            LK = np.einsum("rlj,ljk->rlk", LR1u.reshape(qr, L1, p1), K11).reshape(qr, L1 * p1)
            KR1 = sla.solve_triangular(LRR, cp.lambda_rows(AR1u, lams[1:]) - LK, lower=True)
            ARR = cp.ARR[:qr, :qr]
            KRR = sla.solve_triangular(LRR, cp.lambda_rows(ARR, lams[1:]) - (r1u @ LR1u.T).T, lower=True)
            JR = f.Lrr[qr : qr + p, :qr].T
            K1R = r1u.T.tocsr()  # q₁ × q_R
            K11tK1R = np.einsum("lji,ljm->lim", K11, np.asarray(K1R.todense()).reshape(L1, p1, qr)).reshape(L1 * p1, qr)
            self.C1R = AR1u.T - K11tK1R - KR1.T @ KRR
            self.CRR = ARR - np.asarray((r1u @ r1u.T).todense()) - KRR.T @ KRR
            B1 = B1 - KR1.T @ JR
            self.BR = cp.ARR[:qr, qr : qr + p] - r1u @ J1 - KRR.T @ JR
            self.KR1 = KR1
            self.Gamma = np.einsum("rlj,rlk->ljk", KR1.reshape(qr, L1, p1), KR1.reshape(qr, L1, p1))
        else:
            self.KR1 = np.zeros((0, L1 * p1))
            self.Gamma = np.zeros_like(A11)
        self.B1 = B1

    def rows(self, k: int) -> slice:
        t = self.layout[k]
        return slice(t.offset, t.offset + t.q)

    def B(self, k: int) -> np.ndarray:
        return self.B1 if k == 0 else self.BR[self.rows(k)]

    def trace_FC(self, k: int, E: np.ndarray) -> float:
        if k == 0:
            return float(np.sum(E * (self.Delta - self.Gamma).sum(axis=0)))
        t = self.layout[k]
        C = self.CRR[self.rows(k), self.rows(k)].reshape(t.nlevels, t.p, t.nlevels, t.p)
        idx = np.arange(t.nlevels)
        return float(np.sum(E * C[idx, :, idx, :].sum(axis=0)))

    def cross(self, k: int, l: int, M: np.ndarray, N: np.ndarray) -> np.ndarray:
        """Mᵀ (σ²ZₖᵀΣ⁻¹Zₗ) N for M with block k's rows, N with block l's rows."""
        if k == 0 and l == 0:
            DN = np.matmul(self.Delta, N.reshape(self.L1, self.p1, -1)).reshape(N.shape)
            return M.T @ DN - (self.KR1 @ M).T @ (self.KR1 @ N)
        if k == 0:
            return M.T @ (self.C1R[:, self.rows(l)] @ N)
        if l == 0:
            return self.cross(0, k, N, M).T
        return M.T @ (self.CRR[self.rows(k), self.rows(l)] @ N)

    def trace_FCFC(self, k: int, Er: np.ndarray, l: int, Es: np.ndarray, N: dict) -> float:
        """tr(Fᵣ Ĉ Fₛ Ĉ) with Ĉ = σ²ZᵀΣ⁻¹Z; N caches K_R1 Fᵣ K_R1ᵀ for first-block components."""
        if k == 0 and l == 0:
            D, G = self.Delta, self.Gamma
            t = np.einsum("ij,ljk,km,lmi->", Er, D, Es, D) - np.einsum("ij,ljk,km,lmi->", Er, D, Es, G) \
                - np.einsum("ij,ljk,km,lmi->", Er, G, Es, D)
            return float(t + np.sum(N[id(Er)] * N[id(Es)]))
        if k > 0 and l == 0:
            return self.trace_FCFC(l, Es, k, Er, N)
        t = self.layout[l]
        C = self.C1R[:, self.rows(l)] if k == 0 else self.CRR[self.rows(k), self.rows(l)]
        left = _per_level(Er, C, self.layout[k].nlevels)
        right = _per_level(Es, C.T, t.nlevels).T
        return float(np.sum(left * right))

    def n_first(self, E: np.ndarray) -> np.ndarray:
        if not self.qr:
            return np.zeros((0, 0))
        KF = np.einsum("rlj,jk->rlk", self.KR1.reshape(self.qr, self.L1, self.p1), E).reshape(self.qr, -1)
        return KF @ self.KR1.T


def kenward_roger(prob: LmmProblem, sol: LmmSolution) -> KenwardRoger:
    """pbkrtest's adjusted covariance of β̂ (``vcovAdj``) at the REML optimum, by sparse algebra.

    Parameters
    ----------
    prob : LmmProblem
        A REML problem.
    sol : LmmSolution
        Its optimum.

    Returns
    -------
    KenwardRoger

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.design import make_design
    >>> prob = LmmProblem(make_design("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy")))
    >>> kr = kenward_roger(prob, prob.solve())
    >>> kr.vcov_adj.round(4)
    array([[46.5746, -1.4511],
           [-1.4511,  2.3895]])
    >>> round(kr.variance_df(np.array([0.0, 1.0]))[1], 6)
    17.0
    """
    if not prob.reml:
        raise HierlmError("Kenward-Roger's method is only available for REML model fits; refit with reml=True")
    s2 = sol.sigma**2
    with blas_threads(prob.cp.q_rest):
        bl = _Blocks(prob, sol.theta_internal)
        comps = _param_blocks(prob, sol.theta, sol.sigma)
        m = len(comps)
        N = {id(E): bl.n_first(E) for k, E, _ in comps if k == 0}
        FB = [_per_level(E, bl.B(k), bl.layout[k].nlevels) for k, E, _ in comps]
        PP = [-(bl.B(k).T @ fb) / s2**2 for (k, _, _), fb in zip(comps, FB)]
        QQ = np.zeros((m + 1, m + 1), dtype=object)
        Kt = np.zeros((m + 1, m + 1))
        for a, (k, Er, _) in enumerate(comps):
            for b in range(a, m):
                l, Es, _ = comps[b]
                QQ[a, b] = bl.cross(k, l, FB[a], FB[b]) / s2**3
                QQ[b, a] = QQ[a, b].T
                Kt[a, b] = Kt[b, a] = bl.trace_FCFC(k, Er, l, Es, N) / s2**2
    gam = np.array([g for _, _, g in comps])
    trS = np.array([bl.trace_FC(k, E) for k, E, _ in comps]) / s2
    Phi_inv = np.linalg.inv(bl.Phi_hat) / s2
    # the residual (G = W⁻¹) from Σᵣ γᵣ Σ⁻¹Gᵣ + σ² Σ⁻¹W⁻¹ = I
    PP.append(-(Phi_inv + sum(g * P for g, P in zip(gam, PP))) / s2)
    for a in range(m):
        QQ[a, m] = (-PP[a] - sum(gam[b] * QQ[a, b] for b in range(m))) / s2
        QQ[m, a] = QQ[a, m].T
        Kt[a, m] = Kt[m, a] = (trS[a] - gam @ Kt[a, :m]) / s2
    tr_res = (prob.n - gam @ trS) / s2
    QQ[m, m] = (-PP[m] - sum(gam[b] * QQ[m, b] for b in range(m))) / s2
    Kt[m, m] = (tr_res - gam @ Kt[m, :m]) / s2
    Phi = bl.Phi_hat * s2
    n_g = m + 1
    IE = np.array([[Kt[i, j] - 2 * np.sum(Phi * QQ[i, j]) + np.sum((Phi @ PP[i]) * (PP[j] @ Phi))
                    for j in range(n_g)] for i in range(n_g)])
    IE = 0.5 * (IE + IE.T)
    condi = np.min(np.abs(np.linalg.eigvalsh(IE)))
    W = 2 * (np.linalg.inv(IE) if condi > 1e-10 else np.linalg.pinv(IE))
    W = 0.5 * (W + W.T)
    U = sum(W[i, j] * (QQ[i, j] - PP[i] @ Phi @ PP[j]) for i in range(n_g) for j in range(n_g))
    Phi_A = Phi + 2 * Phi @ U @ Phi
    TX = prob.TX
    TXi = np.linalg.inv(TX)
    return KenwardRoger(
        beta=np.asarray(sol.beta, float),
        vcov_beta=TX @ Phi @ TX.T,
        vcov_adj=TX @ Phi_A @ TX.T,
        P=[TXi.T @ P @ TXi for P in PP],
        W=W,
        sigma=float(sol.sigma),
    )


# -- tests ------------------------------------------------------------------------------------
def t_test(method: Satterthwaite | KenwardRoger, l: np.ndarray, rhs: float = 0.0, level: float = 0.95) -> dict:
    """lmerTest's ``contest1D``: estimate, SE, df, t, the confidence limits and p for one contrast.

    Parameters
    ----------
    method : Satterthwaite or KenwardRoger
    l : ndarray (p,)
    rhs : float
        Tested value of ``l·β``.
    level : float
        Confidence level of ``lower``/``upper``.

    Returns
    -------
    dict
        ``Estimate``, ``Std. Error``, ``df``, ``t value``, ``lower``, ``upper``, ``Pr(>|t|)``.

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.design import make_design
    >>> prob = LmmProblem(make_design("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy")))
    >>> r = t_test(satterthwaite(prob, prob.solve()), np.array([0.0, 1.0]))
    >>> round(float(r["t value"]), 4), round(r["df"], 3)
    (6.7715, 17.0)
    """
    l = np.asarray(l, float)
    est = float(l @ method.beta)
    var, df = method.variance_df(l)
    se = np.sqrt(var)
    t = (est - rhs) / se
    fac = special.stdtrit(df, 1 - (1 - level) / 2)
    return {"Estimate": est, "Std. Error": se, "df": df, "t value": t, "lower": est - se * fac,
            "upper": est + se * fac, "Pr(>|t|)": float(2 * special.stdtr(df, -abs(t)))}


def _f_row(F: float, ndf: int, ddf: float, sigma: float, scale: float = 1.0) -> dict:
    ms = F * sigma**2
    Fs = F * scale
    return {"Sum Sq": ms * ndf, "Mean Sq": ms, "NumDF": ndf, "DenDF": ddf, "F value": Fs,
            "Pr(>F)": float(special.fdtrc(ndf, ddf, Fs))}


def _fstat_ddf(nu: np.ndarray, tol: float = 1e-8) -> float:
    """lmerTest's ``get_Fstat_ddf``: df of a mean of squared t statistics."""
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    E = np.sum(nu / (nu - 2))
    return float(2 * E / (E - len(nu)))


def f_test(method: Satterthwaite | KenwardRoger, L: np.ndarray) -> dict | None:
    """lmerTest's ``contestMD`` for ``L β = 0``: Sum Sq, Mean Sq, NumDF, DenDF, F value, Pr(>F).

    Parameters
    ----------
    method : Satterthwaite or KenwardRoger
    L : ndarray (k, p)

    Returns
    -------
    dict or None
        None for a contrast without rows (R's empty table).

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.design import make_design
    >>> prob = LmmProblem(make_design("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy")))
    >>> r = f_test(kenward_roger(prob, prob.solve()), np.eye(2))
    >>> round(r["F value"], 3), r["NumDF"], round(r["DenDF"], 4)
    (705.844, 2, 16.0)
    """
    L = np.atleast_2d(np.asarray(L, float))
    if L.shape[0] == 0:
        return None
    beta, sigma = method.beta, method.sigma
    if isinstance(method, KenwardRoger):
        q = int(np.linalg.matrix_rank(L))
        if q < L.shape[0]:  # pbkrtest's force_full_rank: a basis of the row space
            L = np.linalg.svd(L)[2][:q]
        ddf, scale = method.ddf(L, q)
        Lb = L @ beta
        FU = float(Lb @ np.linalg.solve(L @ method.vcov_adj @ L.T, Lb)) / q
        return _f_row(FU, q, ddf, sigma, scale)
    if L.shape[0] == 1:
        r = t_test(method, L[0])
        return _f_row(r["t value"] ** 2, 1, r["df"], sigma)
    d, P = np.linalg.eigh(L @ method.vcov_beta @ L.T)
    d, P = d[::-1], P[:, ::-1]
    pos = d > max(np.sqrt(np.finfo(float).eps) * d[0], 0)
    q = int(pos.sum())
    if q == 0:
        return None
    PtL = (P.T @ L)[:q]
    if q == 1:
        r = t_test(method, PtL[0])
        return _f_row(r["t value"] ** 2, 1, r["df"], sigma)
    F = float(np.sum((PtL @ beta) ** 2 / d[:q]) / q)
    nu = np.array([method.variance_df(row)[1] for row in PtL])
    return _f_row(F, q, _fstat_ddf(nu), sigma)


def contest(method: Satterthwaite | KenwardRoger, L: np.ndarray, joint: bool = True, level: float = 0.95) -> list[dict]:
    """lmerTest's ``contest``: one F row for L (``joint``) or one t row per row of L.

    Parameters
    ----------
    method : Satterthwaite or KenwardRoger
    L : array-like (k, p)
    joint : bool
    level : float

    Returns
    -------
    list of dict
        See :func:`f_test` and :func:`t_test`.

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.design import make_design
    >>> prob = LmmProblem(make_design("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy")))
    >>> rows = contest(satterthwaite(prob, prob.solve()), [[1.0, 5.0]], joint=False)
    >>> round(rows[0]["Estimate"], 3), round(rows[0]["df"], 3)
    (303.742, 17.0)
    """
    L = np.atleast_2d(np.asarray(L, float))
    if joint:
        row = f_test(method, L)
        return [] if row is None else [row]
    return [t_test(method, l, level=level) for l in L]
