"""The family table: links, R's numbers for Gamma / inverse Gaussian, hl.family, engine support and bad input.

R values below come from R 4.2 (stats):

    y <- c(0.5, 1.2, 3.0, 7.5); mu <- c(0.8, 1.0, 2.5, 9.0); wt <- c(1, 2, 1, 0.5)
    f <- Gamma(); f$variance(mu); d <- f$dev.resids(y, mu, wt); f$aic(y, 1, mu, wt, sum(d))   # idem inverse.gaussian()
    eta <- c(-2, -0.3, 0.4, 1.7); L <- make.link("probit"); L$linkinv(eta); L$mu.eta(eta)
    L$linkfun(c(0.1, 0.35, 0.6, 0.95))                                # idem "cloglog"
    eta2 <- c(0.2, 0.5, 1.3, 4); make.link("inverse"); make.link("1/mu^2")  # at eta2
"""

from __future__ import annotations

import numpy as np
import pytest

from hierlm.design.family import FAMILIES, FAMILY_TABLE, Family, family, get_family
from hierlm.design.links import LINKS, get_link, latent_distribution
from hierlm.design.response import GlmResponse
from hierlm.errors import DataError, HierlmError

Y = np.array([0.5, 1.2, 3.0, 7.5])
MU = np.array([0.8, 1.0, 2.5, 9.0])
WT = np.array([1, 2, 1, 0.5])
ETA = np.array([-2, -0.3, 0.4, 1.7])
ETA2 = np.array([0.2, 0.5, 1.3, 4])
P = np.array([0.1, 0.35, 0.6, 0.95])

R_FAMILY = {
    "gamma": {"variance": [0.64, 1, 6.25, 81],
              "dev": [0.190007258491471, 0.0707137728241815, 0.0353568864120908, 0.0156548901272879],
              "aic": 6.36392535145694},
    "inverse_gaussian": {"variance": [0.512, 1, 15.625, 729],
                         "dev": [0.28125, 0.0666666666666666, 0.0133333333333333, 0.00185185185185185],
                         "aic": 8.77595415718228},
}
R_LINKS = {  # linkinv(eta), mu.eta(eta), linkfun(P)
    "probit": (ETA, [0.0227501319481792, 0.382088577811047, 0.655421741610324, 0.955434537241457],
               [0.0539909665131881, 0.381387815460524, 0.368270140303323, 0.0940490773768869],
               [-1.2815515655446, -0.385320466407568, 0.2533471031358, 1.64485362695147]),
    "cloglog": (ETA, [0.126576981506883, 0.523276309285406, 0.775038206450082, 0.995805358458611],
                [0.118204951593143, 0.353165596312007, 0.335603559643445, 0.022961247124719],
                [-2.25036732731245, -0.842150990724733, -0.0874215717907552, 1.09718870036495]),
    "inverse": (ETA2, [5, 2, 0.769230769230769, 0.25], [-25, -4, -0.591715976331361, -0.0625],
                [10, 2.85714285714286, 1.66666666666667, 1.05263157894737]),
    "1/mu^2": (ETA2, [2.23606797749979, 1.41421356237309, 0.877058019307029, 0.5],
               [-5.59016994374947, -1.41421356237309, -0.33733000742578, -0.0625],
               [100, 8.16326530612245, 2.77777777777778, 1.10803324099723]),
}


@pytest.mark.parametrize("name", sorted(R_LINKS))
def test_links_match_r(name):
    eta, inv, mu_eta, fun = R_LINKS[name]
    lk = LINKS[name]
    np.testing.assert_allclose(lk.linkinv(eta), inv, rtol=1e-12)
    np.testing.assert_allclose(lk.mu_eta(eta), mu_eta, rtol=1e-12)
    np.testing.assert_allclose(lk.linkfun(P), fun, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(R_FAMILY))
def test_dispersion_families_match_r(name):
    ref = R_FAMILY[name]
    fam = family(name)
    np.testing.assert_allclose(fam.variance(MU), ref["variance"], rtol=1e-13)
    np.testing.assert_allclose(fam.dev_resids(Y, MU, WT), ref["dev"], rtol=1e-12)
    resp = GlmResponse(Y, np.ones(4), WT)
    assert fam.aic(resp, MU) == pytest.approx(ref["aic"], rel=1e-12)
    # logLik without the +2 of aic(), at the mean-deviance dispersion
    assert -2 * fam.loglik(resp, MU) + 2 == pytest.approx(ref["aic"], rel=1e-12)
    assert fam.has_dispersion and fam.mustart(resp).tolist() == Y.tolist()


