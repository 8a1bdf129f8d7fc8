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
    """Write a node as R's ``deparse()`` does (iteratively: a formula of thousands of terms is fine).

    Examples
    --------
    >>> from hierlm.formula import parse_expr
    >>> deparse(parse_expr("I(Time **2)"))
    'I(Time^2)'
    >>> deparse(parse_expr("log(x+1)"))
    'log(x + 1)'
    """
    out: list[str] = []
    stack: list = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, str):
            out.append(n)
        elif isinstance(n, Name):
            out.append(_name(n.id))
        elif isinstance(n, Bool):
            out.append("TRUE" if n.value else "FALSE")
        elif isinstance(n, Num):
            out.append(format_number(n.value))
        elif isinstance(n, Str):
            out.append('"' + n.value.replace('"', '\\"') + '"')
        elif isinstance(n, Call):
            items: list = [f"{n.func}("]
            parts = list(n.args) + [(k, v) for k, v in n.kwargs]
            for i, part in enumerate(parts):
                if i:
                    items.append(", ")
                if isinstance(part, tuple):
                    items += [f"{part[0]} = ", part[1]]
                else:
                    items.append(part)
            items.append(")")
            stack.extend(reversed(items))
        elif isinstance(n, Paren):
            stack.extend(reversed(["(", n.expr, ")"]))
        elif isinstance(n, UnaryOp):
            stack.extend(reversed([n.op, n.operand]))
        elif isinstance(n, BinOp):
            op = f" {n.op} " if n.op in _SPACED or n.op.startswith("%") else n.op
            stack.extend(reversed([n.left, op, n.right]))
        else:
            raise TypeError(f"not a formula node: {n!r}")
    return "".join(out)


def names_in(node: Node) -> list[str]:
    """Variable names a node refers to, in order of first appearance (function names excluded)."""
    out: list[str] = []
    seen: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Name):
            if n.id not in seen:
                seen.add(n.id)
                out.append(n.id)
        elif isinstance(n, Call):
            stack.extend(reversed(list(n.args) + [v for _, v in n.kwargs]))
        elif isinstance(n, BinOp):
            stack.extend([n.right, n.left])
        elif isinstance(n, UnaryOp):
            stack.append(n.operand)
        elif isinstance(n, Paren):
            stack.append(n.expr)
    return out
