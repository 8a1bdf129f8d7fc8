"""Analytic gradient of lme4's profiled deviance with respect to the relative factors λₖ.

With the augmented system ``M(θ) = Λ̃ᵀ C Λ̃ + D`` (``C = [Z X y]ᵀW[Z X y]``, ``Λ̃ = diag(Λ, I)``,
D the identity on u) the profiled deviance is ``log|M_s| + ν log r²`` (+ constants), where the
"s-system" is ``[u]`` for ML (ν = n) and ``[u; β]`` for REML (ν = n − p), and r² the penalised
residual sum of squares.  For entry (i, j) of λₖ, with ``S = M_s⁻¹`` and ``Y = S Λ̃ᵀ C``::

    ∂ log|M_s| = 2 Σₗ Y[(l, j), (l, i)]                  (sum over the levels l of block k)
    ∂ r²       = −2 Σₗ (Zₖᵀe)[l, i] ûₖ[l, j]              (envelope theorem, e the residual)

Y is never formed: only its level-diagonal blocks are needed.  For the first block they follow
from the rest's inverse ``S_RR`` through the adjoint of the Schur pair matrix
(``Qₗ = Kₗᵀ Λ_R S_RR Λ_Rᵀ Kₗ``)::

    Yₗ = Fₗ λᵀ C₁₁ₗ − Fₗ λᵀ Qₗ (I − λ Fₗ λᵀ C₁₁ₗ),   Fₗ = (λᵀ C₁₁ₗ λ + I)⁻¹

and for a later block from ``S_RR`` and the unscaled updated rest ``C_eff = ARR − G``
(``Y_RR = S_RR Λ_Rᵀ C_eff``).  No λ is ever inverted, so the gradient is exact on the boundary
too.  ``S_RR`` costs one LAPACK ``dpotri`` of the rest factor (about twice its Cholesky).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from .blocked import CrossProducts, Factor

__all__ = ["Conditional", "average_information", "cross_z", "curvature_correction", "derivatives",
           "deviance_gradient", "logdet_gradient", "pwrss_gradient"]


def deviance_gradient(cp: CrossProducts, f: Factor, reml: bool,
                      cond: "Conditional | None" = None) -> list[np.ndarray]:
    """∂d/∂λₖ (one p×p array per block; only the lower triangles are meaningful).

    ``f`` must come from ``cp.factor(lambdas, keep_ceff=True)``.
    """
    n, p = cp.n, cp.p
    m = cp.q_rest - 1 if reml else cp.q_re
    nu = n - p if reml else n
    g_ld = logdet_gradient(cp, f, m)
    g_r2 = pwrss_gradient(cp, f, cond)
    return [a + (nu / f.pwrss) * b for a, b in zip(g_ld, g_r2)]


def derivatives(cp: CrossProducts, f: Factor, reml: bool, entries) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and a positive-definite Hessian approximation of the deviance over θ.

    The Hessian is the average information plus :func:`curvature_correction` where that sum is
    positive definite, else the average information alone.  ``entries`` lists (block, i, j) per θ.

    ``f`` must come from ``cp.factor(lambdas, keep_ceff=True)``.
    """
    cond = Conditional(cp, f)
    grads = deviance_gradient(cp, f, reml, cond)
    g = np.array([grads[k][i, j] for k, i, j in entries])
    ai = average_information(cp, f, reml, entries, cond)
    full = ai + curvature_correction(grads, f.lambdas, entries)
    w = np.linalg.eigvalsh(full)
    return g, (full if w.size and w[0] > 1e-8 * abs(w[-1]) else ai)  # keep it positive definite


def curvature_correction(grads: list[np.ndarray], lams: list[np.ndarray], entries) -> np.ndarray:
    """The Hessian terms from the second derivatives of ΛΛᵀ, which the average information drops.

    The full-matrix gradient of block k is ``2 Rₖ λₖ`` with ``Rₖ = Σₗ(ZᵀPZ)ₗₗ − (ν/r²) Zₖᵀe eᵀZₖ``,
    and ``∂²(λλᵀ)/∂λᵢⱼ∂λᵢ'ⱼ = Eᵢᵢ' + Eᵢ'ᵢ`` adds ``2 Rₖ[i, i']`` for entries in the same column.
    Rₖ comes from the gradient where λₖ is well conditioned; otherwise (near the boundary) the
    block gets no correction.
    """
    K = len(entries)
    out = np.zeros((K, K))
    R = []
    for G, lam in zip(grads, lams):
        d = np.abs(np.diag(lam))
        ok = d.min() > 1e-6 * max(d.max(), 1e-300)
        R.append(0.5 * sla.solve_triangular(lam, G.T, lower=True, trans="T").T if ok else None)
    for a, (k, i, j) in enumerate(entries):
        for b, (k2, i2, j2) in enumerate(entries):
            if k == k2 and j == j2 and R[k] is not None:
                out[a, b] = R[k][i, i2] + R[k][i2, i]
    return out


