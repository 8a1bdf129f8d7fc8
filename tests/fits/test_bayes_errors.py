"""Bad input to the Bayesian engine: every mistake raises a HierlmError subclass naming the culprit.

Nothing here samples: each case fails in argument, prior or response validation, before NUTS starts.
"""

import numpy as np
import pandas as pd
import pytest

import hierlm as hl

P = hl.Prior
F = "Reaction ~ Days + (Days | Subject)"


@pytest.fixture(scope="module")
def counts():
    rng = np.random.default_rng(0)
    return pd.DataFrame({"y": rng.poisson(2, 40).astype(float), "n": 5.0, "x": rng.normal(size=40),
                         "g": np.repeat(list("abcdefgh"), 5)})


def _blmer(formula, data, **kw):
    kw.setdefault("progressbar", False)
    kw.setdefault("draws", 10)
    kw.setdefault("tune", 10)
    return hl.blmer(formula, data, **kw)


# -- sampler settings -----------------------------------------------------------------------------
@pytest.mark.parametrize("arg, value, low", [
    ("draws", 0, 1), ("draws", -5, 1), ("draws", 10.0, 1), ("draws", "100", 1), ("draws", True, 1),
    ("tune", -1, 1), ("tune", 2.5, 1), ("tune", "a", 1), ("tune", None, 1), ("tune", 0, 1),
    ("chains", 0, 1), ("chains", -2, 1), ("chains", 2.0, 1), ("chains", "4", 1),
])
def test_counts_must_be_whole_numbers(sleep, arg, value, low):
    with pytest.raises(hl.SamplingError) as err:
        _blmer(F, sleep, **{arg: value})
    msg = str(err.value)
    assert f"{arg} must be a whole number >= {low}" in msg and repr(value) in msg and f"e.g. {arg}=" in msg


@pytest.mark.parametrize("value", ["stan", "NUTS", 3, "nutpi"])
def test_unknown_sampler(sleep, value):
    with pytest.raises(hl.SamplingError, match=r"unknown sampler .*use None .*'nutpie', 'pymc', 'numpyro'"):
        _blmer(F, sleep, sampler=value)


def test_unknown_sampler_suggests_the_closest(sleep):
    with pytest.raises(hl.SamplingError, match="Did you mean 'nutpie'"):
        _blmer(F, sleep, sampler="nutpi")


@pytest.mark.parametrize("value", [0, 1, 1.5, -0.1, "0.9", float("nan"), True, [0.9]])
def test_target_accept_outside_0_1(sleep, value):
    with pytest.raises(hl.SamplingError, match=r"target_accept must be a number between 0 and 1 \(e.g. 0.9\)"):
        _blmer(F, sleep, target_accept=value)


@pytest.mark.parametrize("value", ["maybe", True, 1, 0, ["yes"], "Only"])
def test_bad_sample_prior(sleep, value):
    with pytest.raises(hl.SamplingError) as err:
        _blmer(F, sleep, sample_prior=value)
    assert "sample_prior must be None, 'yes'" in str(err.value) and "'only'" in str(err.value)
    assert repr(value) in str(err.value)


@pytest.mark.parametrize("kw, match", [
    (dict(method="integrated"), "method must be 'auto', 'marginal', 'partial', 'laplace' or 'joint', not 'integrated'"),
    (dict(init="zero"), "init must be 'lmer'"),
    (dict(cores=0), "cores must be a whole number >= 1"),
    (dict(seed=-3), r"seed must be None or a whole number from 0 to 2\*\*63 - 1, got -3"),
    (dict(seed=1.5), "seed must be None or a whole number"),
    (dict(mass_matrix="dense"), "mass_matrix must be 'diag' or 'low_rank', not 'dense'"),
    (dict(draw=10), "unknown argument 'draw'. Did you mean 'draws'"),
    (dict(centred=[True, False], method="joint"), "centred needs one flag per random-effects block"),
    (dict(centred=[True, False]), "centred needs one flag per random-effects block"),  # marginal route too
])
def test_other_settings(sleep, kw, match):
    with pytest.raises(hl.HierlmError, match=match):
        _blmer(F, sleep, **kw)


def test_centred_on_marginal_route_warns(sleep):
    """centred= means nothing when the effects are integrated out: a warning says so, and the fit runs."""
    with pytest.warns(hl.HierlmWarning, match=r"centred=\[True\] has no effect here: .*method='joint'"):
        fit = hl.blmer(F, sleep, centred=[True], draws=100, tune=100, chains=2, seed=1, progressbar=False)
    assert fit.settings["method"] == "marginal"
    assert any("centred=[True] has no effect" in n for n in fit.settings["notes"])


# -- family -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family, match", [
    ("gama", r"unknown family 'gama'.*Did you mean 'gamma'"),
    (hl.family("cumulative", link="cloglog"), "the link 'cloglog' of family 'cumulative' is not available in blmer"),
    (None, r"family must be one of .* \(a string\), not None"),
    (3, r"family must be one of .* not 3"),
])
def test_unknown_family(sleep, family, match):
    with pytest.raises(hl.HierlmError, match=match):
        _blmer(F, sleep, family=family)


