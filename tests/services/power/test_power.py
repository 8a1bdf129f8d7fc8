"""hl.power_sim against R loops with lme4 + lmerTest (power_reference.json, make_power_reference.R), the
same numbers on every executor (none, ProcessPoolExecutor, threads, n_jobs, a real Dask LocalCluster),
GLMM simulate() against lme4's simulate() moments, data extension, the power-curve plot, bad input.

Power is compared within binomial Monte Carlo error: |p_hierlm − p_R| < 3 sqrt(p(1−p)(1/n₁ + 1/n₂)).
"""

import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import hierlm as hl  # noqa: E402
from hierlm.fits.simulate import simulate  # noqa: E402
from hierlm.services.plots.power import plot_power  # noqa: E402
from hierlm.services.power import clopper_pearson, extend_data, parse_test, power_sim  # noqa: E402
from support import REF_DIR, reference_json  # noqa: E402

REF = reference_json("power_reference.json")
SLEEP = "Reaction ~ Days + (Days | Subject)"
CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def _mc_ok(p_h: float, p_r: float, n_h: int, n_r: int) -> bool:
    p = (p_h * n_h + p_r * n_r) / (n_h + n_r)
    return abs(p_h - p_r) < 3 * np.sqrt(max(p * (1 - p), 0.01 * 0.99) * (1 / n_h + 1 / n_r))


@pytest.fixture(scope="module")
def sleep_fit():
    return hl.lmer(SLEEP, hl.load_dataset("sleepstudy"))


@pytest.fixture(scope="module")
def cbpp_fit():
    return hl.glmer(CBPP, hl.load_dataset("cbpp"), family="binomial")


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


# -- agreement with R -------------------------------------------------------------------------------
def test_sleepstudy_power_matches_lmertest_loop(sleep_fit):
    ref = REF["sleep"]
    res = power_sim(sleep_fit, "Days", nsim=500, effects={"Days": 2.0}, seed=11, progressbar=False)
    row = res.iloc[0]
    assert row["nsim"] == 500 and row["failed"] == 0 and row["nobs"] == 180
    assert _mc_ok(row["power"], ref["power"], 500, ref["nsim"]), (row["power"], ref["power"])
    assert row["lower"] < row["power"] < row["upper"]
    assert res.attrs["test"] == "Satterthwaite t test of the fixed effect 'Days'"


def test_sleepstudy_curve_along_subject_matches_r(sleep_fit):
    ref = REF["sleep_curve"]
    res = power_sim(sleep_fit, "Days", nsim=300, effects={"Days": 2.0}, along="Subject", sizes=ref["sizes"],
                    seed=12, progressbar=False)
    assert res["size"].tolist() == ref["sizes"] and res["nobs"].tolist() == ref["nobs"]
    for p_h, p_r in zip(res["power"], ref["power"]):
        assert _mc_ok(p_h, p_r, 300, ref["nsim"]), (p_h, p_r)
    assert res["power"].iloc[1] > res["power"].iloc[0]


def test_crossed_design_matches_r():
    ref = REF["crossed"]
    data = pd.read_csv(REF_DIR / REF["datasets"]["power_crossed"]["file"])
    fit = hl.lmer(ref["formula"], data)
    np.testing.assert_allclose(fit.beta, ref["fit"]["beta"], rtol=1e-4)
    np.testing.assert_allclose(fit.theta, ref["fit"]["theta"], rtol=2e-3, atol=1e-4)
    res = power_sim(fit, ref["test"], nsim=300, effects=ref["effects"], seed=13, progressbar=False)
    assert _mc_ok(res["power"].iloc[0], ref["power"], 300, ref["nsim"]), (res["power"].iloc[0], ref["power"])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lrt", "wald"])
def test_cbpp_binomial_power_matches_r(cbpp_fit, kind):
    ref = REF["cbpp"]
    test = ("fixed", "period", "lrt") if kind == "lrt" else "period2"
    res = power_sim(cbpp_fit, test, nsim=300, effects=ref["effects"], seed=14, progressbar=False)
    assert _mc_ok(res["power"].iloc[0], ref[kind]["power"], 300, ref["nsim"]), (res["power"].iloc[0], ref[kind])
    assert res["failed"].iloc[0] <= 3


def test_cbpp_glmm_power_runs_with_lrt_and_wald(cbpp_fit):
    eff = REF["cbpp"]["effects"]
    a = power_sim(cbpp_fit, "period2", nsim=3, effects=eff, seed=1, progressbar=False)
    b = power_sim(cbpp_fit, ("fixed", "period", "lrt"), nsim=3, effects=eff, seed=1, progressbar=False)
    assert a.attrs["test"] == "Wald z test of the fixed effect 'period2'"
    assert b.attrs["test"] == "likelihood-ratio test of the fixed effect 'period'"
    assert a["failed"].iloc[0] == 0 and b["failed"].iloc[0] == 0
    # Wald chi-square of the three period coefficients, and the power table's bookkeeping
    c = power_sim(cbpp_fit, "period", nsim=3, effects=eff, seed=1, progressbar=False)
    assert np.all(np.isfinite(c.attrs["pvalues"]))