def logdet_gradient(cp: CrossProducts, f: Factor, m: int) -> list[np.ndarray]:
    """∂ log|M_s|/∂λₖ where the s-system is the first block plus the first ``m`` rows of the rest."""
    if f.ceff is None or cp.pairs is None:
        raise ValueError("no gradient: the factor was made without keep_ceff=True, or the update has no pair structure")
    lams = f.lambdas
    if m:
        S, info = sla.lapack.dpotri(f.Lrr[:m, :m], lower=1)
        if info != 0:
            raise np.linalg.LinAlgError("dpotri failed")
    else:
        S = np.zeros((0, 0))
    C = f.ceff[:m, :m]
    if cp.scalar_rest:
        s = cp.row_scale(lams[1:])[:m]
        rest = _rest_traces_scalar(cp, S, C, s)
        t = _at_keys(cp, S, m, s)
    else:
        S, C = _symmetrise(S), _symmetrise(C)
        rest = _rest_traces(cp, S, C, lams[1:], m)
        T = cp.lambda_rows(cp.lambda_rows(S, lams[1:], transpose=False).T, lams[1:], transpose=False)
        t = _at_keys(cp, T, m)  # T = Λ_R S Λ_Rᵀ
    return [_first_block_trace(cp, f, t)] + rest


def _symmetrise(A: np.ndarray) -> np.ndarray:
    """The symmetric matrix whose lower triangle is that of A."""
    out = np.tril(A)
    out += np.tril(A, -1).T
    return out


def _rest_traces_scalar(cp: CrossProducts, S: np.ndarray, C: np.ndarray, s: np.ndarray) -> list[np.ndarray]:
    """2 Σ_{i∈k} Σ_c S[i,c] s_c C[c,i] per scalar later block k, from lower triangles only."""
    E = np.tril(S)
    E *= C
    per_row = E @ s + s @ E - s * np.diag(E)  # c < i from row i, c ≥ i from column i
    return [np.array([[2.0 * per_row[t.offset : t.offset + t.q].sum()]]) for t in cp.rest]


def _rest_traces(cp: CrossProducts, S: np.ndarray, C: np.ndarray, lams: list[np.ndarray], m: int) -> list[np.ndarray]:
    """2 Σₗ Y[(l,j),(l,i)] per later block, with Y = S Λ_Rᵀ C (full symmetric S, C)."""
    Z = cp.lambda_rows(C, lams)
    out = []
    for t in cp.rest:
        rows = S[t.offset : t.offset + t.q].reshape(t.nlevels, t.p, m)
        cols = Z[:, t.offset : t.offset + t.q].reshape(m, t.nlevels, t.p)
        out.append(2.0 * np.einsum("ljc,cli->ij", rows, cols))
    return out


def _at_keys(cp: CrossProducts, T: np.ndarray, m: int, s: np.ndarray | None = None) -> np.ndarray:
    """T (times sᵢsⱼ) at the Schur pair keys: zero outside the s-system, diagonal halved."""
    r, c = cp.pairs.rows, cp.pairs.cols
    keep = r < m  # r >= c, so the column is inside too
    rk, ck = r[keep], c[keep]
    t = np.zeros(len(r))
    t[keep] = T[rk, ck] if s is None else T[rk, ck] * s[rk] * s[ck]
    t[r == c] *= 0.5
    return t


def _first_block_trace(cp: CrossProducts, f: Factor, t: np.ndarray) -> np.ndarray:
    """2 Σₗ Yₗᵀ for the first block, Yₗ = Fₗλᵀ(C₁₁ₗ − Qₗ(I − λFₗλᵀC₁₁ₗ))."""
    p1 = cp.first.p
    lam = f.lambdas[0]
    A = cp.A11
    Q = _first_block_q(cp, t)
    if p1 == 1:
        m = f.L11[:, 0, 0] ** 2
        lv = lam[0, 0]
        return np.array([[2.0 * lv * float(np.sum(A[:, 0, 0] / m - Q[:, 0, 0] / (m * m)))]])
    Linv = f.l11_inverse()
    F = np.matmul(np.swapaxes(Linv, 1, 2), Linv)
    FlT = np.matmul(F, lam.T)  # Fₗ λᵀ
    FlTA = np.matmul(FlT, A)
    inner = np.eye(p1) - np.matmul(lam, FlTA)
    Y = FlTA - np.matmul(np.matmul(FlT, Q), inner)
    return 2.0 * Y.sum(axis=0).T


def _first_block_q(cp: CrossProducts, t: np.ndarray) -> np.ndarray:
    """Qₗ = Kₗᵀ T Kₗ per level of the first block, through the adjoint of the pair matrix."""
    R = (cp.pairs.PT @ t).reshape(cp.first.nlevels, cp.first.p, cp.first.p)
    return R + np.swapaxes(R, 1, 2)


