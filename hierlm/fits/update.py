"""``fit.update(...)``: refit with R's ``update()`` semantics (``". ~ . - Days"``, ``"log(.) ~ ."``).

:func:`update_formula` is R's ``update.formula``: a ``.`` on the left stands for the old response, a
``.`` on the right for the old right-hand side; terms are then added and removed as R's formula
algebra does (``- Days`` drops the fixed effect ``Days``, ``- (1 | g)`` the bar ``(1 | g)``), and the
result is written back in R's canonical order.  :func:`updated_call` gives what a fit's
``update`` method refits with (each fit class calls its own entry point with it).
"""

from __future__ import annotations

import inspect
import re
from dataclasses import replace

from ..errors import FormulaError, HierlmError, suggest
from ..formula import (
    BinOp,
    Call,
    Name,
    Node,
    Paren,
    UnaryOp,
    deparse,
    expand_terms,
    parse_formula,
)
from ..formula.parser import parse_two_sided
from ..formula.terms import flatten_sum

__all__ = ["update_formula", "updated_call"]


def _substitute(node: Node | None, value: Node) -> Node | None:
    """``node`` with every ``.`` replaced by ``value`` (for the left-hand side)."""
    if node is None:
        return None
    if isinstance(node, Name) and node.id == ".":
        return value
    if isinstance(node, Call):
        return replace(node, args=tuple(_substitute(a, value) for a in node.args),
                       kwargs=tuple((k, _substitute(v, value)) for k, v in node.kwargs))
    if isinstance(node, BinOp):
        return replace(node, left=_substitute(node.left, value), right=_substitute(node.right, value))
    if isinstance(node, UnaryOp):
        return replace(node, operand=_substitute(node.operand, value))
    if isinstance(node, Paren):
        return replace(node, expr=_substitute(node.expr, value))
    return node


def _is_bar(node: Node) -> bool:
    while isinstance(node, Paren):
        node = node.expr
    return isinstance(node, BinOp) and node.op in ("|", "||")


def _bar_text(node: Node) -> str:
    while isinstance(node, Paren):
        node = node.expr
    return f"({deparse(node.left)} {node.op} {deparse(node.right)})"


def update_formula(old: str, new: str) -> str:
    """R's ``update.formula(old, new)``, bars included.

    Parameters
    ----------
    old : str
        The fitted formula.
    new : str
        The change: ``". ~ . - Days"``, ``"~ . + (1 | item)"``, ``"log(.) ~ ."``, or a whole new formula.

    Returns
    -------
    str
        The new formula in R's canonical order: the fixed terms (by degree), offsets, then the bars.

    Examples
    --------
    >>> update_formula("Reaction ~ Days + (Days | Subject)", ". ~ . - Days")
    'Reaction ~ (Days | Subject)'
    >>> update_formula("Reaction ~ Days + (Days | Subject)", "log(.) ~ . - (Days | Subject) + (1 | Subject)")
    'log(Reaction) ~ Days + (1 | Subject)'
    >>> update_formula("y ~ a * b + (1 | g)", ". ~ . - a:b")
    'y ~ a + b + (1 | g)'
    """
    if not isinstance(new, str) or "~" not in new:
        raise FormulaError(f"the update must be a formula such as '. ~ . - x', not {new!r}")
    before = parse_formula(old)
    lhs, rhs = parse_two_sided(new)
    _, old_rhs = parse_two_sided(old)
    response = before.response if lhs is None else _substitute(lhs, before.response)
    if response is None:
        raise FormulaError(f"'{new}' leaves the formula without a response")
    parts: list[tuple[int, Node]] = []
    for sign, part in flatten_sum(rhs):
        if isinstance(part, Name) and part.id == ".":
            parts += [(sign * s, p) for s, p in flatten_sum(old_rhs)]
        else:
            parts.append((sign, part))
    bars: list[str] = []
    for sign, part in parts:
        if _is_bar(part):
            text = _bar_text(part)
            if sign > 0 and text not in bars:
                bars.append(text)
            elif sign < 0:
                if text not in bars:
                    raise FormulaError(f"'{new}' removes {text}, which is not in '{old}' (its bars: {bars})")
                bars.remove(text)
    fixed = [(s, p) for s, p in parts if not _is_bar(p)]
    node = None
    for sign, part in fixed:
        node = (part if sign > 0 else UnaryOp("-", part)) if node is None else BinOp("+" if sign > 0 else "-",
                                                                                      node, part)
    terms = expand_terms(node, new, response)
    pieces = terms.labels() + [f"offset({deparse(o)})" for o in terms.offsets]
    if not terms.intercept:
        pieces.append("-1" if pieces else "0")
    text = " + ".join(pieces).replace("+ -1", "- 1")
    rhs_text = " + ".join(([text] if text else []) + bars) or "1"
    if not text and not bars:
        rhs_text = "1"
    out = f"{deparse(response)} ~ {rhs_text}"
    return re.sub(r"\s+", " ", out).strip()


def updated_call(fit, formula: str | None = None, data=None, settings: dict | None = None,
                 entry=None) -> tuple[str, object, object]:
    """The formula, data and weights an update refits with (the fit methods' shared part).

    ``settings`` are checked against the arguments of ``entry`` (the fitting function), so a
    misspelt one is named with a suggestion instead of Python's bare ``TypeError``.

    The data default to the data frame the fit was made from (kept by reference), else, for a loaded
    fit, the rows and columns it used; ``weights=`` given as a column name follows the data, given
    as values it needs the same rows.
    """
    if settings and entry is not None:
        known = [k for k in inspect.signature(entry).parameters if k not in ("formula", "data")]
        for key in settings:
            if key not in known:
                raise HierlmError(f"update() got the setting {key!r}, which {entry.__name__}() does not take."
                                  f"{suggest(key, known)} Settings: {', '.join(known)}")
    design = fit.design
    new_formula = fit.formula if formula is None else update_formula(fit.formula, formula)
    if data is None:
        data = design.source if design.source is not None else design.data
        if data is None:
            raise HierlmError("this fit keeps no data; pass data= to update()")
        weights = design.weights_arg if design.source is not None else design.weights
    else:
        weights = design.weights_arg
        if weights is not None and not isinstance(weights, str) and len(weights) != len(data):
            raise HierlmError(f"the fit's weights are {len(weights)} values, but the new data have {len(data)} "
                              "rows; pass weights= with the new data")
    return new_formula, data, weights
