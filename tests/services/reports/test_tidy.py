"""broom.mixed's tidy/glance tables, against broom.mixed 0.2 / broom 1.0 run on the same models (values below)."""

import numpy as np
import pytest

import hierlm as hl

SLEEP = hl.load_dataset("sleepstudy")
M = hl.lmer("Reaction ~ Days + (Days | Subject)", SLEEP)


def test_lmer_tidy_matches_broom_mixed():
    t = hl.tidy(M)
    # broom.mixed::tidy(lmerTest::lmer(...)): columns, terms and values
    assert t.columns.tolist() == ["effect", "group", "term", "estimate", "std.error", "statistic", "df", "p.value"]
    assert t["term"].tolist() == ["(Intercept)", "Days", "sd__(Intercept)", "cor__(Intercept).Days", "sd__Days",
                                  "sd__Observation"]
    assert t["group"].tolist()[2:] == ["Subject", "Subject", "Subject", "Residual"]
    np.testing.assert_allclose(t["estimate"], [251.40510485, 10.46728596, 24.74065799, 0.06555124, 5.92213766,
                                               25.59179572], rtol=2e-5)
    np.testing.assert_allclose(t["std.error"][:2], [6.824597, 1.545790], rtol=1e-4)
    np.testing.assert_allclose(t["df"][:2], [16.99973, 16.99998], rtol=1e-4)
    np.testing.assert_allclose(t["p.value"][:2], [1.171558e-17, 3.263824e-06], rtol=1e-3)


def test_lmer_ran_vals_and_glance():
    rv = hl.tidy(M, effects="ran_vals")
    assert rv.columns.tolist() == ["effect", "group", "level", "term", "estimate", "std.error"]
    np.testing.assert_allclose(rv[["estimate", "std.error"]].iloc[0], [2.258551, 12.07086], rtol=1e-4)
    g = hl.glance(M)
    assert g.columns.tolist() == ["nobs", "sigma", "logLik", "AIC", "BIC", "REMLcrit", "df.residual"]
    np.testing.assert_allclose(g.iloc[0].to_numpy(float), [180, 25.5918, -871.8141, 1755.628, 1774.786, 1743.628, 174],
                               rtol=1e-5)


def test_glmer_and_lm_tables():
    cbpp = hl.load_dataset("cbpp")
    g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial")
    t = hl.tidy(g)
    assert t["term"].tolist() == ["(Intercept)", "period2", "period3", "period4", "sd__(Intercept)"]
    np.testing.assert_allclose(t["estimate"], [-1.3983429, -0.9919250, -1.1282162, -1.5797454, 0.6420699], rtol=2e-3)
    gl = hl.glance(g)
    np.testing.assert_allclose(gl[["logLik", "AIC", "deviance", "df.residual"]].iloc[0].to_numpy(float),
                               [-92.02657, 194.0531, 73.47428, 51], rtol=1e-4)
    lm = hl.lm("Reaction ~ Days", SLEEP)
    assert hl.tidy(lm).columns.tolist() == ["term", "estimate", "std.error", "statistic", "p.value"]
    gl = hl.glance(lm)
    np.testing.assert_allclose(gl[["r.squared", "adj.r.squared", "sigma", "statistic", "logLik", "AIC"]].iloc[0]
                               .to_numpy(float), [0.2864714, 0.2824628, 47.71472, 71.46442, -950.1465, 1906.293],
                               rtol=1e-6)


@pytest.mark.parametrize("effects", ["random", ["fixed", "ran_par"]])
def test_bad_effects(effects):
    with pytest.raises(hl.HierlmError, match="effects must be among"):
        hl.tidy(M, effects=effects)


def test_not_a_fit():
    with pytest.raises(hl.HierlmError, match="needs a fit"):
        hl.tidy("model")
