"""Bayesian model comparison: hl.compare (PSIS-LOO with exact refits, WAIC), hl.kfold, and hl.anova's
dispatch — against lme4's LRT, the R loo package and exact leave-one-out computed here."""

import types
import warnings

import numpy as np
import pytest
import xarray as xr
from scipy import stats
from scipy.special import logsumexp

import hierlm as hl
from hierlm.services.comparison.kfold import make_folds
from hierlm.services.comparison.loo import loo, waic

pytestmark = pytest.mark.xdist_group("loo")  # one worker: the module fixtures are sampled once

F0 = "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)"
F1 = "Reaction ~ Days + (Days | Subject)"
KW = {"draws": 300, "tune": 300, "chains": 2, "progressbar": False}
OUTLIER = 10  # position of the sleepstudy row whose Reaction is set to 2000


def quiet_fit(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hl.SamplingWarning)
        return hl.blmer(*args, **{**KW, **kw})


@pytest.fixture(scope="module")
def b0(sleep):
    return quiet_fit(F0, sleep, seed=11)


@pytest.fixture(scope="module")
def b1(sleep):
    return quiet_fit(F1, sleep, seed=12)


@pytest.fixture(scope="module")
def table(b0, b1):
    return hl.compare(b0, b1)


@pytest.fixture(scope="module")
def outlier_data(sleep):
    data = sleep.copy()
    data.loc[data.index[OUTLIER], "Reaction"] = 2000.0
    return data


@pytest.fixture(scope="module")
def bout(outlier_data):
    return quiet_fit(F1, outlier_data, seed=5)


# -- frequentist anova (lme4) and the dispatch ---------------------------------------------------
def test_anova_lmer_matches_lme4(sleep):
    m0, m1 = hl.lmer(F0, sleep), hl.lmer(F1, sleep)
    tab = hl.anova(m0, m1)
    assert float(tab["Chisq"].iloc[1]) == pytest.approx(0.0639, abs=5e-5)
    assert float(tab["Pr(>Chisq)"].iloc[1]) == pytest.approx(0.8004, abs=5e-5)
    assert int(tab["Df"].iloc[1]) == 1


def test_anova_of_bayesian_fits_is_the_loo_table(b0, b1, table):
    tab = hl.anova(b0, b1)
    assert isinstance(tab, hl.ComparisonTable)
    np.testing.assert_allclose(tab["elpd_loo"], table["elpd_loo"])
    named = hl.anova(b0, b1, names=["uncorrelated", "correlated"])
    assert named.index.tolist() == ["uncorrelated", "correlated"]
    with pytest.raises(hl.HierlmError, match="cannot mix"):
        hl.anova(hl.lmer(F1, hl.load_dataset("sleepstudy")), b1)


# -- the table -----------------------------------------------------------------------------------
def test_table_layout_and_order(b0, b1, table):
    assert table.index.tolist() == ["b0", "b1"]
    assert table.columns.tolist() == ["formula", "elpd_loo", "se", "p_loo", "looic", "elpd_diff", "se_diff",
                                      "weight", "n_bad_k"]
    assert table["formula"].tolist() == [b0.formula, b1.formula]
    np.testing.assert_allclose(table["looic"], -2 * table["elpd_loo"])
    assert (table["elpd_diff"] <= 0).all() and (table["elpd_diff"] == 0).sum() == 1
    best = table["elpd_loo"].idxmax()
    assert table.loc[best, "se_diff"] == 0
    assert table["weight"].sum() == pytest.approx(1.0, abs=1e-6)
    # the order given is kept (like lme4's anova), whichever model is best
    rev = hl.compare(m1=b1, m0=b0)
    assert rev.index.tolist() == ["m1", "m0"]
    np.testing.assert_allclose(rev.loc["m0", "elpd_loo"], table.loc["b0", "elpd_loo"])
    assert hl.compare(b0, m1=b1).index.tolist() == ["b0", "m1"]


