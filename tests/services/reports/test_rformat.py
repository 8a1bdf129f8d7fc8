"""R's number formatting and print layouts (hierlm.services.rformat) against R's own output.

References: rformat_reference.json (make_rformat_reference.R: format / round / signif / zapsmall /
format.pval / formatC / quantile on 400 random vectors built to hit ties, scientific notation, NA and
rounding that widens), and the printed lines of summary_output.json (make_summary_output.R).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from support import reference_json

from hierlm.services.rformat import (
    SIGNIF_LEGEND,
    abbreviate,
    cat_fill,
    format_c,
    format_num,
    format_pval,
    formula_lines,
    print_anova,
    print_coefmat,
    print_matrix,
    quantile7,
    r_round,
    r_signif,
    strwrap,
    zapsmall,
)

CASES = reference_json("rformat_reference.json")["cases"]
OUT = reference_json("summary_output.json")


def _vec(v) -> list:
    return v if isinstance(v, list) else [v]


def _nums(v) -> list[float]:
    return [math.nan if s == "NA" else float(s) for s in _vec(v)]


def _same(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all((math.isnan(x) and math.isnan(y)) or x == y for x, y in zip(a, b))


@pytest.mark.parametrize("what", ["format", "round", "signif", "zapsmall", "format_pval", "formatC", "quantile"])
def test_number_formatting_matches_r(what):
    """Every case of the reference, digit for digit (numbers: the exact double R returned)."""
    bad = []
    for i, c in enumerate(CASES):
        x = _nums(c["x"])
        if what == "format":
            ok = format_num(x, c["digits"], c["nsmall"]) == _vec(c["format"])
        elif what == "round":
            ok = _same(r_round(x, c["rd"]), _nums(c["round"]))
        elif what == "signif":
            ok = _same([r_signif(v, c["digits"]) for v in x], _nums(c["signif"]))
        elif what == "zapsmall":
            ok = _same(zapsmall(x, c["digits"]), _nums(c["zapsmall"]))
        elif what == "format_pval":
            ok = format_pval(_nums(c["pv"]), c["digits"]) == _vec(c["format_pval"])
        elif what == "formatC":
            ok = format_c(x[0], c["digits"]) == c["formatC"]
        else:
            ok = c["quantile"] is None or _same(quantile7(x), _nums(c["quantile"]))
        if not ok:
            bad.append(i)
    assert not bad, f"{len(bad)} of {len(CASES)} cases differ from R, first: {CASES[bad[0]]}"


def test_format_examples_from_the_issue():
    # hierlm printed 251.410 6.8246 36.8380 where R prints 251.405 6.825 36.838
    tab = pd.DataFrame({"Estimate": [251.405104848485, 10.467285959596],
                        "Std. Error": [6.82459669495491, 1.54578964390598],
                        "t value": [36.8380896462844, 6.77148148899918]}, index=["(Intercept)", "Days"])
    assert print_coefmat(tab, digits=4) == ["            Estimate Std. Error t value",
                                            "(Intercept)  251.405      6.825  36.838",
                                            "Days          10.467      1.546   6.771"]
    assert format_num([5.093296], 7) == ["5.093296"]
    assert format_num([267.967, 1.2], 6) == ["267.967", "  1.200"]


def test_pvalues_below_machine_precision():
    assert format_pval([1e-20, 3.26e-06], 3) == ["< 2e-16", "3.26e-06"]
    assert format_pval([1e-20], 4) == ["< 2.2e-16"]
    assert format_pval([1e-20, 0.5], 3) == ["<2e-16", "0.5"]
    assert format_pval([float("nan"), 0.01], 3) == ["NA", "0.01"]


def test_coefmat_na_rows_and_zero_estimates():
    """Aliased coefficients print NA; tiny estimates force scientific notation (R 4.2's printCoefmat output)."""
    tab = pd.DataFrame({"Estimate": [1.5, np.nan, 2e-7], "Std. Error": [0.25, np.nan, 0.1],
                        "t value": [6.0, np.nan, 2e-6], "Pr(>|t|)": [1e-5, np.nan, 0.99]}, index=["a", "b", "c"])
    lines = print_coefmat(tab, digits=4)
    assert lines[:4] == ["  Estimate Std. Error t value Pr(>|t|)    ",
                         "a  1.5e+00    2.5e-01       6    1e-05 ***",
                         "b       NA         NA      NA       NA    ",
                         "c  2.0e-07    1.0e-01       0     0.99    "]
    assert lines[-2:] == ["---", SIGNIF_LEGEND]
    assert SIGNIF_LEGEND == "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1"


def test_matrix_wraps_columns_at_the_width():
    cells = [["x" * 30, "y" * 30, "z" * 30]]
    lines = print_matrix(cells, ["row"], ["A", "B", "C"], right=True)
    assert len(lines) == 4 and lines[0].strip() == "A" + " " * 30 + "B" and lines[2].strip() == "C"


@pytest.mark.parametrize(("names", "minlength", "expected"), [
    (["(Intercept)", "treatozone", "Time", "I(Time^2)", "treatozone:Time"], 6,
     ["(Intr)", "tretzn", "Time", "I(T^2)", "trtz:T"]),
    (["Information2", "Product2:Information2", "treatozone:Time"], 11, ["Informatin2", "Prdct2:Inf2", "treatozn:Tm"]),
    (["VarietyMarvellous", "VarietyVictory", "nitro:VarietyMarvellous"], 11,
     ["VartyMrvlls", "VarityVctry", "ntr:VrtyMrv"]),
])
def test_abbreviate_as_r(names, minlength, expected):
    assert abbreviate(names, minlength) == expected


def test_strwrap_and_cat_fill_make_lme4_titles():
    title = "Linear mixed model fit by maximum likelihood . t-tests use Satterthwaite's method"
    lines = cat_fill(strwrap(title, 78, exdent=2) + [" [", "lmerModLmerTest", "]"], sep="")
    assert lines == ["Linear mixed model fit by maximum likelihood . t-tests use Satterthwaite's",
                     "  method [lmerModLmerTest]"]


@pytest.mark.parametrize("kind", ["lmer", "glmer"])
def test_formula_line_as_lme4_deparses_it(kind):
    """The Formula: line(s) of every printout: spaces, (x || g) expanded, broken after column 60."""
    for name, rec in OUT[kind].items():
        lines = rec["print"]["lme4"]["lines"]
        start = next(i for i, s in enumerate(lines) if s.startswith("Formula: "))
        end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(("   Data:", "Weights:")))
        assert cat_fill(["Formula:"] + formula_lines(rec["formula"])) == lines[start:end], name


