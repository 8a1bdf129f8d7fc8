"""Blocked sparse Cholesky of lme4's penalised system, as MixedModels.jl organises it.

The system matrix for ``[u; β; y]`` is ``Λᵀ[Z X y]ᵀW[Z X y]Λ + I`` (identity on the u part).
Random-effects blocks are ordered by decreasing number of levels.  The first block has no fill-in:
its diagonal is block-diagonal (one p×p block per level), so it is factored level by level.
Everything after it (the other blocks, X and y) is one dense "rest" matrix, updated by the Schur
complement of the first block.  That update is linear in the per-level matrices
``Wₗ = λ (λᵀA₁₁ₗλ + I)⁻¹ λᵀ`` with a sparsity pattern fixed by the data, so its structure is
worked out once (:func:`hierlm.engines.frequentist.pairs.schur_pairs`) and each θ costs one sparse mat-vec, a
scatter into the lower triangle, and a dense Cholesky of the rest.

Symbolic work is done once per design and weights; :meth:`CrossProducts.factor` is the per-θ update.
The rest matrix is kept in Fortran order and only its lower triangle is formed, which is all
LAPACK's ``dpotrf`` reads (so the factor needs no copy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from ...design.limits import check_cells
from .optimize import blas_threads
from .pairs import SchurPairs, schur_pairs

__all__ = ["CrossProducts", "Factor", "TermLayout", "block_diagonal", "lower_inverse"]

_LIMIT_THREADS_FROM = 100  # factor() limits BLAS threads itself from this rest size (callers may not)


@dataclass
class TermLayout:
    """Position of one random-effects block in the system."""

    nlevels: int
    p: int
    offset: int  # first row in the rest matrix (blocks after the first), 0 for the first block

    @property
    def q(self) -> int:
        return self.nlevels * self.p


@dataclass
class Factor:
    """Cholesky factor at one θ.

    ``L11`` holds the per-level factors of the first block (L₁, p₁, p₁); ``Lrr`` the dense lower
    factor of the rest ``[u₂…u_k; β; y]`` (Fortran order; only its lower triangle is the factor, the
    upper one holds finite leftovers).
    ``logdet_re`` is log|Λᵀ ZᵀWZ Λ + I|, ``logdet_x`` is log|RXᵀRX| and ``pwrss`` the penalised
    weighted residual sum of squares.  ``ceff`` (only when asked for, for gradients) is the
    unscaled rest matrix after the Schur update, ``ARR − AR1 blockdiag(Wₗ) AR1ᵀ`` (lower triangle).
    """

    lambdas: list[np.ndarray]
    L11: np.ndarray
    Lrr: np.ndarray
    logdet_re: float
    logdet_x: float
    pwrss: float
    ceff: np.ndarray | None = None
    L11inv: np.ndarray | None = None  # per-level inverses of L11 (vector-valued first block)

    def l11_inverse(self) -> np.ndarray:
        """L11ₗ⁻¹ per level (lower triangular), computed once."""
        if self.L11inv is None:
            self.L11inv = lower_inverse(self.L11)
        return self.L11inv


class CrossProducts:
    """Cross products of ``[Z₁ | Z₂ … Z_k X y]`` (weighted) and the fixed structure of the update.

    Parameters
    ----------
    terms : list of (index, values)
        Level index (n,) and term columns (n, p) of each random-effects block, in lme4's order.
    nlevels : list of int
    X : ndarray (n, p)
    y : ndarray (n,)
    sqrtw : ndarray (n,), optional
        Square roots of the weights (prior weights, or IRLS weights for a GLMM).

    Attributes
    ----------
    A11 : ndarray (L₁, p₁, p₁)
        Per-level blocks of ``Z₁ᵀWZ₁``.
    AR1 : sparse (q_rest, L₁p₁)
        ``[Z₂…Z_k X y]ᵀ W Z₁``.
    ARR : ndarray (q_rest, q_rest)
        ``[Z₂…Z_k X y]ᵀ W [Z₂…Z_k X y]`` (dense, symmetric).
    pairs : SchurPairs or None
        The Schur update's structure (None when too large: then a sparse triple product is used
        and no gradient is available).
    """

    def __init__(self, terms, nlevels, X, y, sqrtw=None):
        n = X.shape[0]
        sw = np.ones(n) if sqrtw is None else np.asarray(sqrtw, float)
        idx1, V1 = terms[0]
        L1, p1 = nlevels[0], V1.shape[1]
        self.n, self.p = n, X.shape[1]
        self.first = TermLayout(L1, p1, 0)
        V1w = V1 * sw[:, None]
        A11 = np.empty((L1, p1, p1))  # per-level p1×p1 blocks of Z₁ᵀWZ₁
        for j in range(p1):
            for k in range(j, p1):
                A11[:, j, k] = A11[:, k, j] = np.bincount(idx1, weights=V1w[:, j] * V1w[:, k], minlength=L1)
        self.A11 = A11
        cols, layouts, off = [], [], 0
        for (idx, V), L in zip(terms[1:], nlevels[1:]):
            p = V.shape[1]
            layouts.append(TermLayout(L, p, off))
            cols.append(_z_matrix(idx, V * sw[:, None], L))
            off += L * p
        self.rest = layouts
        self.q_re = off  # number of random-effect rows in the rest
        self.q_rest = off + self.p + 1
        # the rest is factored densely (q_rest × q_rest): refuse before allocating what cannot fit
        check_cells(f"the random effects after the first block ({off:,} of them) and the fixed effects", self.q_rest,
                    self.q_rest, "Put the grouping factor with the most levels first, or use fewer terms per bar "
                    "((x || g) splits a factor bar into one block per level).")
        XY = np.column_stack([X * sw[:, None], y * sw])
        ZR = sp.hstack(cols + [sp.csc_matrix(XY)], format="csc") if cols else sp.csc_matrix(XY)
        Z1 = _z_matrix(idx1, V1w, L1)
        self.AR1 = (ZR.T @ Z1).tocsr()  # q_rest × q1
        self.ARR = np.asarray((ZR.T @ ZR).todense()) if cols else XY.T @ XY  # symmetric, C order
        self.scalar_rest = all(t.p == 1 for t in layouts)
        # row segments of the rest (each later block, then X and y together) for block-wise scaling
        self.segments = [(t.offset, t.offset + t.q) for t in layouts] + [(self.q_re, self.q_rest)]
        self.pairs: SchurPairs | None = schur_pairs(self.AR1, L1, p1, self.q_rest)

    @property
    def AR1T(self) -> sp.csc_matrix:
        """AR1ᵀ (a view sharing AR1's arrays, built once: in-place refreshes of AR1's values show through)."""
        cached = self.__dict__.get("_AR1T")
        if cached is None or cached[0] is not self.AR1:
            cached = self.__dict__["_AR1T"] = (self.AR1, self.AR1.T)
        return cached[1]

    @classmethod
    def assemble(cls, n: int, first: TermLayout, rest: list[TermLayout], p: int, A11: np.ndarray, AR1: sp.csr_matrix,
                 ARR: np.ndarray, pairs: SchurPairs | None) -> CrossProducts:
        """Cross products from their parts (the structure of a design with the numbers of one set of
        weights): what :mod:`hierlm.engines.frequentist.pirls` refreshes in place between PIRLS iterations."""
        cp = cls.__new__(cls)
        cp.n, cp.p, cp.first, cp.rest = n, p, first, rest
        cp.A11, cp.AR1, cp.ARR, cp.pairs = A11, AR1, ARR, pairs
        cp.q_re = sum(t.q for t in rest)
        cp.q_rest = cp.q_re + p + 1
        cp.scalar_rest = all(t.p == 1 for t in rest)
        cp.segments = [(t.offset, t.offset + t.q) for t in rest] + [(cp.q_re, cp.q_rest)]
        return cp

    # -- per-θ numeric part -----------------------------------------------------------------
    def first_block(self, lam1: np.ndarray):
        """Per-level factors L11 of λᵀA₁₁λ + I and the Schur weights Wₗ = λ(λᵀA₁₁λ+I)⁻¹λᵀ."""
        return self._first_block(lam1)[:2]

    def _first_block(self, lam1: np.ndarray):
        """L11, W and (vector-valued blocks) the per-level L11⁻¹."""
        p1 = self.first.p
        if p1 == 1:
            lam = lam1[0, 0]
            m = lam * lam * self.A11[:, 0, 0] + 1.0
            return np.sqrt(m)[:, None, None], ((lam * lam) / m)[:, None, None], None
        M = np.matmul(np.matmul(lam1.T, self.A11), lam1)
        M[:, np.arange(p1), np.arange(p1)] += 1.0
        L11 = np.linalg.cholesky(M)
        Linv = lower_inverse(L11)
        Q = np.matmul(Linv, lam1.T)  # L⁻¹ λᵀ
        return L11, np.matmul(np.swapaxes(Q, 1, 2), Q), Linv

    def schur_update(self, W: np.ndarray) -> np.ndarray:
        """G = AR1 blockdiag(Wₗ) AR1ᵀ as a dense symmetric matrix."""
        q = self.q_rest
        if self.pairs is not None:
            G = np.zeros(q * q)
            G[self.pairs.keys] = self.pairs.P @ W.reshape(-1)  # Fortran-order lower = C-order upper
            G = G.reshape(q, q)
            G += G.T
            G[np.diag_indices(q)] *= 0.5
            return G
        p1 = self.first.p
        BD = sp.block_diag([sp.csr_matrix(w) for w in W], format="csr") if p1 > 1 else sp.diags(W[:, 0, 0])
        return np.asarray((self.AR1 @ BD @ self.AR1.T).todense())

    def row_scale(self, lambdas: list[np.ndarray]) -> np.ndarray:
        """Diagonal of Λ_R (scalar later blocks): θ of each block on its rows, 1 on X and y."""
        s = np.ones(self.q_rest)
        for t, lam in zip(self.rest, lambdas):
            s[t.offset : t.offset + t.q] = lam[0, 0]
        return s

    def _scaled_lower(self, src: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Lower blocks of Λ_Rᵀ src Λ_R (scalar later blocks) into a Fortran-order matrix."""
        q = self.q_rest
        if not self.q_re:  # no later blocks: nothing to scale
            return np.array(src, order="F")
        out = np.zeros((q, q), order="F")  # zeros: the upper triangle must stay finite
        seg = self.segments
        for a, (a0, a1) in enumerate(seg):
            for b0, b1 in seg[: a + 1]:
                np.multiply(src[a0:a1, b0:b1], s[a0] * s[b0], out=out[a0:a1, b0:b1])
        return out

    def rest_matrix(self, W: np.ndarray, lambdas: list[np.ndarray], keep_ceff: bool = False):
        """Λ_Rᵀ(ARR − G)Λ_R + I (identity on later blocks' rows), lower triangle, Fortran order.

        Returns the matrix and, with ``keep_ceff``, the unscaled ``ARR − G`` (else None).
        """
        pairs, q = self.pairs, self.q_rest
        if self.scalar_rest and pairs is not None:
            s = self.row_scale(lambdas)
            vals = pairs.P @ W.reshape(-1)
            if keep_ceff:
                ceff = np.array(self.ARR.T, order="F")  # ARR is symmetric: its transpose is a free F view
                ceff.reshape(-1, order="F")[pairs.keys] -= vals
                M = self._scaled_lower(ceff, s)
            else:
                ceff = None
                M = self._scaled_lower(self.ARR.T, s)
                vals *= s[pairs.rows] * s[pairs.cols]
                M.reshape(-1, order="F")[pairs.keys] -= vals
        else:
            ceff = self.ARR - self.schur_update(W)
            M = np.asfortranarray(self.lambda_scale(ceff.copy() if keep_ceff else ceff, lambdas))  # symmetric
        if self.q_re:
            M.reshape(-1, order="F")[0 : self.q_re * (q + 1) : q + 1] += 1.0  # M is Fortran-ordered: a view
        return M, (ceff if keep_ceff else None)

    def lambda_scale(self, M: np.ndarray, lambdas: list[np.ndarray]) -> np.ndarray:
        """Λ_Rᵀ M Λ_R for the rest (Λ_R block diagonal over later terms, identity on X, y).

        Scalar later blocks scale M in place; vector-valued ones return a new array.
        """
        if self.scalar_rest:
            s = self.row_scale(lambdas)
            M *= s[:, None]
            M *= s[None, :]
            return M
        return self.lambda_rows(self.lambda_rows(M, lambdas).T, lambdas).T

    def lambda_rows(self, M: np.ndarray, lambdas: list[np.ndarray], transpose: bool = True) -> np.ndarray:
        """Λ_Rᵀ M (``transpose``) or Λ_R M for a dense M with the rest's rows (or its first ones).

        The rows of each later block are multiplied by λᵀ (or λ) level by level; the rows of X and y
        are unchanged.  Returns a new array.
        """
        out = np.array(M)
        for t, lam in zip(self.rest, lambdas):
            blk = M[t.offset : t.offset + t.q].reshape(t.nlevels, t.p, -1)
            out[t.offset : t.offset + t.q] = np.einsum("ji,ljc->lic" if transpose else "ij,ljc->lic",
                                                       lam, blk).reshape(t.q, -1)
        return out

    def factor(self, lambdas: list[np.ndarray], keep_ceff: bool = False) -> Factor | None:
        """Factor the system at the given λ's (first block first); None if not positive definite."""
        L11, W, L11inv = self._first_block(lambdas[0])
        M, ceff = self.rest_matrix(W, lambdas[1:], keep_ceff)
        if self.q_rest >= _LIMIT_THREADS_FROM:
            with blas_threads(self.q_rest):
                Lrr, info = sla.lapack.dpotrf(M, lower=1, clean=0, overwrite_a=1)
        else:
            Lrr, info = sla.lapack.dpotrf(M, lower=1, clean=0, overwrite_a=1)
        if info != 0:
            return None
        d = np.diag(Lrr)
        if self.first.p == 1:
            ld1 = 2.0 * np.log(L11[:, 0, 0]).sum()
        else:
            ld1 = 2.0 * np.log(np.diagonal(L11, axis1=1, axis2=2)).sum()
        logdet_re = ld1 + 2.0 * np.log(d[: self.q_re]).sum()
        dx = d[self.q_re : self.q_re + self.p]
        if np.any(dx <= 0):
            return None
        return Factor(
            lambdas=lambdas,
            L11=L11,
            Lrr=Lrr,
            logdet_re=float(logdet_re),
            logdet_x=float(2.0 * np.log(dx).sum()),
            pwrss=float(d[-1] ** 2),
            ceff=ceff,
            L11inv=L11inv,
        )

    # -- solutions ------------------------------------------------------------------------
    def r1(self, f: Factor) -> sp.csr_matrix:
        """L_R1ᵀ-free helper: AR1 · blockdiag(λ₁ L11ₗ⁻ᵀ), the first block's columns of L (before Λ_R)."""
        p1 = self.first.p
        lam1 = f.lambdas[0]
        if p1 == 1:
            return self.AR1 @ sp.diags(lam1[0, 0] / f.L11[:, 0, 0])
        R = np.matmul(lam1, np.swapaxes(f.l11_inverse(), 1, 2))
        return self.AR1 @ block_diagonal(R)

    def modes(self, f: Factor) -> tuple[np.ndarray, list[np.ndarray]]:
        """β (internal X) and the spherical u of every block (level-major), without forming L_R1.

        With ``x = (u_R, β)`` from the rest's factor, the first block's modes are
        ``u₁ₗ = (λᵀA₁₁ₗλ + I)⁻¹ λᵀ (AR1ᵀ w)ₗ`` with ``w = (−Λ_R u_R, −β, 1)``: one sparse mat-vec.
        """
        Lrr = f.Lrr
        k = self.q_rest - 1
        if k:
            x, info = sla.lapack.dtrtrs(Lrr[:k, :k], Lrr[k, :k], lower=1, trans=1)
            if info != 0:
                raise np.linalg.LinAlgError(f"dtrtrs failed ({info})")
        else:
            x = Lrr[k, :0]
        w = np.empty(self.q_rest)
        q_re = self.q_re
        if q_re:
            if self.scalar_rest:
                w[:q_re] = x[:q_re] * self.row_scale(f.lambdas[1:])[:q_re]
            else:
                w[:q_re] = self.lambda_rows(x[:q_re, None], f.lambdas[1:], transpose=False)[:, 0]
        w[q_re:k] = x[q_re:]
        w[:k] *= -1.0
        w[k] = 1.0
        g = self.AR1T @ w
        lam1 = f.lambdas[0]
        if self.first.p == 1:
            lv = lam1[0, 0]
            u1 = (lv * g) / (f.L11[:, 0, 0] ** 2)
        else:
            p1 = self.first.p
            Li = f.l11_inverse()
            rhs = (g.reshape(-1, p1) @ lam1)[:, :, None]  # λᵀ gₗ
            u1 = np.matmul(np.swapaxes(Li, 1, 2), np.matmul(Li, rhs)).reshape(-1)
        return x[q_re:], [u1] + [x[t.offset : t.offset + t.q] for t in self.rest]

    def lr1_times(self, f: Factor, Z: np.ndarray, rows: int | None = None) -> np.ndarray:
        """``L_R1[:rows] @ Z`` for a dense Z (L₁p₁ × K) without forming L_R1 (= Λ̃_Rᵀ AR1 blockdiag(λ₁L11ₗ⁻ᵀ))."""
        p1, L1 = self.first.p, self.first.nlevels
        lam1 = f.lambdas[0]
        K = Z.shape[1]
        if p1 == 1:
            RZ = Z * (lam1[0, 0] / f.L11[:, 0, 0])[:, None]
        else:
            Y = np.matmul(np.swapaxes(f.l11_inverse(), 1, 2), Z.reshape(L1, p1, K))  # L11ₗ⁻ᵀ Zₗ
            RZ = np.matmul(lam1, Y).reshape(L1 * p1, K)
        rows = self.q_rest if rows is None else rows
        out = np.asarray(self.AR1 @ RZ)[:rows]
        if self.q_re:
            if self.scalar_rest:
                out *= self.row_scale(f.lambdas[1:])[:rows, None]
            else:
                out = self.lambda_rows(out, f.lambdas[1:]) if rows >= self.q_re else out
        return out

    def solve(self, f: Factor) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
        """β (internal X), the spherical u of every block (level-major), and L_R1 for reuse."""
        beta, us = self.modes(f)
        C = self.r1(f)  # q_rest × q1 : rows still without Λ_R
        if self.scalar_rest:
            LR1 = sp.diags(self.row_scale(f.lambdas[1:])) @ C
        else:
            LR1 = sp.csr_matrix(self.lambda_left_sparse(C, f.lambdas[1:]))
        return beta, us, LR1

    def lambda_left_sparse(self, C: sp.spmatrix, lambdas: list[np.ndarray]) -> sp.spmatrix:
        """Λ_Rᵀ C for a sparse C (rows of the rest)."""
        blocks = [np.broadcast_to(lam.T, (t.nlevels, t.p, t.p)) for t, lam in zip(self.rest, lambdas)]
        blocks.append(np.ones((self.p + 1, 1, 1)))
        return block_diagonal(blocks) @ C


