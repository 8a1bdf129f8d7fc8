"""The formula layer: parser, R's formula algebra, lme4's bar expansion, deparse and error messages.

Term labels and bar expansions are checked against R (``terms()``, ``lme4::findbars``) through
tests/reference/design_reference.json (made by make_design_reference.R).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hierlm as hl
from hierlm.errors import FormulaError, HierlmError
from hierlm.formula import ModelFormula, deparse, expand_terms, parse_expr, parse_formula
from hierlm.formula.ast import format_number
from support import reference_json

REF = reference_json("design_reference.json")


def labels(formula: str) -> list[str]:
    return parse_formula(formula).fixed_terms().labels()


def blocks(formula: str) -> list[str]:
    """The bars after ``||`` and ``/`` expansion, written as lme4's findbars deparses them."""
    return [text[1:-1] for bar in parse_formula(formula).bars for text in bar.expanded()]


# ---------------------------------------------------------------------------------- against R
@pytest.mark.parametrize("case", REF["formula_labels"], ids=lambda c: c["formula"])
def test_term_labels_and_bars_match_r(case):
    mf = parse_formula(case["formula"])
    terms = mf.fixed_terms()
    assert terms.labels() == case["term_labels"]
    assert terms.intercept == case["intercept"]
    assert blocks(case["formula"]) == case["bars"]


# ---------------------------------------------------------------------------------- expansions
@pytest.mark.parametrize(
    "formula, expected",
    [
        ("y ~ a*b", ["a", "b", "a:b"]),
        ("y ~ a:b", ["a:b"]),
        ("y ~ (a+b+c)^2", ["a", "b", "c", "a:b", "a:c", "b:c"]),
        ("y ~ a/b", ["a", "a:b"]),
        ("y ~ b %in% a", ["b:a"]),
        ("y ~ f + x:f", ["f", "f:x"]),
        ("y ~ x*f + f:g", ["x", "f", "x:f", "f:g"]),
        ("y ~ a*b - a", ["b", "a:b"]),
        ("y ~ (a + b)^1e9", ["a", "b", "a:b"]),
        ("y ~ x^2", ["x"]),
        ("y ~ I(x^2)", ["I(x^2)"]),
    ],
)
def test_expansions(formula, expected):
    assert labels(formula) == expected


@pytest.mark.parametrize(
    "formula, intercept",
    [("y ~ x", True), ("y ~ 0 + x", False), ("y ~ x - 1", False), ("y ~ -1 + x", False), ("y ~ 0 + x + 1", True)],
)
def test_intercept(formula, intercept):
    assert parse_formula(formula).fixed_terms().intercept is intercept


def test_offsets_are_kept_apart():
    terms = parse_formula("y ~ x + offset(log(n)) + offset(w)").fixed_terms()
    assert terms.labels() == ["x"]
    assert [deparse(o) for o in terms.offsets] == ["log(n)", "w"]


@pytest.mark.parametrize(
    "formula, expected",
    [
        ("y ~ (x | g)", ["x | g"]),
        ("y ~ (x || g)", ["1 | g", "0 + x | g"]),
        ("y ~ (0 + x || g)", ["0 + x | g"]),
        ("y ~ (1 | a/b)", ["1 | b:a", "1 | a"]),
        ("y ~ (1 | a/b/c)", ["1 | c:(b:a)", "1 | b:a", "1 | a"]),
        ("y ~ (1 | a:b)", ["1 | a:b"]),
        ("y ~ (1 | s) + (1 | i)", ["1 | s", "1 | i"]),
    ],
)
def test_bar_expansion(formula, expected):
    assert blocks(formula) == expected


def test_model_formula_parts():
    mf = parse_formula("Reaction ~ Days + (Days | Subject) + (1 | Item)")
    assert mf.fixed_formula == "Reaction ~ Days"
    assert [b.group_name for b in mf.bars] == ["Subject", "Item"]
    assert mf.variables() == ["Reaction", "Days", "Subject", "Item"]
    assert parse_formula("y ~ (1 | g)").fixed_formula == "y ~ 1"
    assert hl.parse_formula is parse_formula


