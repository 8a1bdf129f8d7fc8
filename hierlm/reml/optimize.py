"""Bounded derivative-free minimisation (Powell's BOBYQA through NLopt, as MixedModels.jl uses)."""

from __future__ import annotations

import numpy as np

__all__ = ["bobyqa"]


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
