"""Regression splines in formulas: R's ``splines::bs`` (B-splines) and ``splines::ns`` (natural cubic splines).

The bases are R's, number for number: interior knots at quantiles of x (R's type-7 ``quantile``),
the B-spline basis of ``splineDesign``, the natural-spline constraint removed by the same Householder
QR as ``qr.qty``, and, for new data outside the boundary knots, R's extrapolation (``ns``: linear beyond
the boundary; ``bs``: the Taylor polynomial at a pivot a quarter of the way to the nearest knot, as
``predict.bs``).  The knots are computed once, on the data the model is fitted to, and kept in the
design's state, so ``predict(newdata=...)`` evaluates the fitted basis (R's ``predvars``).

Column names are R's: the deparsed call followed by 1, 2, … (``ns(Days, 3)1``, ``bs(x, df = 4)2``).
Arguments follow R's order: ``bs(x, df, knots, degree = 3, intercept = FALSE, Boundary.knots)`` and
``ns(x, df, knots, intercept = FALSE, Boundary.knots)``; ``knots`` and ``Boundary.knots`` take ``c(...)``.

Examples
--------
>>> x = np.arange(10.0)
>>> B, st = spline_basis("ns", x, df=3)
>>> st["knots"], st["boundary"]
([3.0, 6.0], [0.0, 9.0])
>>> B.shape, round(float(B[4, 0]), 6)
((10, 3), 0.197479)
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.interpolate import BSpline

from ..errors import FormulaError, HierlmWarning
from ..formula import Bool, Call, Name, Node, Num, UnaryOp, deparse
from .limits import check_cells
from .value import CONSTANTS, Value

__all__ = ["bs_term", "ns_term", "spline_basis", "spline_design", "spline_predict"]


# -- R's splineDesign ---------------------------------------------------------------------------------
def spline_design(knots: np.ndarray, x: np.ndarray, order: int, derivs: int | np.ndarray = 0) -> np.ndarray:
    """B-spline basis (or its derivatives) at x, as R's ``splines::splineDesign(knots, x, ord, derivs)``.

    ``x`` must lie within ``knots[order - 1]`` and ``knots[-order]``; the right end belongs to the last
    interval, as in R.

    Examples
    --------
    >>> spline_design(np.array([0, 0, 1, 1.0]), np.array([0.0, 0.25, 1.0]), 2)
    array([[1.  , 0.  ],
           [0.75, 0.25],
           [0.  , 1.  ]])
    """
    knots = np.asarray(knots, float)
    x = np.asarray(x, float)
    nb = len(knots) - order
    derivs = np.broadcast_to(np.asarray(derivs, dtype=int), x.shape)
    out = np.empty((len(x), nb))
    spl = BSpline(knots, np.eye(nb), order - 1, extrapolate=True)
    for d in np.unique(derivs):
        rows = derivs == d
        f = spl if d == 0 else (spl.derivative(int(d)) if d < order else None)
        out[rows] = 0.0 if f is None else f(x[rows])
    return out


# -- the bases -----------------------------------------------------------------------------------------
def _inner_knots(x: np.ndarray, n_inner: int) -> list[float]:
    if n_inner <= 0:
        return []
    probs = np.linspace(0, 1, n_inner + 2)[1:-1]
    return np.quantile(x, probs).tolist()


def spline_basis(kind: str, x: np.ndarray, df: int | None = None, knots=None, degree: int = 3,
                 intercept: bool = False, boundary=None) -> tuple[np.ndarray, dict]:
    """R's ``bs(x, ...)`` / ``ns(x, ...)`` on training data: the basis and its state (knots) for new data.

    Parameters
    ----------
    kind : {"bs", "ns"}
    x : ndarray
        No missing values.
    df, knots, degree, intercept, boundary
        As R's arguments (``boundary`` is ``Boundary.knots``, default ``range(x)``; ``degree`` is 3 for ns).

    Returns
    -------
    (ndarray, dict)
        The basis (rows × columns) and ``{"kind", "knots", "boundary", "degree", "intercept"}``.
    """
    degree = 3 if kind == "ns" else int(degree)
    order = degree + 1
    given_boundary = boundary is not None
    boundary = [float(np.min(x)), float(np.max(x))] if boundary is None else sorted(float(b) for b in boundary)
    if knots is None and df is not None:
        n_inner = (df - order + (1 - intercept)) if kind == "bs" else (df - 1 - intercept)
        if n_inner < 0:
            used = order - (1 - intercept) if kind == "bs" else 1 + intercept
            warnings.warn(f"'df' was too small; have used {used}", HierlmWarning, stacklevel=4)
            n_inner = 0
        inside = x if not given_boundary else x[(x >= boundary[0]) & (x <= boundary[1])]
        knots = _inner_knots(inside, n_inner)
    state = {"kind": kind, "knots": [float(k) for k in (knots or [])], "boundary": boundary, "degree": degree,
             "intercept": bool(intercept)}
    return spline_predict(x, state, outside_ok=given_boundary), state


def spline_predict(x: np.ndarray, state: dict, outside_ok: bool = True) -> np.ndarray:
    """The basis of :func:`spline_basis` at new x (R's ``predict.bs`` / ``predict.ns``), from its state."""
    kind, degree, intercept = state["kind"], state["degree"], state["intercept"]
    lo, hi = state["boundary"]
    order = degree + 1
    aknots = np.sort(np.concatenate([np.repeat([lo, hi], order), state["knots"]]))
    x = np.asarray(x, float)
    left, right = (x < lo, x > hi) if outside_ok else (np.zeros(len(x), bool),) * 2
    inside = ~(left | right)
    basis = np.zeros((len(x), len(aknots) - order))
    basis[inside] = spline_design(aknots, x[inside], order)
    if kind == "ns":
        for mask, pivot in ((left, lo), (right, hi)):
            if mask.any():
                tt = spline_design(aknots, np.array([pivot, pivot]), 4, np.array([0, 1]))
                basis[mask] = np.column_stack([np.ones(mask.sum()), x[mask] - pivot]) @ tt
        const = spline_design(aknots, np.array([lo, hi]), 4, np.array([2, 2]))
        if not intercept:
            const, basis = const[:, 1:], basis[:, 1:]
        Q, _ = np.linalg.qr(const.T, mode="complete")  # R: qr.qty(qr(t(const)), t(basis))
        return (basis @ Q)[:, 2:]
    scalef = np.array([float(np.prod(np.arange(1, k + 1))) for k in range(order)])  # 0!, 1!, ..., degree!
    for mask, pivot in ((left, 0.75 * lo + 0.25 * aknots[order]), (right, 0.75 * hi + 0.25 * aknots[-order - 1])):
        if mask.any():
            xl = np.column_stack([np.ones(mask.sum())] + [(x[mask] - pivot) ** k for k in range(1, order)])
            tt = spline_design(aknots, np.full(order, pivot), order, np.arange(order))
            basis[mask] = xl @ (tt / scalef[:, None])
    return basis if intercept else basis[:, 1:]


# -- formula calls -------------------------------------------------------------------------------------
_SIGNATURES = {"bs": ("x", "df", "knots", "degree", "intercept", "Boundary.knots"),
               "ns": ("x", "df", "knots", "intercept", "Boundary.knots")}


def _arguments(node: Call) -> dict[str, Node]:
    names = _SIGNATURES[node.func]
    if len(node.args) > len(names):
        raise FormulaError(f"'{deparse(node)}' has too many arguments; {node.func}() takes {', '.join(names)}")
    out = dict(zip(names, node.args))
    for key, value in node.kwargs:
        match = [n for n in names if n == key] or [n for n in names if n.startswith(key)]  # R's partial matching
        if len(match) != 1 or match[0] in out:
            raise FormulaError(f"'{deparse(node)}': unknown or repeated argument '{key}'; {node.func}() takes "
                               f"{', '.join(names)}")
        out[match[0]] = value
    if "x" not in out:
        raise FormulaError(f"'{deparse(node)}' needs a variable, e.g. {node.func}(x, df = 3)")
    return out


def _numbers(node: Node | None, what: str, call: Call) -> list[float] | None:
    """A constant number or ``c(...)`` of numbers (None when absent)."""
    if node is None:
        return None
    if isinstance(node, Call) and node.func == "c" and not node.kwargs:
        return [v for a in node.args for v in _numbers(a, what, call)]
    if isinstance(node, Num) and not isinstance(node, Bool):
        return [float(node.value)]
    if isinstance(node, Name) and node.id in CONSTANTS:
        return [CONSTANTS[node.id]]
    if isinstance(node, Name) and node.id == "NULL":
        return None
    if isinstance(node, UnaryOp) and node.op in "+-":
        inner = _numbers(node.operand, what, call)
        if inner is not None and len(inner) == 1:
            return [-inner[0] if node.op == "-" else inner[0]]
    raise FormulaError(f"the argument '{what}' of '{deparse(call)}' must be a number or c(...) of numbers, not "
                       f"'{deparse(node)}'")


def _whole(node, what: str, call: Call, lowest: int) -> int | None:
    v = _numbers(node, what, call)
    if v is None:
        return None
    if len(v) != 1 or not np.isfinite(v[0]) or not float(v[0]).is_integer() or v[0] < lowest:
        raise FormulaError(f"the {what} of '{deparse(call)}' must be a whole number of at least {lowest}")
    return int(v[0])


def _flag(node, what: str, call: Call) -> bool:
    if node is None:
        return False
    if isinstance(node, Num) and float(node.value) in (0.0, 1.0):
        return bool(node.value)
    raise FormulaError(f"the argument '{what}' of '{deparse(call)}' must be TRUE or FALSE")


def _spline(kind: str, ev, node: Call) -> Value:
    args = _arguments(node)
    what = deparse(node)
    x = ev(args["x"]).numeric(deparse(args["x"]))
    key = (kind, node)
    if ev.training:
        df = _whole(args.get("df"), "df", node, 1)
        degree = 3 if kind == "ns" else _whole(args.get("degree"), "degree", node, 1) or 3
        knots = _numbers(args.get("knots"), "knots", node)
        boundary = _numbers(args.get("Boundary.knots"), "Boundary.knots", node)
        intercept = _flag(args.get("intercept"), "intercept", node)
        ok = x[np.isfinite(x)]
        if len(ok) == 0:
            raise FormulaError(f"'{what}': the variable has no finite values")
        if boundary is not None and (len(boundary) != 2 or boundary[0] == boundary[1]
                                     or not np.all(np.isfinite(boundary))):
            raise FormulaError(f"'{what}': Boundary.knots must be two different numbers, c(lower, upper)")
        lo, hi = (min(boundary), max(boundary)) if boundary is not None else (float(ok.min()), float(ok.max()))
        if knots is not None:
            knots = sorted(knots)
            if any(not np.isfinite(k) or k < lo or k > hi for k in knots):
                raise FormulaError(f"'{what}': the knots {knots} must lie within the boundary knots [{lo:g}, {hi:g}]")
        if knots is not None:
            ncol = len(knots) + (degree + intercept if kind == "bs" else 1 + intercept)
        elif df is not None:
            ncol = max(df, degree + intercept if kind == "bs" else 1 + intercept)
        else:
            ncol = degree + intercept if kind == "bs" else 1 + intercept
        distinct = len(np.unique(ok))
        need = ncol + (0 if intercept else 1)
        if need > distinct:
            raise FormulaError(
                f"'{what}' has {ncol} column(s) ({need} degrees of freedom with the intercept) but "
                f"'{deparse(args['x'])}' has only {distinct} distinct value(s); use df = "
                f"{max(distinct - (0 if intercept else 1), 1)} or fewer (or poly(), or treat it as a factor)")
        check_cells(what, len(x), ncol)
        basis, state = spline_basis(kind, ok, df, knots, degree, intercept, boundary)
        ev.state[key] = state
        if ((ok < state["boundary"][0]) | (ok > state["boundary"][1])).any() and kind == "bs":
            warnings.warn(f"'{what}': some x values are beyond the boundary knots, where the basis extrapolates "
                          "(R: 'some 'x' values beyond boundary knots may cause ill-conditioned bases')",
                          HierlmWarning, stacklevel=5)
    else:
        basis = spline_predict(x[np.isfinite(x)], ev.state[key], outside_ok=True)
    out = np.full((len(x), basis.shape[1]), np.nan)
    out[np.isfinite(x)] = basis
    return Value("mat", out, colnames=[str(i) for i in range(1, out.shape[1] + 1)])


def bs_term(ev, node: Call) -> Value:
    """``bs(x, df, knots, degree = 3, intercept = FALSE, Boundary.knots)`` in a formula (R's ``splines::bs``)."""
    return _spline("bs", ev, node)


def ns_term(ev, node: Call) -> Value:
    """``ns(x, df, knots, intercept = FALSE, Boundary.knots)`` in a formula (R's ``splines::ns``)."""
    return _spline("ns", ev, node)
