"""The design layer against R: model.matrix, terms() and lme4's lFormula, plus new data and data checks.

Reference values come from tests/reference/design_reference.json (made by make_design_reference.R
from the same CSV files that hierlm ships).
"""

from __future__ import annotations

import json
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import hierlm as hl
from hierlm.design import Evaluator, make_design, model_matrix
from hierlm.design.value import level_names
from hierlm.design.random import make_names
from hierlm.errors import DataError, FormulaError, HierlmWarning
from support import reference_json

REF = reference_json("design_reference.json")
CASES = {k: v for k, v in REF.items() if not k.startswith("_") and isinstance(v, dict)}
RANDOM = [k for k, v in CASES.items() if "random" in v]
TOL = dict(rtol=1e-10, atol=1e-10)
# deliberate differences: lme4 cannot evaluate factor(cyl) as a group; R made the reference with cyl
GROUP_NAMES = {"factor_call_group": {"factor(cyl)": "cyl"}}


@lru_cache(maxsize=None)
def dataset(name: str) -> pd.DataFrame:
    return hl.load_dataset(name)


def case_data(case: dict) -> pd.DataFrame:
    """The case's dataset with the columns R made by ``factor(x, ordered = ...)``."""
    df = dataset(case["data"]).copy()
    for p in case.get("prep", []):
        values = df[p["from"]]
        df[p["new"]] = pd.Categorical(values, categories=sorted(values.unique()), ordered=p["ordered"])
    return df


@lru_cache(maxsize=None)
def design(case_id: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HierlmWarning)
        return make_design(CASES[case_id]["formula"], case_data(CASES[case_id]))


def assert_matrix(X: np.ndarray, ref: dict) -> None:
    if "rows" in ref:
        np.testing.assert_allclose(X, np.array(ref["rows"], dtype=float).reshape(X.shape), **TOL)
    else:
        np.testing.assert_allclose(X[:10], np.array(ref["head"], dtype=float), **TOL)
        np.testing.assert_allclose(X.sum(axis=0), np.array(ref["colsums"], dtype=float), **TOL)


# ---------------------------------------------------------------------------------- fixed part
@pytest.mark.parametrize("case_id", list(CASES))
def test_model_matrix_matches_r(case_id):
    case = CASES[case_id]
    ref = case["fixed"]
    termlist = hl.parse_formula(case["formula"]).fixed_terms()
    assert termlist.labels() == ref["term_labels"]
    assert termlist.intercept == ref["intercept"]
    X, names, _ = model_matrix(termlist, Evaluator(case_data(case)))
    assert names == ref["colnames"]
    assert X.shape == (ref["n"], len(names))
    assert_matrix(X, ref)
    d = design(case_id)
    if ref.get("offset") is not None:
        np.testing.assert_allclose(d.offset[: len(ref["offset"])], ref["offset"], **TOL)
    else:
        assert not d.offset.any()


# ---------------------------------------------------------------------------------- random part
@pytest.mark.parametrize("case_id", RANDOM)
def test_random_terms_match_lme4(case_id):
    ref = CASES[case_id]["random"]
    d = design(case_id)
    rename = GROUP_NAMES.get(case_id, {})
    group = [rename.get(t.group, t.group) for t in d.reterms]
    assert group == ref["names"]
    assert [t.columns for t in d.reterms] == ref["cnms"]
    assert d.xnames == ref["X_colnames"]  # lme4 drops the same rank-deficient columns
    groups = {rename.get(g, g): lv for g, lv in d.groups().items()}
    assert list(groups) == ref["flist_names"]
    assert [ref["flist_names"].index(g) + 1 for g in group] == ref["flist_assign"]
    for t in d.reterms:
        g = rename.get(t.group, t.group)
        assert t.levels == ref["flist_levels"][g]
        rows = [t.levels[i] for i in t.index]
        assert rows[: len(ref["flist_rows"][g])] == ref["flist_rows"][g]
    if "varcorr_names" in ref:
        assert [t.label for t in d.reterms] == ref["varcorr_names"]
    Zt = sp.hstack([t.z_matrix() for t in d.reterms]).T.tocsr()
    assert list(Zt.shape) == ref["Zt_dim"]
    n = Zt.shape[1]
    np.testing.assert_allclose(np.asarray(Zt.sum(axis=1)).ravel(), ref["Zt_rowsums"], **TOL)
    np.testing.assert_allclose(Zt @ (np.arange(1, n + 1) / n), ref["Zt_weighted"], **TOL)


