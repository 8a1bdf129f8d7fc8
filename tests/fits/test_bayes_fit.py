"""BayesFit: every extractor of API.md on small fits, the DataTree layout, predictions, saving."""

import os
import warnings

import numpy as np
import pandas as pd
import pytest

import hierlm as hl
from hierlm.engines.bayes import posterior as posterior_mod

FORMULA = "Reaction ~ Days + (Days | Subject)"


def quiet_fit(*args, **kw):
    kw.setdefault("progressbar", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hl.SamplingWarning)
        return hl.blmer(*args, **kw)


@pytest.fixture(scope="module")
def fit():
    return quiet_fit(FORMULA, hl.load_dataset("sleepstudy"), seed=7, draws=300, tune=300)


@pytest.fixture(scope="module")
def lm():
    return hl.lmer(FORMULA, hl.load_dataset("sleepstudy"))


def test_fixef_layout(fit, lm):
    fe = fit.fixef()
    assert list(fe.columns) == ["Estimate", "Est.Error", "Q2.5", "Q97.5", "R-hat", "ESS bulk"]
    assert list(fe.index) == ["(Intercept)", "Days"]
    assert np.all(np.abs(fe["Estimate"] - lm.fixef()["Estimate"]) < 2 * fe["Est.Error"])
    assert np.all(fe["Q2.5"] < fe["Estimate"]) and np.all(fe["Estimate"] < fe["Q97.5"])


def test_ranef_coef_varcorr(fit, lm):
    re = fit.ranef()
    assert list(re) == ["Subject"] and re["Subject"].shape == (18, 2)
    assert list(re["Subject"].columns) == ["(Intercept)", "Days"]
    assert re["Subject"].index.tolist() == lm.ranef()["Subject"].index.tolist()
    assert np.corrcoef(re["Subject"]["Days"], lm.ranef()["Subject"]["Days"])[0, 1] > 0.95
    long = fit.ranef(intervals=True)
    assert list(long.columns) == ["grpvar", "term", "grp", "Estimate", "Est.Error", "Q2.5", "Q97.5"]
    assert len(long) == 36
    co = fit.coef()["Subject"]
    np.testing.assert_allclose(co["Days"], fit.fixef()["Estimate"]["Days"] + re["Subject"]["Days"])
    vc, ref = fit.varcorr(), lm.varcorr()
    assert vc[["grp", "var1", "var2"]].equals(ref[["grp", "var1", "var2"]])
    assert {"Est.Error", "Q2.5", "Q97.5"} <= set(vc.columns)
    assert vc["sdcor"].iloc[-1] == pytest.approx(fit.sigma())
    assert np.all(vc["Q2.5"] <= ref["sdcor"]) and np.all(ref["sdcor"] <= vc["Q97.5"])


def test_fitted_residuals_predict(fit, sleep):
    fv = fit.fitted()
    assert fv.shape == (180,)
    np.testing.assert_allclose(fit.residuals(), sleep.Reaction.to_numpy() - fv)
    np.testing.assert_allclose(fit.predict(), fv)
    draws = fit.predict(kind="draws")
    assert draws.dims == ("chain", "draw", "obs") and draws.shape == (4, 300, 180)
    pop = fit.predict(re_form="~0")
    fe = fit.fixef()["Estimate"]
    np.testing.assert_allclose(pop, fe["(Intercept)"] + fe["Days"] * sleep.Days, rtol=1e-10)
    new = pd.DataFrame({"Days": [0, 5, 5, 0], "Subject": ["308", "new1", "new1", "new2"]})
    with pytest.raises(hl.HierlmError, match="allow_new_levels"):
        fit.predict(new)
    d = fit.predict(new, allow_new_levels=True, kind="draws").values
    assert d.shape == (4, 300, 4)
    np.testing.assert_array_equal(d[..., 1], d[..., 2])  # same new level, same draw
    assert not np.allclose(d[..., 3], d[..., 0])
    # new levels vary with the population spread: wider than the population-level predictions
    popd = fit.predict(new, re_form="~0", kind="draws").values
    assert d[..., 3].std() > 2 * popd[..., 3].std()


def test_idata_groups_and_model(fit):
    tree = fit.idata
    assert {"posterior", "sample_stats", "observed_data", "log_likelihood"} <= set(tree.children)
    assert tree["log_likelihood"]["y"].shape == (4, 300, 180)
    assert tree["log_likelihood"]["y"].dtype == np.float64
    assert tree["posterior"]["beta"].coords["coef"].values.tolist() == ["(Intercept)", "Days"]
    assert tree["posterior"]["r_Subject"].dims == ("chain", "draw", "Subject", "Subject_term")
    import pymc as pm

    m = fit.model
    assert isinstance(m, pm.Model)
    names = {v.name for v in m.free_RVs} | {v.name for v in m.deterministics}
    assert set(tree["posterior"].data_vars) == names
    for v in tree["posterior"].data_vars:
        if v in m.named_vars_to_dims:
            assert tree["posterior"][v].dims[2:] == tuple(m.named_vars_to_dims[v])
    pp = fit.posterior_predictive()
    assert "posterior_predictive" in fit.idata.children and pp["y"].shape == (4, 300, 180)