def test_models_not_distinguished(table):
    """lme4's LRT: chi2 0.0639, p 0.80.  By LOO the correlated model is a little worse: elpd_diff about -0.8
    (se_diff 0.6) over seeds at 4000 draws here; brms -1.7 (0.6), rstanarm -2.7 (0.6) with 3000 draws (R 4.2).
    Below 4 elpd the difference is small and se_diff unreliable (Sivula et al.), so the verdict is
    'not distinguished' whether or not |elpd_diff| < se_diff in a given run."""
    other = table.index[table["elpd_diff"] != 0][0]
    d, s = abs(table.loc[other, "elpd_diff"]), table.loc[other, "se_diff"]
    assert d < 4 and 0 < s < 3
    assert "the data do not distinguish them" in table.notes[0]
    expected = "differs by less than its standard error" if d < s else "a difference under 4 elpd is small"
    assert expected in table.notes[0]
    text = str(table)
    assert "do not distinguish" in text and "elpd_loo" in text
    assert "do not distinguish" in table._repr_html_()
    # each model's Pareto-k line: refitted here (few bad k with 600 draws) or all fine
    for name in table.index:
        n_bad = int(table.loc[name, "n_bad_k"])
        if n_bad:
            assert any(line.startswith(f"{name}: {n_bad} observation") and "re-fitted exactly" in line
                       for line in table.notes)


def test_loo_without_refits_is_arviz(b1):
    import arviz_stats as azs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = azs.loo(b1.idata, pointwise=True)
        tab = hl.compare(b1, b1, max_refits=0)
    assert tab["elpd_loo"].iloc[0] == pytest.approx(ref.elpd, rel=1e-12)
    assert tab["p_loo"].iloc[0] == pytest.approx(ref.p, rel=1e-12)
    assert tab["n_bad_k"].iloc[0] == int(np.sum(ref.pareto_k.values > 0.7))
    assert tab["elpd_diff"].tolist() == [0.0, 0.0] and tab["weight"].sum() == pytest.approx(1.0)


def test_verdict_when_one_model_is_better(b1, sleep):
    flat = quiet_fit("Reaction ~ 1 + (1 | Subject)", sleep, seed=3)
    with pytest.warns(hl.HierlmWarning, match="Pareto k"):
        tab = hl.compare(flat, b1, max_refits=0)
    d, s = -tab.loc["b0", "elpd_diff"], tab.loc["b0", "se_diff"]
    assert d > 2 * s > 0  # Days matters: the slope model predicts far better
    assert tab.notes[0].startswith(f"b1 predicts better than b0 by {d:.1f} elpd")
    assert tab.loc["b1", "weight"] > 0.9


# -- WAIC against the R loo package --------------------------------------------------------------
def test_waic_matches_R_loo():
    """loo 2.5.1: waic() of ll[s, i] = -0.5 (2 sin(0.37 s + i) + 0.3 i)^2 - 0.9 - 0.05 i cos(0.11 s),
    s = 1..400, i = 1..6."""
    s, i = np.arange(1, 401)[:, None], np.arange(1, 7)[None, :]
    ll = -0.5 * (np.sin(s * 0.37 + i) * 2 + i * 0.3) ** 2 - 0.9 - 0.05 * i * np.cos(s * 0.11)
    tree = xr.DataTree.from_dict({"log_likelihood": xr.Dataset({"y": (("chain", "draw", "obs"), ll.reshape(2, 200, 6))},
                                                               coords={"obs": list("abcdef")})})
    res, n_bad = waic(types.SimpleNamespace(idata=tree))
    assert res.elpd == pytest.approx(-29.6543888510, abs=1e-8)
    assert res.se == pytest.approx(6.15139621964, abs=1e-8)
    assert res.p == pytest.approx(19.5785218593, abs=1e-8)
    assert n_bad == 6  # R: "6 (100.0%) p_waic estimates greater than 0.4"