def test_double_bar_splits_factor_columns():
    """hierlm's (Machine || Worker) is lme4's (1|Worker) + (0+dummy(Machine,"B")|Worker) + ..."""
    case = CASES["dblbar_factor"]
    assert "dummy" in case["r_formula"]
    d = design("dblbar_factor")
    assert [t.columns for t in d.reterms] == [["(Intercept)"], ["MachineB"], ["MachineC"]]
    assert [t.correlated for t in d.reterms] == [False] * 3


# ---------------------------------------------------------------------------------- new data
@pytest.mark.filterwarnings("ignore::hierlm.errors.HierlmWarning")
@pytest.mark.parametrize("case", REF["newdata"], ids=lambda c: c["formula"])
def test_new_data_uses_training_transforms(case):
    d = make_design(case["formula"], dataset(case["data"]))
    new = pd.DataFrame(case["newdata"])
    X, names, _ = model_matrix(d.formula.fixed_terms(), Evaluator(new, d.state), d.codings)
    assert names == case["colnames"]
    np.testing.assert_allclose(X, np.array(case["rows"]), **TOL)


@pytest.mark.parametrize(
    "case_id",
    ["poly_times_factor", "ordered_times_factor", "nested_three", "worker_and_interaction", "dblbar_factor",
     "bar_poly", "ordered_in_bar", "numeric_group", "factor_call_group", "offset_log", "logical_interaction"],
)
def test_new_data_reproduces_training_rows(case_id):
    d = design(case_id)
    data = case_data(CASES[case_id])
    order = np.arange(len(data))[::-1]
    nd = d.new_data(data.iloc[order])
    np.testing.assert_allclose(nd.X, d.X[order], **TOL)
    np.testing.assert_allclose(nd.offset, d.offset[order], **TOL)
    for new, old in zip(nd.reterms, d.reterms):
        assert new.levels == old.levels and new.label == old.label
        np.testing.assert_array_equal(new.index, old.index[order])
        np.testing.assert_allclose(new.values, old.values[order], **TOL)
        assert not new.unseen().any()


def test_new_data_flags_unseen_levels():
    sleep = dataset("sleepstudy")
    d = make_design("Reaction ~ Days + (Days | Subject)", sleep)
    nd = d.new_data(pd.DataFrame({"Days": [1, 2, 3], "Subject": ["308", "999", None]}))
    (t,) = nd.reterms
    assert t.index.tolist() == [0, 18, -1]
    assert t.unseen().tolist() == [False, True, False]
    assert t.levels[18] == "999" and t.known == 18

    oats = dataset("Oats")
    d = make_design("yield ~ Variety + nitro + (1 | Block:Variety)", oats)
    with pytest.raises(DataError, match=r"'Variety' has level\(s\) \['Nope'\].*known levels"):
        d.new_data(pd.DataFrame({"Variety": ["Nope"], "nitro": [0.2], "Block": ["I"]}))
    nd = d.new_data(pd.DataFrame({"Variety": ["Victory", "Victory"], "nitro": [0.2, 0.4], "Block": ["I", "VII"]}))
    assert nd.reterms[0].unseen().tolist() == [False, True]
    mt = make_design("mpg ~ factor(cyl)", dataset("mtcars"))
    with pytest.raises(DataError, match=r"'factor\(cyl\)' has level\(s\) \['5'\]"):
        mt.new_data(pd.DataFrame({"cyl": [4, 5]}))


def test_new_data_missing_factor_gives_missing_row():
    d = make_design("yield ~ Variety + nitro", dataset("Oats"))
    X = d.new_data(pd.DataFrame({"Variety": ["Victory", None], "nitro": [0.2, 0.4]})).X
    assert np.isfinite(X[0]).all() and np.isnan(X[1, 1:3]).all()


def test_new_data_missing_column_is_named():
    d = make_design("yield ~ Variety + (1 | Block)", dataset("Oats"))
    with pytest.raises(DataError, match="'Variety', which is not a column"):
        d.new_data(pd.DataFrame({"Block": ["I"]}))


