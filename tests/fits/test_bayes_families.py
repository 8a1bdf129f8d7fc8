"""hl.blmer with the families and links of issue 17: what a fit gives (short chains, fast), and — marked
slow — convergence at the defaults on real data with posteriors near the maximum-likelihood fits and the
mirror PyMC model sampled with PyMC's NUTS.

The fast tests check the pieces on short chains: thresholds and the family's own parameters in the
tables, predictions on the response scale (category probabilities for a cumulative model), the
posterior predictive, the pointwise log-likelihood for LOO and hl.compare, R², plots, update and save.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtr
from support import REF_DIR, reference_json

import hierlm as hl
from hierlm.errors import HierlmError

REF = reference_json("breadth_reference.json")
SHORT = dict(draws=200, tune=200, chains=2, seed=3, progressbar=False)
_FITS: dict = {}


def load(name: str) -> pd.DataFrame:
    info = REF["datasets"][name]
    if info["file"].startswith("shipped"):
        return hl.load_dataset(name)
    data = pd.read_csv(REF_DIR / "data" / f"{name}.csv")
    for col, levels in info["factors"].items():
        data[col] = pd.Categorical(data[col].astype(str), categories=levels, ordered=col in info["ordered"])
    return data


def laptop() -> pd.DataFrame:
    d = pd.read_csv(REF_DIR / "data" / "laptop_urry.csv")
    return d.assign(p=d["overall"] / 100, talk=d["talk"].astype(str), condition=d["condition"].astype(str))


def short_fit(key, formula, data, family, **kw):
    if key not in _FITS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # short chains warn about R-hat / ESS
            _FITS[key] = hl.blmer(formula, data, family=family, **dict(SHORT, **kw))
    return _FITS[key]


def wine_fit():
    return short_fit("wine", "rating ~ temp + contact + (1 | judge)", load("wine_breadth"), "cumulative")


def test_cumulative_fit_has_thresholds_and_category_probabilities():
    wine = load("wine_breadth")
    b = wine_fit()
    assert b.kind == hl.fits.protocol.FitKind("bayesian", "ordinal")
    d = b.diagnostics()
    assert [i for i in d.index if i.startswith("Intercept[")] == [f"Intercept[{t}]" for t in
                                                                  ("1|2", "2|3", "3|4", "4|5")]
    assert list(b.fixef().index) == ["tempwarm", "contactyes"]
    clmm = hl.glmer("rating ~ temp + contact + (1 | judge)", wine, family="cumulative")
    np.testing.assert_allclose(d.filter(like="Intercept[", axis=0)["Estimate"], clmm.thresholds()["Estimate"],
                               atol=0.5)  # same model, flat-ish priors: within a posterior SD or so
    P = b.predict(wine.iloc[:4])
    assert list(P.columns) == ["1", "2", "3", "4", "5"]
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    assert P.equals(b.predict(wine.iloc[:4], type="prob"))
    ref = clmm.predict(wine.iloc[:4], re_form="~0").to_numpy()
    np.testing.assert_allclose(b.predict(wine.iloc[:4], re_form="~0").to_numpy(), ref, atol=0.06)
    draws = b.predict(wine.iloc[:4], kind="draws")
    assert draws.dims == ("chain", "draw", "obs", "category") and draws.shape == (2, 200, 4, 5)
    eta = b.predict(wine.iloc[:4], type="link", re_form="~0")
    beta = b.beta_draws().reshape(-1, 2).mean(0)
    np.testing.assert_allclose(eta, [0, 0, beta[1], beta[1]], atol=1e-12)  # cold/no, cold/no, cold/yes, cold/yes
    with pytest.raises(HierlmError, match="no residuals"):
        b.residuals()
    with pytest.raises(HierlmError, match="type must be 'response' or 'link', or prob"):
        b.predict(type="class")


def test_cumulative_keeps_an_unobserved_category():
    """An ordered response with a category nobody chose keeps its threshold (informed by the prior), with a
    warning; glmer drops it, as ordinal::clmm does (clmm's thresholds 1|2, 2|3, 3|4 on wine without rating 5:
    -1.6019, 1.4732, 4.3657)."""
    wine = load("wine_breadth")
    wine = wine[wine["rating"] != "5"]
    with pytest.warns(hl.errors.HierlmWarning, match=r"categories without observations: \['5'\]"):
        b = hl.blmer("rating ~ temp + contact + (1 | judge)", wine, family="cumulative", **SHORT)
    th = b.diagnostics().filter(like="Intercept[", axis=0)["Estimate"]
    assert list(th.index) == ["Intercept[1|2]", "Intercept[2|3]", "Intercept[3|4]", "Intercept[4|5]"]
    assert th.iloc[3] > th.iloc[2]
    assert list(b.predict(wine.iloc[:2]).columns) == ["1", "2", "3", "4", "5"]
    clmm = hl.glmer("rating ~ temp + contact + (1 | judge)", wine, family="cumulative")
    np.testing.assert_allclose(clmm.thresholds()["Estimate"], [-1.601899, 1.473216, 4.365746], atol=1e-3)


def test_cumulative_posterior_predictive_loo_and_plot():
    b = wine_fit()
    pp = b.posterior_predictive()["y"].values
    assert pp.shape == (2, 200, 72) and set(np.unique(pp)) <= {0, 1, 2, 3, 4}
    ll = b.idata["log_likelihood"]["y"].values
    assert ll.shape == (2, 200, 72) and np.all(ll < 0)
    fig = hl.plot_ppc(b)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3", "4", "5"]
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, np.bincount(b.spec.y.astype(int), minlength=5) / 72)
    text = str(b.summary())
    assert "Intercept[1]" in text and "Intercept[4]" in text and "Links: mu = logit" in text
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_continuous_families_on_reaction_times():
    lex = load("fhch2010_lexdec").iloc[:800]
    f = "rt ~ stimulus + (1 | id)"
    fits = {fam: short_fit(f"lex_{fam}", f, lex, fam) for fam in ("lognormal", "gamma", "student")}
    fits["gamma"] = short_fit("lex_gamma_log", f, lex, hl.family("gamma", link="log"))
    ln = fits["lognormal"]
    sig = ln.posterior["sigma"].values[..., None]
    eta = ln.predict(type="link", kind="draws").values
    np.testing.assert_allclose(ln.predict(), np.exp(eta + sig**2 / 2).mean(axis=(0, 1)), rtol=1e-12)
    g = fits["gamma"]
    np.testing.assert_allclose(g.predict(), np.exp(g.predict(type="link", kind="draws").values).mean(axis=(0, 1)),
                               rtol=1e-12)
    assert g.sigma() == pytest.approx(float(np.mean(g.posterior["shape"].values ** -0.5)))
    st = fits["student"]
    assert {"sigma", "nu"} <= set(st.diagnostics().index)
    assert "nu" in str(st.summary()) and "Residual" in st.varcorr()["grp"].tolist()
    for b in fits.values():
        pp = b.posterior_predictive()["y"].values
        assert pp.shape == (2, 200, 800)
        if b.family != "student":
            assert np.all(pp > 0)
        r2 = hl.r2(b)
        assert 0 < r2.loc["conditional", "Estimate"] < 1
    tab = hl.compare(fits["lognormal"], fits["gamma"], fits["student"], names=["lognormal", "gamma", "student"])
    assert set(tab.index) == {"lognormal", "gamma", "student"} if hasattr(tab, "index") else True
    out = fits["student"].predict(lex.iloc[:2], interval="prediction")
    assert list(out.columns) == ["fit", "lwr", "upr"] and np.all(out["lwr"] < out["upr"])
    assert fits["lognormal"].residuals("pearson").shape == (800,)
    with pytest.raises(HierlmError, match="deviance residuals are defined for GLM families"):
        fits["lognormal"].residuals("deviance")


def test_beta_and_probit_on_the_response_scale():
    b = short_fit("laptop", "p ~ condition + (1 | talk)", laptop(), "beta", target_accept=0.99)
    mu = b.predict()
    assert np.all((mu > 0) & (mu < 1)) and "phi" in b.diagnostics().index
    pp = b.posterior_predictive()["y"].values
    assert np.all((pp > 0) & (pp < 1))
    c = short_fit("cbpp_probit", "cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
                  hl.family("binomial", link="probit"))
    eta = c.predict(type="link", kind="draws").values
    np.testing.assert_allclose(c.predict(), ndtr(eta).mean(axis=(0, 1)), rtol=1e-10)
    assert "Links: mu = probit" in str(c.summary())
    ll = c.idata["log_likelihood"]["y"].values
    assert np.all(np.isfinite(ll)) and ll.shape == (2, 200, 56)
    u = c.update(draws=100)
    assert u.family.link.name == "probit" and u.settings["draws"] == 100


def test_a_gamma_fit_survives_save_and_load(tmp_path):
    sleep = hl.load_dataset("sleepstudy")
    b = short_fit("sleep_gamma", "Reaction ~ Days + (1 | Subject)", sleep, hl.family("gamma", link="log"))
    back = hl.load(b.save(tmp_path / "gamma"))
    assert back.family.link.name == "log"
    pd.testing.assert_frame_equal(back.diagnostics(), b.diagnostics())


def test_prior_predictive_of_a_cumulative_model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = hl.blmer("rating ~ temp + (1 | judge)", load("wine_breadth"), family="cumulative", sample_prior="only",
                     draws=100, chains=2, seed=1, progressbar=False)
    th = b.posterior["thresholds"].values
    assert th.shape == (2, 100, 4) and np.all(np.diff(th, axis=-1) > 0)
    fig = hl.plot_ppc(b)
    assert "Prior predictive" in fig.texts[0].get_text() if fig.texts else True


# -- slow: the defaults on real data ----------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", ["wine_cumulative_logit", "sleep_student", "cbpp_binomial_probit", "laptop_beta"])
def test_defaults_converge_and_match_pymc_nuts(name):
    """blmer at its defaults converges (R-hat < 1.01, divergences < 1%) and its posterior means are within
    0.2 posterior SD of PyMC's NUTS on the same mirror model and priors (bench/bayes_families.py)."""
    import bench.bayes_families as bf

    res = bf.run_model(name, pymc=True, log=lambda *a: None)
    assert res["max_rhat"] < 1.01 and res["divergent_share"] < 0.01
    assert res["pymc"]["max_dev_sd"] < 0.2