def test_compare_waic(b0, b1):
    tab = hl.compare(b0, b1, ic="waic")
    assert tab.columns.tolist() == ["formula", "elpd_waic", "se", "p_waic", "waic", "elpd_diff", "se_diff", "weight",
                                    "n_bad_p"]
    np.testing.assert_allclose(tab["waic"], -2 * tab["elpd_waic"])
    assert tab.loc["b1", "elpd_waic"] == pytest.approx(waic(b1)[0].elpd)
    with pytest.raises(hl.HierlmError, match="'loo' or 'waic'"):
        hl.compare(b0, b1, ic="aic")
    with pytest.raises(hl.HierlmError, match="method must be one of.*Did you mean 'stacking'"):
        hl.compare(b0, b1, method="stacked")
    pbma = hl.compare(b0, b1, ic="waic", method="pseudo-BMA")
    w = np.exp(pbma["elpd_waic"] - pbma["elpd_waic"].max())
    np.testing.assert_allclose(pbma["weight"], w / w.sum())


# -- refusals ------------------------------------------------------------------------------------
def test_refuses_different_observations(b1, sleep):
    fewer = quiet_fit(F1, sleep.drop(sleep.index[3]), seed=1)
    with pytest.raises(hl.HierlmError, match=r"different observations \(b0: 179 rows, b1: 180 rows\)"):
        hl.compare(fewer, b1)
    shifted = quiet_fit("log(Reaction) ~ Days + (Days | Subject)", sleep, seed=1)
    with pytest.raises(hl.HierlmError, match="'b0' and 'b1' were fitted to different response values"):
        hl.compare(b1, shifted)


def test_refuses_incomparable_families_and_other_inputs(b1):
    cbpp = hl.load_dataset("cbpp")
    g = quiet_fit("incidence ~ period + (1 | herd)", cbpp, seed=1)
    p = quiet_fit("incidence ~ period + (1 | herd)", cbpp, family="poisson", seed=1)
    with pytest.raises(hl.HierlmError, match="likelihoods are not comparable.*gaussian.*poisson"):
        hl.compare(gauss=g, pois=p)
    m = hl.lmer(F1, hl.load_dataset("sleepstudy"))
    with pytest.raises(hl.HierlmError, match="model 'b1' is a LmerFit; for hl.lmer / hl.glmer fits use hl.anova"):
        hl.compare(b1, m)
    with pytest.raises(hl.HierlmError, match="'max_refit' is not an option"):
        hl.compare(b1, b1, max_refit="3")
    with pytest.raises(hl.HierlmError, match="needs one or more"):
        hl.compare()
    prior = hl.blmer(F1, hl.load_dataset("sleepstudy"), draws=50, chains=1, seed=1, sample_prior="only")
    with pytest.raises(hl.HierlmError, match="b0 hold prior draws only"):
        hl.compare(prior, b1)


@pytest.mark.parametrize("formula, data, family, extra", [
    ("incidence/size ~ period + (1 | herd)", "cbpp", "binomial", {"weights": "size"}),
    ("incidence ~ period + (1 | herd)", "cbpp", "poisson", {}),
    ("TICKS ~ YEAR + (1 | BROOD)", "grouseticks", "negbinomial", {}),
    ("Reaction ~ Days + (1 | Subject)", "sleepstudy", "gaussian", {"weights": np.linspace(0.5, 2, 180)}),
])
def test_heldout_loglik_is_the_stored_loglik(formula, data, family, extra):
    """Scoring a fit's own rows with heldout_loglik reproduces its log_likelihood group, every family."""
    from hierlm.services.comparison.refit import heldout_loglik

    fit = quiet_fit(formula, hl.load_dataset(data), family=family, seed=1, draws=100, tune=100, **extra)
    rows = [0, 3, 7]
    np.testing.assert_allclose(heldout_loglik(fit, fit, rows), fit.idata["log_likelihood"]["y"].values[..., rows],
                               rtol=1e-12, atol=1e-12)


