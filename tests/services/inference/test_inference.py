"""simulate, confint (Wald / profile / bootstrap), bootstrap_lrt and icc against lme4 1.1-31 and pbkrtest 0.5.2.

References: tests/reference/confint_reference.json (make_confint_reference.R) and
bootstrap_reference.json (make_bootstrap_reference.R), the latter from lme4 refits of the
responses hierlm simulated (bootstrap_<case>_sims.csv.gz; regenerate with
``.venv/bin/python tests/test_inference.py --make-sims``).
"""

import copy
import json
import pathlib
import sys
import warnings

import numpy as np
import pytest

import hierlm as hl
from hierlm.services.inference.bootstrap import bootstrap_params, percentile_interval
from support import REF_DIR

REF = REF_DIR
CI = json.loads((REF / "confint_reference.json").read_text())
BOOT = json.loads((REF / "bootstrap_reference.json").read_text())

SIM_CASES = {  # case -> (data, null formula, alternative formula, seed)
    "sleep": ("sleepstudy", "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)",
              "Reaction ~ Days + (Days | Subject)", 20240401),
    "sitka": ("Sitka", "size ~ Time + I(Time^2) + (1 | tree)", "size ~ treat*(Time + I(Time^2)) + (1 | tree)", 20240402),
}
NSIM_REF = 200


def _arr(values):
    return np.array([np.nan if v is None else v for v in values], float)


def _sims(case):
    return np.loadtxt(REF / f"bootstrap_{case}_sims.csv.gz", delimiter=",", skiprows=1)


def make_sims():
    """Write the simulated responses the R bootstrap references refit (ML null fit, fixed seeds)."""
    for case, (data, f0, _, seed) in SIM_CASES.items():
        Y = hl.lmer(f0, hl.load_dataset(data), reml=False).simulate(NSIM_REF, seed=seed)
        header = ",".join(f"sim_{i + 1}" for i in range(NSIM_REF))
        np.savetxt(REF / f"bootstrap_{case}_sims.csv.gz", Y, delimiter=",", fmt="%.10g", header=header, comments="")


def _fit(rec, reml=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hl.HierlmWarning)
        return hl.lmer(rec["formula"], hl.load_dataset(rec["data"]), reml=rec["REML"] if reml is None else reml)


@pytest.fixture(scope="module")
def sleep_corr():
    return hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))


# -- simulate -----------------------------------------------------------------------------------
def test_simulate_shape_and_seed(sleep_corr):
    Y = sleep_corr.simulate(nsim=5, seed=3)
    assert Y.shape == (180, 5)
    np.testing.assert_array_equal(Y, sleep_corr.simulate(nsim=5, seed=3))
    # replicate i depends on (seed, i) only
    np.testing.assert_array_equal(Y[:, :2], sleep_corr.simulate(nsim=2, seed=3))
    assert not np.allclose(Y, sleep_corr.simulate(nsim=5, seed=4))
    assert sleep_corr.simulate(seed=np.random.default_rng(1)).shape == (180, 1)
    with pytest.raises(hl.HierlmError):
        sleep_corr.simulate(nsim=0)
    with pytest.raises(hl.HierlmError, match="seed"):
        sleep_corr.simulate(seed="abc")


def test_simulate_moments():
    m = hl.lmer("Reaction ~ 1 + (1 | Subject)", hl.load_dataset("sleepstudy"))
    Y = m.simulate(nsim=4000, seed=11)
    vg, s2 = m.varcorr()["vcov"].to_numpy()
    np.testing.assert_allclose(Y.mean(), m.fixef()["Estimate"].iloc[0], atol=1.5)
    np.testing.assert_allclose(Y.var(axis=1).mean(), vg + s2, rtol=0.03)
    # two days of the same subject covary by the subject variance, different subjects do not
    np.testing.assert_allclose(np.cov(Y[0], Y[1])[0, 1], vg, rtol=0.1)
    assert abs(np.cov(Y[0], Y[10])[0, 1]) < 0.1 * vg
    cond = m.simulate(nsim=2000, seed=1, use_re=False)
    np.testing.assert_allclose(cond.mean(axis=1), m.fitted(), atol=4 * m.sigma() / np.sqrt(2000) * 1.5)


def test_simulated_reference_responses_reproduce():
    """The committed CSVs are what simulate(seed) gives (same seed -> same responses)."""
    for case, (data, f0, _, seed) in SIM_CASES.items():
        Y = hl.lmer(f0, hl.load_dataset(data), reml=False).simulate(NSIM_REF, seed=seed)
        np.testing.assert_allclose(Y, _sims(case), rtol=1e-5)  # the simulation depends on the fitted θ, itself converged to ~1e-6


