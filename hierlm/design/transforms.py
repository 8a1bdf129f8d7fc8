"""The R functions a formula may call, with R's semantics (``poly`` as R's orthogonal polynomials)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import FormulaError
from ..formula import Bool, Call, Name, Num, Str, UnaryOp, deparse
from .limits import check_cells
from .splines import bs_term, ns_term
from .value import CONSTANTS, Value

__all__ = ["FUNCTIONS", "poly_fit", "poly_predict"]


def _one_arg(ev: "Evaluator", node: Call) -> Value:
    if len(node.args) != 1 or node.kwargs:
        raise FormulaError(f"{node.func}() takes one argument: '{deparse(node)}'")
    return ev(node.args[0])


def _numeric_fn(fn: Callable[[np.ndarray], np.ndarray]):
    def apply(ev: "Evaluator", node: Call) -> Value:
        v = _one_arg(ev, node)
        with np.errstate(all="ignore"):
            return Value("num", fn(v.numeric(deparse(node.args[0]))))

    return apply


def _arg(node: Call, pos: int, name: str, default=None):
    if len(node.args) > pos:
        return node.args[pos]
    for k, v in node.kwargs:
        if k == name:
            return v
    return default


def _constant(node, what: str, call: Call) -> float | str | bool:
    if node is None:
        return None
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Str):
        return node.value
    if isinstance(node, Bool):
        return bool(node.value)
    if isinstance(node, Name) and node.id in CONSTANTS:
        return CONSTANTS[node.id]
    if isinstance(node, UnaryOp) and node.op in "+-" and isinstance(node.operand, (Num, Name)):
        v = _constant(node.operand, what, call)
        if isinstance(v, float):
            return -v if node.op == "-" else v
    raise FormulaError(f"the argument '{what}' of '{deparse(call)}' must be a constant")


def _number(node, what: str, call: Call) -> float | None:
    """A numeric constant argument (None when absent); HierlmError for text."""
    v = _constant(node, what, call)
    if v is None:
        return None
    if isinstance(v, str):
        raise FormulaError(f"the argument '{what}' of '{deparse(call)}' must be a number, not the text {v!r}")
    return float(v)


def _flag(node, what: str, call: Call, default: bool) -> bool:
    """A TRUE/FALSE argument (numbers 0 and 1 accepted, as R coerces them)."""
    v = _constant(node, what, call)
    if v is None:
        return default
    if isinstance(v, bool) or (isinstance(v, float) and v in (0.0, 1.0)):
        return bool(v)
    raise FormulaError(f"the argument '{what}' of '{deparse(call)}' must be TRUE or FALSE, not {v!r}")


def _log(ev: "Evaluator", node: Call) -> Value:
    x = ev(node.args[0]).numeric(deparse(node.args[0])) if node.args else None
    if x is None:
        raise FormulaError(f"log() needs an argument: '{deparse(node)}'")
    base = _number(_arg(node, 1, "base"), "base", node)
    if base is not None and not (np.isfinite(base) and base > 0 and base != 1):
        raise FormulaError(f"the base of '{deparse(node)}' must be a positive number other than 1")
    with np.errstate(all="ignore"):
        out = np.log(x) if base is None else np.log(x) / np.log(base)
    return Value("num", out)


def poly_fit(x: np.ndarray, degree: int) -> tuple[np.ndarray, dict]:
    """R's ``poly(x, degree)``: orthogonal polynomial columns and the coefficients for new data."""
    xbar = x.mean()
    xc = x - xbar
    X = np.vander(xc, degree + 1, increasing=True)
    Q, R = np.linalg.qr(X)
    Z = Q * np.diag(R)
    norm2 = (Z**2).sum(axis=0)
    alpha = ((xc[:, None] * Z**2).sum(axis=0) / norm2 + xbar)[:degree]
    Z = Z / np.sqrt(norm2)
    return Z[:, 1:], {"alpha": alpha.tolist(), "norm2": [1.0] + norm2.tolist()}


def poly_predict(x: np.ndarray, degree: int, coefs: dict) -> np.ndarray:
    """R's ``predict`` for ``poly``: the three-term recurrence with the training coefficients."""
    alpha, norm2 = np.asarray(coefs["alpha"]), np.asarray(coefs["norm2"])
    Z = np.ones((len(x), degree + 1))
    Z[:, 1] = x - alpha[0]
    for i in range(1, degree):
        Z[:, i + 1] = (x - alpha[i]) * Z[:, i] - (norm2[i + 1] / norm2[i]) * Z[:, i - 1]
    Z = Z / np.sqrt(norm2[1:])
    return Z[:, 1:]


