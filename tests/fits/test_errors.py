"""Catalogue of user mistakes: each raises a HierlmError subclass whose message names the culprit.

Formula syntax errors have their own catalogue in test_formula.py; this one covers data,
arguments and the model as a whole.  Bayesian-argument cases live in test_bayes_errors.py.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import hierlm as hl

SLEEP = hl.load_dataset("sleepstudy")
CBPP = hl.load_dataset("cbpp")
F = "Reaction ~ Days + (1|Subject)"


def _m(formula=F, data=SLEEP, **kw):
    return hl.lmer(formula, data, **kw)


CASES = [
    # (id, call, error class, text the message must contain)
    ("unknown column", lambda: _m("Reacton ~ Days + (1|Subject)"), hl.DataError, "Did you mean 'Reaction'"),
    ("unknown group", lambda: _m("Reaction ~ Days + (1|Subjct)"), hl.DataError, "Did you mean 'Subject'"),
    ("unbalanced", lambda: _m("Reaction ~ Days + (1|Subject"), hl.FormulaError, "position 28"),
    ("empty bar", lambda: _m("Reaction ~ Days + ( | Subject)"), hl.FormulaError, "(1 | g)"),
    ("missing response", lambda: _m("~ Days + (1|Subject)"), hl.FormulaError, "no response"),
    ("no random effects", lambda: _m("Reaction ~ Days"), hl.HierlmError, "no random-effect term"),
    ("factor response", lambda: _m("Subject ~ Days + (1|Days)"), hl.DataError, "numeric response"),
    ("text response", lambda: _m(data=SLEEP.assign(Reaction=SLEEP.Reaction.astype(str))), hl.DataError, "'Reaction'"),
    ("group with one level", lambda: _m("Reaction ~ Days + (1|g)", SLEEP.assign(g="a")), hl.DataError, "'g' has 1 level"),
    ("group with a level per row", lambda: _m("Reaction ~ Days + (1|g)", SLEEP.assign(g=np.arange(180))), hl.DataError, "180 levels for 180"),
    ("empty data", lambda: _m(data=SLEEP.iloc[:0]), hl.DataError, "empty"),
    ("infinite values", lambda: _m(data=SLEEP.assign(Days=np.where(SLEEP.Days == 3, np.inf, SLEEP.Days))), hl.DataError, "'Days' has 18 infinite"),
    ("data is a list", lambda: _m(data=[1, 2, 3]), hl.DataError, "pandas DataFrame, not list"),
    ("data is an array", lambda: _m(data=SLEEP.to_numpy()), hl.DataError, "not ndarray"),
    ("formula not a string", lambda: hl.lmer(42, SLEEP), hl.FormulaError, "must be a string"),
    ("all rows missing", lambda: _m(data=SLEEP.assign(Reaction=np.nan)), hl.DataError, "every row has a missing value"),
    ("unknown function", lambda: _m("Reaction ~ lg(Days) + (1|Subject)"), hl.FormulaError, "Did you mean 'log'"),
    ("log of negatives", lambda: _m("Reaction ~ log(Days - 5) + (1|Subject)"), hl.DataError, "log(Days - 5)"),
    ("factor with one level", lambda: _m("Reaction ~ f + (1|Subject)", SLEEP.assign(f="a")), hl.FormulaError, "'f' has only one level"),
    ("negative weights", lambda: _m(weights=-np.ones(180)), hl.DataError, "non-negative"),
    ("weights of wrong length", lambda: _m(weights=np.ones(3)), hl.DataError, "one value per row"),
    ("weights column unknown", lambda: _m(weights="w"), hl.DataError, "'w'"),
    ("duplicated columns", lambda: _m(data=pd.concat([SLEEP, SLEEP[["Days"]]], axis=1)), hl.DataError, "duplicated column names"),
    ("datetime column", lambda: _m("Reaction ~ t + (1|Subject)", SLEEP.assign(t=pd.Timestamp("2020-01-01"))), hl.DataError, "'t' has type datetime"),
    ("reml not boolean", lambda: _m(reml="yes"), hl.HierlmError, "reml must be True"),
    ("poly degree too high", lambda: _m("Reaction ~ poly(Days, 20) + (1|Subject)"), hl.FormulaError, "poly(Days, 20)"),
    ("string as a term", lambda: _m('Reaction ~ "Days" + (1|Subject)'), hl.FormulaError, '"Days"'),
    ("number as a term", lambda: _m("Reaction ~ 2 + (1|Subject)"), hl.FormulaError, "number 2"),
    ("bar inside interaction", lambda: _m("Reaction ~ Days * (1|Subject)"), hl.FormulaError, "each bar must be its own term"),
    ("number as group", lambda: _m("Reaction ~ Days + (1|2)"), hl.FormulaError, "grouping factor is the number 2"),
    ("negative counts", lambda: hl.glmer("y ~ 1 + (1|herd)", CBPP.assign(y=-CBPP.incidence), family="poisson"), hl.DataError, "negative counts in the response 'y'"),
    ("non-integer counts", lambda: hl.glmer("y ~ 1 + (1|herd)", CBPP.assign(y=CBPP.incidence + 0.5), family="poisson"), hl.DataError, "'y'"),
    ("successes above trials", lambda: hl.glmer("cbind(incidence, size - incidence - 20) ~ 1 + (1|herd)", CBPP, family="binomial"), hl.DataError, "more successes than trials"),
    ("non-binary bernoulli", lambda: hl.glmer("incidence ~ 1 + (1|herd)", CBPP, family="bernoulli"), hl.DataError, "binary response"),
    ("unknown family", lambda: hl.glmer("incidence ~ 1 + (1|herd)", CBPP, family="poison"), hl.DataError, "unknown family 'poison'"),
    ("family not a string", lambda: hl.glmer("incidence ~ 1 + (1|herd)", CBPP, family=3), hl.DataError, "not 3"),
    ("cbind with gaussian", lambda: _m("cbind(incidence, size) ~ 1 + (1|herd)", CBPP), hl.DataError, "family='binomial'"),
    ("non-finite offset", lambda: hl.glmer("incidence ~ period + offset(log(size - size)) + (1|herd)", CBPP, family="poisson"), hl.DataError, "offset(log(size - size))"),
    ("anova of no model", lambda: hl.anova(), hl.HierlmError, "two or more to compare"),
    ("anova of one glmer", lambda: hl.anova(hl.glmer("incidence ~ period + (1|herd)", CBPP, family="poisson")),
     hl.HierlmError, "one glmer fit"),
    ("anova of different rows", lambda: hl.anova(_m(), _m(data=SLEEP.iloc[:100])), hl.HierlmError, "different numbers of observations"),
    ("predict a new level", lambda: _m().predict(SLEEP.assign(Subject="x")), hl.DataError, "allow_new_levels=True"),
    ("predict without a column", lambda: _m().predict(SLEEP.drop(columns="Days")), hl.DataError, "'Days'"),
    ("re_form names unknown group", lambda: _m().predict(re_form="~(1|Foo)"), hl.FormulaError, "'Foo'"),
    ("predict unseen factor level", lambda: _m("Reaction ~ f + (1|Subject)", SLEEP.assign(f=np.where(SLEEP.Days > 4, "a", "b"))).predict(SLEEP.assign(f="c")), hl.DataError, "'c'"),
    ("unknown dataset", lambda: hl.load_dataset("sleepstudyy"), hl.DataError, "Did you mean 'sleepstudy'"),
    ("load a foreign folder", lambda: hl.load("/nonexistent/dir"), hl.HierlmError, "not a saved hierlm fit"),
    ("icc with random slopes", lambda: hl.icc(_m("Reaction ~ Days + (Days|Subject)")), hl.HierlmError, "random-intercept"),
    ("bootstrap with nsim 0", lambda: hl.bootstrap_lrt(_m("Reaction ~ 1 + (1|Subject)"), _m(), nsim=0), hl.HierlmError, "nsim"),
]


@pytest.mark.parametrize("call, error, text", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gives_clear_error(call, error, text):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hl.HierlmWarning)
        with pytest.raises(error) as info:
            call()
    assert text in str(info.value)
    assert isinstance(info.value, ValueError)


def test_catalogue_is_large_enough():
    assert len(CASES) >= 40
