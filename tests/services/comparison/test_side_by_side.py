"""hl.side_by_side (lme4 estimates beside posterior summaries) and hl.icc of Bayesian fits."""

import warnings

import numpy as np
import pytest

import hierlm as hl

FORMULA = "Reaction ~ Days + (Days | Subject)"
CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
KW = {"draws": 300, "tune": 300, "chains": 2, "progressbar": False}

pytestmark = pytest.mark.xdist_group("side_by_side")  # one worker: the module fixtures are sampled once


def quiet_fit(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hl.SamplingWarning)
        return hl.blmer(*args, **{**KW, **kw})


@pytest.fixture(scope="module")
def lm(sleep):
    return hl.lmer(FORMULA, sleep)


@pytest.fixture(scope="module")
def bfit(sleep):
    return quiet_fit(FORMULA, sleep, seed=21)


@pytest.fixture(scope="module")
def table(lm, bfit):
    return hl.side_by_side(lm, bfit)


def test_rows_and_columns(table):
    assert table.index.name == "parameter"
    assert table.index.tolist() == ["(Intercept)", "Days", "sd_(Intercept)|Subject", "cor_Days.(Intercept)|Subject",
                                    "sd_Days|Subject", "sigma"]
    assert table.columns.tolist() == ["freq_estimate", "freq_se", "bayes_mean", "bayes_sd", "bayes_q2.5",
                                      "bayes_q97.5"]


def test_frequentist_columns_are_lme4(table, lm):
    """lme4 1.1-31 (R 4.2): fixef 251.40510485 (SE 6.824596695), 10.46728596 (1.545789644); sds
    24.74065799, 5.92213766, cor 0.06555123824, sigma 25.59179572."""
    np.testing.assert_allclose(table["freq_estimate"], [251.40510485, 10.46728596, 24.74065799, 0.06555123824,
                                                        5.92213766, 25.59179572], rtol=1e-4)  # README: to 1e-4
    np.testing.assert_allclose(table["freq_se"].iloc[:2], [6.824596695, 1.545789644], rtol=2e-5)
    assert table["freq_se"].iloc[2:].isna().all()
    # the same numbers as lme4's labels from confint (param_labels)
    vc = lm.varcorr()["sdcor"].to_numpy()
    np.testing.assert_allclose(table["freq_estimate"].iloc[2:].to_numpy(), vc[[0, 2, 1, 3]], rtol=1e-12)


def test_bayesian_columns_are_the_posterior(table, bfit):
    post = bfit.posterior
    days = post["beta"].values[..., 1].ravel()
    assert table.loc["Days", "bayes_mean"] == pytest.approx(days.mean())
    assert table.loc["Days", "bayes_sd"] == pytest.approx(days.std(ddof=1))
    assert table.loc["Days", "bayes_q2.5"] == pytest.approx(np.quantile(days, 0.025))
    sd = post["sd_Subject"].values[..., 1].ravel()
    assert table.loc["sd_Days|Subject", "bayes_mean"] == pytest.approx(sd.mean())
    cor = post["cor_Subject"].values[..., 0, 1].ravel()
    assert table.loc["cor_Days.(Intercept)|Subject", "bayes_q97.5"] == pytest.approx(np.quantile(cor, 0.975))
    assert table.loc["sigma", "bayes_mean"] == pytest.approx(bfit.sigma())
    # lme4's estimates sit inside the 95% posterior intervals
    assert ((table["bayes_q2.5"] < table["freq_estimate"]) & (table["freq_estimate"] < table["bayes_q97.5"])).all()


def test_printing(table):
    text = str(table)
    assert "bayes_mean" in text and "REML estimates" in text and "600 draws (2 chains)" in text
    assert "REML estimates" in table._repr_html_() and "<table" in table._repr_html_()


def test_profile_and_wald_intervals(lm, bfit):
    prof = hl.side_by_side(bfit, lm, intervals="profile")  # either order
    assert prof.columns.tolist()[:4] == ["freq_estimate", "freq_se", "freq_lower", "freq_upper"]
    ci = lm.confint(method="profile")
    assert prof.loc["Days", "freq_lower"] == pytest.approx(ci.loc["Days", "2.5 %"])
    assert prof.loc["sd_(Intercept)|Subject", "freq_upper"] == pytest.approx(ci.loc[".sig01", "97.5 %"])
    assert prof.loc["cor_Days.(Intercept)|Subject", "freq_lower"] == pytest.approx(ci.loc[".sig02", "2.5 %"])
    assert prof.loc["sigma", "freq_lower"] == pytest.approx(ci.loc[".sigma", "2.5 %"])
    assert prof[["freq_lower", "freq_upper"]].notna().all().all()
    wald = hl.side_by_side(lm, bfit, intervals="wald")
    se = wald.loc["Days", "freq_se"]
    assert wald.loc["Days", "freq_upper"] == pytest.approx(wald.loc["Days", "freq_estimate"] + 1.959964 * se)
    assert wald["freq_lower"].iloc[2:].isna().all()