def _table(t: dict) -> pd.DataFrame:
    return pd.DataFrame({k: [np.nan if v is None else v for v in vals] for k, vals in t["columns"].items()},
                        index=t["rownames"])


def test_anova_tables_from_r_numbers():
    """print.anova of lm F tables, lme4 LRT tables, lmerTest's ranova and type III tables."""
    n = 0
    for rec in OUT["anova_lm"].values():
        lines = rec["print"]["lines"]
        k = next(i for i, s in enumerate(lines) if s.startswith(("  ", "   ")) or s.startswith(" "))
        heading = lines[: k]
        assert print_anova(_table(rec["table"]), ["\n".join(heading)]) == lines
        n += 1
    for rec in OUT["anova_lmer"].values():
        lines = rec["print"]["lines"]
        k = lines.index("Models:") + 1 + len(rec["models"])
        assert print_anova(_table(rec["table"]), lines[:k]) == lines
        n += 1
    for rec in OUT["ranova"].values():
        lines = rec["print"]["lines"]
        assert print_anova(_table(rec["table"]), ["\n".join(lines[:4])]) == lines
        n += 1
    for name, rec in OUT["lmer"].items():
        a3 = rec["values"]["anova_type3"]
        if a3 and len(a3["rownames"]):
            lines = rec["print"]["anova_type3"]["lines"]
            assert print_anova(_table(a3), lines[:1]) == lines, name
            n += 1
    assert n >= 30