def test_describe_lists_blocks():
    text = parse_formula("y ~ x + (x || g) + (1 | a/b)").describe()
    assert "block 2    : (0 + x | g)  from (x || g)" in text
    assert "(1 | b:a)" in text and "one block per model-matrix column" in text


# ---------------------------------------------------------------------------------- deparse
@pytest.mark.parametrize(
    "text, expected",
    [
        ("I(Time^2)", "I(Time^2)"),
        ("I(Time **2)", "I(Time^2)"),
        ("log(x+1)", "log(x + 1)"),
        ("poly(Days,2)", "poly(Days, 2)"),
        ("poly(x, 3, raw = TRUE)", "poly(x, 3, raw = TRUE)"),
        ("scale(x, center=FALSE)", "scale(x, center = FALSE)"),
        ("I(x/1e6)", "I(x/1e+06)"),
        ("I(x - 100000)", "I(x - 1e+05)"),
        ("I(x^-1)", "I(x^-1)"),
        ("I((x+1)^2)", "I((x + 1)^2)"),
        ("I(x>3 & z<2)", "I(x > 3 & z < 2)"),
        ("`my var`", "`my var`"),
        ("dummy(Machine,'B')", 'dummy(Machine, "B")'),
        ("x %in% g", "x %in% g"),
        ("!x", "!x"),
        ("2L", "2"),
    ],
)
def test_deparse_like_r(text, expected):
    assert deparse(parse_expr(text)) == expected


@pytest.mark.parametrize(
    "value, r",  # R's as.character() of the same doubles
    [
        (1e6, "1e+06"), (0.1 + 0.2, "0.3"), (123456.0, "123456"), (1 / 3, "0.333333333333333"),
        (2.5e-8, "2.5e-08"), (1e-20, "1e-20"), (1e5, "1e+05"), (1e15, "1e+15"), (-0.5, "-0.5"),
        (1e5 + 0.1, "100000.1"), (1e-4, "1e-04"), (0.001, "0.001"), (5e-324, "4.94065645841247e-324"),
    ],
)
def test_format_number_like_r(value, r):
    assert format_number(value) == r


def test_expand_terms_without_rhs():
    assert expand_terms(None).labels() == [] and expand_terms(None).intercept


# ---------------------------------------------------------------------------------- errors
MALFORMED = [
    ("", "empty"),
    ("   ", "empty"),
    ("y ~", "nothing on its right-hand side at position 2"),
    ("~", "nothing to the right of '~'"),
    ("y x", "is an operator such as '+' missing?) at position 2"),
    ("y ~ x +", "'+' has nothing on its right-hand side at position 6"),
    ("y ~ (x", "unbalanced parentheses: a '(' is never closed"),
    ("y ~ x)", "this ')' has no matching '(' at position 5"),
    ("y ~ log(x", "'log(' is never closed"),
    ("y ~ offset(", "'offset(' is never closed"),
    ("y ~ (x |)", "nothing on the right of '|'"),
    ("y ~ (| g)", "nothing on the left of '|'"),
    ("y ~ x ~ z", "more than one '~'"),
    ("y ~ x | g", "each bar must be its own term in parentheses"),
    ("y ~ x + (1 | 2)", "the grouping factor is the number 2"),
    ("y ~ x + (1 | log(g))", "'log(g)' is not a column name"),
    ("y ~ x - (1 | g)", "cannot be subtracted"),
    ("y ~ (x | g | h)", "cannot contain another '|'"),
    ("y ~ x + 2", "the number 2 cannot be a term"),
    ("y ~ TRUE", "the constant TRUE cannot be a term"),
    ("y ~ x + 'a'", 'the string "a" cannot be a term'),
    ("y ~ .", "'.' (all other columns) is not supported"),
    ("y ~ (a+b)^x", "the power must be a positive whole number"),
    ("y ~ (a+b)^0.5", "the power must be a positive whole number"),
    ("y ~ x + offset(a, b)", "offset() takes one expression"),
    ("y ~ x - offset(a)", "an offset cannot be subtracted"),
    ("y ~ (offset(z) | g)", "offset() cannot appear inside a random-effect term"),
    ("y ~ x*offset(z)", "must be added to the model with '+'"),
    ("y ~ (0 | g)", "has no terms"),
    ("y ~ x $ z", "unexpected character '$' at position 6"),
    ("y ~ f(a = 1, 2)", "positional argument after a named one"),
    ("y ~ ()", "empty parentheses"),
    ("(1|g) ~ x", "the response (left of '~') cannot contain '|'"),
    ("y + x", "has no '~'"),
    ("y ~ ~x", "'~' with nothing on its left"),
    ("y ~ x + (1|g)(1|h)", "unexpected '(' (is an operator such as '+' missing?) at position 13"),
    ("y ~ [x]", "'[' cannot start a term"),
    ("y ~ a % b", "unexpected character '%'"),
    ("y ~ (1|a/b/)", "'/' has nothing on its right-hand side"),
    ("y ~ a*b*c*d*e*f*g*h*i*j*k*l*m*n*o", "expands to 16383 terms"),
    ("y ~ " + "(" * 600 + "x" + ")" * 600, "nested too deeply"),
    (42, "must be a string"),
    (None, "must be a string"),
]


