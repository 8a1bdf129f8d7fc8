"""R's formula algebra: expand a right-hand side into model terms, as ``terms.formula`` does.

``a*b`` → ``a + b + a:b``; ``a/b`` → ``a + a:b``; ``b %in% a`` → ``b:a``; ``(a+b+c)^2`` → main
effects and two-way interactions; ``- x`` removes terms; ``0``/``-1`` drop the intercept.
Terms are ordered by degree (stable), variables inside a term by first appearance in the formula,
as R labels them (``treat:Time`` in ``size ~ treat + Time:treat``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from math import comb

from ..errors import FormulaError
from .ast import BinOp, Bool, Call, Name, Node, Num, Paren, Str, UnaryOp, deparse

__all__ = ["TermList", "expand_terms", "flatten_sum"]


@dataclass
class TermList:
    """Expanded right-hand side.

    Attributes
    ----------
    terms : list of frozenset of Node
        Model terms in R's order (by degree, then appearance).
    intercept : bool
        Whether the model has an intercept.
    offsets : list of Node
        Expressions inside ``offset(...)``.
    variables : list of Node
        Variables in order of first appearance (this orders variables inside a term).
    """

    terms: list[frozenset] = field(default_factory=list)
    intercept: bool = True
    offsets: list[Node] = field(default_factory=list)
    variables: list[Node] = field(default_factory=list)

    def ordered(self, term: frozenset) -> tuple[Node, ...]:
        """Variables of ``term`` in R's order."""
        return tuple(sorted(term, key=self.variables.index))

    def labels(self) -> list[str]:
        """R's ``term.labels``."""
        return [":".join(deparse(v) for v in self.ordered(t)) for t in self.terms]


def flatten_sum(node: Node, sign: int = 1) -> list[tuple[int, Node]]:
    """Flatten ``a + b - c`` (and unary signs, and parentheses around sums) into signed parts.

    Iterative, so sums of thousands of terms do not hit Python's recursion limit.
    """
    out: list[tuple[int, Node]] = []
    stack = [(sign, node)]
    while stack:
        sgn, n = stack.pop()
        if isinstance(n, BinOp) and n.op in {"+", "-"}:
            stack.append((sgn if n.op == "+" else -sgn, n.right))  # popped after the left side
            stack.append((sgn, n.left))
        elif isinstance(n, UnaryOp) and n.op in {"+", "-"}:
            stack.append((sgn if n.op == "+" else -sgn, n.operand))
        elif isinstance(n, Paren) and isinstance(n.expr, (BinOp, UnaryOp)) and getattr(n.expr, "op", "") in {"+", "-"}:
            stack.append((sgn, n.expr))
        else:
            out.append((sgn, n))
    return out


def _is_number(node: Node, value: float) -> bool:
    return isinstance(node, Num) and not isinstance(node, Bool) and node.value == value


