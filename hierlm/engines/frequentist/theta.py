"""The covariance parameter θ: relative Cholesky factors Λᵢ of each random-effects block.

As in lme4, block i with p columns has a lower-triangular p×p factor λᵢ with Σᵢ = σ² λᵢλᵢᵀ; θ
stacks the lower triangles column by column (lme4's ``getME(m, "theta")`` order), diagonal
elements bounded below by 0.

For the optimiser hierlm works in *internal* coordinates: term columns are centred (correlated
blocks with an intercept) and scaled, so that raw predictors such as ``Time`` ≈ 150–260 and its
square reach the same optimum as a standardised fit.  :class:`ThetaMap` converts both ways.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...design.covariance import (
    lambdas_of_theta,
    lower_cholesky_of_product,
    theta_lower_bounds,
    theta_of_lambdas,
    theta_sizes,
    theta_slices,
    tril_colmajor,
)

__all__ = ["ThetaMap", "column_transform"]


def _is_indicator(x: np.ndarray) -> bool:
    return bool(np.all((x == 0) | (x == 1)))


def column_transform(values: np.ndarray, names: list[str], center: bool) -> np.ndarray:
    """An upper-triangular T so that ``values @ T`` has centred (if ``center`` and an intercept is
    present) and unit-scale columns.  Indicator (0/1) columns and the intercept are left alone."""
    p = values.shape[1]
    T = np.eye(p)
    icpt = names.index("(Intercept)") if "(Intercept)" in names else None
    for j in range(p):
        x = values[:, j]
        if j == icpt or _is_indicator(x):
            continue
        c = float(x.mean()) if (center and icpt is not None) else 0.0
        s = float(np.sqrt(np.mean((x - c) ** 2)))
        if not np.isfinite(s) or s == 0:
            continue
        T[j, j] = 1.0 / s
        if c:
            T[icpt, j] = -c / s
    return T


@dataclass
class ThetaMap:
    """Layout of θ over the random-effects blocks.

    Parameters
    ----------
    sizes : list of int
        Number of columns p of every block.
    transforms : list of ndarray
        Per block, T with ``Z_internal = Z @ T`` (so ``b = T b_internal``).
    """

    sizes: list[int]
    transforms: list[np.ndarray]

    @property
    def ntheta(self) -> int:
        return sum(theta_sizes(self.sizes))

    def slices(self) -> list[slice]:
        return theta_slices(self.sizes)

    def lower_bounds(self) -> np.ndarray:
        """0 for diagonal elements, -inf for the others (lme4's ``lower``)."""
        return theta_lower_bounds(self.sizes)

    def start(self) -> np.ndarray:
        """lme4's starting value: identity factors."""
        return np.where(np.isinf(self.lower_bounds()), 0.0, 1.0)

    def entries(self) -> list[tuple[int, int, int]]:
        """(block, row, column) of λ for every element of θ, in θ's order."""
        out = []
        for k, p in enumerate(self.sizes):
            out += [(k, int(r), int(c)) for r, c in zip(*tril_colmajor(p))]
        return out

    def lambdas(self, theta: np.ndarray) -> list[np.ndarray]:
        """θ → list of lower-triangular λᵢ."""
        return lambdas_of_theta(theta, self.sizes)

    def theta_of(self, lambdas: list[np.ndarray]) -> np.ndarray:
        """list of λᵢ → θ."""
        return theta_of_lambdas(lambdas)

    def to_original(self, theta_internal: np.ndarray) -> np.ndarray:
        """Internal θ → θ of the model as written (Λ = chol(T λ λᵀ Tᵀ))."""
        lams = [lower_cholesky_of_product(T @ lam) for T, lam in zip(self.transforms, self.lambdas(theta_internal))]
        return self.theta_of(lams)

    def to_internal(self, theta: np.ndarray) -> np.ndarray:
        """θ as written → internal θ."""
        lams = [lower_cholesky_of_product(np.linalg.solve(T, lam)) for T, lam in zip(self.transforms, self.lambdas(theta))]
        return self.theta_of(lams)