# -- the same numbers on every executor ---------------------------------------------------------------
def test_executors_give_identical_results(sleep_fit):
    kw = dict(nsim=24, effects={"Days": 2.0}, along="Subject", sizes=[8, 24], seed=5, progressbar=False)
    base = power_sim(sleep_fit, "Days", **kw)
    with ProcessPoolExecutor(2) as pool:
        proc = power_sim(sleep_fit, "Days", executor=pool, **kw)
    with ThreadPoolExecutor(2) as pool:
        thr = power_sim(sleep_fit, "Days", executor=pool, **kw)
    for other in (proc, thr):
        np.testing.assert_array_equal(other.attrs["pvalues"], base.attrs["pvalues"])
        pd.testing.assert_frame_equal(other, base)
    # simulation i depends on the seed and i only
    head = power_sim(sleep_fit, "Days", **dict(kw, nsim=10))
    np.testing.assert_array_equal(head.attrs["pvalues"], base.attrs["pvalues"][:10])


@pytest.mark.slow
def test_dask_localcluster_two_processes_identical(sleep_fit):
    distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed (hierlm[distributed])")
    kw = dict(nsim=16, effects={"Days": 2.0}, seed=9, progressbar=False)
    base = power_sim(sleep_fit, "Days", **kw)
    boot0 = hl.bootstrap_lrt(hl.lmer("Reaction ~ Days + (1 | Subject)", hl.load_dataset("sleepstudy")), sleep_fit,
                             nsim=8, seed=2, progressbar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                      dashboard_address=None) as cluster, distributed.Client(cluster) as client:
            assert len(client.scheduler_info()["workers"]) == 2
            res = power_sim(sleep_fit, "Days", executor=client, **kw)
            via_executor = power_sim(sleep_fit, "Days", executor=client.get_executor(), **kw)
            boot = hl.bootstrap_lrt(hl.lmer("Reaction ~ Days + (1 | Subject)", hl.load_dataset("sleepstudy")),
                                    sleep_fit, nsim=8, seed=2, executor=client, progressbar=False)
    np.testing.assert_array_equal(res.attrs["pvalues"], base.attrs["pvalues"])
    np.testing.assert_array_equal(via_executor.attrs["pvalues"], base.attrs["pvalues"])
    np.testing.assert_array_equal(boot.stats, boot0.stats)