# -- priors -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("priors, match", [
    ({"bb": P("normal", sigma=1)}, r"unknown prior class 'bb'; use one of Intercept, b, sd, cor, sigma, shape, nu, phi. "
                                   r"Did you mean 'b'\?"),
    ({("sd", "Subjct"): P("half_normal", sigma=1)}, r"no grouping factor 'Subjct'; the model has \['Subject'\]. "
                                                    r"Did you mean 'Subject'\?"),
    ({("b", "Dayz"): P("normal", sigma=1)}, r"no term 'Dayz' in class 'b'; the terms are \['Days'\]"),
    ({("sd", "Subject", "Dayz"): P("half_normal", sigma=1)}, "no term 'Dayz' in class 'sd'"),
    ({("cor", "Subject", "Days"): P("lkj", eta=2)}, r"is too long: use \('cor', group\)"),
    ({("b", "Days", "x"): P("normal", sigma=1)}, "class 'b' takes at most a term"),
    ({("sigma", "Subject"): P("exponential", lam=1)}, "class 'sigma' is a single parameter"),
    ({"shape": P("exponential", lam=1)}, "'shape' is the shape of the negbinomial, gamma and inverse_gaussian families"),
    ({("b", "(Intercept)"): P("normal", sigma=1)}, "class 'Intercept' \\(on centred predictors\\)"),
    ({"sd": P("normal", sigma=1)}, r"cannot go on class 'sd' \(values positive\); use half_normal"),
    ({"cor": P("normal", sigma=1)}, "cannot go on class 'cor' \\(values corr\\); use lkj"),
    ({"b": P("lkj", eta=2)}, "cannot go on class 'b' \\(values real\\); use normal or student_t"),
    ({"sd": P("laplace", mu=0, b=1)}, "gives negative values a density, and sd is positive"),
    ({"cor": P("laplace", mu=0, b=1)}, "correlations take Prior\\('lkj'"),
    ("normal(0, 1)", "priors must be a dict such as .* or a list of Prior objects, not str"),
    (5, "priors must be a dict .* not int"),
    ({"b": "normal(0, 1)"}, r"the prior for \('b',\) must be a hl.Prior\(...\), not 'normal\(0, 1\)'"),
    ({"b": 3.0}, r"must be a hl.Prior\(...\), not 3.0"),
    ({3: P("normal", sigma=1)}, "prior key 3 is not a parameter: use a class name such as 'b'"),
    ({(): P("normal", sigma=1)}, r"prior key \(\) is not a parameter"),
    ({("b", 3): P("normal", sigma=1)}, r"prior key \('b', 3\) is not a parameter"),
    ([P("normal", sigma=1)], "a list of priors must hold Prior objects with class_ set"),
    ([("b", P("normal", sigma=1))], "a list of priors must hold Prior objects with class_ set"),
])
def test_bad_priors(sleep, priors, match):
    with pytest.raises(hl.HierlmError, match=match):
        _blmer(F, sleep, priors=priors)


def test_sigma_prior_on_a_glmm(counts):
    with pytest.raises(hl.HierlmError, match="'sigma' is the residual scale of the gaussian, student and lognormal "
                                            "families; this family has none"):
        _blmer("y ~ x + (1 | g)", counts, family="poisson", priors={"sigma": P("exponential", lam=1)})


@pytest.mark.parametrize("make, match", [
    (lambda: P("normal", mu=0, sigma=-1), r"Prior\('normal'\): sigma must be positive, got -1"),
    (lambda: P("half_normal", sigma=0), "sigma must be positive, got 0"),
    (lambda: P("exponential", lam=-2.0), "lam must be positive"),
    (lambda: P("student_t", nu=0, sigma=1), "nu must be positive"),
    (lambda: P("lkj", eta=-1), "eta must be positive"),
    (lambda: P("gamma", alpha=2, beta=-1), "beta must be positive"),
    (lambda: P("normal", sigma="1"), "sigma must be a finite number, got '1'"),
    (lambda: P("normal", sigma=float("inf")), "sigma must be a finite number, got inf"),
    (lambda: P("normal", sigma=True), "sigma must be a finite number, got True"),
    (lambda: P("normal", mu=0), r"needs sigma, e.g. Prior\('normal', sigma=1\)"),
    (lambda: P("normal", sd=1), "has no parameter 'sd'; its parameters are mu, sigma"),
    (lambda: P("nromal", sigma=1), "unknown prior distribution 'nromal'.* Did you mean 'normal'"),
    (lambda: P(3), "Prior needs a distribution name such as 'normal', not 3"),
    (lambda: P("", sigma=1), "Prior needs a distribution name"),
    (lambda: P("laplace", mu=0, b=-1), r"Prior\('laplace'\): b must be positive, got -1"),
    (lambda: P("laplace", mu=0), "is not a valid PyMC Laplace: .*missing 1 required positional argument: 'b'"),
    (lambda: P("laplace", mu=0, b=1, zz=3), "has no parameter 'zz'; PyMC's Laplace takes mu, b"),
    (lambda: P("laplace", mu=0, b="x"), "b must be a finite number, got 'x'"),
])
def test_bad_prior_objects(make, match):
    with pytest.raises(hl.HierlmError, match=match):
        make()