# -- Pareto k: exact refits ----------------------------------------------------------------------
def test_bad_pareto_k_is_refitted_exactly(bout, outlier_data):
    import arviz_stats as azs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        psis = azs.loo(bout.idata, pointwise=True)
    label = str(outlier_data.index[OUTLIER])
    assert psis.pareto_k.values[OUTLIER] > 0.7
    res = loo(bout)
    assert label in res.bad and res.refitted and len(res.bad) <= 10
    exact_loo = float(res.elpd_data.elpd_i.values[OUTLIER])
    # independent exact LOO: the same model and priors without the row, density by scipy
    priors = {tuple(x for x in (r["class"], r["group"], r["term"]) if x is not None): r["prior"]
              for r in bout.priors.rows}
    held = outlier_data.iloc[[OUTLIER]]

    def exact(seed, draws):
        fit = quiet_fit(F1, outlier_data.drop(outlier_data.index[OUTLIER]), priors=priors, seed=seed, draws=draws,
                        tune=draws)
        mu = fit.predict(held, kind="draws").values[..., 0]
        ll = stats.norm.logpdf(2000.0, mu, fit.posterior["sigma"].values).ravel()
        return logsumexp(ll) - np.log(ll.size)

    assert exact_loo == pytest.approx(exact(5, 300), rel=1e-9)  # the fit's own seed and settings
    longer = exact(99, 1500)  # another seed and 5x the draws: Monte Carlo error of a far-tail density
    assert abs(exact_loo - longer) < 0.15 * abs(longer)
    assert exact_loo < 10 * float(psis.elpd_i.values[OUTLIER])  # PSIS was badly optimistic (about -90 vs -1600)
    tab = hl.compare(outlier=bout, again=bout)
    assert tab.loc["outlier", "n_bad_k"] == len(res.bad)
    assert tab.loc["outlier", "elpd_loo"] == pytest.approx(float(res.elpd_data.elpd))
    assert any(line.startswith("outlier: ") and "re-fitted exactly" in line and repr(label) in line
               for line in tab.notes)


def test_too_many_bad_k_warns_and_recommends_kfold(bout):
    with pytest.warns(hl.HierlmWarning, match=r"Pareto k > 0.7.*hl.kfold\(m, k=10\)"):
        tab = hl.compare(m=bout, max_refits=0)
    assert "not re-fitted" in str(tab) and "use hl.kfold(m, k=10)" in str(tab)
    res = loo(bout, max_refits=0)
    assert not res.refitted and res.bad


# -- K-fold --------------------------------------------------------------------------------------
def test_make_folds():
    f = make_folds(23, 5, seed=4)
    assert sorted(np.bincount(f)[1:]) == [4, 4, 5, 5, 5]
    assert np.array_equal(f, make_folds(23, 5, seed=4)) and not np.array_equal(f, make_folds(23, 5, seed=5))
    codes = np.repeat(np.arange(7), 3)
    assert np.array_equal(make_folds(21, 10, seed=1, codes=codes), codes + 1)  # k >= levels: one level per fold
    g = make_folds(21, 3, seed=1, codes=codes)
    assert len(np.unique(g)) == 3 and all(len(np.unique(g[codes == c])) == 1 for c in range(7))