# -- GLMM simulate against lme4's simulate() ----------------------------------------------------------
def _moment_fit(case):
    ref = REF["simulate_moments"][case]
    data = (pd.read_csv(REF_DIR / ref["file"]) if "file" in ref else hl.load_dataset(ref["data"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hl.glmer(ref["formula"], data, family=ref["family"]), ref


@pytest.mark.parametrize("case", ["binomial", "bernoulli", "poisson_offset", "negbinomial"])
def test_glmm_simulate_moments_match_lme4(case):
    fit, ref = _moment_fit(case)
    np.testing.assert_allclose(fit.beta, ref["beta"], rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(fit.theta, ref["theta"], rtol=5e-3, atol=2e-3)
    if case == "negbinomial":
        assert fit.nb_theta == pytest.approx(ref["nb_theta"], rel=5e-3)
    n = 4000
    Y = simulate(fit, nsim=n, seed=21)
    assert Y.shape == (ref["nobs"], n)
    assert np.all(Y >= 0) and np.all(Y == np.round(Y))
    if case == "binomial":
        assert np.all(Y <= fit.response.trials[:, None])
    if case == "bernoulli":
        assert set(np.unique(Y)) <= {0.0, 1.0}
    mean_r, var_r = np.asarray(ref["mean"]), np.asarray(ref["var"])
    mean_h, var_h = Y.mean(axis=1), Y.var(axis=1, ddof=1)
    se = np.sqrt((var_h + var_r) / n) + 1e-12
    assert np.max(np.abs(mean_h - mean_r) / se) < 5.0
    # the variances (random effects + family noise) on the whole: within 6%; row by row within 25% (the
    # negative binomial's sample variances are too heavy-tailed for that: their median ratio within 10%)
    assert abs(var_h.sum() / var_r.sum() - 1) < 0.06
    big = var_r > 0.05
    ratio = var_h[big] / var_r[big]
    if case == "negbinomial":
        assert abs(np.median(ratio) - 1) < 0.1
    else:
        assert np.max(np.abs(ratio - 1)) < 0.25


def test_simulate_use_re_false_keeps_modes(cbpp_fit):
    Y = simulate(cbpp_fit, nsim=3000, seed=2, use_re=False)
    expected = cbpp_fit.fitted() * cbpp_fit.response.trials
    se = np.sqrt(Y.var(axis=1) / 3000) + 1e-9
    assert np.max(np.abs(Y.mean(axis=1) - expected) / se) < 5
    with pytest.raises(hl.HierlmError, match="nsim"):
        simulate(cbpp_fit, nsim=0)


# -- data extension ----------------------------------------------------------------------------------
def test_extend_along_subject_and_days(sleep_fit):
    ext = extend_data(sleep_fit, "Subject", [10, 30])
    assert len(ext.data) == 300 and [len(r) for r in ext.rows] == [100, 300]
    assert ext.data["Subject"].nunique() == 30
    new = ext.data[ext.data["Subject"].str.contains("_")]
    assert all(sorted(v) == list(range(10)) for v in new.groupby("Subject")["Days"].apply(list))
    ext = extend_data(sleep_fit, "Days", [5, 15])
    assert ext.largest == [4.0, 14.0]
    assert sorted(ext.data["Days"].unique()) == list(range(15))
    assert (ext.data.groupby("Days").size() == 18).all()
    # power along Days: more observations per subject, more power
    res = power_sim(sleep_fit, "Days", nsim=30, effects={"Days": 2.0}, along="Days", sizes=[5, 15], seed=4,
                    progressbar=False)
    assert res["largest"].tolist() == [4.0, 14.0] and res["nobs"].tolist() == [90, 270]
    assert res["power"].iloc[1] >= res["power"].iloc[0]


def test_between_subject_factor_stays_balanced():
    rng = np.random.default_rng(0)
    d = pd.DataFrame({"subj": np.repeat([f"s{i:02d}" for i in range(12)], 5), "x": np.tile(np.arange(5.0), 12)})
    d["treat"] = np.where(d["subj"] < "s06", "a", "b")
    d["y"] = rng.normal(size=60) + np.repeat(rng.normal(size=12), 5) + 0.5 * (d["treat"] == "b")
    fit = hl.lmer("y ~ treat + x + (1 | subj)", d)
    ext = extend_data(fit, "subj", [4, 20])
    first4 = ext.data.iloc[ext.rows[0]]
    assert first4.groupby("treat")["subj"].nunique().tolist() == [2, 2]
    res = power_sim(fit, "treatb", nsim=8, along="subj", sizes=[4, 20], seed=1, progressbar=False)
    assert res["size"].tolist() == [4, 20]
    with pytest.raises(hl.HierlmError, match="cannot be dropped|cannot be fitted"):
        power_sim(fit, "treatb", nsim=2, along="subj", sizes=[1], progressbar=False)


# -- other tests ---------------------------------------------------------------------------------------
def test_random_term_compare_and_kr(sleep_fit):
    r = power_sim(sleep_fit, "(Days | Subject)", nsim=6, seed=3, progressbar=False)
    assert r["power"].iloc[0] == 1.0  # the random effects are large: every LRT rejects
    m2 = hl.lmer("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", hl.load_dataset("sleepstudy"))
    r2 = power_sim(m2, ("random", "(0 + Days | Subject)"), nsim=6, seed=3, progressbar=False)
    assert "REML" in r2.attrs["test"] and r2["failed"].iloc[0] == 0
    c = power_sim(sleep_fit, "Reaction ~ 1 + (Days | Subject)", nsim=6, effects={"Days": 2.0}, seed=3,
                  progressbar=False)
    assert c.attrs["test"].startswith("likelihood-ratio test against the null model")
    kr = power_sim(sleep_fit, ("fixed", "Days", "kr"), nsim=6, effects={"Days": 2.0}, seed=3, progressbar=False)
    sat = power_sim(sleep_fit, "Days", nsim=6, effects={"Days": 2.0}, seed=3, progressbar=False)
    # a balanced design: Kenward-Roger F = Satterthwaite t² with the same df
    np.testing.assert_allclose(kr.attrs["pvalues"], sat.attrs["pvalues"], rtol=2e-3)
    z = power_sim(sleep_fit, ("fixed", "Days", "z"), nsim=6, effects={"Days": 2.0}, seed=3, progressbar=False)
    assert np.all(z.attrs["pvalues"] <= sat.attrs["pvalues"])  # N(0, 1) tails are thinner than t(17)'s


def test_clopper_pearson_and_table():
    lo, hi = clopper_pearson(np.array([0, 26, 100]), 100)
    np.testing.assert_allclose(lo, [0.0, 0.1773944379, 0.9637833074], atol=1e-9)  # R: binom.test(x, 100)$conf.int
    np.testing.assert_allclose(hi, [0.03621669265, 0.3573120631, 1.0], atol=1e-9)


def test_plot_power_draws_curve_and_intervals(sleep_fit):
    res = power_sim(sleep_fit, "Days", nsim=10, effects={"Days": 2.0}, along="Subject", sizes=[6, 12, 24], seed=2,
                    progressbar=False)
    fig = plot_power(res, target=0.8)
    ax = fig.axes[0]
    line = next(ln for ln in ax.lines if ln.get_gid() == "power")
    assert line.get_xdata().tolist() == [6, 12, 24]
    np.testing.assert_allclose(line.get_ydata(), res["power"])
    target = next(ln for ln in ax.lines if ln.get_gid() == "target")
    assert target.get_ydata()[0] == 0.8
    bars = [c for c in ax.collections if c.get_gid() == "interval"]
    segs = bars[0].get_segments()
    np.testing.assert_allclose([s[:, 1].min() for s in segs], res["lower"])
    np.testing.assert_allclose([s[:, 1].max() for s in segs], res["upper"])
    assert "number of levels of Subject" in ax.get_xlabel()
    with pytest.raises(hl.HierlmError):
        plot_power(pd.DataFrame({"x": [1]}))


def test_progress_text_and_parse_test(sleep_fit, capsys):
    assert parse_test(sleep_fit, "Days").columns == [1]
    assert parse_test(sleep_fit, ("fixed", "Days", "lrt")).null.startswith("Reaction ~ 1")
    g = parse_test(sleep_fit, "(Days|Subject)")
    assert g.kind == "random" and g.null == "Reaction ~ Days"


# -- Bayesian assurance ------------------------------------------------------------------------------
def test_bayesian_assurance_marginal_refits():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = hl.blmer(SLEEP, hl.load_dataset("sleepstudy"), draws=150, tune=150, chains=2, seed=1, progressbar=False)
        res = power_sim(b, "Days", nsim=3, effects={"Days": 20.0}, seed=2, refit={"draws": 100, "tune": 100},
                        progressbar=False)
        wide = power_sim(b, "Days", nsim=3, width=1e6, seed=2, refit={"draws": 100, "tune": 100}, progressbar=False)
    assert res.attrs["kind"] == "assurance" and res.attrs["refit"]["draws"] == 100
    assert res["power"].iloc[0] == 1.0  # a slope of 20 ms/day: every 95% interval excludes 0
    assert wide["power"].iloc[0] == 1.0 and "narrower than" in wide.attrs["test"]
    with pytest.raises(hl.HierlmError, match="fixed-effect coefficient"):
        power_sim(b, "(Days | Subject)", nsim=2)


# -- bad input ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    (dict(test="Dayz"), "names no fixed-effect term"),
    (dict(test="(1 | Item)"), "names no random-effect term"),
    (dict(test=("fixed", "Days", "bogus")), "unknown test method"),
    (dict(test=42), "test must be"),
    (dict(test="Days", nsim=0), "nsim"),
    (dict(test="Days", nsim=2.5), "nsim"),
    (dict(test="Days", alpha=5), "alpha"),
    (dict(test="Days", effects={"Dayz": 1}), "not a fixed effect"),
    (dict(test="Days", executor="dask"), "executor must be"),
    (dict(test="Days", executor=ThreadPoolExecutor(1), n_jobs=2), "either executor= or n_jobs="),
    (dict(test="Days", along="Subject"), "needs sizes="),
    (dict(test="Days", sizes=[10]), "sizes= needs along="),
    (dict(test="Days", along="Subjekt", sizes=[10]), "not a column"),
    (dict(test="Days", along="Subject", sizes=[0]), "sizes must be whole numbers"),
    (dict(test="Days", along="Subject", sizes=[1]), "cannot be fitted"),
    (dict(test="Reaction ~ Days + (Days | Subject) + (1 | Days)"), "fewer parameters"),
    (dict(test="Days", width=1.0), "Bayesian"),
])
def test_bad_input(sleep_fit, kwargs, match):
    kwargs = dict({"nsim": 2, "progressbar": False}, **kwargs)
    with pytest.raises(hl.HierlmError, match=match):
        power_sim(sleep_fit, **kwargs)


def test_bad_input_glmm_and_fixed_factor(cbpp_fit):
    with pytest.raises(hl.HierlmError, match="fixed factor"):
        power_sim(cbpp_fit, "period2", nsim=2, along="period", sizes=[2], progressbar=False)
    with pytest.raises(hl.HierlmError, match="linear mixed model"):
        power_sim(cbpp_fit, ("fixed", "period2", "kr"), nsim=2, progressbar=False)
    with pytest.raises(hl.HierlmError, match="leaves a GLM"):
        power_sim(cbpp_fit, "(1 | herd)", nsim=2, progressbar=False)
    with pytest.raises(hl.HierlmError, match="mixed model"):
        power_sim("not a fit", "Days", nsim=2)