def test_defaults_names_and_engines():
    assert [family(n).link.name for n in ("binomial", "gamma", "inverse_gaussian", "poisson", "cumulative")] == [
        "logit", "inverse", "1/mu^2", "log", "logit"]
    assert family("Gamma", link="log").r_name == "Gamma"
    assert family("inverse.gaussian").r_name == "inverse.gaussian"
    assert family("bernoulli", "cloglog").r_name == "binomial"
    f = family("binomial", link="probit")
    assert f == "binomial" and f != family("binomial") and f == get_family("binomial", "probit")
    assert f.engines == ("frequentist", "bayesian") and not f.canonical
    assert family("student").engines == ("bayesian",)
    assert family("cumulative", "probit").is_ordinal
    assert get_link("inverse_squared") is LINKS["1/mu^2"]
    assert set(FAMILIES) == set(FAMILY_TABLE)
    assert all(isinstance(f, Family) and f.canonical for f in FAMILIES.values())
    # a Family passes through; a link re-links it
    assert get_family(f) is f and get_family(f, "cloglog").link.name == "cloglog"


def test_link_not_taken_names_family_and_links():
    with pytest.raises(HierlmError, match=r"family 'gamma' does not take the link 'logit'; it takes 'inverse' "
                                          r"\(the default\), 'log', 'identity'"):
        family("gamma", link="logit")
    with pytest.raises(HierlmError, match="family 'binomial' does not take the link 'log'.*'logit'.*'probit'"):
        family("binomial", link="log")
    with pytest.raises(HierlmError, match="does not take the link 'nonsense'"):
        family("poisson", link="nonsense")
    with pytest.raises(DataError, match=r"unknown family 'gama'; use one of \['bernoulli', 'beta', .*Did you mean "
                                        r"'gamma'"):
        family("gama")


def test_require_engine_points_to_the_other_engine():
    with pytest.raises(HierlmError, match=r"family 'student' is not available in glmer.*hl\.blmer\(formula, data, "
                                          r"family='student'\)"):
        family("student").require_engine("frequentist", "glmer")
    with pytest.raises(HierlmError, match="link 'cloglog' of family 'cumulative' is not available in blmer; it takes "
                                          "'logit', 'probit'.*hl.glmer"):
        family("cumulative", "cloglog").require_engine("bayesian")
    assert family("gamma", "log").require_engine("frequentist") == "gamma"


def test_bayesian_only_families_have_no_glm_numerics():
    with pytest.raises(HierlmError, match="family 'beta' has no variance function"):
        family("beta").variance(np.array([0.5]))


@pytest.mark.parametrize("name", ["gamma", "inverse_gaussian", "lognormal"])
def test_positive_response_check(name):
    with pytest.raises(DataError, match=rf"the response 'rt' has 2 value\(s\) <= 0 \(first at row 'b': 0\); "
                                        rf"family '{name}' needs a positive response"):
        family(name).check_response(np.array([1.0, 0.0, -2.0]), np.array(["a", "b", "c"]), "rt")
    family(name).check_response(np.array([0.1, 2.0]))


def test_beta_response_check_counts_rows():
    with pytest.raises(DataError, match=r"3 value\(s\) outside \(0, 1\)"):
        family("beta").check_response(np.array([0.2, 0.0, 1.0, 1.5]))


def test_latent_distributions():
    x = np.array([-3.0, -0.5, 0.0, 1.2])
    for name in ("logit", "probit", "cloglog"):
        d = latent_distribution(name)
        np.testing.assert_allclose(d.cdf(x) + d.sf(x), 1.0, rtol=1e-14)
        h = 1e-6
        np.testing.assert_allclose((d.cdf(x + h) - d.cdf(x - h)) / (2 * h), d.pdf(x), rtol=1e-7)
        np.testing.assert_allclose((d.pdf(x + h) - d.pdf(x - h)) / (2 * h), d.dpdf(x), rtol=1e-6, atol=1e-10)
    with pytest.raises(HierlmError, match="cumulative models take logit, probit, cloglog"):
        latent_distribution("log")
