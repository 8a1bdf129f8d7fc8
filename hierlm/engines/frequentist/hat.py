"""Diagonal of the hat matrix of a mixed model, from the blocked Cholesky factor (lme4's ``hatvalues.merMod``).

lme4 (Bates et al. 2015, eqs. 63–65) writes the hat matrix of the penalised least-squares problem
as ``H = C_Lᵀ C_L + C_Rᵀ C_R`` with ``C_L = L⁻¹ Λᵀ Zᵀ W^½`` and ``C_R = R_X⁻ᵀ (Xᵀ W^½ − R_ZXᵀ C_L)``.
Both are columns of one triangular solve with the full factor of the system over ``[u; β]``::

    hᵢ = ‖ L_full⁻¹ aᵢ ‖²,   aᵢ = sᵢ [Λᵀ zᵢ; xᵢ]

where ``zᵢ``, ``xᵢ`` are row i of Z and X and ``sᵢ`` is the square root of the prior weight.  With
the blocked factor of :mod:`hierlm.engines.frequentist.blocked` (first random-effects block
block-diagonal, the rest dense) the solve is done in two steps: per observation a p₁×p₁ solve with
its level's factor of the first block, then, for chunks of observations, one dense triangular
solve with the rest's factor.  Nothing of size n×n is formed; memory is ``q_rest × chunk``.

For a GLMM lme4 uses the factor at the IRLS weights of the conditional modes but only the prior
weights in ``aᵢ`` (and warns that the hat matrix may not make sense for GLMMs); pass the factor
of the IRLS system and ``row_scale`` = √prior weights to get the same numbers.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from .blocked import CrossProducts, Factor
from .optimize import blas_threads

__all__ = ["mixed_hat_diagonal"]


def mixed_hat_diagonal(cp: CrossProducts, f: Factor, terms: list[tuple[np.ndarray, np.ndarray]], X: np.ndarray,
                       row_scale: np.ndarray | None = None, chunk_elems: int = 2_000_000) -> np.ndarray:
    """Diagonal of the hat matrix of a mixed model at the factor ``f`` of the cross products ``cp``.

    Parameters
    ----------
    cp : CrossProducts
        The system the factor belongs to (its weights are the ones of the hat matrix).
    f : Factor
        Its Cholesky factor at the fitted θ.
    terms : list of (index, values)
        Level index and term columns of every random-effects block, in the coordinates of ``cp``.
    X : ndarray (n, p)
        Fixed-effects matrix in the coordinates of ``cp``.
    row_scale : ndarray (n,), optional
        √ of the weights that multiply each row of ``[ZΛ X]`` (default 1).
    chunk_elems : int
        Size of the dense right-hand sides of the rest's solve (rows × observations).

    Returns
    -------
    ndarray (n,)
        hᵢ, as lme4's ``hatvalues(m)``.

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.engines.frequentist import LmmProblem
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> prob = m._problem()
    >>> f = prob.cp.factor(prob.tmap.lambdas(m.optinfo["theta_internal"]))
    >>> h = mixed_hat_diagonal(prob.cp, f, prob.terms_internal, prob.X_internal)
    >>> h[:3].round(4).tolist(), round(float(h.sum()), 3)
    ([0.2293, 0.1697, 0.1268], 29.022)
    """
    n = X.shape[0]
    s = np.ones(n) if row_scale is None else np.asarray(row_scale, float)
    lams = f.lambdas
    idx1, V1 = terms[0]
    p1 = V1.shape[1]
    a1 = (V1 @ lams[0]) * s[:, None]  # row i: λ₁ᵀ z₁ᵢ
    if p1 == 1:
        v1 = a1 / f.L11[idx1, 0, 0][:, None]
    else:
        v1 = np.linalg.solve(f.L11[idx1], a1[:, :, None])[:, :, 0]
    h = np.einsum("ij,ij->i", v1, v1)
    k = cp.q_rest - 1  # the rest without the response row
    if k == 0:
        return h
    with blas_threads(cp.q_rest):
        _, _, LR1 = cp.solve(f)
        LR1k = sp.csr_matrix(LR1)[:k].tocsc()
        # rows of aᵢ in the rest: λₜᵀ zₜᵢ for the later blocks, then xᵢ
        rows, cols, vals = [], [], []
        obs = np.arange(n)
        for t, (idx, V), lam in zip(cp.rest, terms[1:], lams[1:]):
            av = (V @ lam) * s[:, None]
            for j in range(t.p):
                rows.append(t.offset + idx * t.p + j)
                cols.append(obs)
                vals.append(av[:, j])
        Are = (sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(cp.q_re, n))
               if rows else sp.csc_matrix((0, n)))
        Xs = (X * s[:, None]).T  # p × n
        S = sp.csc_matrix((v1.ravel(), ((idx1[:, None] * p1 + np.arange(p1)).ravel(), np.repeat(obs, p1))),
                          shape=(LR1k.shape[1], n))
        Lk = f.Lrr[:k, :k]
        m = max(1, chunk_elems // k)
        for a in range(0, n, m):
            b = min(n, a + m)
            rhs = np.empty((k, b - a), order="F")
            rhs[: cp.q_re] = Are[:, a:b].toarray()
            rhs[cp.q_re :] = Xs[:, a:b]
            rhs -= (LR1k @ S[:, a:b]).toarray()
            Y = sla.solve_triangular(Lk, rhs, lower=True, check_finite=False, overwrite_b=True)
            h[a:b] += np.einsum("ij,ij->j", Y, Y)
    return h
