"""fit.hypothesis(): brms-style one-sided and point (Savage–Dickey) hypotheses on fixed effects."""

import copy
import dataclasses
import warnings

import numpy as np
import pytest
from scipy import stats

import hierlm as hl
from hierlm.services.inference.hypothesis import parse_hypothesis

pytestmark = pytest.mark.xdist_group("hypothesis")  # one worker: the module fixtures are sampled once

FORMULA = "Reaction ~ Days + (Days | Subject)"
KW = {"draws": 500, "tune": 300, "chains": 2, "progressbar": False}
NAMES = ["(Intercept)", "Days", "treatozone", "treatozone:Time", "I(Time^2)"]


def quiet_fit(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hl.SamplingWarning)
        return hl.blmer(*args, **{**KW, **kw})


@pytest.fixture(scope="module")
def b(sleep):
    return quiet_fit(FORMULA, sleep, seed=31)


@pytest.fixture(scope="module")
def b_normal(sleep):
    """Normal(0, 5) prior on Days: prior and posterior both near-normal."""
    return quiet_fit(FORMULA, sleep, seed=32, priors={"b": hl.Prior("normal", mu=0, sigma=5)})


# -- parsing ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, a, c, op", [
    ("Days > 5", [0, 1, 0, 0, 0], -5, ">"),
    ("Days - 2*treatozone = 0", [0, 1, -2, 0, 0], 0, "="),
    ("(Intercept) + 3 * Days <= 300", [1, 3, 0, 0, 0], -300, "<"),
    ("Intercept < 250", [1, 0, 0, 0, 0], -250, "<"),
    ("treatozone:Time == -treatozone/2", [0, 0, 0.5, 1, 0], 0, "="),
    ("I(Time^2) * 1e3 > 0.5", [0, 0, 0, 0, 1000], -0.5, ">"),
    ("`treatozone:Time` - (Days - 1) * 2 > 0", [0, -2, 0, 1, 0], 2, ">"),
    ("2*(Days + 1) = Days", [0, 1, 0, 0, 0], 2, "="),
])
def test_parse(text, a, c, op):
    got_a, got_c, got_op, _ = parse_hypothesis(text, NAMES)
    np.testing.assert_allclose(got_a, a)
    assert got_c == pytest.approx(c) and got_op == op


def test_parse_names_with_operators_and_spaces():
    names = ["(Intercept)", "I(Days > 4)TRUE", "VarietyGolden Rain:BlockII"]
    a, c, op, label = parse_hypothesis("I(Days > 4)TRUE >= 2 * VarietyGolden Rain:BlockII", names)
    assert a.tolist() == [0, 1, -2] and c == 0 and op == ">"
    assert label == "(I(Days > 4)TRUE)-(2 * VarietyGolden Rain:BlockII) > 0"


def test_parse_label_like_brms():
    assert parse_hypothesis("Days > 5", NAMES)[3] == "(Days)-(5) > 0"
    assert parse_hypothesis("Days < 0", NAMES)[3] == "(Days) < 0"


@pytest.mark.parametrize("text, msg", [
    ("Dyas > 5", "'Dyas' is not a fixed effect.*Did you mean 'Days'"),
    ("Days * treatozone > 0", "product of two coefficients is not linear"),
    ("Days / treatozone > 0", "divide only by a non-zero number"),
    ("Days", "needs exactly one of <, > or ="),
    ("Days > 1 > 0", "needs exactly one"),
    ("Days - Days = 0", "involves no fixed effect"),
    ("(Days > 5", "unbalanced parentheses"),
    ("> 5", "one side of the comparison is empty"),
    ("2Days > 1", "'2Days' is not a fixed effect"),
])
def test_parse_errors(text, msg):
    with pytest.raises(hl.HierlmError, match=msg):
        parse_hypothesis(text, NAMES)


# -- one-sided -------------------------------------------------------------------------------------
def test_days_greater_than_5(b):
    h = b.hypothesis("Days > 5")
    assert h.columns.tolist() == ["Hypothesis", "Estimate", "Est.Error", "CI.Lower", "CI.Upper", "Evid.Ratio",
                                  "Post.Prob", "Star"]
    row = h.loc["Days > 5"]
    days = b.posterior["beta"].values[..., 1].ravel()
    assert row["Post.Prob"] == pytest.approx(1.0, abs=0.01)  # lme4: 10.47 (SE 1.55) -> 3.5 SE above 5
    assert row["Post.Prob"] == pytest.approx(np.mean(days > 5))
    assert row["Estimate"] == pytest.approx(days.mean() - 5) and row["Est.Error"] == pytest.approx(days.std(ddof=1))
    assert row["CI.Lower"] == pytest.approx(np.quantile(days, 0.05) - 5) and row["CI.Upper"] == np.inf
    assert row["Evid.Ratio"] > 99 and row["Star"] == "*"


def test_one_sided_less_and_lists(b):
    h = b.hypothesis(["Days < 5", "(Intercept) - 25*Days < 0"])
    assert h.index.tolist() == ["Days < 5", "(Intercept) - 25*Days < 0"]
    days = b.posterior["beta"].values[..., 1].ravel()
    p = np.mean(days < 5)
    assert h.loc["Days < 5", "Post.Prob"] == pytest.approx(p)
    assert h.loc["Days < 5", "CI.Lower"] == -np.inf
    assert h.loc["Days < 5", "Star"] == ""
    beta = b.posterior["beta"].values.reshape(-1, 2)
    comb = beta[:, 0] - 25 * beta[:, 1]
    assert h.iloc[1]["Estimate"] == pytest.approx(comb.mean())
    q = np.mean(comb < 0)
    assert h.iloc[1]["Evid.Ratio"] == pytest.approx(q / (1 - q))