class _Expander:
    def __init__(self, text: str):
        self.text = text
        self.variables: list[Node] = []
        self.offsets: list[Node] = []

    def var(self, node: Node) -> list[frozenset]:
        if node not in self.variables:
            self.variables.append(node)
        return [frozenset([node])]

    def expand(self, node: Node) -> tuple[list[frozenset], bool | None]:
        """Terms of ``node`` and its intercept setting (None when it says nothing)."""
        parts = flatten_sum(node)
        terms: list[frozenset] = []
        intercept: bool | None = None
        for sign, part in parts:
            if _is_number(part, 1) or _is_number(part, 0):
                want = (part.value == 1) == (sign > 0)
                intercept = want
                continue
            if isinstance(part, Call) and part.func == "offset":
                if len(part.args) != 1 or part.kwargs:
                    raise FormulaError(f"offset() takes one expression, got '{deparse(part)}'")
                if sign < 0:
                    raise FormulaError(f"an offset cannot be subtracted: '-{deparse(part)}'")
                self.offsets.append(part.args[0])
                continue
            sub = self.product(part)
            if sign > 0:
                terms = _union(terms, sub)
            else:
                drop = set(sub)
                terms = [t for t in terms if t not in drop]
        return terms, intercept

    def product(self, node: Node) -> list[frozenset]:
        if isinstance(node, Paren):
            return self.expand(node.expr)[0]
        if isinstance(node, BinOp):
            op = node.op
            if op == "*":
                a, b = self.product(node.left), self.product(node.right)
                return _union(a, b, _cross(a, b, node))
            if op == ":":
                return _cross(self.product(node.left), self.product(node.right), node)
            if op == "/":
                a, b = self.product(node.left), self.product(node.right)
                whole = frozenset().union(*a) if a else frozenset()
                return _union(a, [t | whole for t in b])
            if op == "%in%":
                a, b = self.product(node.left), self.product(node.right)
                whole = frozenset().union(*b) if b else frozenset()
                return [t | whole for t in a]
            if op == "^":
                base = self.product(node.left)
                if not isinstance(node.right, Num) or not float(node.right.value).is_integer() or node.right.value < 1:
                    raise FormulaError(
                        f"in '{deparse(node)}' the power must be a positive whole number; "
                        "for a numeric power of a variable write I(x^2)"
                    )
                k = min(int(node.right.value), len(base))
                _check_size(sum(comb(len(base), r) for r in range(1, k + 1)), node)
                combos = (frozenset().union(*c) for r in range(1, k + 1) for c in combinations(base, r))
                return list(dict.fromkeys(combos))
            if op in {"|", "||"}:
                raise FormulaError(
                    f"the random-effect term '{deparse(node)}' must stand on its own in parentheses, "
                    f"e.g. '+ ({deparse(node)})'"
                )
            if op in {"+", "-"}:
                terms, _ = self.expand(node)
                return terms
            if op == "~":
                raise FormulaError("the formula has more than one '~'")
            return self.var(node)  # comparisons and other operators make one variable
        if isinstance(node, Num):
            what = "constant" if isinstance(node, Bool) else "number"
            raise FormulaError(
                f"the {what} {deparse(node)} cannot be a term; only 1 (intercept) and 0 (no intercept) "
                "may stand alone, write I(...) for arithmetic"
            )
        if isinstance(node, Str):
            raise FormulaError(f"the string {deparse(node)} cannot be a term; name a column instead")
        if isinstance(node, Name) and node.id == ".":
            raise FormulaError("'.' (all other columns) is not supported; list the predictors by name")
        if isinstance(node, UnaryOp) and node.op == "!":
            return self.var(node)
        if isinstance(node, Call) and node.func == "offset":
            raise FormulaError(f"'{deparse(node)}' must be added to the model with '+', not combined with other terms")
        return self.var(node)


#: more terms than this is a mistake (``(a + ... + z)^20``), not a model
MAX_TERMS = 10_000


def _check_size(n: int, node: Node) -> None:
    if n > MAX_TERMS:
        raise FormulaError(
            f"'{deparse(node)}' expands to {n} terms (more than {MAX_TERMS}); "
            "write the interactions you need explicitly"
        )


def _cross(a: list[frozenset], b: list[frozenset], node: Node) -> list[frozenset]:
    """All pairwise unions ``ta | tb`` (R's ``:``), without repeats, in R's order."""
    _check_size(len(a) * len(b), node)
    return list(dict.fromkeys(ta | tb for ta in a for tb in b))


def _union(*lists: list[frozenset]) -> list[frozenset]:
    """Concatenation without repeats, first occurrence kept."""
    return list(dict.fromkeys(t for lst in lists for t in lst))


def expand_terms(node: Node | None, text: str = "", response: Node | None = None) -> TermList:
    """Expand a right-hand side into R's terms.

    Parameters
    ----------
    node : Node or None
        Right-hand side (without random-effect bars).  ``None`` means intercept only.
    text : str
        The formula text, for error messages.
    response : Node, optional
        The response, which comes first in R's variable order.

    Examples
    --------
    >>> from hierlm.formula import parse_expr
    >>> expand_terms(parse_expr("treat * Time")).labels()
    ['treat', 'Time', 'treat:Time']
    """
    ex = _Expander(text)
    if response is not None:
        ex.variables.append(response)
    if node is None:
        return TermList([], True, [], ex.variables)
    terms, intercept = ex.expand(node)
    terms = sorted(terms, key=len)  # R's order: by degree, stable within a degree
    return TermList(terms, True if intercept is None else intercept, ex.offsets, ex.variables)