def lower_inverse(L: np.ndarray) -> np.ndarray:
    """Inverses of a stack (..., p, p) of lower-triangular matrices with positive diagonals (closed form
    for p = 2, one batched LAPACK call otherwise): the first block's L11 have eigenvalues ≥ 1."""
    if L.shape[-1] == 2:
        a, b, c = L[..., 0, 0], L[..., 1, 0], L[..., 1, 1]
        out = np.zeros(L.shape)
        out[..., 0, 0] = 1.0 / a
        out[..., 1, 1] = 1.0 / c
        out[..., 1, 0] = -b / (a * c)
        return out
    return np.linalg.inv(L)


def block_diagonal(blocks) -> sp.csr_matrix:
    """CSR matrix with the square blocks of one (L, p, p) array, or of a list of such arrays, on its diagonal."""
    if isinstance(blocks, np.ndarray):
        blocks = [blocks]
    data, indices, starts, off = [], [], [], 0
    nnz = 0
    for B in blocks:
        L, p, _ = B.shape
        data.append(np.ascontiguousarray(B).reshape(-1))
        cols = off + (np.arange(L)[:, None, None] * p + np.arange(p)[None, None, :])
        indices.append(np.broadcast_to(cols, (L, p, p)).reshape(-1))
        starts.append(nnz + np.arange(L * p) * p)
        nnz += L * p * p
        off += L * p
    indptr = np.concatenate(starts + [[nnz]])
    return sp.csr_matrix((np.concatenate(data), np.concatenate(indices), indptr), shape=(off, off))