def test_summary_text_and_html(fit):
    s = fit.summary()
    text = str(s)
    for piece in ("Family: gaussian", "Links: mu = identity; sigma = identity", "Formula: Reaction ~ Days",
                  "Number of observations: 180", "Draws: 4 chains, each with iter = 600; warmup = 300",
                  "Multilevel Hyperparameters:", "~Subject (Number of levels: 18)", "sd((Intercept))",
                  "cor((Intercept),Days)", "Regression Coefficients:", "Further Distributional Parameters:",
                  "Bulk_ESS", "Tail_ESS", "Divergent transitions after warmup"):
        assert piece in text, piece
    assert "<table" in s._repr_html_()
    assert fit.nobs() == 180 and fit.ngrps() == {"Subject": 18}
    assert fit.is_singular() is False
    assert list(fit.prior_summary().columns) == ["class", "group", "term", "prior", "source"]


def test_save_load_roundtrip(fit, tmp_path):
    path = fit.save(os.path.join(tmp_path, "b"))
    back = hl.load(path)
    assert isinstance(back, hl.BayesFit)
    pd.testing.assert_frame_equal(back.fixef(), fit.fixef())
    pd.testing.assert_frame_equal(back.varcorr(), fit.varcorr())
    np.testing.assert_array_equal(back.fitted(), fit.fitted())
    assert back.idata.attrs["seed"] == "7"


def test_float32_loglik_for_large_fits(monkeypatch, sleep):
    monkeypatch.setattr(posterior_mod, "FLOAT32_ABOVE", 1000)
    f = quiet_fit("Reaction ~ Days + (1 | Subject)", sleep, seed=1, draws=20, tune=50, chains=2)
    ll = f.idata["log_likelihood"]
    assert ll["y"].dtype == np.float32 and "float32" in ll.attrs["dtype_note"]


def test_binomial_joint_route():
    cbpp = hl.load_dataset("cbpp")
    f = quiet_fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial", seed=2,
                  draws=400, tune=400)
    g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial")
    fe = f.fixef()
    assert np.all(np.abs(fe["Estimate"] - g.fixef()["Estimate"]) < 3 * fe["Est.Error"])
    assert f.settings["method"] == "joint" and f.sigma() == 1.0
    assert f.fitted().shape == (56,) and np.all((f.fitted() > 0) & (f.fitted() < 1))
    assert f.idata["observed_data"]["trials"].shape == (56,)
    pp = f.posterior_predictive()["y"].values
    assert np.all(pp <= cbpp["size"].to_numpy())
    prop = quiet_fit("incidence/size ~ period + (1 | herd)", cbpp, family="binomial", weights="size", seed=2,
                     draws=400, tune=400)
    np.testing.assert_allclose(prop.idata["log_likelihood"]["y"].values, f.idata["log_likelihood"]["y"].values)


def test_warnings_explain_divergences(sleep):
    """Tiny tuning on a funnel-prone model: the warning says what a divergence means and what to try."""
    mt = hl.load_dataset("mtcars")
    with pytest.warns(hl.SamplingWarning) as rec:
        hl.blmer("mpg ~ wt + (wt | cyl)", mt, seed=1, draws=100, tune=30, progressbar=False, method="joint",
                 centred=True)
    text = " ".join(str(w.message) for w in rec)
    assert "target_accept" in text


def test_progressbar_on_without_terminal(sleep):
    f = quiet_fit("Reaction ~ Days + (1 | Subject)", sleep, seed=1, draws=20, tune=20, chains=2, progressbar=True)
    assert f.idata["posterior"].sizes["draw"] == 20


@pytest.mark.slow
def test_sample_prior_only(sleep):
    p = quiet_fit(FORMULA, sleep, seed=3, draws=200, chains=2, sample_prior="only")
    assert {"prior", "prior_predictive", "log_likelihood"} <= set(p.idata.children)
    assert p.idata["posterior"].sizes["draw"] == 200
    # prior of the intercept (lme4 scale) is wide: the centred intercept's sd is 2.5 sd(y)
    assert p.fixef()["Est.Error"]["(Intercept)"] > 100


@pytest.mark.slow
def test_fallback_and_pymc_samplers(sleep):
    with pytest.warns(hl.HierlmWarning, match="nutpie-pymc"):
        f = hl.blmer(FORMULA, sleep, seed=1, draws=200, tune=200, progressbar=False,
                     priors={"b": hl.Prior("Laplace", mu=0, b=10)})
    assert f.settings["sampler"] == "nutpie-pymc" and np.isfinite(f.fixef()["Estimate"]).all()
    g = quiet_fit(FORMULA, sleep, seed=1, draws=200, tune=200, sampler="pymc", chains=2, cores=1)
    assert set(g.idata["posterior"].data_vars) >= {"beta", "r_Subject", "sd_Subject", "sigma"}
    assert abs(g.fixef()["Estimate"]["Days"] - 10.47) < 1.5


@pytest.mark.parametrize("formula", ["Reaction ~ Days + (1 | Subject)", "Reaction ~ Days + (Days | Subject)"])
def test_gaussian_loglik_equals_normal_density(sleep, formula):
    """The pointwise log-likelihood (column-by-column η) is the normal log density at every draw's fitted values."""
    from scipy import stats

    f = quiet_fit(formula, sleep, seed=3, draws=30, tune=60, chains=2)
    post = f.idata["posterior"]
    beta = post["beta"].values  # (C, D, 2): (Intercept), Days
    r = post["r_Subject"].values  # (C, D, 18, q)
    g = sleep["Subject"].cat.codes.to_numpy()
    days = sleep["Days"].to_numpy(float)
    eta = beta[..., :1] + beta[..., 1:] * days + r[..., g, 0]
    if r.shape[-1] == 2:
        eta = eta + r[..., g, 1] * days
    want = stats.norm.logpdf(sleep["Reaction"].to_numpy(), eta, post["sigma"].values[..., None])
    np.testing.assert_allclose(f.idata["log_likelihood"]["y"].values, want, rtol=1e-10, atol=1e-10)