# -- confint ------------------------------------------------------------------------------------
PROFILE_CASES = [k for k, v in CI.items() if isinstance(v, dict) and "profile_95" in v]


@pytest.mark.parametrize("name", PROFILE_CASES)
def test_profile_and_wald_match_lme4(name):
    rec = CI[name]
    m = _fit(rec)
    for key in [k for k in rec if k.startswith(("profile_", "wald_")) and "exact" not in k]:
        method, level = key.split("_")
        ci = m.confint(method=method, level=float(level) / 100)
        ref = rec[key]
        assert list(ci.index) == ref["rows"] and list(ci.columns) == ref["cols"]
        lo, hi = _arr(ref["lower"]), _arr(ref["upper"])
        np.testing.assert_array_equal(np.isnan(ci.iloc[:, 0]), np.isnan(lo))
        # lme4 reads its limits off an interpolating spline: ~1e-4 relative
        np.testing.assert_allclose(ci.iloc[:, 0], lo, rtol=1e-3, atol=1e-6)
        np.testing.assert_allclose(ci.iloc[:, 1], hi, rtol=1e-3, atol=1e-6)
    exact = rec["profile_exact_95"]  # roots of lme4's own profiled deviance
    ci = m.confint(parm="theta_")
    assert list(ci.index) == exact["rows"]
    np.testing.assert_allclose(ci.iloc[:, 0], exact["lower"], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(ci.iloc[:, 1], exact["upper"], rtol=1e-5, atol=1e-8)
    assert list(ci.attrs["labels"].values()) == rec["names_new"]


def test_profile_of_reml_fit_is_ml_profile(sleep_corr):
    ml = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"), reml=False)
    np.testing.assert_allclose(sleep_corr.confint(parm=["Days", ".sig03"]), ml.confint(parm=["Days", ".sig03"]),
                               rtol=1e-6)


def test_profile_boundary_limit_is_bound():
    rec = CI["pastes"]
    ci = _fit(rec).confint(parm=[".sig02"])
    assert ci.iloc[0, 0] == 0.0 and rec["profile_95"]["lower"][1] == 0


def test_confint_arguments(sleep_corr):
    ci = sleep_corr.confint(method="Wald", level=0.9, parm="beta_")
    assert list(ci.columns) == ["5 %", "95 %"] and list(ci.index) == ["(Intercept)", "Days"]
    assert ci.attrs["labels"] == {}
    with pytest.raises(hl.HierlmError, match="no parameter"):
        sleep_corr.confint(parm=["Dayz"])
    with pytest.raises(hl.HierlmError, match="method"):
        sleep_corr.confint(method="bca")
    with pytest.raises(hl.HierlmError, match="level"):
        sleep_corr.confint(level=95)


def test_percentile_rule_matches_boot():
    b = CI["boot_sleep_corr"]
    T = np.array([_arr(row) for row in b["t"]])
    got = np.array([percentile_interval(T[:, j], [0.025, 0.975]) for j in range(T.shape[1])])
    np.testing.assert_allclose(got[:, 0], b["lower"], rtol=1e-12)
    np.testing.assert_allclose(got[:, 1], b["upper"], rtol=1e-12)


def test_bootstrap_refits_match_lme4_on_same_responses(sleep_corr):
    b = CI["boot_sleep_corr"]
    TR = np.array([_arr(row) for row in b["t"]])
    Y = _sims("sleep")
    T = bootstrap_params(sleep_corr, responses=Y)
    assert T.shape == TR.shape and not np.isnan(T).any()
    # lme4's default stopping rule leaves sds up to ~5e-4 relative short on flat profiles ...
    scale = np.where(np.abs(TR) > 1, np.abs(TR), 1.0)
    rel = np.nanmax(np.abs(T - TR) / scale, axis=1)
    assert rel.max() < 2e-3
    # ... and where the two differ visibly our REML criterion is as low as lme4's (to 1e-5)
    prob = copy.copy(sleep_corr._problem())
    for i in np.flatnonzero(rel > 2e-4):
        prob.set_response(Y[:, i])
        x, _ = prob.optimize(sleep_corr.optinfo["theta_internal"])
        assert prob.solution_at(x).objective <= b["REMLcrit"][i] + 1e-5
    np.testing.assert_allclose(T[:, 4:], TR[:, 4:], rtol=1e-8)
    lim = np.array([percentile_interval(T[:, j], [0.025, 0.975]) for j in range(T.shape[1])])
    np.testing.assert_allclose(lim[:, 0], b["lower"], rtol=1e-3)
    np.testing.assert_allclose(lim[:, 1], b["upper"], rtol=1e-3)


def test_confint_boot_seeded():
    m = hl.lmer("Yield ~ 1 + (1 | Batch)", hl.load_dataset("Dyestuff"))
    ci = m.confint(method="boot", nsim=40, seed=5)
    assert list(ci.index) == [".sig01", ".sigma", "(Intercept)"]
    draws = bootstrap_params(m, nsim=40, seed=5)
    np.testing.assert_allclose(ci.iloc[:, 0], [percentile_interval(draws[:, j], [0.025])[0] for j in range(3)])
    np.testing.assert_array_equal(ci.to_numpy(), m.confint(method="boot", nsim=40, seed=5).to_numpy())
    assert np.all(ci.iloc[:, 0] < ci.iloc[:, 1])


# -- bootstrap_lrt ------------------------------------------------------------------------------
@pytest.mark.parametrize("case", list(SIM_CASES))
def test_bootstrap_lrt_matches_lme4_refits(case):
    data, f0, f1, _ = SIM_CASES[case]
    ref = BOOT[case]
    assert ref["small"] == f0 and ref["large"] == f1
    d = hl.load_dataset(data)
    res = hl.bootstrap_lrt(hl.lmer(f0, d), hl.lmer(f1, d), responses=_sims(case))
    assert res.nsim == NSIM_REF and res.n_failed == 0
    assert res.statistic == pytest.approx(ref["tobs"], abs=1e-5)
    assert res.df == ref["df"]
    assert res.p_chisq == pytest.approx(ref["p_chisq"], rel=1e-4)
    stats_r = np.array(ref["stats"])
    np.testing.assert_allclose(res.stats, stats_r, atol=1e-4)
    assert res.p_value == pytest.approx(ref["p_standard"], abs=1e-12)
    assert res.p_value_pbkrtest == pytest.approx(ref["p_pbkrtest"], abs=1e-12)


def test_bootstrap_lrt_seed_and_n_jobs():
    sitka = hl.load_dataset("Sitka")
    m0 = hl.lmer(SIM_CASES["sitka"][1], sitka)
    m1 = hl.lmer(SIM_CASES["sitka"][2], sitka)
    a = hl.bootstrap_lrt(m0, m1, nsim=12, seed=7)
    b = hl.bootstrap_lrt(m0, m1, nsim=12, seed=7, n_jobs=2)
    np.testing.assert_array_equal(a.stats, b.stats)
    assert a.p_value == b["p_value"]
    # replicate i refits column i of the ML null fit's simulate(nsim, seed)
    c = hl.bootstrap_lrt(m0, m1, responses=m0.refit_ml().simulate(12, seed=7))
    np.testing.assert_array_equal(a.stats, c.stats)
    assert not np.array_equal(a.stats, hl.bootstrap_lrt(m0, m1, nsim=12, seed=8).stats)
    assert "PBtest" in str(a) and set(a.to_frame().index) == {"LRT", "PBtest"}
    assert 1 / 13 <= a.p_value <= 1


def test_bootstrap_lrt_errors(sleep_corr):
    sleep = hl.load_dataset("sleepstudy")
    m0 = hl.lmer("Reaction ~ Days + (1 | Subject)", sleep)
    with pytest.raises(hl.HierlmError, match="null model"):
        hl.bootstrap_lrt(sleep_corr, m0, nsim=5)
    other = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep.iloc[:170])
    with pytest.raises(hl.HierlmError):
        hl.bootstrap_lrt(m0, other, nsim=5)
    with pytest.raises(hl.HierlmError, match="n_jobs"):
        hl.bootstrap_lrt(m0, sleep_corr, nsim=5, n_jobs=0)


# -- icc ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sleep_int", "penicillin"])
def test_icc_matches_lme4_variance_components(name):
    rec = CI["icc"][name]
    out = hl.icc(hl.lmer(rec["formula"], hl.load_dataset(rec["data"])))
    assert list(out.index) == list(np.atleast_1d(rec["grp"])) and list(out.columns) == ["ICC"]
    np.testing.assert_allclose(out["ICC"], rec["icc"], rtol=1e-4)


def test_icc_sleepstudy_value():
    m = hl.lmer("Reaction ~ 1 + (1 | Subject)", hl.load_dataset("sleepstudy"))
    assert round(float(hl.icc(m).loc["Subject", "ICC"]), 3) == 0.395


def test_icc_rejects_random_slopes(sleep_corr):
    with pytest.raises(hl.HierlmError, match="random-intercept"):
        hl.icc(sleep_corr)
    with pytest.raises(hl.HierlmError):
        hl.icc("not a fit")


if __name__ == "__main__" and "--make-sims" in sys.argv:
    make_sims()
