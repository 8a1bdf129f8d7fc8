"""confint() of glmer fits against lme4 1.1-31 (tests/reference/make_glmer_confint_reference.R).

Profile limits are compared with lme4's profile of its tightly converged refit on a fine grid
(``tight.profile``; lme4's default spline interpolation agrees with the fine grid to ~1e-5) and Wald limits
exactly; the random-slope Bernoulli
model runs on 80 of VerbAgg's respondents (their ids are in the JSON).
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd
import pytest

import hierlm as hl
from support import reference_json

REF = reference_json("glmer_confint_reference.json")
CASES = [k for k in REF if not k.startswith("_") and k != "versions"]


def _data(rec) -> pd.DataFrame:
    if rec["data"] == "VerbAgg_sub80":
        d = hl.load_dataset("VerbAgg")
        d = d[d["id"].astype(str).isin(rec["ids"])].copy()
        d["id"] = d["id"].cat.remove_unused_categories()
        return d
    return hl.load_dataset(rec["data"])


@functools.cache
def fit_of(name: str):
    rec = REF[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hl.glmer(rec["formula"], _data(rec), family=rec["family"], nAGQ=rec["nAGQ"])


@pytest.mark.parametrize("name", CASES)
def test_wald_limits_match_lme4(name):
    rec, fit = REF[name], fit_of(name)
    ci = fit.confint(method="wald")
    assert ci.index.tolist() == rec["wald"]["rows"]
    lo = np.array(rec["wald"]["lower"], dtype=float)
    assert np.isnan(ci.iloc[:, 0].to_numpy()[np.isnan(lo)]).all()
    ok = ~np.isnan(lo)
    # exactly beta ± z·SE of hierlm's fit; against lme4's default fit, whose optimiser stops a little short
    # (cbpp's SEs differ by ~1%, see the emmeans tests), to 2% of the interval's width
    se = np.sqrt(np.diag(fit.vcov_beta))
    np.testing.assert_allclose(ci.iloc[:, 0].to_numpy()[ok], fit.beta - 1.959963984540054 * se, rtol=1e-12)
    width = np.array(rec["wald"]["upper"], float)[ok] - lo[ok]
    assert np.max(np.abs(ci.iloc[:, 0].to_numpy()[ok] - lo[ok]) / width) < 2e-2


@pytest.mark.parametrize("name", [pytest.param(c, marks=pytest.mark.slow) if c == "verb_slope" else c for c in CASES])
def test_profile_limits_match_lme4(name):
    rec, fit = REF[name], fit_of(name)
    ci = fit.confint()
    # lme4's profile of its tight refit (PIRLS converged at every evaluation; the default fit of VerbAgg's
    # random-slope model stops ~0.005 short in logLik, and its profile moves with it)
    if rec["nAGQ"] == 1:  # (lme4's quadrature logLik leaves out the saturated model's constant)
        assert fit.loglik() == pytest.approx(rec["tight"]["logLik"], abs=2e-4)
    ref = rec["tight"]["profile"]
    assert ci.index.tolist() == ref["rows"]
    for col, key in ((0, "lower"), (1, "upper")):
        ours, theirs = ci.iloc[:, col].to_numpy(), np.array(ref[key], float)
        scale = np.maximum(np.abs(theirs), (ci.iloc[:, 1] - ci.iloc[:, 0]).to_numpy())
        assert np.max(np.abs(ours - theirs) / scale) < 1e-4, (key, ours, theirs)


def test_long_names_and_bad_requests():
    fit = fit_of("cbpp")
    assert fit.confint(method="wald", oldNames=False).index[0] == "sd_(Intercept)|herd"
    with pytest.raises(hl.HierlmError, match="method='boot'"):
        hl.glmer(REF["cbpp"]["formula"], hl.load_dataset("cbpp"), family="binomial").confint(method="boot")
    with pytest.raises(hl.HierlmError, match="oldNames must be True or False"):
        fit.confint(oldNames="no")