@pytest.mark.parametrize("text, message", MALFORMED, ids=[repr(t)[:40] for t, _ in MALFORMED])
def test_malformed_formulas_raise_helpful_errors(text, message):
    with pytest.raises(FormulaError) as info:
        parse_formula(text)
    assert message in str(info.value)
    assert isinstance(info.value, HierlmError) and isinstance(info.value, ValueError)


def test_error_points_at_the_token():
    with pytest.raises(FormulaError) as info:
        parse_formula("y ~ x + (1 | g")
    lines = str(info.value).splitlines()
    assert lines[-2].strip() == "y ~ x + (1 | g"
    assert lines[-1].index("^") == lines[-2].index("y") + len("y ~ x + (1 | g")


# ---------------------------------------------------------------------------------- fuzzing
PIECES = list("yxgab01 ~+-*/:^|()%,.=!<>&'\"`$[]\\\n\t") + [
    "||", "%in%", "I(", "log(", "poly(", "offset(", "TRUE", "**", "1e5", "2L", " + ", " ~ ", "(1 | g)",
]


def _check_parse(text: str) -> None:
    try:
        mf = parse_formula(text)
    except HierlmError:
        return
    assert isinstance(mf, ModelFormula)
    mf.describe()
    if mf.response is not None:  # the deparsed fixed part means the same as the original
        again = parse_formula(mf.fixed_formula).fixed_terms()
        assert again.labels() == mf.fixed_terms().labels()
        assert again.intercept == mf.fixed_terms().intercept


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_fuzz_random_strings(text):
    _check_parse(text)


_atoms = st.sampled_from(["x", "z", "a", "b", "g", "0", "1", "2", "TRUE", "`v w`", '"s"', "."])


def _combine(children):
    ops = st.sampled_from(["+", "-", "*", "/", ":", "^", "%in%", "|", "||", "==", ">"])
    binary = st.tuples(children, ops, children)
    return st.one_of(
        binary.map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        children.map(lambda c: f"({c})"),
        children.map(lambda c: f"-{c}"),
        st.tuples(st.sampled_from(["I", "log", "poly", "offset", "scale", "factor"]), children).map(
            lambda t: f"{t[0]}({t[1]})"
        ),
    )


_trees = st.recursive(_atoms, _combine, max_leaves=12)


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(["y ~ ", "log(y) ~ ", "~ ", ""]), _trees, st.lists(_trees, max_size=2))
def test_fuzz_structured_formulas(lhs, rhs, bars):
    text = lhs + rhs + "".join(f" + ({b})" for b in bars)
    _check_parse(text)
