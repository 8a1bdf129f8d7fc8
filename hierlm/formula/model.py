"""lme4's bar syntax on top of R's formula algebra: ``findbars``, ``nobars``, ``||`` and ``/``.

:func:`parse_formula` turns ``"Reaction ~ Days + (Days | Subject)"`` into a :class:`ModelFormula`:
the response, the fixed part (a right-hand side without bars) and a tuple of :class:`Bar`.
``(x || g)`` becomes ``(1 | g) + (0 + x | g)`` (and the design later splits factor columns into
one block each); ``(1 | a/b)`` becomes ``(1 | b:a) + (1 | a)``, named as lme4 names them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import FormulaError
from .ast import BinOp, Call, Name, Node, Num, Paren, UnaryOp, deparse, names_in
from .parser import parse_two_sided, too_deep
from .terms import TermList, expand_terms, flatten_sum

__all__ = ["Bar", "ModelFormula", "parse_formula"]


@dataclass(frozen=True)
class Bar:
    """One random-effects block ``(terms | group)``.

    Attributes
    ----------
    lhs : Node
        The terms, as a right-hand side (``Days``, ``1``, ``0 + Days``).
    group : Node
        The grouping factor (``Subject``, ``cask:batch``).
    correlated : bool
        False for blocks produced by ``||``: such a block is split into one block per column.
    source : str
        The bar as the user wrote it, e.g. ``(Days || Subject)``.
    """

    lhs: Node
    group: Node
    correlated: bool = True
    source: str = ""

    @property
    def group_name(self) -> str:
        """The grouping factor as lme4 writes it (``cask:batch``)."""
        return deparse(self.group)

    def terms(self) -> TermList:
        """The bar's left-hand side expanded into terms (intercept unless ``0 +``/``- 1``)."""
        return expand_terms(self.lhs)

    def expanded(self) -> list[str]:
        """The bar as lme4 would expand it: ``(x || g)`` → ``(1 | g)``, ``(0 + x | g)``.

        A factor term in a ``||`` bar is further split into one block per column on the data.
        """
        if self.correlated:
            return [str(self)]
        terms = self.terms()
        out = [f"(1 | {self.group_name})"] if terms.intercept else []
        for t in terms.terms:
            label = ":".join(deparse(v) for v in terms.ordered(t))
            out.append(f"(0 + {label} | {self.group_name})")
        return out

    def __str__(self) -> str:
        return f"({deparse(self.lhs)} {'|' if self.correlated else '||'} {self.group_name})"


