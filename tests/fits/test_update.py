"""fit.update() with R's update() semantics; update_formula against R's update.formula."""

import pytest

import hierlm as hl
from hierlm.fits.update import update_formula

SLEEP = hl.load_dataset("sleepstudy")


@pytest.mark.parametrize("old, new, expected", [
    ("Reaction ~ Days + (Days | Subject)", ". ~ . - Days", "Reaction ~ (Days | Subject)"),
    ("Reaction ~ Days + (Days | Subject)", "~ . - (Days | Subject) + (1 | Subject)", "Reaction ~ Days + (1 | Subject)"),
    ("Reaction ~ Days + (Days | Subject)", "log(.) ~ .", "log(Reaction) ~ Days + (Days | Subject)"),
    ("y ~ a * b + (1 | g)", ". ~ . - a:b", "y ~ a + b + (1 | g)"),
    ("y ~ a + b + (1 | g)", ". ~ . + a:b", "y ~ a + b + a:b + (1 | g)"),
    ("y ~ x", "~ . - x", "y ~ 1"),
    ("y ~ x + (x || g)", ". ~ . - (x || g)", "y ~ x"),
    ("y ~ x + offset(log(n)) + (1 | g)", ". ~ . + z", "y ~ x + z + offset(log(n)) + (1 | g)"),
    ("y ~ x + (1 | g)", "z ~ w + (1 | h)", "z ~ w + (1 | h)"),
])
def test_update_formula(old, new, expected):
    assert update_formula(old, new) == expected


@pytest.mark.parametrize("new, text", [("Days", "must be a formula"), (". ~ . - (1 | Item)", "not in"),
                                       (3, "must be a formula")])
def test_update_formula_errors(new, text):
    with pytest.raises(hl.FormulaError, match=text):
        update_formula("Reaction ~ Days + (Days | Subject)", new)


def test_update_refits_every_kind():
    m = hl.lmer("Reaction ~ Days + (Days | Subject)", SLEEP)
    assert m.update(". ~ . - Days").fixef().index.tolist() == ["(Intercept)"]
    ml = m.update(reml=False)
    assert ml.reml is False and ml.loglik() == pytest.approx(m.refit_ml().loglik(), abs=1e-8)
    assert m.update(data=SLEEP.iloc[:100]).nobs() == 100
    assert m.update(". ~ . + I(Days^2)").fixef().index.tolist() == ["(Intercept)", "Days", "I(Days^2)"]
    lm = hl.lm("Reaction ~ Days", SLEEP)
    assert lm.update(". ~ . + Subject").nobs() == 180
    g = hl.glmer("incidence ~ period + (1 | herd)", hl.load_dataset("cbpp"), family="poisson")
    assert g.update(". ~ . - period").family == "poisson"


def test_update_uses_the_original_data_frame():
    d = SLEEP.assign(extra=SLEEP.Days ** 2)
    m = hl.lmer("Reaction ~ Days + (1 | Subject)", d)
    assert "extra" not in m.design.data.columns  # only the used columns are kept ...
    assert m.update(". ~ . + extra").fixef().index.tolist() == ["(Intercept)", "Days", "extra"]  # ... but update sees all