class Conditional:
    """Conditional modes at one θ and the cross products of the residual: ``Zₖᵀe`` per block.

    Attributes
    ----------
    beta : ndarray
        β (internal X).
    U : list of ndarray
        Spherical modes per block, (levels, p).
    ZTe : list of ndarray
        ``Zₖᵀe`` per block, (levels, p), with ``e = y − ZΛû − Xβ̂`` (weighted), from the cross
        products rather than a pass over the data.
    LR1 : sparse matrix
        The first block's columns of the factor (see :meth:`CrossProducts.solve`), built on first use.
    """

    def __init__(self, cp: CrossProducts, f: Factor):
        self.cp, self.f = cp, f
        self.beta, us = cp.modes(f)
        lams = f.lambdas
        self.U = [u.reshape(t.nlevels, t.p) for u, t in zip(us, [cp.first] + cp.rest)]
        b = [U @ lam.T for U, lam in zip(self.U, lams)]
        v = np.concatenate([x.ravel() for x in b[1:]] + [self.beta, [-1.0]])
        ze1, zer = cross_z(cp, b[0][:, :, None], v[:, None])
        self.ZTe = [-ze1[:, :, 0]] + [-zer[t.offset : t.offset + t.q, 0].reshape(t.nlevels, t.p) for t in cp.rest]

    @property
    def LR1(self):
        return self.cp.solve(self.f)[2]


def cross_z(cp: CrossProducts, D1: np.ndarray, DR: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[Z X y]ᵀ(Z₁D₁ + Z_R D_R)`` for K columns: D₁ (L₁, p₁, K), D_R (q_re or q_rest, K).

    Returns the first block's part (L₁, p₁, K) and the rest's (q_rest, K).
    """
    L1, p1 = cp.first.nlevels, cp.first.p
    k = DR.shape[0]
    if k < cp.q_rest:
        DR = np.concatenate([DR, np.zeros((cp.q_rest - k, DR.shape[1]))])
    out1 = np.einsum("lij,ljk->lik", cp.A11, D1) + (cp.AR1T @ DR).reshape(L1, p1, -1)
    outr = cp.AR1 @ D1.reshape(L1 * p1, -1) + cp.ARR @ DR
    return out1, outr


def pwrss_gradient(cp: CrossProducts, f: Factor, cond: Conditional | None = None) -> list[np.ndarray]:
    """∂r²/∂λₖ = −2 (Zₖᵀe)ᵀ Uₖ (envelope theorem)."""
    cond = Conditional(cp, f) if cond is None else cond
    return [-2.0 * ze.T @ U for ze, U in zip(cond.ZTe, cond.U)]


def average_information(cp: CrossProducts, f: Factor, reml: bool, entries,
                        cond: Conditional | None = None) -> np.ndarray:
    """Average-information approximation to the Hessian of the profiled deviance over θ.

    ``(ν/r²)[wₐᵀPwᵦ − (eᵀwₐ)(eᵀwᵦ)/r²]`` with the working variates ``wₐ = Z ∂ₐ(ΛΛᵀ) Zᵀe`` and
    P the REML residual projector, computed from the cross products and forward solves with the
    factor (no traces).  It drops the terms with second derivatives of ΛΛᵀ (which vanish at an
    interior optimum for scalar blocks) and replaces the trace ``tr(PHₐPHᵦ)`` by its data
    estimate; it is positive semi-definite.  ``entries`` lists (block, i, j) for each θ.
    """
    cond = Conditional(cp, f) if cond is None else cond
    lams = f.lambdas
    L1, p1, q_re, m = cp.first.nlevels, cp.first.p, cp.q_re, cp.q_rest - 1
    K = len(entries)
    D1, DR = np.zeros((L1, p1, K)), np.zeros((q_re, K))
    for col, (k, i, j) in enumerate(entries):
        lam, ze = lams[k], cond.ZTe[k]
        dS = np.zeros_like(lam)
        dS[i] += lam[:, j]  # ∂(λλᵀ)/∂λᵢⱼ = Eᵢⱼλᵀ + λEⱼᵢ
        dS[:, i] += lam[:, j]
        delta = ze @ dS.T
        if k == 0:
            D1[:, :, col] = delta
        else:
            t = cp.rest[k - 1]
            DR[t.offset : t.offset + t.q, col] = delta.ravel()
    ew = np.einsum("lik,li->k", D1, cond.ZTe[0]) + DR.T @ np.concatenate([z.ravel() for z in cond.ZTe[1:]] + [[]])
    o1, orr = cross_z(cp, D1, DR)
    ww = np.einsum("lik,lij->kj", D1, o1) + DR.T @ orr[:q_re]
    c1 = np.einsum("ji,ljk->lik", lams[0], o1)  # λ₁ᵀ per level
    z1 = c1[:, 0, :] / f.L11[:, 0, 0][:, None] if p1 == 1 else np.matmul(f.l11_inverse(), c1)
    z1 = z1.reshape(L1 * p1, K)
    cr = cp.lambda_rows(orr[:m], lams[1:])
    zr = sla.solve_triangular(f.Lrr[:m, :m], cr - cp.lr1_times(f, z1, m), lower=True) if m else np.zeros((0, K))
    nu = cp.n - cp.p if reml else cp.n
    r2 = f.pwrss
    H = ww - z1.T @ z1 - zr.T @ zr - np.outer(ew, ew) / r2
    H = (nu / r2) * 0.5 * (H + H.T)
    return H