def _z_matrix(idx: np.ndarray, V: np.ndarray, nlevels: int) -> sp.csc_matrix:
    n, p = V.shape
    rows = np.repeat(np.arange(n), p)
    cols = (idx[:, None] * p + np.arange(p)[None, :]).ravel()
    return sp.csc_matrix((V.ravel(), (rows, cols)), shape=(n, nlevels * p))


def _u_cond_var(cp: CrossProducts, f: Factor, LR1: sp.csr_matrix, chunk: int = 2048) -> list[np.ndarray]:
    """Diagonal blocks of (Λᵀ ZᵀWZ Λ + I)⁻¹ per block and level: conditional covariances of u / σ².

    Uses the random-effects part of the factor only (lme4's ``condVar`` conditions on β).
    """
    q_re, p1, L1 = cp.q_re, cp.first.p, cp.first.nlevels
    Lre = f.Lrr[:q_re, :q_re]
    L11inv = f.l11_inverse() if p1 > 1 else 1.0 / f.L11
    out = []
    var1 = np.matmul(np.swapaxes(L11inv, 1, 2), L11inv) if p1 > 1 else (L11inv**2)
    if q_re:
        LR1re = LR1[:q_re].tocsc()
        for start in range(0, L1, chunk):
            stop = min(L1, start + chunk)
            D = LR1re[:, start * p1 : stop * p1].toarray()
            Y = sla.solve_triangular(Lre, D, lower=True).reshape(q_re, stop - start, p1)
            YtY = np.einsum("rlj,rlk->ljk", Y, Y)
            Li = L11inv[start:stop]
            var1[start:stop] += np.matmul(np.matmul(np.swapaxes(Li, 1, 2), YtY), Li)
    out.append(var1.reshape(L1, p1, p1))
    if q_re:
        Linv = sla.solve_triangular(Lre, np.eye(q_re), lower=True)
        for t in cp.rest:
            cols = Linv[:, t.offset : t.offset + t.q].reshape(q_re, t.nlevels, t.p)
            out.append(np.einsum("rlj,rlk->ljk", cols, cols))
    return out


CrossProducts.u_cond_var = _u_cond_var