# ---------------------------------------------------------------------------------- data checks
def test_missing_rows_dropped_with_count():
    sleep = dataset("sleepstudy").copy()
    sleep.loc[[3, 7], "Reaction"] = np.nan
    sleep.loc[5, "Days"] = np.nan
    sleep.loc[9, "Subject"] = np.nan
    expected = r"4 row\(s\) with missing values dropped \(Reaction: 2, Days: 1, Subject: 1\); 176 rows used"
    with pytest.warns(HierlmWarning, match=expected):
        d = make_design("Reaction ~ Days + (1 | Subject)", sleep)
    assert d.n == 176 and len(d.y) == 176 and 9 not in d.rows


def test_unused_columns_with_missing_values_are_ignored():
    sleep = dataset("sleepstudy").assign(other=np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("error", HierlmWarning)
        assert make_design("Reaction ~ Days", sleep).n == 180


def test_aliased_columns_dropped_with_names():
    with pytest.warns(HierlmWarning, match=r"dropping 9 column\(s\): sampleB:c, sampleC:c"):
        d = make_design("strength ~ batch + sample + (1 | cask)", dataset("Pastes"))
    assert d.dropped[0] == "sampleB:c" and len(d.dropped) == 9
    assert len(d.xnames) == d.X.shape[1] == len(d.all_xnames) - 9
    with pytest.warns(HierlmWarning, match=r"dropping 1 column\(s\): I\(2 \* Days\)"):
        make_design("Reaction ~ Days + I(2 * Days)", dataset("sleepstudy"))


@pytest.mark.parametrize(
    "formula, message",
    [
        ("Reaction ~ Dyas + (1 | Subject)", "'Dyas', which is not a column of the data. Did you mean 'Days'?"),
        ("Reaction ~ Days + (1 | subject)", "Did you mean 'Subject'?"),
        ("reaction ~ Days", "Did you mean 'Reaction'?"),
        ("Reaction ~ Days + (Dys | Subject)", "Did you mean 'Days'?"),
    ],
)
def test_unknown_column_suggests_closest(formula, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace("?", r"\?")):
        make_design(formula, dataset("sleepstudy"))


@pytest.mark.parametrize(
    "formula, data, error, message",
    [
        ("Reaction ~ lg(Days)", "sleepstudy", FormulaError, "unknown function 'lg()' in 'lg(Days)'. Did you mean"),
        ("Reaction ~ I(Subject + 1)", "sleepstudy", FormulaError, "'Subject' is a factor"),
        ("Reaction ~ log(Days)", "sleepstudy", DataError, "'log(Days)' has non-finite values"),
        ("~ Days", "sleepstudy", FormulaError, "has no response"),
        ("Reaction ~ poly(Days, 10)", "sleepstudy", FormulaError, "the degree (10) must be less than the number of unique"),
    ],
)
def test_evaluation_errors(formula, data, error, message):
    with pytest.raises(error) as info:
        make_design(formula, dataset(data))
    assert message in str(info.value)


def test_plain_columns_become_factors_like_r():
    df = pd.DataFrame({"y": [1.0, 2, 3, 4, 5], "g": ["b", "a", "c", "a", "b"], "t": [True, False, True, True, False]})
    d = make_design("y ~ g + t", df)
    assert d.xnames == ["(Intercept)", "gb", "gc", "tTRUE"]
    with pytest.raises(FormulaError, match="only one level"):
        make_design("y ~ g", df.assign(g="a"))


def test_level_names_like_r():
    assert level_names([1.0, 0.5, 1e5, 0.1 + 0.2, 3, True, "x"]) == ["1", "0.5", "1e+05", "0.3", "3", "TRUE", "x"]


def test_make_names_like_r():
    # R: make.names(c("1a", ".2x", "_a", "a b", "if", "x", "x", "x.1", "x"), unique = TRUE)
    names = ["1a", ".2x", "_a", "a b", "if", "x", "x", "x.1", "x"]
    assert make_names(names) == ["X1a", "X.2x", "X_a", "a.b", "if.", "x", "x.2", "x.1", "x.3"]