# -- point hypotheses: Savage-Dickey ---------------------------------------------------------------
def test_savage_dickey_matches_normal_ratio(b_normal):
    """Prior N(0, 5) on Days and a near-normal posterior: BF01 at 9 ≈ N(9; m, s) / N(9; 0, 5)."""
    days = b_normal.posterior["beta"].values[..., 1].ravel()
    m, s = days.mean(), days.std(ddof=1)
    expected = stats.norm.pdf(9, m, s) / stats.norm.pdf(9, 0, 5)
    h = b_normal.hypothesis("Days = 9")
    dens = h.attrs["densities"]["Days = 9"]
    assert dens["prior"] == pytest.approx(stats.norm.pdf(9, 0, 5), rel=1e-12) and dens["prior_method"] == \
        "normal (exact)"
    assert h.loc["Days = 9", "Evid.Ratio"] == pytest.approx(expected, rel=0.15)  # KDE vs normal approximation
    er = h.loc["Days = 9", "Evid.Ratio"]
    assert h.loc["Days = 9", "Post.Prob"] == pytest.approx(er / (1 + er))
    assert h.loc["Days = 9", "CI.Lower"] == pytest.approx(np.quantile(days, 0.025) - 9)
    normal = b_normal.hypothesis("Days = 9", density="normal")
    assert normal.loc["Days = 9", "Evid.Ratio"] == pytest.approx(expected, rel=1e-9)
    far = b_normal.hypothesis("Days = 0")  # 0 is far in the posterior's tail: strong evidence against
    assert far.iloc[0]["Evid.Ratio"] < 0.01 and far.iloc[0]["Star"] == "*"


def test_intercept_prior_is_on_centred_predictors(b, sleep):
    """The lme4 intercept is Intercept_c - mean(Days) b_Days, so its prior is N(mu_c, sqrt(s_c^2 + 4.5^2 s_b^2))."""
    pri = hl.get_priors(FORMULA, sleep)
    y = sleep["Reaction"]
    s_c, s_b = 2.5 * y.std(), 2.5 * y.std() / sleep["Days"].std()
    assert pri["prior"].iloc[0] == f"normal({y.mean():.4g}, {s_c:.4g})" and pri["prior"].iloc[1] == f"normal(0, {s_b:.4g})"
    h = b.hypothesis(["(Intercept) = 250", "(Intercept) + 5*Days = 300"])
    xm = sleep["Days"].mean()
    d = h.attrs["densities"]
    assert d["(Intercept) = 250"]["prior"] == pytest.approx(stats.norm.pdf(250, y.mean(), np.hypot(s_c, xm * s_b)))
    assert d["(Intercept) + 5*Days = 300"]["prior"] == pytest.approx(
        stats.norm.pdf(300, y.mean(), np.hypot(s_c, (5 - xm) * s_b)))


def test_non_normal_priors(sleep):
    b = quiet_fit(FORMULA, sleep, seed=33, priors={"b": hl.Prior("student_t", nu=3, mu=0, sigma=5)})
    h = b.hypothesis(["Days = 9", "(Intercept) = 250"])
    d = h.attrs["densities"]
    assert d["Days = 9"]["prior_method"] == "student_t (exact)"
    assert d["Days = 9"]["prior"] == pytest.approx(stats.t.pdf(9, 3, 0, 5), rel=1e-6)
    # the intercept mixes a normal and a Student t prior: prior draws and a KDE
    assert d["(Intercept) = 250"]["prior_method"] == "prior draws + KDE"
    mu, s_c = sleep["Reaction"].mean(), 2.5 * sleep["Reaction"].std()
    rng = np.random.default_rng(0)
    draws = rng.normal(mu, s_c, 400_000) - 4.5 * 5 * rng.standard_t(3, 400_000)
    assert d["(Intercept) = 250"]["prior"] == pytest.approx(stats.gaussian_kde(draws[::20])(250)[0], rel=0.03)


def test_refusals(b):
    flat = copy.copy(b)
    flat.spec = dataclasses.replace(b.spec, beta_priors=[b.spec.beta_priors[0], hl.Prior("flat")])
    with pytest.raises(hl.HierlmError, match="improper"):
        flat.hypothesis("Days = 10")
    assert flat.hypothesis("Days > 10").shape == (1, 8)  # one-sided needs no prior density
    with pytest.raises(hl.HierlmError, match="alpha must be"):
        b.hypothesis("Days > 1", alpha=0.7)
    with pytest.raises(hl.HierlmError, match="density must be"):
        b.hypothesis("Days = 1", density="spline")
    with pytest.raises(hl.HierlmError, match="a string such as"):
        b.hypothesis(5)


@pytest.mark.slow
def test_analytic_prior_density_matches_prior_draws(b, sleep):
    """hl.blmer(sample_prior="only") draws the default priors through PyMC: the density of the lme4
    intercept (a combination of the centred intercept and the slope) agrees with the analytic one."""
    prior = hl.blmer(FORMULA, sleep, draws=4000, chains=2, seed=1, progressbar=False, sample_prior="only")
    beta = prior.posterior["beta"].values.reshape(-1, 2)
    for text, a, c in [("(Intercept) = 250", [1, 0], -250), ("(Intercept) + 5*Days = 300", [1, 5], -300),
                       ("Days = 3", [0, 1], -3)]:
        kde = stats.gaussian_kde(beta @ np.array(a, float) + c)(0.0)[0]
        analytic = b.hypothesis(text).attrs["densities"][text]["prior"]
        assert analytic == pytest.approx(kde, rel=0.08)
