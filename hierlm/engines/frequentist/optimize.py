"""Bounded minimisation of the profiled deviance: Powell's BOBYQA through NLopt (derivative-free, as
MixedModels.jl uses) and a Newton iteration with an average-information Hessian (large models)."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from scipy.optimize import minimize_scalar

__all__ = ["bobyqa", "minimize_theta", "newton_ai", "blas_threads"]


def bobyqa(fun, x0: np.ndarray, lower: np.ndarray, upper: np.ndarray | None = None,
           ftol_rel: float = 1e-12, ftol_abs: float = 1e-8, xtol_abs: float = 1e-10,
           initial_step: float | np.ndarray = 0.75, maxeval: int = 100_000, restarts: int = 0) -> dict:
    """Minimise ``fun`` from ``x0`` within bounds with NLopt's LN_BOBYQA.

    NLopt's ``ftol`` test can stop BOBYQA after one small gain while its model is still poor (seen
    0.07 above the optimum of a 3-parameter profiled deviance); ``restarts`` runs it again from the
    result with a smaller initial step (0.1), as long as that still gains more than ``ftol_abs``.

    Returns a dict with ``x``, ``fun``, ``nevals`` and ``message``.
    """
    out = _bobyqa(fun, x0, lower, upper, ftol_rel, ftol_abs, xtol_abs, initial_step, maxeval)
    for _ in range(restarts):
        more = _bobyqa(fun, out["x"], lower, upper, ftol_rel, ftol_abs, xtol_abs, 0.1, maxeval)
        gain = out["fun"] - more["fun"]
        out = dict(more, nevals=out["nevals"] + more["nevals"]) if gain > 0 else dict(out, nevals=out["nevals"] + more["nevals"])
        if not gain > ftol_abs:
            break
    return out


def _bobyqa(fun, x0, lower, upper, ftol_rel, ftol_abs, xtol_abs, initial_step, maxeval) -> dict:
    import nlopt

    x0 = np.asarray(x0, float)
    n = len(x0)
    count = [0]

    best = [np.inf, x0]

    def f(x, grad):
        count[0] += 1
        val = fun(x)
        val = float(val) if np.isfinite(val) else 1e300
        if val < best[0]:
            best[:] = [val, x.copy()]
        return val

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
    try:
        x = opt.optimize(x0)
    except nlopt.RoundoffLimited:  # no further progress possible: the best point seen is the answer
        return {"x": np.asarray(best[1]), "fun": best[0], "nevals": count[0],
                "message": "roundoff limited"}
    return {"x": np.asarray(x), "fun": opt.last_optimum_value(), "nevals": count[0], "message": _RESULTS.get(opt.last_optimize_result(), "unknown")}


_RESULTS = {1: "success", 2: "stopval reached", 3: "ftol reached", 4: "xtol reached", 5: "maxeval reached", 6: "maxtime reached"}


def minimize_theta(fun, x0: np.ndarray, lb: np.ndarray, **kw) -> dict:
    """BOBYQA; for one parameter (a scalar θ, where the deviance is even in θ) Brent's method on |θ|,
    since NLopt's one-dimensional fallback (COBYLA) stops early on the slightly noisy PIRLS deviance.

    Brent's relative tolerance on θ is 1e-10, or 1e-5 when a loose ``ftol_abs`` (≥ 1e-6: the first
    stage of a GLMM fit, whose optimum only starts the second) is asked for: the deviance is then within
    ~1e-6 of its minimum, well inside that tolerance, in about half the evaluations.  With the default
    tolerances (no ``ftol_abs``) BOBYQA is restarted once from its result (see :func:`bobyqa`), unless
    ``restarts`` says otherwise (the LMM optimiser, which polishes the result with Newton steps, passes 0).
    """
    if len(x0) > 1:
        if "restarts" not in kw:
            kw["restarts"] = 0 if "ftol_abs" in kw else 1  # the default tolerances: a verified optimum
        return bobyqa(fun, x0, lb, **kw)
    kw.pop("restarts", None)
    count = [0]

    def f1(t):
        count[0] += 1
        return fun(np.array([abs(t)]))

    xtol = 1e-5 if kw.get("ftol_abs", 0.0) >= 1e-6 else 1e-10
    res = minimize_scalar(f1, bracket=(0.5 * x0[0] + 0.05, x0[0] + 0.1), method="brent", options={"xtol": xtol})
    return {"x": np.array([abs(res.x)]), "fun": float(res.fun), "nevals": count[0], "message": "brent"}


SINGLE_THREAD_MAX = 3000  # dense systems up to this size use one BLAS thread (see blas_threads)
_CONTROLLER: list = []
_ACTIVE = [0]  # how many one-thread blocks are open (nested ones cost nothing)


@contextmanager
def blas_threads(size: int):
    """One BLAS thread for dense algebra up to ``SINGLE_THREAD_MAX``.

    Measured on this 2-core machine (InstEval REML fit, rest matrix 1145 × 1145, alternating in
    one process): one thread 0.57-0.74 s, two threads 0.83-0.93 s with the cores idle, and
    0.53-0.65 s against 0.78-0.85 s with another process busy on them (where a single two-thread
    Cholesky was once seen taking 2.4 s instead of 15 ms: threads spin waiting for each other).
    Only the dense Cholesky itself gains from a second thread (~1.4×); the many smaller BLAS
    calls around it lose.  The ``threadpoolctl`` controller is built once, so entering this
    costs ~15 µs, and nothing inside another one-thread block (a fit limits the whole fit once).
    """
    if size > SINGLE_THREAD_MAX or _ACTIVE[0]:  # large, or already inside a one-thread block
        yield
        return
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl comes with pymc
            _CONTROLLER.append(None)
        else:
            _CONTROLLER.append(ThreadpoolController())
    if _CONTROLLER[0] is None:  # pragma: no cover
        yield
        return
    with _CONTROLLER[0].limit(limits=1, user_api="blas"):
        _ACTIVE[0] += 1
        try:
            yield
        finally:
            _ACTIVE[0] -= 1


def newton_ai(fun, x0: np.ndarray, lb: np.ndarray, tol: float = 1e-9, maxiter: int = 40,
              boundary_fraction: float = 0.9, active_tol: float = 1e-6, max_step: float = 2.0,
              at_x0: tuple | None = None) -> dict:
    """Bounded Newton iteration with a supplied Hessian approximation (average information).

    Coordinates heading for a lower bound stop a fraction ``boundary_fraction`` of the way there
    (the step is bent, not shortened), so iterates stay interior: on the boundary the
    approximation loses the curvature of a vanishing λ.  Coordinates within ``active_tol`` of
    their bound with the gradient pushing outwards are held fixed (lme4's boundary check then
    decides whether they belong on it).  Each step is backtracked until the value decreases
    (Armijo), or lengthened while the value keeps decreasing when a full step gains twice what
    the quadratic model predicts (a curved valley).

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (value, derivs)``; ``derivs()`` gives ``(gradient, hessian)`` at x and is
        called only for accepted points.  ``value`` is ``inf`` where undefined.
    x0, lb : ndarray
        Start and lower bounds (``-inf`` for none).
    tol : float
        Converged when the Newton decrement ``gᵀH⁻¹g/2`` over the free coordinates is below it.
    maxiter : int
    boundary_fraction, active_tol : float
        See above.
    max_step : float
        No coordinate changes by more than ``max_step × max(1, |xᵢ|)`` in one step.
    at_x0 : tuple, optional
        ``fun(x0)`` if already computed.

    Returns
    -------
    dict
        ``x``, ``fun``, ``nevals``, ``converged``, ``iterations`` and ``message``.
    """
    x = np.asarray(x0, float).copy()
    f, dfun = fun(x) if at_x0 is None else at_x0
    nevals = 1 if at_x0 is None else 0

    def done(converged, it, message):
        return {"x": x, "fun": f, "nevals": nevals, "converged": converged, "iterations": it,
                "message": message}

    if not np.isfinite(f):
        return done(False, 0, "non-finite value at the start")
    g, H = dfun()
    bounded = np.isfinite(lb)
    for it in range(1, maxiter + 1):
        free = ~(bounded & (x - lb <= active_tol) & (g > 0))
        d = np.zeros_like(x)
        d[free] = _newton_step(g[free], H[np.ix_(free, free)])
        decrement = -float(g @ d)
        if decrement <= 2 * tol:
            return done(True, it, "newton decrement")
        t = min(1.0, max_step / max(float(np.max(np.abs(d) / np.maximum(np.abs(x), 1.0))), 1e-300))
        # coordinates heading for a bound stop a fraction of the way there; the others take the step
        stop = np.full_like(x, -np.inf)
        stop[bounded] = lb[bounded] + (1.0 - boundary_fraction) * (x[bounded] - lb[bounded])
        while True:
            xn = np.maximum(x + t * d, stop)
            fn, dn = fun(xn)
            nevals += 1
            gain = -float(g @ (xn - x))
            if np.isfinite(fn) and fn <= f - 1e-4 * gain:
                break
            if np.isfinite(fn) and fn - f <= 1e-14 * max(1.0, abs(f)) and gain <= 1e-12 * max(1.0, abs(f)):
                return done(True, it, "converged to rounding level")
            if t < 1e-6:
                return done(False, it, "line search failed")
            t *= 0.5
        if t == 1.0 and f - fn > 0.75 * decrement:  # twice the quadratic model's gain: H overestimates
            for _ in range(6):  # the curvature along d (a curved valley), so try longer steps
                xe = np.maximum(x + 2.0 * t * d, stop)
                fe, de = fun(xe)
                nevals += 1
                if not (np.isfinite(fe) and fe < fn):
                    break
                t, xn, fn, dn = 2.0 * t, xe, fe, de
        x, f = xn, fn
        g, H = dn()
    return done(False, maxiter, "maximum number of iterations")
def _newton_step(g: np.ndarray, H: np.ndarray) -> np.ndarray:
    """-H⁻¹g with H's eigenvalues floored at 1e-8 of the largest (H is small: one row per θ)."""
    w, V = np.linalg.eigh(0.5 * (H + H.T))
    top = max(float(np.max(np.abs(w))) if len(w) else 0.0, 1e-300)
    return -V @ ((V.T @ g) / np.maximum(w, 1e-8 * top))