def test_glmm(tmp_path):
    cbpp = hl.load_dataset("cbpp")
    g = hl.glmer(CBPP, cbpp, family="binomial")
    b = quiet_fit(CBPP, cbpp, family="binomial", seed=4)
    tab = hl.side_by_side(g, b, intervals="wald")
    assert tab.index.tolist() == ["(Intercept)", "period2", "period3", "period4", "sd_(Intercept)|herd"]
    # lme4 1.1-31 (R 4.2): glmer(..., family = binomial) fixef and sd(herd)
    np.testing.assert_allclose(tab["freq_estimate"], [-1.398342864, -0.991924975, -1.128216216, -1.579745414,
                                                      0.6420699277], atol=1e-3)  # lme4's default stops short
    assert "ML (Laplace)" in str(tab)
    assert ((tab["bayes_q2.5"] < tab["freq_estimate"]) & (tab["freq_estimate"] < tab["bayes_q97.5"])).all()
    with pytest.raises(hl.HierlmError, match="intervals='profile' needs an hl.lmer fit"):
        hl.side_by_side(g, b, intervals="profile")


def test_refuses_different_models(lm, bfit, sleep):
    other = hl.lmer("Reaction ~ Days + (1 | Subject)", sleep)
    with pytest.raises(hl.HierlmError, match="random-effects terms differ"):
        hl.side_by_side(other, bfit)
    fewer = hl.lmer(FORMULA, sleep.drop(sleep.index[0]))
    with pytest.raises(hl.HierlmError, match=r"numbers of observations differ \(179 vs 180\)"):
        hl.side_by_side(fewer, bfit)
    moved = hl.lmer(FORMULA, sleep.assign(Reaction=sleep.Reaction + 1))
    with pytest.raises(hl.HierlmError, match="response values differ"):
        hl.side_by_side(moved, bfit)
    with pytest.raises(hl.HierlmError, match="takes an hl.lmer / hl.glmer fit and an hl.blmer fit"):
        hl.side_by_side(lm, lm)
    with pytest.raises(hl.HierlmError, match="intervals must be"):
        hl.side_by_side(lm, bfit, intervals="boot")


# -- ICC --------------------------------------------------------------------------------------------
def test_icc_of_bayesian_fit(sleep):
    """lme4: ICC of Reaction ~ 1 + (1 | Subject) = 1278.337756 / (1278.337756 + 1958.865177) = 0.3949."""
    b = quiet_fit("Reaction ~ 1 + (1 | Subject)", sleep, seed=2, draws=1000, tune=500)
    out = hl.icc(b)
    assert out.columns.tolist() == ["ICC", "Est.Error", "Q2.5", "Q97.5"] and out.index.tolist() == ["Subject"]
    row = out.loc["Subject"]
    assert row["Q2.5"] < 0.395 < row["Q97.5"]
    assert row["ICC"] == pytest.approx(0.395, abs=0.05) and 0.05 < row["Est.Error"] < 0.15
    freq = hl.icc(hl.lmer("Reaction ~ 1 + (1 | Subject)", sleep)).loc["Subject", "ICC"]
    assert freq == pytest.approx(0.395, abs=5e-4)
    # draw by draw from the joint posterior
    var = b.posterior["sd_Subject"].values[..., 0] ** 2
    draws = var / (var + b.posterior["sigma"].values ** 2)
    assert row["ICC"] == pytest.approx(draws.mean()) and row["Q97.5"] == pytest.approx(np.quantile(draws, 0.975))


def test_icc_refusals(bfit, sleep):
    with pytest.raises(hl.HierlmError, match="random slope"):
        hl.icc(bfit)
    pois = quiet_fit("incidence ~ period + (1 | herd)", hl.load_dataset("cbpp"), family="poisson", seed=1)
    with pytest.raises(hl.HierlmError, match="not yet for family 'poisson'"):
        hl.icc(pois)
