"""lme4 formula language: parse ``y ~ x + (x | g)`` into a response, a fixed part and bars."""

from .ast import BinOp, Bool, Call, Name, Node, Num, Paren, Str, UnaryOp, deparse, names_in
from .model import Bar, ModelFormula, parse_formula
from .parser import parse_expr
from .terms import TermList, expand_terms

__all__ = [
    "Bar",
    "ModelFormula",
    "parse_formula",
    "parse_expr",
    "deparse",
    "names_in",
    "expand_terms",
    "TermList",
    "Node",
    "Name",
    "Num",
    "Bool",
    "Str",
    "Call",
    "BinOp",
    "UnaryOp",
    "Paren",
]