@dataclass(frozen=True)
class ModelFormula:
    """A parsed lme4 formula.

    Attributes
    ----------
    text : str
        The formula as given.
    response : Node or None
        Left-hand side (``Reaction``, ``cbind(incidence, size - incidence)``).
    fixed : Node or None
        Right-hand side without the bars (None: intercept only).
    bars : tuple of Bar
        Random-effect blocks after ``||`` and ``/`` expansion, in the order written.
    """

    text: str
    response: Node | None
    fixed: Node | None
    bars: tuple[Bar, ...]

    def fixed_terms(self) -> TermList:
        """Terms of the fixed part, in R's order."""
        return expand_terms(self.fixed, self.text, self.response)

    def variables(self) -> list[str]:
        """Every data column the formula refers to, in order of appearance."""
        out: list[str] = []
        nodes = [self.response, self.fixed] + [n for b in self.bars for n in (b.lhs, b.group)]
        for node in nodes:
            if node is not None:
                out += [v for v in names_in(node) if v not in out]
        return out

    @property
    def fixed_formula(self) -> str:
        """The fixed part as an R formula (lme4's ``nobars``)."""
        lhs = deparse(self.response) + " " if self.response is not None else ""
        return f"{lhs}~ {deparse(self.fixed) if self.fixed is not None else '1'}"

    def describe(self) -> str:
        """A printable expansion: the fixed part and what every bar became.

        Examples
        --------
        >>> print(parse_formula("y ~ x + (x || g) + (1 | a/b)").describe())
        y ~ x + (x || g) + (1 | a/b)
          fixed part : y ~ x
          block 1    : (1 | g)      from (x || g)
          block 2    : (0 + x | g)  from (x || g)
          block 3    : (1 | b:a)    from (1 | a/b)
          block 4    : (1 | a)      from (1 | a/b)
          ('||' blocks: a factor term is split into one block per model-matrix column)
        """
        lines = [self.text, f"  fixed part : {self.fixed_formula}"]
        blocks = [(text, bar) for bar in self.bars for text in bar.expanded()]
        width = max([len(text) for text, _ in blocks] + [0])
        for i, (text, bar) in enumerate(blocks, 1):
            note = "" if bar.source == text else f"  from {bar.source}"
            lines.append(f"  block {i:<5}: {text:<{width}}{note}".rstrip())
        if any(not b.correlated for b in self.bars):
            lines.append("  ('||' blocks: a factor term is split into one block per model-matrix column)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text


def _is_bar(node: Node) -> bool:
    while isinstance(node, Paren):
        if isinstance(node.expr, BinOp) and node.expr.op in {"|", "||"}:
            return True
        node = node.expr
    return False


def _bar_node(node: Node) -> BinOp:
    while isinstance(node, Paren):
        node = node.expr
    assert isinstance(node, BinOp)
    return node


def _contains_bar(node: Node) -> bool:
    if isinstance(node, BinOp):
        return node.op in {"|", "||"} or _contains_bar(node.left) or _contains_bar(node.right)
    if isinstance(node, Paren):
        return _contains_bar(node.expr)
    if isinstance(node, Call):
        return any(_contains_bar(a) for a in node.args)
    return False


def _slash_groups(node: Node, text: str) -> list[Node]:
    """lme4's ``expandSlash``: ``a/b/c`` → ``c:(b:a)``, ``b:a``, ``a``."""

    def slash_terms(n: Node):
        if isinstance(n, Paren) and isinstance(n.expr, BinOp) and n.expr.op == "/":
            n = n.expr
        if isinstance(n, BinOp) and n.op == "/":
            return [slash_terms(n.left), slash_terms(n.right)]
        return n

    def interact(left: Node, right: Node) -> Node:
        if isinstance(right, BinOp) and right.op == ":":
            right = Paren(right)
        return BinOp(":", left, right)

    def make(x):
        if not isinstance(x, list):
            return x
        trm1 = make(x[0])
        trm11 = trm1[0] if isinstance(trm1, list) else trm1
        return [interact(x[1], trm11), trm1]

    def flatten(x) -> list[Node]:
        if isinstance(x, list):
            return [n for item in x for n in flatten(item)]
        return [x]

    return flatten(make(slash_terms(node)))


def _check_group(node: Node, bar_text: str) -> None:
    if isinstance(node, Name):
        return
    if isinstance(node, Paren):
        return _check_group(node.expr, bar_text)
    if isinstance(node, BinOp) and node.op in {":", "/"}:
        _check_group(node.left, bar_text)
        _check_group(node.right, bar_text)
        return
    if isinstance(node, Call) and node.func in {"factor", "as.factor", "interaction"}:
        return
    if isinstance(node, Num):
        raise FormulaError(
            f"in {bar_text} the grouping factor is the number {deparse(node)}; "
            "name a column after '|', e.g. (1 | Subject)"
        )
    raise FormulaError(
        f"in {bar_text} the grouping factor '{deparse(node)}' is not a column name; "
        "after '|' write a column (g), an interaction (a:b) or a nesting (a/b)"
    )


def _expand_bar(node: Node, text: str) -> list[Bar]:
    bar = _bar_node(node)
    source = f"({deparse(bar.left)} {bar.op} {deparse(bar.right)})"
    if _contains_bar(bar.left) or _contains_bar(bar.right):
        raise FormulaError(f"a random-effect term cannot contain another '|': {source}")
    _check_group(bar.right, source)
    groups = _slash_groups(bar.right, text)
    lhs_terms = expand_terms(bar.left, text)
    if lhs_terms.offsets:
        raise FormulaError(f"offset() cannot appear inside a random-effect term: {source}")
    if not lhs_terms.terms and not lhs_terms.intercept:
        raise FormulaError(f"the random-effect term {source} has no terms; for a random intercept write (1 | g)")
    return [Bar(bar.left, g, bar.op == "|", source) for g in groups]


def parse_formula(text: str) -> ModelFormula:
    """Parse an lme4 formula.

    Parameters
    ----------
    text : str
        A two-sided formula in lme4 syntax, e.g. ``"Reaction ~ Days + (Days | Subject)"``.

    Returns
    -------
    ModelFormula

    Raises
    ------
    FormulaError
        For syntax errors (with the position), misplaced bars, invalid groups and the like.

    Examples
    --------
    >>> f = parse_formula("Reaction ~ Days + (Days | Subject)")
    >>> [str(b) for b in f.bars]
    ['(Days | Subject)']
    >>> f.fixed_formula
    'Reaction ~ Days'
    """
    try:
        return _parse_formula(text)
    except RecursionError:
        raise too_deep(text) from None


def _parse_formula(text: str) -> ModelFormula:
    response, rhs = parse_two_sided(text)
    parts = flatten_sum(rhs)
    bars: list[Bar] = []
    fixed_parts: list[tuple[int, Node]] = []
    for sign, part in parts:
        if _is_bar(part):
            if sign < 0:
                raise FormulaError(f"a random-effect term cannot be subtracted: '-{deparse(part)}'")
            bars.extend(_expand_bar(part, text))
        elif _contains_bar(part):
            raise FormulaError(
                f"'{deparse(part)}' mixes a random-effect bar with other operators; "
                "each bar must be its own term in parentheses, e.g. y ~ x + (x | g)"
            )
        else:
            fixed_parts.append((sign, part))
    fixed: Node | None = None
    for sign, part in fixed_parts:
        if fixed is None:
            fixed = part if sign > 0 else UnaryOp("-", Paren(part) if isinstance(part, BinOp) else part)
        else:
            fixed = BinOp("+" if sign > 0 else "-", fixed, part)
    if response is not None and _contains_bar(response):
        raise FormulaError("the response (left of '~') cannot contain '|'")
    mf = ModelFormula(text.strip(), response, fixed, tuple(bars))
    mf.fixed_terms()  # validate the fixed part now, so errors surface at parse time
    return mf
