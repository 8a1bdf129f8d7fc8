"""hl.lm / hl.glm (hierlm.fits.lm) against R 4.2's lm, glm, predict, anova and influence measures.

References: course_reference.json (made by make_course_reference.R), blocks ``lm`` (13 models),
``lm_anova_nested``, ``glm`` (10; the two Gamma models are skipped until the Gamma family exists) and
``anova_lmer_lm``; lm_extra_reference.json (make_lm_extra_reference.R): sequential anova tables,
anova of several glms, a Gaussian glm, glm rstudent.  Least squares and IRLS are exact algorithms, so
everything is compared at 1e-6 relative (the values agree to ~1e-12).
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import hierlm as hl
from hierlm.fits.lm import GlmFit, LmFit, glm, lm
from hierlm.fits.lm_anova import anova_lm, term_columns
from hierlm.fits.protocol import FitKind
from lm_reference import COURSE, EXTRA, assert_table, course_data, newdata_of

RTOL = 1e-6
LM = COURSE["lm"]
GLM = COURSE["glm"]
FAMILY = {"birthwt_bernoulli": "bernoulli", "mtcars_bernoulli": "bernoulli"}


def close(ours, ref, rtol=RTOL, atol=0.0):
    np.testing.assert_allclose(np.asarray(ours, float), np.asarray(ref, float), rtol=rtol, atol=atol, equal_nan=True)


@functools.cache
def lm_fit(name: str) -> LmFit:
    r = LM[name]
    return lm(r["formula"], course_data(r["data"]), weights=r["weights"])


@functools.cache
def glm_fit(name: str) -> GlmFit:
    r = GLM[name]
    fam = FAMILY.get(name) or hl.family(r["family"], r.get("link"))
    return glm(r["formula"], course_data(r["data"]), family=fam, weights=r["weights"])


# -- lm ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(LM))
def test_lm_summary_numbers(name):
    r, m = LM[name], lm_fit(name)
    assert m.kind == FitKind("frequentist", "lm") and m.family == "gaussian"
    assert_table(m.fixef(), r["coefficients"], rtol=RTOL, atol=1e-12)
    close(m.sigma(), r["sigma"])
    close(m.r2()["r2"], r["r_squared"])
    close(m.r2()["adj_r2"], r["adj_r_squared"])
    f = m.fstatistic()
    close([f["value"], f["numdf"], f["dendf"]], [r["fstatistic"][k] for k in ("value", "numdf", "dendf")])
    close(f["p"], r["f_pvalue"])
    assert m.df_residual == r["df_residual"] and m.solution.rank == r["rank"] and m.nobs() == r["nobs"]
    close(m.loglik(), r["logLik"])
    assert m.npar() == r["logLik_df"]
    close([m.aic(), m.bic(), m.deviance()], [r["AIC"], r["BIC"], r["deviance"]])
    close(m.residuals()[:10], r["residuals_head"], atol=1e-10)


@pytest.mark.parametrize("name", sorted(LM))
def test_lm_influence(name):
    r, m = LM[name], lm_fit(name)
    close(m.hatvalues(), r["hatvalues"])
    close(m.cooks_distance(), r["cooks_distance"], atol=1e-14)
    close(m.rstandard(), r["rstandard"], atol=1e-12)
    close(m.rstudent(), r["rstudent"], atol=1e-12)


@pytest.mark.parametrize("name", sorted(LM))
def test_lm_predict_intervals(name):
    r, m = LM[name], lm_fit(name)
    nd = newdata_of(r["newdata"], course_data(r["data"]))
    for key, ref in r["predict"].items():
        interval, level = key.split("_")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            p = m.predict(nd, interval=interval, level=float(level))
        assert list(p.columns) == ["fit", "lwr", "upr"]
        for col in ("fit", "lwr", "upr"):
            close(p[col], ref[col])
        weighted_note = [w for w in caught if "weighted" in str(w.message)]
        assert bool(weighted_note) == (interval == "prediction" and r["weights"] is not None)
    close(m.predict(nd, se_fit=True)["se_fit"], r["se_fit"])
    close(m.predict(nd), r["predict"]["confidence_0.95"]["fit"])  # plain predictions: an array


@pytest.mark.parametrize("name", sorted(COURSE["lm_anova_nested"]))
def test_lm_nested_f_test(name):
    r = COURSE["lm_anova_nested"][name]
    data = course_data(r["data"])
    assert_table(anova_lm(lm(r["formulas"][0], data), lm(r["formulas"][1], data)), r["table"])


@pytest.mark.parametrize("name", sorted(EXTRA["lm_sequential"]))
def test_lm_sequential_anova(name):
    r = EXTRA["lm_sequential"][name]
    data = course_data(r["data"])
    assert_table(anova_lm(lm(r["formula"], data, weights=r["weights"])), r["table"])


@pytest.mark.parametrize("name", sorted(COURSE["anova_lmer_lm"]))
def test_anova_lmer_against_lm(name):
    """lme4's anova(lmer, lm): the lm enters with its ML logLik and npar (σ included); rows in R's order (by npar)."""
    r = COURSE["anova_lmer_lm"][name]
    data = course_data(r["data"])
    mixed = hl.lmer(r["lmer_formula"], data, reml=r["lmer_REML"])
    plain = lm(r["lm_formula"], data)
    fits = sorted([plain, mixed], key=lambda f: f.npar())
    names = [n for n in r["rownames"]]
    t = hl.anova(*fits, names=names)
    want = pd.DataFrame(r["table"]).T
    for col in ("npar", "AIC", "BIC", "logLik", "deviance"):
        close(t[col], want[col].astype(float), rtol=2e-7)
    close(t["Chisq"].iloc[1], float(want["Chisq"].iloc[1]), rtol=1e-5)
    assert int(t["Df"].iloc[1]) == int(want["Df"].iloc[1])


# -- glm --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(GLM))
def test_glm_summary_numbers(name):
    r, m = GLM[name], glm_fit(name)
    assert m.kind == FitKind("frequentist", "glm")
    assert_table(m.fixef(), r["coefficients"], rtol=RTOL, atol=1e-12)
    close([m.dispersion(), m.deviance(), m.null_deviance], [r["dispersion"], r["deviance"], r["null_deviance"]])
    assert (m.df_residual, m.df_null, m.nobs()) == (r["df_residual"], r["df_null"], r["nobs"])
    close([m.loglik(), m.aic(), m.bic()], [r["logLik"], r["AIC"], r["BIC"]])
    assert m.npar() == r["logLik_df"]
    assert m.iter == r["iter"] and m.converged == r["converged"]


@pytest.mark.parametrize("name", sorted(GLM))
def test_glm_residuals_and_influence(name):
    r, m = GLM[name], glm_fit(name)
    for kind, ref in r["residuals"].items():
        close(m.residuals(kind)[:10], ref, atol=1e-12)
    close(m.residuals()[:10], r["residuals"]["deviance"], atol=1e-12)  # R's default type
    close(m.hatvalues(), r["hatvalues"])
    close(m.cooks_distance(), r["cooks_distance"], atol=1e-14)
    close(m.rstandard(), r["rstandard"], atol=1e-12)
    close(m.rstandard("pearson"), r["rstandard_pearson"], atol=1e-12)


@pytest.mark.parametrize("name", sorted(GLM))
def test_glm_predict(name):
    r, m = GLM[name], glm_fit(name)
    nd = newdata_of(r["newdata"], course_data(r["data"]))
    for scale, ref in r["predict"].items():
        p = m.predict(nd, type=scale, se_fit=True)
        close(p["fit"], ref["fit"])
        close(p["se_fit"], ref["se_fit"])
    ci = m.predict(nd, type="link", interval="confidence")
    # a family with an estimated dispersion (Gamma) takes t quantiles on the residual df, as summary.glm's t values
    z = stats.t.ppf(0.975, m.df_residual) if m.family.has_dispersion else 1.959963984540054
    close(ci["lwr"], np.array(r["predict"]["link"]["fit"]) - z * np.array(r["predict"]["link"]["se_fit"]))
    resp = m.predict(nd, interval="confidence")  # link-scale interval, back-transformed
    ends = m.family.link.linkinv(ci[["lwr", "upr"]].to_numpy())  # a decreasing link (Gamma's inverse) swaps them
    close(resp["upr"], ends.max(axis=1))
    assert np.all(resp["lwr"] < resp["fit"]) and np.all(resp["fit"] < resp["upr"])


@pytest.mark.parametrize("name", sorted(k for k, v in GLM.items() if "anova_chisq" in v))
def test_glm_sequential_deviance_table(name):
    assert_table(anova_lm(glm_fit(name)), GLM[name]["anova_chisq"], atol=1e-12)


@pytest.mark.parametrize("name", sorted(EXTRA["glm_sequential"]))
def test_glm_sequential_tests(name):
    r = EXTRA["glm_sequential"][name]
    m = glm(r["formula"], course_data(r["data"]), family=r["family"])
    assert_table(anova_lm(m, test=r["test"]), r["table"], atol=1e-12)


@pytest.mark.parametrize("name", sorted(EXTRA["glm_list"]))
def test_glm_nested_tests(name):
    r = EXTRA["glm_list"][name]
    data = course_data(r["data"])
    fits = [glm(f, data, family=r["family"]) for f in r["formulas"]]
    assert_table(anova_lm(*fits, test=r["test"]), r["table"], atol=1e-12)
    assert list(anova_lm(*fits).columns)[-1] == ("Pr(>F)" if r["family"] == "gaussian" else "Pr(>Chi)")


def test_gaussian_glm():
    r = EXTRA["glm_gaussian"]["mtcars_wt_hp"]
    m = glm(r["formula"], course_data(r["data"]), family="gaussian")
    assert_table(m.fixef(), r["coefficients"], atol=1e-12)
    close([m.dispersion(), m.deviance(), m.null_deviance, m.loglik(), m.aic(), m.bic()],
          [r[k] for k in ("dispersion", "deviance", "null_deviance", "logLik", "AIC", "BIC")])
    assert (m.df_residual, m.df_null, m.npar(), m.iter) == (r["df_residual"], r["df_null"], r["logLik_df"], r["iter"])
    for key in ("rstudent", "rstandard", "cooks_distance", "hatvalues"):
        close(getattr(m, key)(), r[key], atol=1e-12)
    ref_lm = lm(r["formula"], course_data(r["data"]))  # the same model by least squares
    close(m.predict(interval="prediction"), ref_lm.predict(interval="prediction"))


@pytest.mark.parametrize("name", sorted(EXTRA["glm_rstudent"]))
def test_glm_rstudent(name):
    r = EXTRA["glm_rstudent"][name]
    fam = "bernoulli" if "bernoulli" in name else r["family"]
    close(glm(r["formula"], course_data(r["data"]), family=fam).rstudent(), r["rstudent"], atol=1e-12)


# -- the rest of the protocol ---------------------------------------------------------------------
def test_extractors_shared_with_mixed_fits(tmp_path):
    m = lm_fit("mtcars_wt_hp")
    assert m.is_singular() is False and m.refit_ml() is m
    assert list(m.coef().index) == ["(Intercept)", "wt", "hp"]
    assert m.vcov().shape == (3, 3) and np.allclose(np.sqrt(np.diag(m.vcov())), m.fixef()["Std. Error"])
    assert m.fitted().shape == (32,) and np.allclose(m.fitted() + m.residuals(), course_data("mtcars")["mpg"])
    assert m.formula == "mpg ~ wt + hp" and m.data.shape[0] == 32
    ci = m.confint()
    assert list(ci.columns) == ["2.5 %", "97.5 %"] and np.all(ci["2.5 %"] < m.beta)
    with pytest.raises(hl.HierlmError, match="no random effects"):
        m.ranef()
    with pytest.raises(hl.HierlmError, match="no random effects"):
        m.varcorr()
    folder = m.save(tmp_path / "m")
    assert sorted(p.name for p in folder.iterdir())[:3] == ["arrays.nc", "data.nc", "hierlm.json"]


def test_aliased_column_is_dropped_as_R_does():
    data = course_data("mtcars").assign(wt2=lambda d: 2 * d["wt"])
    with pytest.warns(hl.HierlmWarning, match="wt2"):
        m = lm("mpg ~ wt + wt2 + hp", data)
    assert np.isnan(m.coef()["wt2"]) and list(m.fixef().index) == ["(Intercept)", "wt", "hp"]
    close(m.beta, lm_fit("mtcars_wt_hp").beta)
    assert term_columns(m.design)[2] == ("wt2", [])


def test_zero_weights_leave_rows_out():
    data = course_data("mtcars")
    w = np.ones(32)
    w[:4] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hl.HierlmWarning)  # the design may announce the rows it leaves out
        m = lm("mpg ~ wt", data, weights=w)
    sub = lm("mpg ~ wt", data.iloc[4:])
    close(m.beta, sub.beta)
    assert m.df_residual == sub.df_residual and m.nobs() == 28
    close(m.loglik(), sub.loglik())
    h = m.hatvalues()
    close(h[-28:], sub.hatvalues())
    assert np.all(h[:-28] == 0)  # rows kept in the design with weight 0: hat 0, as lm.influence


def test_bad_input():
    data = course_data("sleepstudy")
    with pytest.raises(hl.FormulaError, match=r"hl\.lmer\(\)"):
        lm("Reaction ~ Days + (Days | Subject)", data)
    with pytest.raises(hl.FormulaError, match=r"hl\.glmer\(\)"):
        glm("Reaction ~ Days + (1 | Subject)", data, family="poisson")
    with pytest.raises(hl.DataError, match="unknown family 'binomail'"):
        glm("am ~ wt", course_data("mtcars"), family="binomail")
    m = lm_fit("mtcars_wt_hp")
    with pytest.raises(hl.DataError, match="'hp'"):
        m.predict(pd.DataFrame({"wt": [3.0]}))
    with pytest.raises(hl.HierlmError, match="interval"):
        m.predict(interval="confidnce")
    with pytest.raises(hl.HierlmError, match="level"):
        m.predict(interval="confidence", level=95)
    with pytest.raises(hl.HierlmError, match="prediction intervals need a Gaussian"):
        glm_fit("cbpp_binomial_cbind").predict(interval="prediction")
    with pytest.raises(hl.DataError, match="factor"):
        lm("Subject ~ Days", data)
    with pytest.raises(hl.HierlmError, match="θ"):
        glm("breaks ~ wool", course_data("warpbreaks"), family="negbinomial")
    with pytest.raises(hl.HierlmError, match="lm fits with lm fits"):
        anova_lm(lm_fit("mtcars_wt_hp"), glm_fit("mtcars_bernoulli"))
    with pytest.raises(hl.HierlmError, match="different"):
        anova_lm(lm_fit("mtcars_wt_hp"), lm_fit("sleep_lm"))
    with pytest.raises(hl.HierlmError, match="test"):
        anova_lm(glm_fit("cbpp_binomial_cbind"), test="Wald")


def test_negative_binomial_with_known_theta():
    """MASS's negative.binomial(θ) family at a fixed θ: IRLS converges and the deviance is the family's."""
    fam = hl.design.get_family("negbinomial").with_theta(5.0)
    m = glm("breaks ~ wool * tension", course_data("warpbreaks"), family=fam)
    pois = glm("breaks ~ wool * tension", course_data("warpbreaks"), family="poisson")
    close(m.fitted(), pois.fitted(), rtol=1e-6)  # saturated in the cell means: the same fitted means
    assert m.converged and m.dispersion() == 1.0 and "z value" in m.fixef()
    assert np.all(m.fixef()["Std. Error"] > pois.fixef()["Std. Error"])
