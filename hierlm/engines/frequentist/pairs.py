"""Symbolic structure of the first block's Schur update ``G = AR1 blockdiag(Wₗ) AR1ᵀ``.

Level l of the first block touches the rows ``Rₗ`` of the rest where column block l of ``AR1``
(call it ``Kₗ``, |Rₗ| × p₁) is non-zero, and contributes ``Kₗ Wₗ Kₗᵀ`` to G.  So the lower
triangle of G is linear in the stacked ``vec(Wₗ)``: ``G_lower = P @ vec(W)``, where P has one row
per structurally non-zero lower entry of G and one column per (level, i, j).  P is built here
once per design, fully vectorised (the pairs of each level are enumerated with ``np.repeat``,
and the distinct entries are numbered with a dense mark array rather than a sort).

The transpose gives the adjoint: ``(Pᵀ t)ₗ = Σ_{a≥b} Kₗ[a]ᵀ t[a,b] Kₗ[b]``, which the gradient
uses for ``Kₗᵀ T Kₗ`` with a dense symmetric T.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["SchurPairs", "schur_pairs", "MAX_PAIRS"]

MAX_PAIRS = 40_000_000  # non-zeros of P above which the update falls back to a sparse triple product
_DENSE_MARK = 50_000_000  # largest q_rest² numbered with a dense mark array (else np.unique)


@dataclass
class SchurPairs:
    """``G_lower = P @ vec(W)``.

    Attributes
    ----------
    P : scipy.sparse.csc_matrix (nkeys, L₁ p₁²)
    keys : ndarray of int64
        Fortran-order flat index ``b q + a`` of each row of P, entry (a, b) with a ≥ b.
    rows, cols : ndarray of int
        a and b of each key.
    """

    P: sp.csc_matrix
    keys: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    gather: tuple | None = None  # (seg_of, col_of, first, second, order, (nseg, p1)): refreshes P for new AR1 values

    @property
    def PT(self) -> sp.csr_matrix:
        """Pᵀ (the adjoint), built once; it shares P's arrays, so :meth:`refresh` shows through."""
        t = self.__dict__.get("_PT")
        if t is None:
            t = self.__dict__["_PT"] = self.P.T
        return t

    def refresh(self, ar1_data: np.ndarray) -> None:
        """Recompute P's values in place for new values of AR1 with the same structure (its CSR data order).

        Needs ``schur_pairs(..., keep_gather=True)``; what a GLMM's PIRLS iteration calls when the
        IRLS weights change but not the pattern.
        """
        seg_of, col_of, first, second, order, shape = self.gather
        vals = np.zeros(shape)
        vals[seg_of, col_of] = ar1_data
        if order is None:
            np.multiply(vals[first, 0], vals[second, 0], out=self.P.data)
        else:
            prod = (vals[first][:, :, None] * vals[second][:, None, :]).reshape(-1)
            np.take(prod, order, out=self.P.data)


def schur_pairs(AR1: sp.spmatrix, nlevels: int, p1: int, q: int, keep_gather: bool = False) -> SchurPairs | None:
    """Build :class:`SchurPairs` for ``AR1`` (q × L₁p₁, columns level-major); None if too big.

    ``keep_gather`` keeps the index arrays that :meth:`SchurPairs.refresh` needs (memory: a few
    integers per pair).
    """
    A = AR1.tocoo()
    lvl = A.col // p1
    seg_key = lvl.astype(np.int64) * q + A.row
    ukey, inv = np.unique(seg_key, return_inverse=True)  # (level, row) touched, sorted
    it = np.int32 if q * q < 2**31 and len(ukey) < 2**31 else np.int64  # halves the memory traffic below
    seg_lvl, seg_row = (ukey // q).astype(it), (ukey % q).astype(it)
    vals = np.zeros((len(ukey), p1))
    vals[inv, A.col % p1] = A.data
    counts = np.bincount(seg_lvl, minlength=nlevels)
    npairs = counts * (counts + 1) // 2
    total = int(npairs.sum())
    if total * p1 * p1 > MAX_PAIRS:
        return None
    ptr = np.concatenate([[0], np.cumsum(counts)])
    local = np.arange(len(ukey)) - ptr[seg_lvl]  # position of each entry within its level
    reps = local + 1  # entry e pairs with the entries 0..local[e] of its level
    first = np.repeat(np.arange(len(ukey), dtype=it), reps)
    second = np.arange(total, dtype=np.int64) + np.repeat(ptr[seg_lvl] - (np.cumsum(reps) - reps), reps)
    a, b = seg_row[first], seg_row[second]  # a >= b: rows are sorted within a level
    flat = b * q + a
    keys, row_of = _number(flat, q)
    order = None
    if p1 == 1:
        data = vals[first, 0] * vals[second, 0]
        indptr = np.concatenate([[0], np.cumsum(npairs)])
    else:
        # entries ordered (level, pair, i, j) -> (level, i, j, pair): CSC columns are (level, i, j)
        prod = (vals[first][:, :, None] * vals[second][:, None, :]).reshape(-1)
        k2 = p1 * p1
        lv = np.repeat(np.arange(nlevels), npairs * k2)
        start = np.repeat(np.concatenate([[0], np.cumsum(npairs)[:-1]]), npairs * k2)
        local2 = np.arange(total * k2) - start * k2
        n_l = npairs[lv]
        ij, kk = local2 // n_l, local2 % n_l
        order = (start + kk) * k2 + ij
        data, row_of = prod[order], row_of[start + kk]
        indptr = np.concatenate([[0], np.cumsum(np.repeat(npairs, k2))])
    P = sp.csc_matrix((data, row_of, indptr), shape=(len(keys), nlevels * p1 * p1))
    gather = (inv, A.col % p1, first, second, order, (len(ukey), p1)) if keep_gather else None
    return SchurPairs(P=P, keys=keys, rows=keys % q, cols=keys // q, gather=gather)


def _number(flat: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of ``flat`` (sorted) and the index of each element among them."""
    if q * q > _DENSE_MARK:
        return np.unique(flat, return_inverse=True)
    mark = np.zeros(q * q, dtype=bool)
    mark[flat] = True
    keys = np.flatnonzero(mark)
    pos = np.cumsum(mark, dtype=np.int32)
    return keys, pos[flat] - 1
