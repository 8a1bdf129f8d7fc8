"""GLMM refits of small designs with dense arithmetic: the refits of power simulations.

:class:`~hierlm.engines.frequentist.glmm.GlmmProblem` solves every PIRLS step of a small model
(random + fixed effects ≤ ``DENSE_MAX``) with a dense Cholesky, but builds ``ZΛ`` and its weighted
cross products with scipy.sparse each time — for a model like cbpp's (56 rows, 15 herds) the sparse
bookkeeping costs most of a refit.  :class:`DenseGlmmProblem` keeps Z as a dense array (built once)
and forms the same system with dense products: the same numbers to rounding (the Laplace deviance to
~1e-13), three to four times faster.  Everything else — PIRLS, the two optimisation stages, the
Hessian-based vcov — is :class:`GlmmProblem`'s.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .glmm import GlmmProblem, _z_rows, augmented_solve

__all__ = ["DenseGlmmProblem", "dense_enough"]

DENSE_CELLS = 2_000_000  # largest dense Z (rows × random effects) kept in memory


def dense_enough(prob: GlmmProblem) -> bool:
    """Whether the problem is small enough for :class:`DenseGlmmProblem`."""
    return prob.dense and prob.n * prob.q <= DENSE_CELLS


class DenseGlmmProblem(GlmmProblem):
    """A small GLMM whose PIRLS steps use a dense Z (see the module docstring).

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.design import make_design, get_family, prepare_response
    >>> d = make_design("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"))
    >>> resp = prepare_response("binomial", d.response_value)
    >>> a = GlmmProblem(d, get_family("binomial"), resp).solve()
    >>> b = DenseGlmmProblem(d, get_family("binomial"), resp).solve()
    >>> bool(abs(a.objective - b.objective) < 1e-9), round(b.objective, 3)
    (True, 184.053)
    """

    def _dense_z(self) -> np.ndarray:
        if self._zs is None:
            self._zs = sp.hstack([_z_rows(idx, V, L) for (idx, V), L in zip(self.terms_internal, self.nlevels)],
                                 format="csr").toarray()
        return self._zs

    def _lambda_dense(self, lams) -> np.ndarray:
        Lam = np.zeros((self.q, self.q))
        s = 0
        for lam, L in zip(lams, self.nlevels):
            p = lam.shape[0]
            if p == 1:
                Lam[np.arange(s, s + L), np.arange(s, s + L)] = lam[0, 0]
            else:
                Lam[s : s + L * p, s : s + L * p] = np.kron(np.eye(L), lam)
            s += L * p
        return Lam

    def _dense_solve(self, lams, eta, mu, beta, update_beta):
        w, z = self.working(eta, mu)
        ZL = self._dense_z() @ self._lambda_dense(lams)
        ZLw = ZL * w[:, None]
        return augmented_solve(ZL.T @ ZLw, self.X.T @ ZLw if update_beta else None, self.X, w, z, ZLw, beta)
