"""θ ↔ Λ ↔ Σ ↔ sd/cor: the covariance parameters of the random effects, in lme4's order.

Block i with q columns has a lower-triangular relative factor λᵢ with Σᵢ = σ² λᵢλᵢᵀ.  lme4's θ
stacks the lower triangles of the λᵢ **column by column** (``getME(m, "theta")``); its confint
names them ``.sig01, .sig02, …`` in the same order, reporting the standard deviation on the
diagonal and the correlation below it, then ``.sigma``.  For ``(Days | Subject)``: θ = (λ₁₁, λ₂₁,
λ₂₂), reported as sd (Intercept), cor, sd Days.

This module is the one home of that packing; engines, fits and services all convert through it.

Examples
--------
>>> import numpy as np
>>> lams = lambdas_of_theta(np.array([1.0, 0.5, 2.0]), [2])
>>> lams[0]
array([[1. , 0. ],
       [0.5, 2. ]])
>>> theta_of_lambdas(lams).tolist()
[1.0, 0.5, 2.0]
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = [
    "tril_colmajor",
    "theta_sizes",
    "theta_slices",
    "theta_lower_bounds",
    "lambdas_of_theta",
    "theta_of_lambdas",
    "covariances_of_theta",
    "sdcor_of_cov",
    "sdcor_of_theta",
    "lower_cholesky_of_product",
    "param_names",
    "param_labels",
]


def tril_colmajor(q: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of a q×q lower triangle in lme4's column-major order.

    Examples
    --------
    >>> [a.tolist() for a in tril_colmajor(2)]
    [[0, 1, 1], [0, 0, 1]]
    """
    return _tril_colmajor(int(q))


@lru_cache(maxsize=64)
def _tril_colmajor(q: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.tril_indices(q)
    order = np.lexsort((rows, cols))
    rows, cols = rows[order], cols[order]
    rows.setflags(write=False)  # shared between calls
    cols.setflags(write=False)
    return rows, cols


def theta_sizes(sizes: list[int]) -> list[int]:
    """Number of θ elements of every block (q(q + 1)/2)."""
    return [q * (q + 1) // 2 for q in sizes]


def theta_slices(sizes: list[int]) -> list[slice]:
    """The slice of θ that belongs to every block."""
    out, start = [], 0
    for k in theta_sizes(sizes):
        out.append(slice(start, start + k))
        start += k
    return out


def theta_lower_bounds(sizes: list[int]) -> np.ndarray:
    """lme4's ``lower``: 0 for the diagonal elements of every λᵢ, −∞ for the others."""
    out = [np.where(r == c, 0.0, -np.inf) for r, c in map(tril_colmajor, sizes)]
    return np.concatenate(out) if out else np.zeros(0)


def lambdas_of_theta(theta: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """θ → the lower-triangular relative factors λᵢ."""
    out = []
    theta = np.asarray(theta, float)
    start = 0
    for q in sizes:
        if q == 1:
            out.append(np.array([[theta[start]]]))
            start += 1
            continue
        k = q * (q + 1) // 2
        lam = np.zeros((q, q))
        r, c = tril_colmajor(q)
        lam[r, c] = theta[start : start + k]
        out.append(lam)
        start += k
    return out


def theta_of_lambdas(lambdas: list[np.ndarray]) -> np.ndarray:
    """The λᵢ → θ."""
    parts = [lam[tril_colmajor(lam.shape[0])] for lam in lambdas]
    return np.concatenate(parts) if parts else np.zeros(0)


def covariances_of_theta(theta: np.ndarray, sizes: list[int], sigma: float) -> list[np.ndarray]:
    """Σᵢ = σ² λᵢλᵢᵀ of every block."""
    return [sigma**2 * lam @ lam.T for lam in lambdas_of_theta(theta, sizes)]


def sdcor_of_cov(S: np.ndarray) -> np.ndarray:
    """A covariance matrix (or a stack of them, ``(..., q, q)``) → sds and correlations in θ order.

    A correlation with a zero sd is NaN (lme4 prints it as ``NaN``).
    """
    S = np.asarray(S, float)
    r, c = tril_colmajor(S.shape[-1])
    sd = np.sqrt(np.maximum(np.diagonal(S, axis1=-2, axis2=-1), 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(r == c, sd[..., r], S[..., r, c] / (sd[..., r] * sd[..., c]))


def sdcor_of_theta(theta: np.ndarray, sizes: list[int], sigma: float) -> np.ndarray:
    """lme4's ``Cv_to_Sv``: θ → sds and correlations in θ order (NaN for a correlation with a zero sd).

    Examples
    --------
    >>> sdcor_of_theta(np.array([1.0, 0.0, 2.0]), [2], sigma=3.0).tolist()
    [3.0, 0.0, 6.0]
    """
    out = [sdcor_of_cov(S) for S in covariances_of_theta(theta, sizes, sigma)]
    return np.concatenate(out) if out else np.zeros(0)


def lower_cholesky_of_product(M: np.ndarray) -> np.ndarray:
    """Lower-triangular L with a non-negative diagonal and ``L Lᵀ = M Mᵀ`` (also when singular)."""
    _, r = np.linalg.qr(M.T)
    L = r.T
    signs = np.where(np.diag(L) < 0, -1.0, 1.0)
    return L * signs[None, :]


def param_names(sizes: list[int]) -> list[str]:
    """lme4's ``oldNames`` of the variance parameters: ``.sig01 …`` in θ order, then ``.sigma``."""
    k = sum(theta_sizes(sizes))
    return [f".sig{i + 1:02d}" for i in range(k)] + [".sigma"]


def param_labels(blocks: list[tuple[str, list[str]]]) -> dict[str, str]:
    """``.sigNN`` → lme4's descriptive names, from ``(group, term names)`` per block.

    Examples
    --------
    >>> param_labels([("Subject", ["(Intercept)", "Days"])])
    {'.sig01': 'sd_(Intercept)|Subject', '.sig02': 'cor_Days.(Intercept)|Subject', '.sig03': 'sd_Days|Subject', '.sigma': 'sigma'}
    """
    labels = []
    for group, columns in blocks:
        for r, c in zip(*tril_colmajor(len(columns))):
            labels.append(f"sd_{columns[r]}|{group}" if r == c else f"cor_{columns[r]}.{columns[c]}|{group}")
    labels.append("sigma")
    return dict(zip(param_names([len(c) for _, c in blocks]), labels))