# -- responses ----------------------------------------------------------------------------------------
def test_negative_counts_poisson(counts):
    bad = counts.assign(y=counts.y.where(counts.index != 3, -1))
    with pytest.raises(hl.DataError, match=r"negative counts in the response 'y' \(1 row\(s\), first at row 3, "
                                           r"e.g. -1\); family='poisson' needs counts 0, 1, 2"):
        _blmer("y ~ x + (1 | g)", bad, family="poisson")


def test_negative_counts_negbinomial(counts):
    bad = counts.assign(y=counts.y.where(counts.index != 7, -2))
    with pytest.raises(hl.DataError, match="negative counts .*first at row 7.*family='negbinomial'"):
        _blmer("y ~ x + (1 | g)", bad, family="negbinomial")


def test_fractional_counts_poisson(counts):
    with pytest.raises(hl.DataError, match=r"non-integer counts in the response 'y' .* offset\(log\(exposure\)\)"):
        _blmer("y ~ x + (1 | g)", counts.assign(y=counts.y + 0.5), family="poisson")


def test_binomial_successes_above_trials(counts):
    bad = counts.assign(y=counts.y.where(counts.index != 5, 7))  # 7 successes of 5 trials
    with pytest.raises(hl.DataError, match=r"negative failures in the binomial response 'cbind\(y, n - y\)' .*"
                                           r"more successes than trials\?"):
        _blmer("cbind(y, n - y) ~ x + (1 | g)", bad, family="binomial")


def test_binomial_proportion_above_one(counts):
    bad = counts.assign(p=counts.y / 5 + (counts.index == 2) * 1.0)
    with pytest.raises(hl.DataError, match=r"binomial proportion 'p' must lie in \[0, 1\] \(successes above trials\?\)"
                                           r".*first at row 2"):
        _blmer("p ~ x + (1 | g)", bad, family="binomial", weights="n")


def test_binomial_proportion_without_trials(counts):
    with pytest.raises(hl.DataError, match="a binomial response is 0/1, a proportion with weights="):
        _blmer("p ~ x + (1 | g)", counts.assign(p=counts.y / 5 + 0.5), family="binomial")


@pytest.mark.parametrize("value", [2.0, -1.0, 0.5])
def test_bernoulli_needs_0_1(counts, value):
    z = (counts.y > 2).astype(float)
    z[4] = value
    with pytest.raises(hl.DataError, match=rf"the response 'z' has values such as \[{value}\] \(1 row\(s\), first at "
                                           r"row 4\); family='bernoulli' needs a binary response \(0/1"):
        _blmer("z ~ x + (1 | g)", counts.assign(z=z), family="bernoulli")


def test_bernoulli_three_level_factor(counts):
    z = pd.Categorical(np.array(["a", "b", "c", "a"] * 10))
    with pytest.raises(hl.DataError, match=r"factor with 3 levels \['a', 'b', 'c'\]; family='bernoulli' needs two"):
        _blmer("z ~ x + (1 | g)", counts.assign(z=z), family="bernoulli")


def test_bernoulli_takes_no_weights(counts):
    with pytest.raises(hl.DataError, match="family='bernoulli' takes no weights"):
        _blmer("z ~ x + (1 | g)", counts.assign(z=(counts.y > 2) * 1.0), family="bernoulli", weights="n")


def test_poisson_weights_point_to_offset(counts):
    with pytest.raises(hl.DataError,
                       match=r"weights= is not available for family='poisson' .*offset\(log\(exposure\)\)"):
        _blmer("y ~ x + (1 | g)", counts, family="poisson", weights="n")


def test_gaussian_zero_weight_rows_are_dropped(counts):
    """Every engine drops rows of weight 0 from n, as R's lm() does (they used to be refused by blmer and
    counted by lmer)."""
    with pytest.warns(hl.HierlmWarning, match=r"1 row\(s\) with weight 0 dropped"):
        fit = _blmer("y ~ x + (1 | g)", counts.assign(w=(counts.index > 0) * 1.0), weights="w")
    assert fit.nobs() == len(counts) - 1


def test_infinite_response(counts):
    with pytest.raises(hl.DataError, match=r"column 'y' has 1 infinite value\(s\) \(first at row 3\)"):
        _blmer("y ~ x + (1 | g)", counts.assign(y=counts.y.where(counts.index != 3, np.inf)))


def test_marginal_refused_for_glmm(counts):
    with pytest.raises(hl.SamplingError, match="method='marginal' needs a Gaussian model .*family 'poisson'"):
        _blmer("y ~ x + (1 | g)", counts, family="poisson", method="marginal")
