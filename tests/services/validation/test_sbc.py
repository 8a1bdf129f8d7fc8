"""Simulation-based calibration of hl.blmer (hierlm.sbc): the pieces, a light run, and the full run (slow).

The light run (20 replications of a small correlated-slopes model) checks that ranks are in range,
that the correctly specified setup passes a loose uniformity test, and that a deliberately
miscalibrated one (data simulated from a prior other than the one fitted) fails it.  The slow run
repeats ``python -m bench --only sbc`` at 200 replications per model and asserts no parameter is
rejected at 1% after Holm's correction.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import hierlm as hl
from hierlm.fits.bayes_setup import prepare
from hierlm.services.validation.prior_sim import draw_prior, lkj_corr, simulate_response
from hierlm.engines.bayes.priors import resolve_priors
from hierlm.services.validation.sbc import holm, rank_uniformity, sbc, thin_draws

P = hl.Prior
PRIORS = {"Intercept": P("normal", mu=1, sigma=1), "b": P("normal", mu=0, sigma=1),
          ("sd", "g", "(Intercept)"): P("half_normal", sigma=1), ("sd", "g", "x"): P("half_normal", sigma=0.5),
          "cor": P("lkj", eta=2), "sigma": P("exponential", lam=1)}


def template(J=8, n=5, seed=0, loc=2.0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"y": 0.0, "x": rng.normal(loc, 1.0, J * n), "g": np.repeat([f"g{j}" for j in range(J)], n)})


# -- pieces ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("q, eta", [(2, 2.0), (3, 1.0), (4, 3.0)])
def test_lkj_marginals(q, eta):
    """Each correlation of LKJ(η) in dimension q is 2·Beta(b, b) − 1 with b = η − 1 + q/2."""
    rng = np.random.default_rng(1)
    C = np.array([lkj_corr(q, eta, rng) for _ in range(4000)])
    assert np.allclose(C, np.swapaxes(C, 1, 2)) and np.allclose(C[:, np.arange(q), np.arange(q)], 1)
    assert np.all(np.linalg.eigvalsh(C) > 0)
    b = eta - 1 + q / 2
    for i, j in [(0, 1), (q - 2, q - 1)]:
        u = (C[:, i, j] + 1) / 2
        assert stats.kstest(u, stats.beta(b, b).cdf).pvalue > 0.001


def test_draw_prior_follows_the_priors_and_the_centred_intercept():
    d = template(J=8, n=5)
    design, fam, resp = prepare("y ~ x + (x | g)", d, "gaussian", check_response=False)
    pri = resolve_priors(design, "gaussian", PRIORS, resp)
    rng = np.random.default_rng(3)
    draws = [draw_prior(pri, design, "gaussian", rng) for _ in range(3000)]
    icpt = np.array([t["Intercept"] for t in draws])
    beta = np.array([t["beta"] for t in draws])
    xbar = d["x"].mean()
    np.testing.assert_allclose(beta[:, 0], icpt - xbar * beta[:, 1])  # lme4 intercept = centred one − x̄ b
    assert stats.kstest(icpt, stats.norm(1, 1).cdf).pvalue > 0.001
    sd_x = np.array([t["sd"][0][1] for t in draws])
    assert stats.kstest(sd_x, stats.halfnorm(scale=0.5).cdf).pvalue > 0.001
    sig = np.array([t["sigma"] for t in draws])
    assert stats.kstest(sig, stats.expon(scale=1.0).cdf).pvalue > 0.001
    r = np.concatenate([t["r"][0] / t["sd"][0] for t in draws])  # standardised random effects: N(0, C)
    assert abs(r.std(axis=0) - 1).max() < 0.03
    y = simulate_response(design, "gaussian", draws[0], rng)
    assert y.shape == (40,) and np.all(np.isfinite(y))


def test_thin_and_holm():
    x = np.arange(2000.0).reshape(2, 1000, 1)
    kept = thin_draws(x, thin=10, n_keep=99)
    assert kept.shape == (99, 1) and kept[0, 0] == 0 and kept[-1, 0] == 1990
    with pytest.raises(hl.HierlmError, match="fewer than n_keep=99"):
        thin_draws(x, thin=30, n_keep=99)
    np.testing.assert_allclose(holm(np.array([0.001, 0.02, 0.5, 0.04])), [0.004, 0.06, 0.5, 0.08])


def test_rank_uniformity_table():
    rng = np.random.default_rng(0)
    ranks = pd.DataFrame({"fair": rng.integers(0, 100, 400), "skewed": np.minimum(rng.integers(0, 100, 400),
                                                                                  rng.integers(0, 100, 400))})
    tab = rank_uniformity(ranks, n_keep=99, bins=10)
    assert tab.loc["fair", "ok"] and not tab.loc["skewed", "ok"]
    assert tab.loc["skewed", "p_holm"] == pytest.approx(min(1, 2 * tab.loc["skewed", "p"]))
    assert sum(tab.loc["fair", "counts"]) == 400
    with pytest.raises(hl.HierlmError, match="does not divide the 100 possible ranks"):
        rank_uniformity(ranks, n_keep=99, bins=7)


def test_sbc_needs_explicit_priors():
    with pytest.raises(hl.HierlmError, match="explicit prior for every parameter.*missing: sd g x, cor g, sigma"):
        sbc("y ~ x + (x | g)", template(), priors={"Intercept": PRIORS["Intercept"], "b": PRIORS["b"],
                                                   ("sd", "g", "(Intercept)"): P("half_normal", sigma=1)}, n_reps=2)
    # a prior for a parameter the family does not have is named, not ignored
    with pytest.raises(hl.HierlmError, match="'sigma' is the residual scale of the gaussian.*this family has none"):
        sbc("y ~ x + (x | g)", template(), family="binomial", priors=PRIORS, n_reps=2)


# -- light runs ------------------------------------------------------------------------------------------
LIGHT = dict(n_reps=20, draws=100, tune=200, chains=2, thin=2, n_keep=99, bins=5, seed=11)


@pytest.fixture(scope="module")
def light():
    return sbc("y ~ x + (x | g)", template(), priors=PRIORS, **LIGHT)


def test_light_sbc_ranks_and_pass(light):
    r = light.ranks
    assert r.shape == (20, 11) and light.n_failed == 0
    assert list(r.columns[:7]) == ["b_(Intercept)", "b_x", "Intercept (centred)", "sd(g: (Intercept))", "sd(g: x)",
                                   "cor(g: (Intercept),x)", "sigma"]
    assert r.columns[7] == "r(g[g0]: (Intercept))"
    assert ((r >= 0) & (r <= 99)).all().all() and np.all(r == np.round(r))
    assert r.std().min() > 10  # ranks spread over the range, not stuck
    assert light.table["p_holm"].min() > 0.001  # correctly specified: passes at a loose level
    assert "PASS" in str(light)


def test_light_sbc_catches_a_wrong_prior(light):
    wrong = dict(PRIORS, Intercept=P("normal", mu=4, sigma=1))  # data from elsewhere than the fitted prior
    bad = sbc("y ~ x + (x | g)", template(), priors=PRIORS, simulate_priors=wrong, **LIGHT)
    assert bad.table.loc["Intercept (centred)", "p_holm"] < 0.01
    assert bad.table.loc["Intercept (centred)", "mean_rank"] > 70  # truths sit above the posterior
    assert not bad.passed()
    # the same seed draws the same noise: only the prior's location differs
    assert light.table.loc["Intercept (centred)", "p_holm"] > 0.01


# -- the full run -------------------------------------------------------------------------------------------
def _full_templates():
    rng = np.random.default_rng(20240611)
    J, n = 15, 8
    g = np.repeat([f"g{j:02d}" for j in range(J)], n)
    gauss = pd.DataFrame({"y": 0.0, "x": rng.normal(2.0, 1.0, J * n), "g": g})
    pois = pd.DataFrame({"y": 0.0, "x": rng.uniform(0.0, 2.0, J * n), "g": g})
    ppri = {"Intercept": P("normal", mu=1, sigma=0.5), "b": P("normal", mu=0, sigma=0.5),
            "sd": P("half_normal", sigma=0.7)}
    return [("y ~ x + (x | g)", gauss, "gaussian", PRIORS, {}),
            ("y ~ x + (1 | g)", pois, "poisson", ppri, {})]


@pytest.mark.slow
@pytest.mark.parametrize("case", [0, 1], ids=["gaussian_slopes", "poisson_intercept"])
def test_full_sbc_200_reps(case):
    formula, data, family, priors, kw = _full_templates()[case]
    res = sbc(formula, data, family=family, priors=priors, n_reps=200, draws=1000, tune=1000, chains=4, thin=40,
              n_keep=99, bins=10, seed=100 + case, n_jobs=2, **kw)
    assert res.n_failed == 0
    assert res.passed(alpha=0.01), str(res)


# -- issue 17's families: student, gamma (log), beta (logit), cumulative (logit) -----------------------------
FAMILIES = ["student", "gamma", "beta", "cumulative"]


def test_recorded_family_sbc_is_uniform():
    """bench/results/sbc_families.json (``python -m bench.sbc --model student --model gamma --model beta
    --model cumulative --out bench/results/sbc_families.json``): 200 replications per family, no fit
    failed, no parameter rejected at 1% after Holm's correction."""
    import json

    from support import ROOT

    res = json.loads((ROOT / "bench" / "results" / "sbc_families.json").read_text())
    assert res["n_reps"] == 200 and res["alpha"] == 0.01
    assert set(FAMILIES) <= set(res["models"])
    for name in FAMILIES:
        m = res["models"][name]
        assert m["n_failed"] == 0 and m["passed"], name
        assert min(p["p_holm"] for p in m["parameters"].values()) > 0.01, name
        assert len(m["ranks"][next(iter(m["ranks"]))]) == 200


@pytest.mark.slow
@pytest.mark.parametrize("name", FAMILIES)
def test_full_sbc_200_reps_families(name):
    """The family SBC of bench/sbc.py rerun (about a minute per family on two cores; beta three)."""
    import bench.sbc as bs

    formula, data, family, priors, kw = bs.templates()[name]
    res = sbc(formula, data, family=bs._family(family), priors=priors, n_reps=200, draws=1000, tune=1000, chains=4,
              thin=40, n_keep=99, bins=10, seed=300 + FAMILIES.index(name), n_jobs=2, **kw)
    assert res.n_failed == 0
    assert res.passed(alpha=0.01), str(res)
