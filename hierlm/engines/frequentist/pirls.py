"""The weighted least-squares solve of one PIRLS iteration, with its structure worked out once per fit.

A GLMM's PIRLS solves, at every iteration, the blocked system of
:mod:`hierlm.engines.frequentist.blocked` for new IRLS weights ``w`` and a new working response ``z``.
Building :class:`~hierlm.engines.frequentist.blocked.CrossProducts` from scratch each time repeats
the symbolic work (sparse products, the pair structure of the Schur update) that depends only on
the design.  :class:`IrlsSystem` does that work once and then refreshes the numbers in place:

* ``Z₁ᵀWZ₁`` per level: one ``bincount`` per pair of the first block's columns;
* ``[Z_R X z]ᵀWZ₁``: the later blocks' part by one ``bincount`` over fixed positions, the dense
  ``[X z]`` part by one sparse-times-dense product;
* ``[Z_R X z]ᵀW[Z_R X z]``: a ``bincount`` for the later blocks, a sparse-times-dense product for
  their cross products with ``[X z]`` and one BLAS product for ``[X z]ᵀW[X z]``;
* the Schur pair matrix's values by a gather (:meth:`~hierlm.engines.frequentist.pairs.SchurPairs.refresh`).

The factorisation and the solve are :class:`CrossProducts`' own (``factor``, ``modes``), so the
numbers are those of a freshly built system up to rounding.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from .blocked import CrossProducts, TermLayout, lower_inverse
from .pairs import schur_pairs

__all__ = ["IrlsSystem"]

DENSE_SCHUR_FLOPS = 20_000_000  # q_rest² · q₁ up to which the Schur update is one dense product
DENSE_AR1_SIZE = 2_000_000  # and AR1 (q_rest × q₁) is stored dense


class _DenseSchur(CrossProducts):
    """Cross products whose AR1 is a dense array (a small rest): G = AR1 blockdiag(W) AR1ᵀ by BLAS."""

    def schur_update(self, W: np.ndarray) -> np.ndarray:
        A = self.AR1
        if self.first.p == 1:
            return (A * W[:, 0, 0]) @ A.T
        q, L1, p1 = self.q_rest, self.first.nlevels, self.first.p
        AW = np.matmul(A.reshape(q, L1, p1).transpose(1, 0, 2), W).transpose(1, 0, 2).reshape(q, L1 * p1)
        return AW @ A.T

    def r1(self, f):
        """As :meth:`CrossProducts.r1`, as a sparse matrix (what ``solve`` and ``u_cond_var`` expect)."""
        return sp.csr_matrix(CrossProducts.r1(self, f))


class IrlsSystem:
    """The blocked penalised system of one design for any weights and working response.

    Parameters
    ----------
    terms : list of (index, values)
        Level index (n,) and internal term columns (n, p) of each random-effects block, lme4's order.
    nlevels : list of int
    X : ndarray (n, p)
        Fixed-effect columns (internal); zero columns when β is held fixed.

    Examples
    --------
    >>> import numpy as np
    >>> idx = np.array([0, 0, 1, 1, 2]); V = np.ones((5, 1)); X = np.column_stack([np.ones(5), np.arange(5.0)])
    >>> s = IrlsSystem([(idx, V)], [3], X)
    >>> u, beta, logdet = s.solve([np.eye(1)], np.ones(5), np.array([1.0, 2.0, 2.5, 3.0, 5.0]))
    >>> beta.round(4).tolist(), round(logdet, 4), u.round(4).tolist()
    ([0.9211, 0.9112], 2.8904, [0.0822, -0.2993, 0.2171])
    """

    def __init__(self, terms, nlevels, X: np.ndarray):
        idx1, V1 = terms[0]
        n, p = X.shape
        L1, p1 = int(nlevels[0]), V1.shape[1]
        self.n, self.p, self.L1, self.p1 = n, p, L1, p1
        self.idx1, self.V1 = np.asarray(idx1, np.int64), np.asarray(V1, float)
        self.X = np.asarray(X, float)
        self.terms, self.nlevels = terms, nlevels
        self.XZ = np.empty((n, p + 1))
        self.XZ[:, :p] = self.X
        self.q_re = sum(int(L) * V.shape[1] for (_, V), L in zip(terms[1:], nlevels[1:]))
        self.q_rest = self.q_re + p + 1
        self.obs_level = p1 == 1 and L1 == n and bool(np.all(np.bincount(self.idx1, minlength=L1) == 1))
        self.cp = None
        if self.obs_level:  # see _solve_obs_level: the other blocks form a smaller system
            self.v1sq = self.V1[:, 0] ** 2
            self.inner = IrlsSystem(terms[1:], nlevels[1:], X) if len(terms) > 1 else None
            self.later = [(np.asarray(idx, np.int64), np.asarray(V, float), int(L)) for (idx, V), L in
                          zip(terms[1:], nlevels[1:])]
        else:
            self._structure()

    def _structure(self) -> None:
        """The blocked system's structure (built on first use for an observation-level first block)."""
        terms, nlevels = self.terms, self.nlevels
        n, p, L1, p1 = self.n, self.p, self.L1, self.p1
        q1 = L1 * p1
        rest, pos, vals, off = [], [], [], 0
        for (idx, V), L in zip(terms[1:], nlevels[1:]):
            pt = V.shape[1]
            rest.append(TermLayout(int(L), pt, off))
            for j in range(pt):
                pos.append(off + np.asarray(idx, np.int64) * pt + j)
                vals.append(np.asarray(V[:, j], float))
            off += int(L) * pt
        q_re, q_rest = off, off + p + 1
        self.q_re, self.q_rest = q_re, q_rest
        self.pos_re = np.column_stack(pos) if pos else np.zeros((n, 0), np.int64)  # (n, k) rows of the rest
        self.h_re = np.column_stack(vals) if vals else np.zeros((n, 0))
        k = self.pos_re.shape[1]
        cols1 = self.idx1[:, None] * p1 + np.arange(p1)[None, :]  # (n, p1) columns of Z₁
        self.cols1 = cols1
        # A11: the pairs (j ≤ l) of the first block's columns
        self.a11_pairs = [(j, m) for j in range(p1) for m in range(j, p1)]
        self.v1_prod = [self.V1[:, j] * self.V1[:, m] for j, m in self.a11_pairs]
        # AR1 structure: the later blocks' rows (sparse), then [X z] rows (every column)
        if k:
            keys = (self.pos_re[:, :, None] * q1 + cols1[:, None, :]).reshape(-1)
            re_keys, self.re_inv = np.unique(keys, return_inverse=True)
        else:
            re_keys, self.re_inv = np.zeros(0, np.int64), np.zeros(0, np.int64)
        self.nnz_re = len(re_keys)
        re_rows, re_cols = re_keys // q1, re_keys % q1
        counts = np.bincount(re_rows, minlength=q_re) if q_re else np.zeros(0, np.int64)
        indptr = np.concatenate([[0], np.cumsum(counts), self.nnz_re + q1 * np.arange(1, p + 2)])
        indices = np.concatenate([re_cols, np.tile(np.arange(q1), p + 1)])
        self.AR1 = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(q_rest, q1))
        self.Z1T = sp.csr_matrix((self.V1.reshape(-1), (cols1.reshape(-1), np.repeat(np.arange(n), p1))), shape=(q1, n))
        if q_re:
            self.ZreT = sp.csr_matrix((self.h_re.reshape(-1), (self.pos_re.reshape(-1), np.repeat(np.arange(n), k))),
                                      shape=(q_re, n))
            self.rere = (self.pos_re[:, :, None] * q_re + self.pos_re[:, None, :]).reshape(-1)
        # a small rest: AR1 kept dense and the Schur update G = AR1 blockdiag(W) AR1ᵀ one BLAS product
        self.dense = q_rest * q_rest * q1 * p1 <= DENSE_SCHUR_FLOPS and q_rest * q1 <= DENSE_AR1_SIZE
        if self.dense:
            self.re_keys = re_keys
            self.AR1d = np.zeros((q_rest, q1))
            self.cp = _DenseSchur.assemble(n, TermLayout(L1, p1, 0), rest, p, np.empty((L1, p1, p1)), self.AR1d,
                                           np.empty((q_rest, q_rest)), None)
        else:
            pairs = schur_pairs(self.AR1, L1, p1, q_rest, keep_gather=True)
            self.cp = CrossProducts.assemble(n, TermLayout(L1, p1, 0), rest, p, np.empty((L1, p1, p1)), self.AR1,
                                             np.empty((q_rest, q_rest)), pairs)

    def update(self, w: np.ndarray, z: np.ndarray) -> CrossProducts:
        """Refresh the cross products in place for weights ``w`` (not their square roots) and response ``z``.

        Returns the system's :class:`CrossProducts` (the same object every time: its numbers change
        with the next call)."""
        if self.cp is None:
            self._structure()
        cp, L1, p = self.cp, self.L1, self.p
        for (j, m), prod in zip(self.a11_pairs, self.v1_prod):
            cp.A11[:, j, m] = cp.A11[:, m, j] = np.bincount(self.idx1, weights=w * prod, minlength=L1)
        XZ = self.XZ
        XZ[:, p] = z
        wXZ = XZ * w[:, None]
        data = self.AR1.data
        ARR, q_re = cp.ARR, self.q_re
        if self.dense:
            self.AR1d[q_re:] = (self.Z1T @ wXZ).T
        else:
            data[self.nnz_re :] = (self.Z1T @ wXZ).T.reshape(-1)
        ARR[q_re:, q_re:] = wXZ.T @ XZ
        if q_re:
            wh = self.h_re * w[:, None]
            re_vals = np.bincount(self.re_inv, weights=(wh[:, :, None] * self.V1[:, None, :]).reshape(-1),
                                  minlength=self.nnz_re)
            if self.dense:
                self.AR1d[:q_re].reshape(-1)[self.re_keys] = re_vals
            else:
                data[: self.nnz_re] = re_vals
            ARR[:q_re, :q_re] = np.bincount(self.rere, weights=(wh[:, :, None] * self.h_re[:, None, :]).reshape(-1),
                                            minlength=q_re * q_re).reshape(q_re, q_re)
            cross = self.ZreT @ wXZ
            ARR[:q_re, q_re:] = cross
            ARR[q_re:, :q_re] = cross.T
        if cp.pairs is not None:
            cp.pairs.refresh(data)
        return cp

    def solve(self, lams: list[np.ndarray], w: np.ndarray, z: np.ndarray):
        """Spherical modes u (all blocks, level-major), β and log|ΛᵀZᵀWZΛ + I| of the weighted
        penalised least-squares problem; None if the system is not positive definite."""
        if self.obs_level:
            return self._solve_obs_level(lams, w, z)
        if not self.q_re:
            return self._solve_scalar(lams[0][0, 0], w, z) if self.p1 == 1 else self._solve_single(lams[0], w, z)
        cp = self.update(w, z)
        f = cp.factor(lams)
        if f is None:
            return None
        beta, us = cp.modes(f)
        return np.concatenate(us), beta, f.logdet_re

    def _solve_scalar(self, lam: float, w: np.ndarray, z: np.ndarray):
        """One scalar block (a random intercept): the Schur complement of the diagonal first block is
        ``[X z]ᵀW[X z] − Sᵀ diag(λ²/mₗ) S`` with ``S = Z₁ᵀW[X z]`` and ``mₗ = λ²(Z₁ᵀWZ₁)ₗ + 1``, a
        (p+1)² matrix; the same numbers as the blocked factor with a handful of array operations."""
        p = self.p
        XZ = self.XZ
        XZ[:, p] = z
        wXZ = XZ * w[:, None]
        a11 = np.bincount(self.idx1, weights=w * self.v1_prod[0], minlength=self.L1)
        S = self.Z1T @ wXZ  # (L₁, p+1)
        m = (lam * lam) * a11 + 1.0
        M = wXZ.T @ XZ - (S * ((lam * lam) / m)[:, None]).T @ S
        L, info = sla.lapack.dpotrf(M, lower=1, clean=0, overwrite_a=1)
        if info != 0 or (p and np.any(np.diagonal(L)[:p] <= 0)):
            return None
        if p:
            beta, info = sla.lapack.dtrtrs(L[:p, :p], L[p, :p], lower=1, trans=1)
            if info != 0:
                return None
            g = S[:, p] - S[:, :p] @ beta
        else:
            beta, g = np.zeros(0), S[:, 0]
        return (lam * g) / m, beta, float(np.log(m).sum())

    def _solve_single(self, lam: np.ndarray, w: np.ndarray, z: np.ndarray):
        """One vector-valued block (random slopes): as :meth:`_solve_scalar` with p₁×p₁ blocks per level."""
        p, p1, L1 = self.p, self.p1, self.L1
        XZ = self.XZ
        XZ[:, p] = z
        wXZ = XZ * w[:, None]
        A11 = np.empty((L1, p1, p1))
        for (j, k), prod in zip(self.a11_pairs, self.v1_prod):
            A11[:, j, k] = A11[:, k, j] = np.bincount(self.idx1, weights=w * prod, minlength=L1)
        S = (self.Z1T @ wXZ).reshape(L1, p1, p + 1)
        B = np.matmul(np.matmul(lam.T, A11), lam)
        B[:, np.arange(p1), np.arange(p1)] += 1.0
        L11 = np.linalg.cholesky(B)
        Linv = lower_inverse(L11)
        Q = np.matmul(np.matmul(Linv, lam.T), S)  # L⁻¹ λᵀ Sₗ
        M = wXZ.T @ XZ - np.einsum("lia,lib->ab", Q, Q)
        L, info = sla.lapack.dpotrf(M, lower=1, clean=0, overwrite_a=1)
        if info != 0 or (p and np.any(np.diagonal(L)[:p] <= 0)):
            return None
        if p:
            beta, info = sla.lapack.dtrtrs(L[:p, :p], L[p, :p], lower=1, trans=1)
            if info != 0:
                return None
            g = S[:, :, p] - S[:, :, :p] @ beta
        else:
            beta, g = np.zeros(0), S[:, :, 0]
        u = np.matmul(np.swapaxes(Linv, 1, 2), np.matmul(Linv, (g @ lam)[:, :, None]))
        return u.reshape(-1), beta, 2.0 * float(np.log(np.diagonal(L11, axis1=1, axis2=2)).sum())

    def _solve_obs_level(self, lams: list[np.ndarray], w: np.ndarray, z: np.ndarray):
        """An observation-level first block (one observation per level, e.g. ``(1 | obs)``) is absorbed
        into the weights: with eᵢ the residual of the other terms, its modes are
        ``u₀ᵢ = λvᵢwᵢeᵢ / dᵢ`` (``dᵢ = 1 + λ²vᵢ²wᵢ``), and what is left is the same penalised problem
        over the other blocks with weights ``wᵢ / dᵢ``; ``log|M| = Σ log dᵢ + log|M_rest|``."""
        lam = lams[0][0, 0]
        d = 1.0 + (lam * lam) * (w * self.v1sq)
        wt = w / d
        p = self.p
        if self.inner is not None:
            out = self.inner.solve(lams[1:], wt, z)
            if out is None:
                return None
            u_rest, beta, logdet = out
            fit = self.X @ beta if p else np.zeros(self.n)
            start = 0
            for (idx, V, L), lamk in zip(self.later, lams[1:]):
                pk = V.shape[1]
                b = u_rest[start : start + L * pk].reshape(L, pk) @ lamk.T
                fit += V[:, 0] * b[idx, 0] if pk == 1 else np.einsum("ij,ij->i", V, b[idx])
                start += L * pk
        else:  # no other block: weighted least squares for β
            u_rest, logdet = np.zeros(0), 0.0
            if p:
                XZ = self.XZ
                XZ[:, p] = z
                M = (XZ * wt[:, None]).T @ XZ
                L, info = sla.lapack.dpotrf(M, lower=1, clean=0, overwrite_a=1)
                if info != 0 or np.any(np.diagonal(L)[:p] <= 0):
                    return None
                beta, info = sla.lapack.dtrtrs(L[:p, :p], L[p, :p], lower=1, trans=1)
                if info != 0:
                    return None
                fit = self.X @ beta
            else:
                beta, fit = np.zeros(0), np.zeros(self.n)
        u0 = np.empty(self.L1)
        u0[self.idx1] = lam * self.V1[:, 0] * wt * (z - fit)  # level-major: level idx1[i] is observation i
        return np.concatenate([u0, u_rest]), beta, float(np.log(d).sum()) + logdet