def _poly(ev: "Evaluator", node: Call) -> Value:
    if not node.args:
        raise FormulaError(f"poly() needs a variable: '{deparse(node)}'")
    x = ev(node.args[0]).numeric(deparse(node.args[0]))
    degree = _constant(_arg(node, 1, "degree", Num(1)), "degree", node)
    raw = _flag(_arg(node, 2, "raw"), "raw", node, False)
    if isinstance(degree, str) or not np.isfinite(degree) or not float(degree).is_integer() or degree < 1:
        raise FormulaError(f"the degree in '{deparse(node)}' must be a positive whole number")
    key = ("poly", node)
    if ev.training:
        unique = len(np.unique(x[~np.isnan(x)]))
        if degree >= unique:
            raise FormulaError(f"'{deparse(node)}': the degree ({degree:g}) must be less than the number of unique "
                               f"points of the variable ({unique})")
    check_cells(deparse(node), len(x), degree)
    degree = int(degree)
    names = [str(i) for i in range(1, degree + 1)]
    if raw:
        return Value("mat", np.vander(x, degree + 1, increasing=True)[:, 1:], colnames=names)
    if ev.training:
        Z, coefs = poly_fit(x, degree)
        ev.state[key] = coefs
    else:
        Z = poly_predict(x, degree, ev.state[key])
    return Value("mat", Z, colnames=names)


def _scale(ev: "Evaluator", node: Call) -> Value:
    x = ev(node.args[0]).numeric(deparse(node.args[0]))
    do_center = _flag(_arg(node, 1, "center"), "center", node, True)
    do_scale = _flag(_arg(node, 2, "scale"), "scale", node, True)
    key = ("scale", node)
    if ev.training:
        c = float(np.mean(x)) if do_center else 0.0
        s = float(np.sqrt(np.sum((x - c) ** 2) / max(len(x) - 1, 1))) if do_scale else 1.0
        ev.state[key] = (c, s if s > 0 else 1.0)
    c, s = ev.state[key]
    return Value("num", (x - c) / s)


def _identity(ev: "Evaluator", node: Call) -> Value:
    return _one_arg(ev, node)


def _factor(ev: "Evaluator", node: Call) -> Value:
    if len(node.args) != 1:
        raise FormulaError(f"{node.func}() takes one argument here: '{deparse(node)}'")
    return ev.factor_of(node.args[0])


def _relevel(ev: "Evaluator", node: Call) -> Value:
    f = ev.factor_of(node.args[0])
    ref = _constant(_arg(node, 1, "ref"), "ref", node)
    ref = str(int(ref)) if isinstance(ref, float) and ref.is_integer() else str(ref)
    if ref not in f.levels:
        raise FormulaError(f"'{ref}' is not a level of '{deparse(node.args[0])}'; levels: {', '.join(f.levels)}")
    k = f.levels.index(ref)
    order = [k] + [i for i in range(len(f.levels)) if i != k]
    remap = np.empty(len(order), dtype=np.int64)
    remap[order] = np.arange(len(order))
    codes = np.where(f.data >= 0, remap[np.maximum(f.data, 0)], f.data)
    return Value("cat", codes, levels=[f.levels[i] for i in order])


def _as_numeric(ev: "Evaluator", node: Call) -> Value:
    v = _one_arg(ev, node)
    if v.kind == "cat":
        return Value("num", np.where(v.data >= 0, v.data + 1.0, np.nan))
    return Value("num", v.numeric(deparse(node.args[0])))


def _cbind(ev: "Evaluator", node: Call) -> Value:
    if len(node.args) < 2 or node.kwargs:
        raise FormulaError(f"cbind() needs two columns (successes, failures): '{deparse(node)}'")
    cols = [ev(a).numeric(deparse(a)) for a in node.args]
    return Value("mat", np.column_stack(cols), colnames=[deparse(a) for a in node.args])


def _round(ev: "Evaluator", node: Call) -> Value:
    x = ev(node.args[0]).numeric(deparse(node.args[0]))
    digits = _constant(_arg(node, 1, "digits", Num(0)), "digits", node)
    if isinstance(digits, str) or not np.isfinite(digits) or not float(digits).is_integer() or abs(digits) > 308:
        raise FormulaError(f"the digits of '{deparse(node)}' must be a whole number from -308 to 308")
    return Value("num", np.round(x, int(digits)))


def _offset(ev: "Evaluator", node: Call) -> Value:
    raise FormulaError(f"'{deparse(node)}' may only be added to the fixed part of the formula")


FUNCTIONS: dict[str, Callable[[Evaluator, Call], Value]] = {
    "I": _identity,
    "log": _log,
    "log2": _numeric_fn(np.log2),
    "log10": _numeric_fn(np.log10),
    "log1p": _numeric_fn(np.log1p),
    "exp": _numeric_fn(np.exp),
    "expm1": _numeric_fn(np.expm1),
    "sqrt": _numeric_fn(np.sqrt),
    "abs": _numeric_fn(np.abs),
    "sin": _numeric_fn(np.sin),
    "cos": _numeric_fn(np.cos),
    "tan": _numeric_fn(np.tan),
    "tanh": _numeric_fn(np.tanh),
    "atan": _numeric_fn(np.arctan),
    "floor": _numeric_fn(np.floor),
    "ceiling": _numeric_fn(np.ceil),
    "sign": _numeric_fn(np.sign),
    "round": _round,
    "poly": _poly,
    "bs": bs_term,
    "ns": ns_term,
    "scale": _scale,
    "factor": _factor,
    "as.factor": _factor,
    "relevel": _relevel,
    "as.numeric": _as_numeric,
    "cbind": _cbind,
    "offset": _offset,
}
