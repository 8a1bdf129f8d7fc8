"""The families and links beyond the canonical four in the Bayesian engine: the fused joint kernel against
the mirror PyMC model (log density to 1e-9, gradient to 1e-8, at the start values the sampler uses and
around them), the numpy pointwise log-likelihood against the mirror, the default priors and the bad input
``blmer`` refuses."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from support import REF_DIR, reference_json

import hierlm as hl
from hierlm.engines.bayes import families as F
from hierlm.engines.bayes import kernels
from hierlm.engines.bayes import spec as S
from hierlm.engines.bayes.priors import Prior, resolve_priors
from hierlm.engines.bayes.pymc_model import build_model
from hierlm.errors import DataError, HierlmError
from hierlm.fits.bayes_setup import prepare, start_values

REF = reference_json("breadth_reference.json")


def load(name: str) -> pd.DataFrame:
    """A dataset of breadth_reference.json with its factor levels (and ordered responses)."""
    info = REF["datasets"][name]
    if info["file"].startswith("shipped"):
        return hl.load_dataset(name)
    data = pd.read_csv(REF_DIR / "data" / f"{name}.csv")
    for col, levels in info["factors"].items():
        data[col] = pd.Categorical(data[col].astype(str), categories=levels, ordered=col in info["ordered"])
    return data


def cbpp_prop() -> pd.DataFrame:
    d = hl.load_dataset("cbpp")
    return d.assign(p=(d["incidence"] + 0.5) / (d["size"] + 1.0))


def lexdec(rows: int = 600) -> pd.DataFrame:
    return load("fhch2010_lexdec").iloc[:rows]


P = Prior
# name: (formula, data, family, link, priors, centring)
CASES = {
    "student_identity": ("Reaction ~ Days + (Days | Subject)", "sleepstudy", "student", "identity", None, None),
    "student_centred": ("Reaction ~ Days + (Days | Subject)", "sleepstudy", "student", "identity",
                        {"nu": P("exponential", lam=0.1)}, [True]),
    "student_log": ("rt ~ stimulus + (1 | id) + (1 | item)", "lexdec", "student", "log", None, None),
    "lognormal": ("rt ~ stimulus * frequency + (1 | id) + (1 | item)", "lexdec", "lognormal", "identity", None,
                  [True, False]),
    "gamma_log": ("rt ~ stimulus + (1 | id)", "lexdec", "gamma", "log", None, [False]),
    "gamma_inverse": ("Reaction ~ Days + (1 | Subject)", "sleepstudy", "gamma", "inverse", None, None),
    "gamma_identity": ("Reaction ~ Days + (Days | Subject)", "sleepstudy", "gamma", "identity",
                       {"shape": P("exponential", lam=0.05)}, None),
    "invgauss": ("rt ~ stimulus + (1 | id)", "lexdec", "inverse_gaussian", "1/mu^2", None, None),
    "invgauss_log": ("Reaction ~ Days + (1 | Subject)", "sleepstudy", "inverse_gaussian", "log", None, [True]),
    "beta_logit": ("p ~ period + (1 | herd)", "cbpp_prop", "beta", "logit", None, None),
    "beta_probit": ("p ~ period + (1 | herd)", "cbpp_prop", "beta", "probit", None, [True]),
    "beta_cloglog": ("p ~ period + (1 | herd)", "cbpp_prop", "beta", "cloglog", {"phi": P("half_normal", sigma=20)},
                     None),
    "binomial_probit": ("cbind(incidence, size - incidence) ~ period + (1 | herd)", "cbpp", "binomial", "probit", None,
                        None),
    "binomial_cloglog": ("cbind(incidence, size - incidence) ~ period + (1 | herd)", "cbpp", "binomial", "cloglog",
                         None, [True]),
    "bernoulli_probit": ("acc ~ stimulus * frequency + (1 | id) + (1 | item)", "lexdec", "bernoulli", "probit", None,
                         None),
    "bernoulli_cloglog": ("y01 ~ trt + late + (1 | ID)", "bacteria_breadth", "bernoulli", "cloglog", None, None),
    "cumulative_logit": ("rating ~ temp + contact + (1 | judge)", "wine_breadth", "cumulative", "logit", None, None),
    "cumulative_probit": ("rating ~ temp + contact + (1 | judge) + (1 | bottle)", "wine_breadth", "cumulative",
                          "probit", {("Intercept", "2|3"): P("normal", mu=0, sigma=3)}, [True, False]),
    "cumulative_soup": ("SURENESS ~ PROD + (PROD | RESP)", "soup_breadth", "cumulative", "logit", None, None),
}
_DATA = {"lexdec": lexdec, "cbpp_prop": cbpp_prop}


def make(name):
    formula, data, fam, link, priors, cent = CASES[name]
    df = _DATA[data]() if data in _DATA else load(data) if data in REF["datasets"] else hl.load_dataset(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design, fam, resp = prepare(formula, df, hl.family(fam, link=link))
        sp = S.build_spec(design, fam, resp, resolve_priors(design, fam, priors, resp))
        start = start_values(design, fam, resp)
    for b, c in zip(sp.blocks, cent or [False] * len(sp.blocks)):
        b.centred = c
    return sp, start, design, fam, resp


def point_dict(sp, model, x):
    lay, _ = sp.layout()
    return {vv.name: np.asarray(x[sl]).reshape(shape) for vv, (_, sl, shape, _, _) in zip(model.value_vars, lay)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_kernel_matches_mirror_model(name):
    sp, start, *_ = make(name)
    assert start is not None, "the frequentist start failed"
    data, ndim = kernels.pack(sp)
    model = build_model(sp)
    assert [v.name for v in model.value_vars] == sp.value_var_names()
    logp, dlogp = model.compile_logp(), model.compile_dlogp()
    for i in range(3):
        x = S.init_point(sp, i, start)  # the start values, jittered by about one standard error
        g = np.zeros(ndim)
        lp = kernels.logp_grad(x, g, *kernels.kernel_args(data))
        pt = point_dict(sp, model, x)
        ref, gref = logp(pt), dlogp(pt)
        assert np.isfinite(ref)
        assert abs(lp - ref) <= 1e-9 * max(1.0, abs(ref)), (lp, ref)
        np.testing.assert_allclose(g, gref, rtol=1e-8, atol=1e-8 * max(1.0, np.abs(gref).max()))


@pytest.mark.parametrize("name", ["student_log", "gamma_inverse", "invgauss", "beta_probit", "bernoulli_cloglog",
                                  "cumulative_probit"])
def test_pointwise_loglik_sums_to_the_mirror_likelihood(name):
    """The numpy densities (LOO's log_likelihood group) equal PyMC's observed-y log density row by row."""
    sp, start, design, fam, _ = make(name)
    x = S.init_point(sp, 0, start)
    model = build_model(sp)
    pt = point_dict(sp, model, x)
    ref = model.compile_fn(model.logp(vars=[model["y"]], sum=False)[0], inputs=model.value_vars,
                           on_unused_input="ignore")(pt)
    outs = model.replace_rvs_by_values([model["beta"]] + [model[f"r_{b.v}"] for b in sp.blocks]
                                       + [model[a] for a in sp.aux_names]
                                       + ([model["thresholds"]] if sp.ncut else []))
    fn = model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore")
    vals = fn(pt)
    beta, rs = vals[0], vals[1:1 + len(sp.blocks)]
    eta = design.offset + design.X @ beta
    for t, r in zip(design.reterms, rs):
        eta = eta + np.sum(t.values * r[t.index], axis=1)
    aux = {a: np.array([v]) for a, v in zip(sp.aux_names, vals[1 + len(sp.blocks):])}
    if sp.ncut:
        aux["thresholds"] = vals[-1][None, :]
    ll = F.pointwise(fam.name, fam.link.name, sp.y, sp.trials, eta[None, :], aux)[0]
    np.testing.assert_allclose(ll, ref, rtol=1e-9, atol=1e-9)


def test_family_parameters_are_laid_out_after_the_random_effects():
    sp, *_ = make("student_identity")
    assert sp.value_var_names()[-2:] == ["sigma_log__", "nu_log__"]
    sp, *_ = make("cumulative_logit")
    assert not sp.has_intercept and sp.value_var_names()[-1] == "Intercept_ordered__"
    assert sp.threshold_names == ["1|2", "2|3", "3|4", "4|5"]
    np.testing.assert_allclose(sp.X.mean(axis=0), 0, atol=1e-12)  # thresholds at centred predictors, as brms


def test_default_priors_of_the_new_families():
    sleep = hl.load_dataset("sleepstudy")
    y = sleep["Reaction"].to_numpy()
    m, s = y.mean(), y.std(ddof=1)
    tab = hl.get_priors("Reaction ~ Days + (1 | Subject)", sleep, family="student").set_index("class")
    assert tab.loc["nu", "prior"] == "gamma(2, 0.1)" and tab.loc["sigma", "prior"] == f"exponential({1 / s:.4g})"
    tab = hl.get_priors("Reaction ~ Days + (1 | Subject)", sleep, family=hl.family("gamma", link="log"))
    tab = tab.set_index("class")
    cv = s / m
    assert tab.loc["Intercept", "prior"] == f"normal({np.log(m):.4g}, {2.5 * cv:.4g})"
    assert tab.loc["sd", "prior"] == f"half_normal({2.5 * cv:.4g})"
    assert tab.loc["shape", "prior"] == f"gamma(2, {0.5 * cv**2:.4g})"
    ly = np.log(y)
    tab = hl.get_priors("Reaction ~ Days + (1 | Subject)", sleep, family="lognormal").set_index("class")
    assert tab.loc["Intercept", "prior"] == f"normal({ly.mean():.4g}, {2.5 * ly.std(ddof=1):.4g})"
    tab = hl.get_priors("rating ~ temp + contact + (1 | judge)", load("wine_breadth"), family="cumulative")
    th = tab[tab["class"] == "Intercept"]
    assert th["term"].tolist() == ["1|2", "2|3", "3|4", "4|5"] and set(th["prior"]) == {"student_t(3, 0, 2.5)"}
    tab = hl.get_priors("p ~ period + (1 | herd)", cbpp_prop(), family="beta").set_index("class")
    p = cbpp_prop()["p"]
    assert tab.loc["phi", "prior"] == f"gamma(2, {0.5 / (p.mean() * (1 - p.mean()) / p.var() - 1):.4g})"


def test_threshold_priors_can_be_set_one_by_one():
    wine = load("wine_breadth")
    tab = hl.get_priors("rating ~ temp + (1 | judge)", wine, family="cumulative",
                        priors={"Intercept": P("normal", mu=0, sigma=5), ("Intercept", "4|5"): P("normal", sigma=1)})
    th = tab[tab["class"] == "Intercept"]
    assert th["prior"].tolist() == ["normal(0, 5)"] * 3 + ["normal(0, 1)"]
    with pytest.raises(HierlmError, match="no threshold '5|6'"):
        hl.get_priors("rating ~ temp + (1 | judge)", wine, family="cumulative", priors={("Intercept", "5|6"): P(
            "normal", sigma=1)})
    with pytest.raises(HierlmError, match="'nu' is the degrees of freedom of family='student'"):
        hl.get_priors("Reaction ~ Days + (1 | Subject)", hl.load_dataset("sleepstudy"),
                      priors={"nu": P("gamma", alpha=2, beta=0.1)})


def test_bad_input_is_refused_before_sampling():
    sleep = hl.load_dataset("sleepstudy")
    with pytest.raises(HierlmError, match="the link 'log' of family 'beta' is not available|does not take the link"):
        hl.blmer("Reaction ~ Days + (1 | Subject)", sleep, family=hl.family("beta", link="log"))
    with pytest.raises(HierlmError, match="the link 'cloglog' of family 'cumulative' is not available in blmer; it "
                                          "takes 'logit', 'probit'.*hl.glmer"):
        hl.blmer("rating ~ temp + (1 | judge)", load("wine_breadth"), family=hl.family("cumulative", link="cloglog"))
    bad = sleep.assign(Reaction=sleep["Reaction"] - 250)
    for fam in ("gamma", "lognormal", "inverse_gaussian"):
        with pytest.raises(DataError, match=rf"family '{fam}' needs a positive response"):
            hl.blmer("Reaction ~ Days + (1 | Subject)", bad, family=fam)
    d = cbpp_prop()
    d.loc[[3, 7], "p"] = [0.0, 1.0]
    with pytest.raises(DataError, match=r"'p' has 2 value\(s\) outside \(0, 1\).*family 'beta'"):
        hl.blmer("p ~ period + (1 | herd)", d, family="beta")
    wine = load("wine_breadth")
    with pytest.raises(DataError, match="needs an ordered categorical response, but 'response' is numeric"):
        hl.blmer("response ~ temp + (1 | judge)", wine, family="cumulative")
    with pytest.raises(DataError, match="is an unordered factor"):
        hl.blmer("rating ~ temp + (1 | judge)", wine.assign(rating=wine["rating"].cat.as_unordered()),
                 family="cumulative")
    with pytest.raises(HierlmError, match="needs one .remove '0 \\+'"):
        hl.blmer("rating ~ 0 + temp + (1 | judge)", wine, family="cumulative")
    with pytest.raises(DataError, match="weights= is not available for family='gamma' in blmer"):
        hl.blmer("Reaction ~ Days + (1 | Subject)", sleep.assign(w=1.0), family="gamma", weights="w")


def test_tails_are_finite():
    """log Φ, log(F(a) − F(b)) and the cloglog pieces stay finite (and accurate) far in the tails."""
    from scipy.special import log_ndtr

    from hierlm.engines.bayes import family_kernels as fk

    for x in (-45.0, -31.0, -29.0, -5.0, 0.0, 3.0, 40.0):
        assert fk.log_ndtr(x) == pytest.approx(float(log_ndtr(x)), rel=1e-12, abs=1e-300)
    y = np.array([0.0, 1.0, 2.0])
    ll = F.pointwise("cumulative", "probit", y, np.ones(3), np.array([[40.0, 40.0, -40.0]]),
                     {"thresholds": np.array([[-1.0, 1.0]])})
    assert np.all(np.isfinite(ll)) and ll[0, 2] < -700