def test_kfold_leave_one_subject_out(b1, table, sleep):
    cv = hl.kfold(b1, k=50, group="Subject")
    assert cv.k == 18 and "leave-one-Subject-out" in repr(cv)
    subj = sleep["Subject"].astype(str).to_numpy()
    assert all(len(np.unique(subj[cv.folds == f])) == 1 for f in range(1, 19))
    assert cv.pointwise.columns.tolist() == ["elpd_kfold", "p_kfold", "fold"] and len(cv.pointwise) == 180
    assert cv.elpd_kfold == pytest.approx(cv.pointwise["elpd_kfold"].sum())
    assert cv.elpd_kfold < table.loc["b1", "elpd_loo"] - 30  # new subjects are much harder to predict
    assert cv.se > 0 and cv.p_kfold > table.loc["b1", "p_loo"]
    # brms 2.x (R 4.2), its default priors, 2 x 1500 draws: kfold(group = "Subject") elpd -956.0, p_kfold 129.6
    assert cv.elpd_kfold == pytest.approx(-956.0, abs=6) and cv.p_kfold == pytest.approx(129.6, abs=8)
    tab = hl.compare(cv, cv)
    assert tab.columns.tolist()[1:5] == ["elpd_kfold", "se", "p_kfold", "kfoldic"]
    assert tab["folds"].tolist() == [18, 18]
    with pytest.raises(hl.HierlmError, match="cannot mix K-fold results"):
        hl.compare(cv, b1)


def test_kfold_random_folds_reproducible(b1):
    a = hl.kfold(b1, k=2, seed=8)
    b = hl.kfold(b1, k=2, seed=8)
    assert np.array_equal(a.folds, b.folds) and np.array_equal(a.folds, make_folds(180, 2, seed=8))
    assert a.elpd_kfold == pytest.approx(b.elpd_kfold, rel=1e-12)
    assert "2 random folds (seed 8)" in repr(a) and a.k == 2
    given = hl.kfold(b1, folds=np.where(hl.load_dataset("sleepstudy")["Days"] < 5, "early", "late"))
    assert given.k == 2 and "2 folds given" in repr(given) and given.group is None
    assert sorted(np.bincount(given.folds)[1:]) == [90, 90]


def test_kfold_errors(b1):
    with pytest.raises(hl.HierlmError, match="group='Subjet' is neither.*Did you mean 'Subject'"):
        hl.kfold(b1, group="Subjet")
    with pytest.raises(hl.HierlmError, match="k must be a whole number >= 2"):
        hl.kfold(b1, k=1)
    with pytest.raises(hl.HierlmError, match="one fold per row"):
        hl.kfold(b1, folds=[1, 2])
    with pytest.raises(hl.HierlmError, match="Bayesian fit from hl.blmer"):
        hl.kfold(hl.lmer(F1, hl.load_dataset("sleepstudy")))


@pytest.mark.slow
def test_kfold_compare_two_models_by_subject(b0, b1):
    k0, k1 = hl.kfold(b0, k=18, group="Subject"), hl.kfold(b1, k=18, group="Subject")
    assert np.array_equal(k0.folds, k1.folds)
    tab = hl.compare(k0, k1)
    other = tab.index[tab["elpd_diff"] != 0][0]
    assert abs(tab.loc[other, "elpd_diff"]) < 4 and "do not distinguish" in tab.notes[0]
    assert all(tab["elpd_kfold"] < hl.compare(b0, b1)["elpd_loo"] - 30)


@pytest.mark.slow
def test_compare_well_sampled(sleep):
    """4000 draws per model: the correlation adds nothing predictively (elpd_diff about -0.8, se_diff 0.6 here;
    brms -1.7 (0.6), rstanarm -2.7 (0.6)); every bad Pareto k is refitted."""
    f0 = quiet_fit(F0, sleep, seed=41, draws=2000, tune=1000)
    f1 = quiet_fit(F1, sleep, seed=42, draws=2000, tune=1000)
    tab = hl.compare(f0, f1)
    d = tab.loc["b1", "elpd_loo"] - tab.loc["b0", "elpd_loo"]
    assert -3.5 < d < 1.5 and "do not distinguish" in tab.notes[0]
    assert tab["elpd_loo"].between(-866, -857).all() and tab["p_loo"].between(30, 40).all()
    assert all(loo(f).refitted or not loo(f).bad for f in (f0, f1))
