"""bs() and ns() in formulas against R's splines package and lme4 (breadth_reference.json).

Bases (training and predict() at new x, extrapolation included) to 1e-8, knots as R places them,
model-matrix column names as R writes them, lmer fits with spline terms (fixed effects to 1e-4) and
predictions on new data with the training knots (R's predvars), also for a basis inside a bar.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from support import reference_json

import hierlm as hl
from hierlm.design import make_design
from hierlm.design.splines import spline_basis, spline_design, spline_predict
from hierlm.errors import FormulaError, HierlmError, HierlmWarning

REF = reference_json("breadth_reference.json")["splines"]


def _args(a: dict) -> dict:
    knots = a.get("knots")
    return {"df": a.get("df"), "knots": None if knots is None else list(np.atleast_1d(knots)),
            "degree": a.get("degree", 3), "intercept": bool(a.get("intercept", False)),
            "boundary": a.get("Boundary.knots")}


@pytest.mark.parametrize("name", sorted(REF["bases"]))
def test_bases_match_r(name):
    r = REF["bases"][name]
    B, state = spline_basis(r["fun"], np.asarray(r["x"], float), **_args(r["args"]))
    np.testing.assert_allclose(B, r["basis"], atol=1e-8, rtol=0)
    np.testing.assert_allclose(state["knots"], r["knots"], atol=1e-10)
    np.testing.assert_allclose(state["boundary"], r["Boundary_knots"], atol=1e-12)
    assert B.shape[1] == r["df"] == len(r["colnames"])
    # predict(basis, newx): new x inside and outside the boundary knots (ns linear, bs polynomial beyond them)
    P = spline_predict(np.asarray(r["newx"], float), state)
    np.testing.assert_allclose(P, r["predict"], atol=1e-8, rtol=0)


def test_spline_design_derivatives():
    knots = np.array([0, 0, 0, 0, 2, 5, 10, 10, 10, 10.0])
    x = np.array([1.0, 3.0, 7.0])
    h = 1e-6
    num = (spline_design(knots, x + h, 4) - spline_design(knots, x - h, 4)) / (2 * h)
    np.testing.assert_allclose(spline_design(knots, x, 4, 1), num, atol=1e-7)
    np.testing.assert_allclose(spline_design(knots, x, 4).sum(axis=1), 1.0)


@pytest.mark.parametrize("case", REF["model_matrix_names"], ids=lambda c: c["formula"])
def test_column_names_as_r_writes_them(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HierlmWarning)  # ns(Time, df = 3) + bs(Time, knots = ...) is aliased
        d = make_design(case["formula"], hl.load_dataset(case["data"]))
    assert d.all_xnames == case["colnames"]


@pytest.mark.parametrize("name", sorted(REF["lmer"]))
def test_lmer_with_splines(name):
    r = REF["lmer"][name]
    data = hl.load_dataset(r["data"])
    m = hl.lmer(r["formula"], data, reml=r["REML"])
    fe = m.fixef()
    assert list(fe.index) == list(r["fixef"])
    np.testing.assert_allclose(fe["Estimate"], list(r["fixef"].values()), rtol=1e-4)
    np.testing.assert_allclose(fe["Std. Error"], list(r["se"].values()), rtol=1e-3)
    assert m.loglik() == pytest.approx(r["logLik"], abs=1e-4)
    new = pd.DataFrame(r["newdata"])
    for col in new.columns:
        if col in data and not pd.api.types.is_numeric_dtype(data[col]):
            new[col] = new[col].astype(str)
    # the fitted knots are reused on new data (x outside the training range included): R's own fixed effects
    # on hierlm's new-data model matrix give R's population predictions exactly
    X_new = m.design.new_data(new, re_terms=False).X
    np.testing.assert_allclose(X_new @ np.array(list(r["fixef"].values())), r["pred_fixed"], rtol=1e-10)
    np.testing.assert_allclose(m.predict(new, re_form="~0"), r["pred_fixed"], rtol=1e-4)
    np.testing.assert_allclose(m.predict(new, allow_new_levels=True), r["pred"], rtol=1e-4)


def test_new_data_reuses_the_training_knots():
    sleep = hl.load_dataset("sleepstudy")
    d = make_design("Reaction ~ ns(Days, 3) + bs(Days, df = 4, degree = 2) + (ns(Days, 2) | Subject)", sleep)
    sub = sleep[sleep.Days.between(2, 5)]
    nd = d.new_data(sub, re_terms=True)
    rows = np.flatnonzero(sleep.Days.between(2, 5).to_numpy())
    np.testing.assert_allclose(nd.X, d.X[rows], atol=1e-14)
    np.testing.assert_allclose(nd.reterms[0].values, d.reterms[0].values[rows], atol=1e-14)
    assert d.state[("ns", d.formula.fixed_terms().variables[1])]["knots"] == [3.0, 6.0]


# -- bad input -------------------------------------------------------------------------------------
def test_more_df_than_distinct_values():
    sleep = hl.load_dataset("sleepstudy")  # Days: 10 distinct values
    with pytest.raises(FormulaError, match=r"'ns\(Days, 10\)' has 10 column\(s\) \(11 degrees of freedom with the "
                                           r"intercept\) but 'Days' has only 10 distinct value\(s\); use df = 9 or fewer"):
        hl.lmer("Reaction ~ ns(Days, 10) + (1 | Subject)", sleep)
    with pytest.raises(HierlmError, match=r"'bs\(Days, df = 12\)' has 12 column"):
        hl.lmer("Reaction ~ bs(Days, df = 12) + (1 | Subject)", sleep)
    with pytest.raises(HierlmError, match="distinct value"):
        hl.lmer("Reaction ~ 1 + (bs(Days, df = 10) | Subject)", sleep)
    with pytest.raises(HierlmError, match=r"has 5 column\(s\) \(6 degrees"):
        hl.lmer("Reaction ~ bs(Days, knots = c(1, 1.5)) + (1 | Subject)", sleep.assign(Days=sleep.Days % 5))


@pytest.mark.parametrize("term, match", [
    ("ns(Days, knots = c(2, 12))", r"knots \[2.0, 12.0\] must lie within the boundary knots \[0, 9\]"),
    ("ns(Days, 3, Boundary.knots = 1)", "Boundary.knots must be two different numbers"),
    ("bs(Days, df = 3, degree = 0)", "degree .* must be a whole number of at least 1"),
    ("bs(Days, df = 2.5)", "df .* must be a whole number"),
    ("ns(Days, dff = 3)", "unknown or repeated argument 'dff'"),
    ("ns(Days, 3, intercept = 2)", "must be TRUE or FALSE"),
    ("ns(Days, knots = Subject)", "must be a number or c"),
    ("ns(df = 3)", "needs a variable"),
    ("ns(Subject, 3)", "is a factor"),
])
def test_bad_spline_arguments(term, match):
    with pytest.raises(HierlmError, match=match):
        make_design(f"Reaction ~ {term}", hl.load_dataset("sleepstudy"))


def test_df_too_small_warns_as_r():
    with pytest.warns(HierlmWarning, match="'df' was too small; have used 3"):
        d = make_design("Reaction ~ bs(Days, df = 2)", hl.load_dataset("sleepstudy"))
    assert d.xnames[1:] == ["bs(Days, df = 2)1", "bs(Days, df = 2)2", "bs(Days, df = 2)3"]
