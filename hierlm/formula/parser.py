"""Tokenizer and precedence-climbing parser for R model formulas.

Operator precedence follows R (``?Syntax``), from loosest to tightest:
``~``, ``| ||``, ``& &&``, ``!``, comparisons, ``+ -``, ``* /``, ``%any%``, ``:``, unary ``+ -``,
``^`` (right-associative), function calls.  Python's ``**`` is accepted as ``^``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import FormulaError
from .ast import BinOp, Bool, Call, Name, Node, Num, Paren, Str, UnaryOp

__all__ = ["parse_expr", "parse_two_sided", "Token", "tokenize", "too_deep"]

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?L?)
  | (?P<name>[A-Za-z.][A-Za-z0-9._]*|`[^`]*`)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>\*\*|%[^%]*%|\|\||&&|==|!=|<=|>=|[~+\-*/^:|&!<>(),=\[\]])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # "num", "name", "str", "op", "end"
    text: str
    pos: int


def _pointer(text: str, pos: int) -> str:
    return f"\n    {text}\n    {' ' * pos}^"


def tokenize(text: str) -> list[Token]:
    """Split a formula into tokens; a character that fits nothing raises :class:`FormulaError`."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise FormulaError(
                f"unexpected character {text[pos]!r} at position {pos} of the formula:"
                + _pointer(text, pos)
            )
        kind = m.lastgroup
        if kind != "ws":
            tok = m.group()
            if kind == "op" and tok == "**":
                tok = "^"
            tokens.append(Token(kind, tok, pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# binding powers: (left bp, right bp) for binary operators
_BINARY = {
    "~": (10, 11),
    "|": (20, 21),
    "||": (20, 21),
    "&": (30, 31),
    "&&": (30, 31),
    "==": (50, 51),
    "!=": (50, 51),
    "<": (50, 51),
    ">": (50, 51),
    "<=": (50, 51),
    ">=": (50, 51),
    "+": (60, 61),
    "-": (60, 61),
    "*": (70, 71),
    "/": (70, 71),
    ":": (90, 91),
    "^": (111, 110),  # right-associative
}
_PCT_BP = (80, 81)
_UNARY_BP = {"+": 100, "-": 100, "!": 40}


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # -- helpers -------------------------------------------------------------------------
    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, msg: str, tok: Token) -> FormulaError:
        return FormulaError(f"{msg} at position {tok.pos} of the formula:" + _pointer(self.text, tok.pos))

    def expect(self, op: str) -> Token:
        tok = self.next()
        if tok.text != op or tok.kind != "op":
            if tok.kind == "end" and op == ")":
                raise self.error("unbalanced parentheses: a '(' is never closed; missing ')'", tok)
            found = "the end of the formula" if tok.kind == "end" else f"{tok.text!r}"
            raise self.error(f"expected {op!r} but found {found}", tok)
        return tok

    # -- grammar -------------------------------------------------------------------------
    def parse(self, min_bp: int = 0) -> Node:
        tok = self.next()
        left = self.prefix(tok)
        while True:
            tok = self.peek()
            if tok.kind != "op":
                if tok.kind == "end":
                    break
                raise self.error(f"unexpected {tok.text!r} (is an operator such as '+' missing?)", tok)
            op = tok.text
            if op.startswith("%"):
                lbp, rbp = _PCT_BP
            elif op in _BINARY:
                lbp, rbp = _BINARY[op]
            elif op in {")", ",", "]", "="}:
                break
            elif op in {"(", "!"}:
                raise self.error(f"unexpected {op!r} (is an operator such as '+' missing?)", tok)
            else:
                raise self.error(f"unexpected {op!r}", tok)
            if lbp < min_bp:
                break
            self.next()
            if self.peek().kind == "end" or self.peek().text in {")", ","}:
                if op in {"|", "||"}:
                    raise self.error(
                        f"nothing on the right of {op!r}: name the grouping factor, e.g. (1 | Subject)", tok
                    )
                raise self.error(f"the operator {op!r} has nothing on its right-hand side", tok)
            right = self.parse(rbp)
            left = BinOp(op, left, right)
        return left

    def prefix(self, tok: Token) -> Node:
        if tok.kind == "num":
            return Num(float(tok.text.rstrip("L")))
        if tok.kind == "str":
            return Str(tok.text[1:-1])
        if tok.kind == "name":
            name = tok.text[1:-1] if tok.text.startswith("`") else tok.text
            if self.peek().text == "(" and self.peek().kind == "op" and not tok.text.startswith("`"):
                return self.call(name)
            if name in {"TRUE", "FALSE"}:
                return Bool(1.0 if name == "TRUE" else 0.0)
            return Name(name)
        if tok.kind == "op":
            if tok.text == "(":
                if self.peek().text == ")":
                    raise self.error("empty parentheses '()'", self.peek())
                inner = self.parse(0)
                self.expect(")")
                return Paren(inner)
            if tok.text in _UNARY_BP:
                if self.peek().kind == "end":
                    raise self.error(f"{tok.text!r} at the end of the formula", tok)
                return UnaryOp(tok.text, self.parse(_UNARY_BP[tok.text]))
            if tok.text == ")":
                raise self.error("unbalanced parentheses: this ')' has no matching '('", tok)
            if tok.text in {"|", "||"}:
                raise self.error(
                    f"empty random-effect term: nothing on the left of {tok.text!r}; "
                    "for a random intercept write (1 | g)",
                    tok,
                )
            if tok.text == "~":
                raise self.error("'~' with nothing on its left; a formula needs a response, e.g. 'y ~ x'", tok)
            raise self.error(f"{tok.text!r} cannot start a term", tok)
        raise self.error("the formula ends too early", tok)

    def call(self, func: str) -> Node:
        self.expect("(")
        args: list[Node] = []
        kwargs: list[tuple[str, Node]] = []
        if self.peek().text == ")":
            self.next()
            return Call(func, ())
        while True:
            tok = self.peek()
            if tok.kind == "end":
                raise self.error(f"unbalanced parentheses: '{func}(' is never closed; missing ')'", tok)
            nxt = self.tokens[self.i + 1]
            if tok.kind == "name" and nxt.kind == "op" and nxt.text == "=":
                self.next()
                self.next()
                kwargs.append((tok.text, self.parse(0)))
            else:
                if kwargs:
                    raise self.error("positional argument after a named one", tok)
                args.append(self.parse(0))
            sep = self.next()
            if sep.text == ")":
                break
            if sep.text != ",":
                if sep.kind == "end":
                    raise self.error(f"unbalanced parentheses: '{func}(' is never closed; missing ')'", sep)
                raise self.error(f"expected ',' or ')' in the call to {func}()", sep)
        return Call(func, tuple(args), tuple(kwargs))


def parse_expr(text: str) -> Node:
    """Parse one R expression (no ``~`` required).

    Examples
    --------
    >>> parse_expr("I(x^2)")
    Call(func='I', args=(BinOp(op='^', left=Name(id='x'), right=Num(value=2.0)),), kwargs=())
    """
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("the formula is empty; write it as 'response ~ predictors', e.g. 'y ~ x + (1 | g)'")
    p = _Parser(text)
    depth = 0
    for tok in p.tokens:  # an explicit limit, independent of the interpreter's recursion limit
        depth += (tok.text == "(") - (tok.text == ")") if tok.kind == "op" else 0
        if depth > MAX_NESTING:
            raise too_deep(text)
    try:
        node = p.parse(0)
    except RecursionError:
        raise too_deep(text) from None
    tok = p.peek()
    if tok.kind != "end":
        if tok.text == ")":
            raise p.error("unbalanced parentheses: this ')' has no matching '('", tok)
        raise p.error(f"unexpected {tok.text!r}", tok)
    return node


def parse_two_sided(text: str) -> tuple[Node | None, Node]:
    """Parse ``lhs ~ rhs`` (or ``~ rhs``) into its two sides."""
    if not isinstance(text, str):
        raise FormulaError(f"the formula must be a string such as 'y ~ x + (1 | g)', not {type(text).__name__}")
    stripped = text.strip()
    if stripped.startswith("~"):
        return None, parse_expr(stripped[1:]) if stripped[1:].strip() else _missing_rhs(text)
    node = parse_expr(text)
    if not (isinstance(node, BinOp) and node.op == "~"):
        raise FormulaError(
            f"the formula {text!r} has no '~'; write it as 'response ~ predictors', e.g. 'y ~ x + (1 | g)'"
        )
    if isinstance(node.left, BinOp) and node.left.op == "~":
        raise FormulaError(f"the formula {text!r} has more than one '~'")
    return node.left, node.right


MAX_NESTING = 100


def too_deep(text: str) -> FormulaError:
    """The error for a formula nested too deeply (or too long) to handle recursively."""
    return FormulaError(
        f"the formula is nested too deeply to handle ({len(text)} characters); "
        "remove redundant parentheses or split it into fewer terms"
    )


def _missing_rhs(text: str) -> Node:
    raise FormulaError(f"the formula {text!r} has nothing to the right of '~'")
