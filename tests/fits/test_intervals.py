"""Confidence and prediction intervals of lmer / glmer predictions (hierlm.fits.intervals).

Reference: ``lmer_intervals`` of lm_extra_reference.json (make_lm_extra_reference.R): the GLMM FAQ recipe
computed in R from lme4 1.1-31's ``vcov``, ``VarCorr`` and ``sigma`` (there is no single R function):
fixed-effect variance xᵀVx, plus for prediction intervals the variance of the random effects the prediction
does not condition on and σ².  lmer fits agree with lme4's to ~1e-6, so the intervals are checked at 1e-5; the
glmer one (a fully converged lme4 fit) at 2e-3, the agreement of hierlm's GLMM standard errors with lme4's.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd
import pytest

import hierlm as hl
from hierlm.fits.intervals import predict_interval
from hierlm.fits.lm import lm
from lm_reference import EXTRA, course_data, newdata_of

CASES = EXTRA["lmer_intervals"]


@functools.cache
def fit(data: str, formula: str, reml, family: str):
    d = course_data(data)
    if family == "gaussian":
        return hl.lmer(formula, d, reml=bool(reml))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hl.HierlmWarning)
        return hl.glmer(formula, d, family=family)


def _re_form(text):
    return None if text is None else ("~0" if text == "NA" else text)


@pytest.mark.parametrize("name", sorted(CASES))
def test_faq_recipe(name):
    r = CASES[name]
    m = fit(r["data"], r["formula"], r["REML"], r["family"])
    nd = newdata_of(r["newdata"], course_data(r["data"]))
    rtol = 1e-5 if r["family"] == "gaussian" else 2e-3
    for interval in ("confidence", "prediction"):
        if r.get(interval) is None:
            continue
        p = predict_interval(m, nd, interval, level=r["level"], re_form=_re_form(r["re_form"]),
                             allow_new_levels=r["allow_new_levels"])
        assert list(p.columns) == ["fit", "lwr", "upr"] and list(p.index) == list(nd.index)
        for col in ("fit", "lwr", "upr"):
            np.testing.assert_allclose(p[col], r[interval][col], rtol=rtol)


def test_glmer_link_scale_and_prediction_refused():
    r = CASES["cbpp_glmer_population"]
    m = fit(r["data"], r["formula"], r["REML"], r["family"])
    nd = newdata_of(r["newdata"], course_data(r["data"]))
    link = predict_interval(m, nd, re_form="~0", type="link")
    resp = predict_interval(m, nd, re_form="~0")
    np.testing.assert_allclose(m.family.link.linkinv(link.to_numpy()), resp.to_numpy(), rtol=1e-12)
    with pytest.raises(hl.HierlmError, match="not defined for a GLMM"):
        predict_interval(m, nd, "prediction")


def test_intervals_nest_and_widen():
    m = fit("sleepstudy", "Reaction ~ Days + (Days | Subject)", True, "gaussian")
    nd = pd.DataFrame({"Days": [0.0, 9.0], "Subject": ["308", "308"]})
    conf = predict_interval(m, nd)
    cond = predict_interval(m, nd, "prediction")  # level known: σ² only
    pop = predict_interval(m, nd, "prediction", re_form="~0")  # + the subject's variance
    assert np.all(cond["upr"] - cond["lwr"] > conf["upr"] - conf["lwr"])
    assert np.all(pop["upr"] - pop["lwr"] > cond["upr"] - cond["lwr"])
    np.testing.assert_allclose(conf["fit"], m.predict(nd))
    narrow = predict_interval(m, nd, level=0.5)
    assert np.all(narrow["upr"] - narrow["lwr"] < conf["upr"] - conf["lwr"])
    np.testing.assert_allclose(predict_interval(m)["fit"], m.fitted())  # the data used by default


def test_bootstrap_interval():
    """lme4's bootMer recipe: close to the normal-theory interval for this well-determined model, reproducible."""
    m = fit("Dyestuff", "Yield ~ 1 + (1 | Batch)", True, "gaussian")
    nd = pd.DataFrame({"Batch": ["A", "new"]})
    wald = predict_interval(m, nd, re_form="~0")
    boot = predict_interval(m, nd, re_form="~0", method="boot", nsim=40, seed=3)
    np.testing.assert_allclose(boot["fit"], wald["fit"])
    width, wald_width = boot["upr"] - boot["lwr"], wald["upr"] - wald["lwr"]
    assert np.all(np.abs(width / wald_width - 1) < 0.35)
    pred = predict_interval(m, nd, "prediction", re_form="~0", method="boot", nsim=40, seed=3)
    assert np.all(pred["upr"] - pred["lwr"] > 1.5 * width)
    again = predict_interval(m, nd, "prediction", re_form="~0", method="boot", nsim=40, seed=3)
    pd.testing.assert_frame_equal(again, pred)


def test_bad_input():
    m = fit("sleepstudy", "Reaction ~ Days + (Days | Subject)", True, "gaussian")
    nd = pd.DataFrame({"Days": [1.0], "Subject": ["new"]})
    with pytest.raises(hl.DataError, match="new level"):
        predict_interval(m, nd)
    with pytest.raises(hl.HierlmError, match="interval"):
        predict_interval(m, nd, "credible")
    with pytest.raises(hl.HierlmError, match="level"):
        predict_interval(m, nd, level=1.5)
    with pytest.raises(hl.HierlmError, match="method"):
        predict_interval(m, nd, method="mcmc")
    with pytest.raises(hl.DataError, match="'Days'"):
        predict_interval(m, pd.DataFrame({"Subject": ["308"]}))
    with pytest.raises(hl.HierlmError, match="lm or glm has predict"):
        predict_interval(lm("Reaction ~ Days", course_data("sleepstudy")))
