"""Syntax tree of R model formulas, and its deparser.

Nodes are immutable and hashable: a variable such as ``I(Time^2)`` is identified by its node,
and :func:`deparse` writes it back as R's ``deparse()`` would (``I(Time^2)``, ``log(x + 1)``,
``poly(Days, 2)``), which is how lme4 names model-matrix columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from math import isfinite, isnan

__all__ = [
    "Node", "Name", "Num", "Bool", "Str", "Call", "BinOp", "UnaryOp", "Paren", "deparse", "names_in", "format_number",
]


@dataclass(frozen=True)
class Node:
    """Base class of formula syntax nodes."""

    def __str__(self) -> str:  # pragma: no cover - convenience
        return deparse(self)


@dataclass(frozen=True)
class Name(Node):
    id: str


@dataclass(frozen=True)
class Num(Node):
    value: float


@dataclass(frozen=True)
class Bool(Num):
    """``TRUE``/``FALSE``: 1 and 0 in arithmetic, written back as R writes them (``raw = TRUE``)."""


@dataclass(frozen=True)
class Str(Node):
    value: str


@dataclass(frozen=True)
class Call(Node):
    func: str
    args: tuple[Node, ...]
    kwargs: tuple[tuple[str, Node], ...] = ()


@dataclass(frozen=True)
class BinOp(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class UnaryOp(Node):
    op: str
    operand: Node


@dataclass(frozen=True)
class Paren(Node):
    expr: Node


_SPACED = {"+", "-", "*", "==", "!=", "<", ">", "<=", ">=", "&", "&&", "|", "||", "~"}


def format_number(v: float) -> str:
    """R's formatting of a double: 15 significant digits, scientific when it is shorter.

    Examples
    --------
    >>> format_number(1e6), format_number(0.1 + 0.2), format_number(123456.0)
    ('1e+06', '0.3', '123456')
    """
    v = float(v)
    if v == 0:
        return "0"
    if not isfinite(v):
        return "NaN" if isnan(v) else ("Inf" if v > 0 else "-Inf")
    full = Decimal(f"{v:.14e}")
    digits = next(d for d in range(1, 16) if Decimal(f"{v:.{d - 1}e}") == full)
    mant, exp = f"{v:.{digits - 1}e}".split("e")
    e = int(exp)
    sci = f"{mant}e{'-' if e < 0 else '+'}{abs(e):02d}"
    fixed = f"{v:.{max(digits - 1 - e, 0)}f}"
    return fixed if len(fixed) <= len(sci) else sci


def _name(s: str) -> str:
    import re

    return s if re.fullmatch(r"[A-Za-z.][A-Za-z0-9._]*", s) else f"`{s}`"


def deparse(node: Node) -> str:
    """Write a node as R's ``deparse()`` does.

    Examples
    --------
    >>> from hierlm.formula import parse_expr
    >>> deparse(parse_expr("I(Time **2)"))
    'I(Time^2)'
    >>> deparse(parse_expr("log(x+1)"))
    'log(x + 1)'
    """
    if isinstance(node, Name):
        return _name(node.id)
    if isinstance(node, Bool):
        return "TRUE" if node.value else "FALSE"
    if isinstance(node, Num):
        return format_number(node.value)
    if isinstance(node, Str):
        return '"' + node.value.replace('"', '\\"') + '"'
    if isinstance(node, Call):
        parts = [deparse(a) for a in node.args] + [f"{k} = {deparse(v)}" for k, v in node.kwargs]
        return f"{node.func}({', '.join(parts)})"
    if isinstance(node, Paren):
        return f"({deparse(node.expr)})"
    if isinstance(node, UnaryOp):
        return f"{node.op}{deparse(node.operand)}"
    if isinstance(node, BinOp):
        left, right = deparse(node.left), deparse(node.right)
        if node.op in _SPACED or node.op.startswith("%"):
            return f"{left} {node.op} {right}"
        return f"{left}{node.op}{right}"
    raise TypeError(f"not a formula node: {node!r}")


def names_in(node: Node) -> list[str]:
    """Variable names a node refers to, in order of first appearance (function names excluded)."""
    out: list[str] = []

    def walk(n: Node) -> None:
        if isinstance(n, Name):
            if n.id not in out:
                out.append(n.id)
        elif isinstance(n, Call):
            for a in n.args:
                walk(a)
            for _, v in n.kwargs:
                walk(v)
        elif isinstance(n, BinOp):
            walk(n.left)
            walk(n.right)
        elif isinstance(n, UnaryOp):
            walk(n.operand)
        elif isinstance(n, Paren):
            walk(n.expr)

    walk(node)
    return out
