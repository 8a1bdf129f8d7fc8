"""The ``Formula:`` line of lme4's summary: the formula as R's ``deparse()`` writes it, with lme4's
expansion of ``||`` and R's line breaking at ``width.cutoff = 60``.

lme4 prints ``deparse(call$formula)``: spaces around ``~ + - * |`` and ``%in%``, none around ``/ : ^``;
``(x || g)`` replaced by ``((1 | g) + (0 + x | g))`` (lme4's ``expandDoubleVerts``); a formula longer
than 60 characters is broken after the first binary operator (or argument comma) past column 60, the
continuation indented by four spaces (``src/main/deparse.c``: ``linebreak``, ``printtab2buff``).

Examples
--------
>>> formula_lines("Reaction ~ Days + (Days||Subject)")
['Reaction ~ Days + ((1 | Subject) + (0 + Days | Subject))']
>>> formula_lines("Informed_liking ~ Product*Information + (1|Consumer) + (1|Consumer:Product)")
['Informed_liking ~ Product * Information + (1 | Consumer) + (1 | ', '    Consumer:Product)']
"""

from __future__ import annotations

from ...formula import BinOp, Call, Node, Paren, UnaryOp, deparse, expand_terms, parse_expr

__all__ = ["expand_double_verts", "deparse_lines", "formula_lines"]

#: binary operators R's deparse writes with spaces around them (PP_BINARY), and may break after
_SPACED = {"+", "-", "*", "==", "!=", "<", ">", "<=", ">=", "&", "&&", "|", "||", "~", "%*%", "<-", "="}


def expand_double_verts(node: Node) -> Node:
    """lme4's ``expandDoubleVerts``: ``(x + z || g)`` → ``((1 | g) + (0 + x | g) + (0 + z | g))``.

    Parameters
    ----------
    node : Node
        A parsed formula (or part of one).

    Returns
    -------
    Node

    Examples
    --------
    >>> deparse(expand_double_verts(parse_expr("y ~ x + (0 + x || g)")))
    'y ~ x + ((0 + x | g))'
    """
    if isinstance(node, Paren):
        return Paren(expand_double_verts(node.expr))
    if isinstance(node, BinOp):
        if node.op == "||":
            terms = expand_terms(node.left)
            new = [f"0+{lab}" for lab in terms.labels()]
            if terms.intercept:
                new = ["1"] + new
            group = deparse(node.right)
            return parse_expr("(" + ")+(".join(f"{t}|{group}" for t in new) + ")")
        return BinOp(node.op, expand_double_verts(node.left), expand_double_verts(node.right))
    if isinstance(node, UnaryOp):
        return UnaryOp(node.op, expand_double_verts(node.operand))
    return node


class _Buffer:
    """deparse.c's LocalParseData: the current line, its length, the indentation and the lines written."""

    def __init__(self, cutoff: int):
        self.cutoff, self.lines, self.cur, self.indent, self.start = cutoff, [], "", 0, True

    def put(self, s: str) -> None:
        if self.start:
            self.start = False
            self.cur += "".join("    " if i <= 4 else "  " for i in range(1, self.indent + 1))
        self.cur += s

    def writeline(self) -> None:
        self.lines.append(self.cur)
        self.cur, self.start = "", True

    def linebreak(self, broke: bool) -> bool:
        if len(self.cur) > self.cutoff:
            if not broke:
                broke = True
                self.indent += 1
            self.writeline()
        return broke


def _walk(node: Node, buf: _Buffer) -> None:
    if isinstance(node, Paren):
        buf.put("(")
        _walk(node.expr, buf)
        buf.put(")")
    elif isinstance(node, UnaryOp):
        buf.put(node.op)
        _walk(node.operand, buf)
    elif isinstance(node, BinOp):
        _walk(node.left, buf)
        if node.op in _SPACED or node.op.startswith("%"):
            buf.put(f" {node.op} ")
            broke = buf.linebreak(False)
            _walk(node.right, buf)
            if broke:
                buf.indent -= 1
        else:
            buf.put(node.op)
            _walk(node.right, buf)
    elif isinstance(node, Call):
        buf.put(f"{node.func}(")
        args = [(None, a) for a in node.args] + list(node.kwargs)
        broke = False
        for k, (name, arg) in enumerate(args):
            if name is not None:
                buf.put(f"{name} = ")
            _walk(arg, buf)
            if k < len(args) - 1:
                buf.put(", ")
                broke = buf.linebreak(broke)
        if broke:
            buf.indent -= 1
        buf.put(")")
    else:
        buf.put(deparse(node))


def deparse_lines(node: Node, cutoff: int = 60) -> list[str]:
    """R's ``deparse(expr, width.cutoff = cutoff)``: the expression as one or more lines.

    Parameters
    ----------
    node : Node
    cutoff : int, default 60

    Returns
    -------
    list of str

    Examples
    --------
    >>> deparse_lines(parse_expr("cbind(incidence, size-incidence) ~ period+(1|herd)"))
    ['cbind(incidence, size - incidence) ~ period + (1 | herd)']
    """
    buf = _Buffer(cutoff)
    _walk(node, buf)
    buf.writeline()
    return buf.lines


def formula_lines(text: str, cutoff: int = 60) -> list[str]:
    """The formula as lme4's summary prints it (``||`` expanded, deparsed, broken at ``cutoff``).

    Parameters
    ----------
    text : str
        The formula as given to ``hl.lmer`` / ``hl.glmer``.
    cutoff : int, default 60

    Returns
    -------
    list of str
        The pieces that lme4's ``cat(..., fill = TRUE)`` joins with a space.

    Examples
    --------
    >>> formula_lines("size ~ treat*(Time + I(Time^2)) + (Time|tree)")
    ['size ~ treat * (Time + I(Time^2)) + (Time | tree)']
    """
    return deparse_lines(expand_double_verts(parse_expr(text)), cutoff)