@pytest.mark.slow
def test_bench_results_cover_eight_real_datasets():
    """The recorded bench (bench/results/bayes_families.json) converged at the defaults on at least 8 real
    data sets across the new families."""
    import bench.bayes_families as bf

    path = REF_DIR.parent.parent / "bench" / "results" / "bayes_families.json"
    res = json.loads(path.read_text())["models"]
    assert set(res) == set(bf.MODELS)  # the whole bench, not a chosen part
    ok = [n for n, r in res.items() if r["max_rhat"] < 1.01 and r["divergent_share"] < 0.01]
    assert len({bf.MODELS[n][1] for n in ok}) >= 8  # distinct data sets
    fams = {(res[n]["family"], res[n]["link"]) for n in ok}
    assert {"student", "lognormal", "gamma", "inverse_gaussian", "beta", "cumulative"} <= {f for f, _ in fams}
    assert {("binomial", "probit"), ("bernoulli", "probit"), ("bernoulli", "cloglog")} <= fams


# -- slow: agreement with brms 2.18 on the same data and priors ---------------------------------------------
def brms_label(name: str, thresholds: list[str]) -> str:
    """brms's parameter name → the label of ``fit.diagnostics()``."""
    term = {"Intercept": "(Intercept)"}
    if name.startswith("b_Intercept["):
        return thresholds[int(name[len("b_Intercept["):-1]) - 1]
    if name == "b_Intercept":
        return "b_(Intercept)"
    if name.startswith("sd_"):
        group, t = name[3:].split("__")
        return f"sd({group}: {term.get(t, t)})"
    if name.startswith("cor_"):
        group, a, b = name[4:].split("__")
        return f"cor({group}: {term.get(a, a)},{term.get(b, b)})"
    return name


