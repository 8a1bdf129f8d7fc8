"""Bounded derivative-free minimisation (Powell's BOBYQA through NLopt, as MixedModels.jl uses)."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from scipy.optimize import minimize_scalar

__all__ = ["bobyqa", "minimize_theta", "blas_threads"]


def bobyqa(fun, x0: np.ndarray, lower: np.ndarray, upper: np.ndarray | None = None,
           ftol_rel: float = 1e-12, ftol_abs: float = 1e-8, xtol_abs: float = 1e-10,
           initial_step: float | np.ndarray = 0.75, maxeval: int = 100_000) -> dict:
    """Minimise ``fun`` from ``x0`` within bounds with NLopt's LN_BOBYQA.

    Returns a dict with ``x``, ``fun``, ``nevals`` and ``message``.
    """
    import nlopt

    x0 = np.asarray(x0, float)
    n = len(x0)
    count = [0]

    def f(x, grad):
        count[0] += 1
        val = fun(x)
        return float(val) if np.isfinite(val) else 1e300

    algo = nlopt.LN_BOBYQA if n > 1 else nlopt.LN_COBYLA  # BOBYQA needs 2+ dimensions
    opt = nlopt.opt(algo, n)
    opt.set_min_objective(f)
    opt.set_lower_bounds(np.where(np.isfinite(lower), lower, -1e300) if n else lower)
    if upper is not None:
        opt.set_upper_bounds(upper)
    opt.set_ftol_rel(ftol_rel)
    opt.set_ftol_abs(ftol_abs)
    opt.set_xtol_abs(xtol_abs)
    opt.set_maxeval(maxeval)
    opt.set_initial_step(initial_step)
    x = opt.optimize(x0)
    return {"x": np.asarray(x), "fun": opt.last_optimum_value(), "nevals": count[0], "message": _RESULTS.get(opt.last_optimize_result(), "unknown")}


_RESULTS = {1: "success", 2: "stopval reached", 3: "ftol reached", 4: "xtol reached", 5: "maxeval reached", 6: "maxtime reached"}


def minimize_theta(fun, x0: np.ndarray, lb: np.ndarray, **kw) -> dict:
    """BOBYQA; for one parameter (a scalar θ, where the deviance is even in θ) Brent's method on |θ|,
    since NLopt's one-dimensional fallback (COBYLA) stops early on the slightly noisy PIRLS deviance."""
    if len(x0) > 1:
        return bobyqa(fun, x0, lb, **kw)
    count = [0]

    def f1(t):
        count[0] += 1
        return fun(np.array([abs(t)]))

    res = minimize_scalar(f1, bracket=(0.5 * x0[0] + 0.05, x0[0] + 0.1), method="brent", options={"xtol": 1e-10})
    return {"x": np.array([abs(res.x)]), "fun": float(res.fun), "nevals": count[0], "message": "brent"}


@contextmanager
def blas_threads(size: int):
    """One BLAS thread for small dense algebra: threads only add contention there (and thrash
    badly when other processes share the cores)."""
    if size > 1500:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with pymc
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield
