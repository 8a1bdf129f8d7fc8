"""Parameter recovery of hl.blmer on simulated data with known truth (hierlm.recovery).

Coverage is counted over several seeds and parameters rather than checked on one brittle fit: the
thresholds are the 0.1% lower tail of a Binomial(k, 0.95) count.  Interval widths must shrink as
the design grows.  Fast: small designs; slow: 60 groups × 20 observations (the bench's large design).
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import hierlm as hl
from hierlm.services.validation.recovery import full_truth, recovery, simulate_data

GAUSS = ("y ~ x + (x | g)", "gaussian", {"beta": [1.0, 0.5], "sd": [[1.0, 0.4]], "cor": [0.3], "sigma": 0.8})
POIS = ("y ~ x + (1 | g)", "poisson", {"beta": [0.5, 0.3], "sd": [[0.6]]})
FAST = dict(draws=400, tune=400, chains=2)


def template(groups, per_group, seed=11):
    rng = np.random.default_rng([seed, groups, per_group])
    return pd.DataFrame({"y": 0.0, "x": rng.normal(0.0, 1.0, groups * per_group),
                         "g": np.repeat([f"g{j:02d}" for j in range(groups)], per_group)})


def min_covered(k: int) -> int:
    """Smallest count of covered intervals (out of k) not in the 0.1% lower tail of Binomial(k, 0.95)."""
    return int(stats.binom.ppf(1e-3, k, 0.95))


def test_truth_checks():
    from hierlm.design import make_design

    design = make_design("y ~ x + (x | g)", template(4, 3))
    t = full_truth(design, "gaussian", {"beta": {"(Intercept)": 1, "x": 2}, "sd": [[1, 0.5]], "cor": [-0.2],
                                        "sigma": 1})
    np.testing.assert_array_equal(t["beta"], [1, 2])
    assert t["cor"][0][0, 1] == -0.2
    with pytest.raises(hl.HierlmError, match=r"truth\['beta'\] needs 2 values"):
        full_truth(design, "gaussian", {"beta": [1], "sd": [[1, 1]], "sigma": 1})
    with pytest.raises(hl.HierlmError, match="needs truth\\['sigma'\\]"):
        full_truth(design, "gaussian", {"beta": [1, 1], "sd": [[1, 1]]})
    with pytest.raises(hl.HierlmError, match="2 non-negative values"):
        full_truth(design, "gaussian", {"beta": [1, 1], "sd": [[1]], "sigma": 1})


def test_simulated_data_have_the_truth():
    """Large simulated data: lmer's estimates land on the truth (the simulator itself is right)."""
    formula, family, truth = GAUSS
    d = template(300, 20)
    from hierlm.design import make_design

    design = make_design(formula, d)
    sim = simulate_data(design, family, full_truth(design, family, truth), np.random.default_rng(1), d, "y")
    m = hl.lmer(formula, sim)
    np.testing.assert_allclose(m.fixef()["Estimate"], truth["beta"], atol=0.15)
    np.testing.assert_allclose(m.varcorr()["sdcor"], [1.0, 0.4, 0.3, 0.8], atol=0.1)


@pytest.fixture(scope="module")
def gauss_small():
    formula, family, truth = GAUSS
    return recovery(formula, template(8, 5), family=family, truth=truth, n_reps=8, seed=1, **FAST)


def test_small_gaussian_coverage(gauss_small):
    tab = gauss_small
    assert list(tab.index) == ["b_(Intercept)", "b_x", "sd(g: (Intercept))", "sd(g: x)", "cor(g: (Intercept),x)",
                               "sigma"]
    assert tab["covered"].sum() >= min_covered(int(tab["n"].sum()))
    assert (tab["covered"] >= 5).all()  # no parameter systematically missed (8 replications each)
    assert tab.loc["sigma", "width"] < 1.0 and abs(tab.loc["sigma", "bias"]) < 0.2


def test_widths_shrink_with_the_design(gauss_small):
    formula, family, truth = GAUSS
    mid = recovery(formula, template(24, 10), family=family, truth=truth, n_reps=3, seed=2, **FAST)
    assert mid["covered"].sum() >= min_covered(int(mid["n"].sum()))
    ratio = mid["width"] / gauss_small["width"]
    assert (ratio < 0.8).all(), ratio


def test_small_poisson_coverage():
    formula, family, truth = POIS
    tab = recovery(formula, template(8, 5), family=family, truth=truth, n_reps=8, seed=3, **FAST)
    assert list(tab.index) == ["b_(Intercept)", "b_x", "sd(g: (Intercept))"]
    assert tab["covered"].sum() >= min_covered(int(tab["n"].sum()))
    assert tab["max_rhat"].max() < 1.05


@pytest.mark.slow
@pytest.mark.parametrize("model", [GAUSS, POIS], ids=["gaussian_slopes", "poisson_intercept"])
def test_large_design_coverage_and_widths(model):
    formula, family, truth = model
    small = recovery(formula, template(8, 5), family=family, truth=truth, n_reps=20, seed=5)
    large = recovery(formula, template(60, 20), family=family, truth=truth, n_reps=20, seed=6)
    for tab in (small, large):
        assert tab["covered"].sum() >= min_covered(int(tab["n"].sum()))
    assert large["max_rhat"].max() < 1.01
    ratio = large["width"] / small["width"]
    assert (ratio < 0.6).all(), ratio  # 30x the observations, 7.5x the groups
    assert (large["rmse"] < small["rmse"]).all()