def test_brms_priors_are_hierlms_defaults():
    """The priors the brms reference was run with (tests/reference/brms_families_priors.json) are the
    defaults hierlm resolves today, and brms reports them back as set."""
    import bench.bayes_families as bf

    spec = reference_json("brms_families_priors.json")
    ref = reference_json("brms_families_reference.json")
    for name in bf.BRMS:
        assert [r["prior"] for r in spec[name]["priors"]] == [r["prior"] for r in bf.brms_priors(name)]
        used = {(p["class"], p["group"], p["coef"]): p["prior"] for p in ref["models"][name]["prior"]}
        for r in spec[name]["priors"]:
            if r["class"] == "cor":  # brms (rstan) puts LKJ(eta) on the Cholesky factor L of the correlations
                assert used[("L", r["group"], "")] == r["prior"].replace("lkj", "lkj_corr_cholesky")
            else:
                assert used[(r["class"], r["group"], r["coef"])] == r["prior"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sleep_student", "sleep_lognormal", "sleep_gamma_log", "laptop_beta",
                                  "wine_cumulative_logit"])
def test_posterior_agrees_with_brms(name):
    """blmer against brms 2.18 with the same priors (tests/reference/make_brms_families_reference.R): every
    posterior mean within 0.2 posterior SD.  2,000 draws per chain instead of the default 1,000: at the
    defaults sleep_student's R-hat was 1.0101 on one machine (its sd(Subject) mixes slowly), so a test at
    1,000 draws would sit on the criterion's edge."""
    import bench.bayes_families as bf

    ref = reference_json("brms_families_reference.json")["models"][name]
    formula, data_name, fam, link = bf.BRMS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = hl.blmer(formula, bf._data(data_name), family=hl.family(fam, link=link), seed=7, draws=2000,
                       progressbar=False)
    diag = fit.diagnostics()
    assert diag["R-hat"].max() < 1.01
    thresholds = [k for k in diag.index if k.startswith("Intercept[")]
    dev = {}
    for nm, r in ref["posterior"].items():
        label = brms_label(nm, thresholds)
        dev[label] = abs(diag.loc[label, "Estimate"] - r["mean"]) / diag.loc[label, "Est.Error"]
    assert len(dev) == len(diag.index)  # every parameter of the fit is compared
    assert max(dev.values()) < 0.2, dev
