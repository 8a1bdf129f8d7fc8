"""The Bayesian engine's machinery: compiled kernels against the mirror PyMC model, the shear, the
marginal route, R-hat / ESS against arviz-stats, the nutpie driver and seeded reproducibility."""

import ctypes
import subprocess
import sys
import warnings

import numpy as np
import pytest

import hierlm as hl
from hierlm.engines.bayes import kernels, kernels_marginal, shear
from hierlm.engines.bayes import spec as S
from hierlm.fits.bayes_setup import prepare
from hierlm.engines.bayes.pymc_model import build_model
from hierlm.engines.bayes.priors import Prior, resolve_priors




P = Prior
CASES = {
    "sleep_nc": ("Reaction ~ Days + (Days | Subject)", "sleepstudy", "gaussian", None, None, {}),
    "sleep_c": ("Reaction ~ Days + (Days | Subject)", "sleepstudy", "gaussian", [True], None, {}),
    "sleep_uncorr": ("Reaction ~ Days + (Days || Subject)", "sleepstudy", "gaussian", None, None, {}),
    "sleep_split": ("Reaction ~ Days + (1 | Subject) + (0 + Days + I(Days^2) | Subject)", "sleepstudy", "gaussian",
                    None, {("sd", "Subject", "Days"): P("exponential", lam=0.2), ("cor", "Subject"): P("lkj", eta=2)},
                    {}),
    "machines_q3": ("score ~ Machine + (Machine | Worker)", "Machines", "gaussian", [True], None, {}),
    "machines_q3_nc": ("score ~ Machine + (Machine | Worker) + (1 | Worker:Machine)", "Machines", "gaussian",
                       [False, True], None, {}),
    "pastes_nested": ("strength ~ 1 + (1 | batch/cask)", "Pastes", "gaussian", [True, True], None, {}),
    "crossed_priors": ("diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin", "gaussian", [False, True],
                       {"Intercept": P("student_t", nu=5, mu=20, sigma=4), ("sd", "plate"): P("half_student_t", nu=4,
                        sigma=2), ("sd", "sample"): P("gamma", alpha=2, beta=1), "sigma": P("half_cauchy", beta=1)},
                       {}),
    "mixed_priors": ("Reaction ~ Days + I(Days^2) + (Days | Subject)", "sleepstudy", "gaussian", None,
                     {("b", "Days"): P("student_t", nu=3, sigma=20), ("sd", "Subject", "Days"): P("exponential", lam=0.2),
                      ("cor", "Subject"): P("lkj", eta=2), "sigma": P("gamma", alpha=2, beta=0.1)}, {}),
    "weights": ("Reaction ~ Days + (1 | Subject)", "sleepstudy", "gaussian", [False], None, {"weights": "w"}),
    "cbpp_cbind": ("cbind(incidence, size - incidence) ~ period + (1 | herd)", "cbpp", "binomial", [False], None, {}),
    "cbpp_prop": ("incidence/size ~ period + (1 | herd)", "cbpp", "binomial", [True], None, {"weights": "size"}),
    "verbagg_crossed": ("r2 ~ Anger + btype + (1 | id) + (1 | item)", "VerbAgg", "bernoulli", [True, False], None,
                        {"rows": 600}),
    "poisson_offset": ("incidence ~ period + offset(log(size)) + (1 | herd)", "cbpp", "poisson", [False], None, {}),
    "poisson_nested": ("TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)", "grouseticks",
                       "poisson", [True, True, True], None, {}),
    "negbinomial": ("TICKS ~ YEAR + cHEIGHT + (1 | LOCATION)", "grouseticks", "negbinomial", [False], None, {}),
    "negbinomial_c": ("TICKS ~ YEAR + (cHEIGHT | LOCATION)", "grouseticks", "negbinomial", [True],
                      {"shape": P("gamma", alpha=2, beta=1)}, {}),
}


def make_spec(name):
    formula, data, family, cent, priors, opts = CASES[name]
    df = hl.load_dataset(data)
    if "rows" in opts:
        df = df.iloc[: opts["rows"]]
    w = None
    if opts.get("weights") == "w":
        df = df.assign(w=np.linspace(0.5, 2.0, len(df)))
    if opts.get("weights"):
        w = opts["weights"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design, fam, resp = prepare(formula, df, family, w)
    sp = S.build_spec(design, fam, resp, resolve_priors(design, fam.name, priors, resp))
    for b, c in zip(sp.blocks, cent or []):
        b.centred = c
    return sp


def point_dict(sp, model, x):
    lay, _ = sp.layout()
    return {vv.name: np.asarray(x[sl]).reshape(shape) for vv, (_, sl, shape, _, _) in zip(model.value_vars, lay)}


def call_cfunc(address, x, meta):
    f = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                         ctypes.c_void_p)(address)
    x = np.ascontiguousarray(x, float)
    g, lp = np.zeros(len(x)), np.zeros(1)
    rc = f(len(x), x.ctypes.data, g.ctypes.data, lp.ctypes.data, meta.ctypes.data)
    return rc, lp[0], g


@pytest.mark.parametrize("name", sorted(CASES))
def test_kernel_matches_mirror_model(name):
    sp = make_spec(name)
    data, ndim = kernels.pack(sp)
    model = build_model(sp)
    assert [v.name for v in model.value_vars] == sp.value_var_names()
    logp, dlogp = model.compile_logp(), model.compile_dlogp()
    rng = np.random.default_rng(1)
    for i in range(3):
        x = S.init_point(sp, i) + rng.normal(0, 0.3, ndim)
        g = np.zeros(ndim)
        lp = kernels.logp_grad(x, g, *kernels.kernel_args(data))
        pt = point_dict(sp, model, x)
        ref, gref = logp(pt), dlogp(pt)
        assert abs(lp - ref) <= 1e-9 * max(1.0, abs(ref)), (lp, ref)
        np.testing.assert_allclose(g, gref, rtol=1e-8, atol=1e-8 * max(1.0, np.abs(gref).max()))


@pytest.mark.parametrize("name, cent", [("poisson_nested", None), ("verbagg_crossed", None), ("pastes_nested", None),
                                        ("cbpp_prop", None), ("pastes_nested", [True, False]),
                                        ("poisson_nested", [False, True, False])])
def test_shear_entry_point(name, cent):
    """The C entry point in sheared coordinates: logp equals the mirror at the mapped point, the
    gradient equals finite differences, and the map round-trips (centred children of centred and of
    non-centred parents)."""
    sp = make_spec(name)
    for k, b in enumerate(sp.blocks):
        b.centred = cent[k] if cent else (b.ones or b.centred)
    hc = shear.auto_shear(sp)
    assert hc
    arrays = shear.shear_arrays(sp)
    data, ndim = kernels.pack(sp, arrays)
    model = build_model(sp)
    logp = model.compile_logp()
    rng = np.random.default_rng(0)
    x0 = S.init_point(sp, 0)
    x0[1:sp.p] = rng.normal(0, 0.01, sp.p - 1)  # b: keep η moderate (cHEIGHT spans ±50)
    xi = shear.to_internal(x0, arrays) + rng.normal(0, 0.05, ndim)
    rc, lp, g = call_cfunc(kernels.c_logp.address, xi, data["meta"])
    assert rc == 0
    xm = shear.to_model(sp, xi[None], arrays)[0]
    assert abs(lp - logp(point_dict(sp, model, xm))) <= 1e-9 * max(1, abs(lp))
    np.testing.assert_allclose(shear.to_internal(xm, arrays), xi, atol=1e-10)
    for j in rng.choice(ndim, 8, replace=False):
        e = np.zeros(ndim)
        e[j] = 1e-6
        fd = (call_cfunc(kernels.c_logp.address, xi + e, data["meta"])[1]
              - call_cfunc(kernels.c_logp.address, xi - e, data["meta"])[1]) / 2e-6
        assert abs(fd - g[j]) <= 1e-4 * max(1.0, abs(g[j]))


@pytest.mark.parametrize("name", ["sleep_nc", "weights", "mixed_priors", "sleep_uncorr", "sleep_split"])
def test_marginal_equals_joint(name):
    """log p_marginal(θ) = log p_joint(θ, z) − log p(z | θ, y) for any z (exact for a Gaussian)."""
    sp = make_spec(name)
    for b in sp.blocks:
        b.centred = False
    assert S.marginal_applies(sp)
    J, q = sp.blocks[0].J, sum(b.q for b in sp.blocks)
    jd, jdim = kernels.pack(sp)
    md, mdim = kernels_marginal.pack_marginal(sp)
    rng = np.random.default_rng(2)
    keep = kernels_marginal.marginal_keep(sp)
    for i in range(2):
        x = S.init_point(sp, i) + rng.normal(0, 0.2, jdim)
        xm = np.ascontiguousarray(x[keep])
        g = np.zeros(mdim)
        lpm = kernels_marginal.marg_logp_grad(xm, g, *kernels_marginal.marginal_args(md))
        # conditional of z: N(P^-1 u, s2 P^-1) per level, from draw_z's mean (E = 0) and P
        mean = kernels_marginal.draw_z(xm[None], np.zeros((1, J, q)), md["ints"], md["A"], md["ZX"], md["Zy"],
                                        md["b0"])[0]
        L, xo, qo = np.zeros((q, q)), sp.p, 0
        for b in sp.blocks:  # block-diagonal factor
            Lb = np.zeros((b.q, b.q))
            Lb[np.tril_indices(b.q)] = xm[xo:xo + b.m]
            Lb[np.diag_indices(b.q)] = np.exp(np.diag(Lb))
            L[qo:qo + b.q, qo:qo + b.q] = Lb
            xo, qo = xo + b.m, qo + b.q
        s2 = np.exp(2 * xm[-1])
        z = mean + rng.normal(0, 0.5, mean.shape)
        lcond = 0.0
        for j in range(J):
            Pj = s2 * np.eye(q) + L.T @ md["A"][j] @ L
            cov = s2 * np.linalg.inv(Pj)
            d = z[j] - mean[j]
            lcond += -0.5 * d @ np.linalg.solve(cov, d) - 0.5 * np.linalg.slogdet(2 * np.pi * cov)[1]
        xj = kernels_marginal.expand_draws(sp, xm[None, None], md, 0)[0, 0]
        xj[np.setdiff1d(np.arange(jdim), keep)] = np.concatenate(
            [z[:, o:o + b.q].ravel() for o, b in zip(np.cumsum([0] + [b.q for b in sp.blocks]), sp.blocks)])
        lpj = kernels.logp_grad(xj, np.zeros(jdim), *kernels.kernel_args(jd))
        assert abs(lpm - (lpj - lcond)) <= 1e-8 * max(1, abs(lpm))
        for k in range(mdim):
            e = np.zeros(mdim)
            e[k] = 1e-6
            fd = (kernels_marginal.marg_logp_grad(xm + e, np.zeros(mdim), *kernels_marginal.marginal_args(md))
                  - kernels_marginal.marg_logp_grad(xm - e, np.zeros(mdim), *kernels_marginal.marginal_args(md))) / 2e-6
            assert abs(fd - g[k]) <= 2e-5 * max(1.0, abs(g[k])) + 1e-9 * abs(lpm)  # FD round-off ~ eps |lp| / h


def test_marginal_applies_only_to_one_grouping_factor():
    assert not S.marginal_applies(make_spec("pastes_nested"))
    assert not S.marginal_applies(make_spec("crossed_priors"))
    assert not S.marginal_applies(make_spec("cbpp_cbind"))


def test_rhat_ess_match_arviz_stats():
    from arviz_stats.base import array_stats

    from hierlm.engines.bayes import diagnostics as dg

    rng = np.random.default_rng(0)
    C, D = 4, 500
    a = np.cumsum(rng.normal(size=(C, D, 3)), axis=1) * 0.05 + rng.normal(size=(C, D, 3))
    a[..., 2] = rng.standard_t(3, size=(C, D)) + np.arange(C)[:, None] * 0.1
    r, eb, et = dg.rhat(a), dg.ess_bulk(a), dg.ess_tail(a)
    for k in range(3):
        assert r[k] == pytest.approx(float(array_stats.rhat(a[..., k], method="rank")), rel=1e-10)
        assert eb[k] == pytest.approx(float(array_stats.ess(a[..., k], method="bulk")), rel=1e-8)
        assert et[k] == pytest.approx(float(array_stats.ess(a[..., k], method="tail", prob=0.05)), rel=1e-8)


def _fit_sleep(seed, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hl.blmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"), seed=seed, draws=100,
                        tune=100, progressbar=False, **kw)


@pytest.mark.parametrize("method", ["marginal", "joint"])
def test_seed_bit_identical_in_process(method):
    a, b, c = _fit_sleep(5, method=method), _fit_sleep(5, method=method), _fit_sleep(6, method=method)
    for v in ("beta", "sd_Subject", "r_Subject", "sigma"):
        np.testing.assert_array_equal(a.idata.posterior[v].values, b.idata.posterior[v].values)
    assert not np.array_equal(a.idata.posterior["beta"].values, c.idata.posterior["beta"].values)
    assert a.idata.attrs["seed"] == "5"


_REPRO = """
import hashlib, warnings; warnings.simplefilter("ignore")
import hierlm as hl
f = hl.blmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"), seed=11, draws=100, tune=100,
             progressbar=False, method="{method}")
print(hashlib.sha1(f.idata.posterior["r_Subject"].values.tobytes() + f.idata.posterior["beta"].values.tobytes()).hexdigest())
"""


@pytest.mark.parametrize("method", ["marginal", "joint"])
def test_seed_bit_identical_across_processes(method):
    procs = [subprocess.Popen([sys.executable, "-c", _REPRO.format(method=method)], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300)[0].strip().splitlines()[-1] for p in procs]
    assert outs[0] == outs[1]


def test_nutpie_core_driver_directly():
    """The private nutpie API hierlm relies on (pinned to nutpie 0.16.*): a standard normal."""
    from hierlm.engines.bayes.nutpie_core import load_lib, run_nuts

    assert hasattr(load_lib(), "PySampler")
    sp = make_spec("sleep_nc")
    data, ndim = kernels.pack(sp)
    X, stats = run_nuts(kernels.c_logp.address, int(data["meta"].ctypes.data), data, ndim,
                        lambda s: S.init_point(sp, s), draws=50, tune=50, chains=2, cores=1, seed=3)
    assert X.shape == (2, 50, ndim)
    assert {"diverging", "n_steps", "tree_depth", "step_size", "lp"} <= set(stats)
    assert stats["diverging"].shape == (2, 50)


# -- priors ------------------------------------------------------------------------------------------
def test_get_priors_defaults_and_overrides(sleep):
    tab = hl.get_priors("Reaction ~ Days + (Days | Subject)", sleep)
    assert list(tab.columns) == ["class", "group", "term", "prior", "source"]
    assert tab["class"].tolist() == ["Intercept", "b", "sd", "sd", "cor", "sigma"]
    sy = sleep.Reaction.std()
    assert tab["prior"][0] == f"normal({sleep.Reaction.mean():.4g}, {2.5 * sy:.4g})"
    assert tab["prior"][3] == f"half_normal({2.5 * sy / sleep.Days.std():.4g})"
    assert tab["prior"][5] == f"exponential({1 / sy:.4g})"
    pri = {"b": P("normal", sigma=5), ("sd", "Subject"): P("half_normal", sigma=30),
           ("sd", "Subject", "Days"): P("half_cauchy", beta=5), ("cor", "Subject"): P("lkj", eta=2)}
    tab = hl.get_priors("Reaction ~ Days + (Days | Subject)", sleep, priors=pri)
    assert tab["prior"].tolist()[1:5] == ["normal(0, 5)", "half_normal(30)", "half_cauchy(5)", "lkj(2)"]
    assert tab["source"].tolist() == ["default", "user", "user", "user", "user", "default"]
    as_list = [P("half_cauchy", beta=5, class_="sd", group="Subject", term="Days")]
    tab = hl.get_priors("Reaction ~ Days + (Days | Subject)", sleep, priors=as_list)
    assert tab["prior"][3] == "half_cauchy(5)"


def test_glm_priors_on_link_scale():
    tab = hl.get_priors("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
                        family="binomial")
    assert tab["prior"][0] == "normal(0, 2.5)"
    assert "sigma" not in tab["class"].tolist()
    nb = hl.get_priors("TICKS ~ YEAR + (1 | LOCATION)", hl.load_dataset("grouseticks"), family="negbinomial")
    assert nb["prior"].iloc[-1] == "exponential(1)" and nb["class"].iloc[-1] == "shape"


@pytest.mark.parametrize("priors, match", [
    ({"bb": P("normal", sigma=1)}, "unknown prior class 'bb'"),
    ({("b", "Dayz"): P("normal", sigma=1)}, "Did you mean 'Days'"),
    ({("sd", "Subjct"): P("half_normal", sigma=1)}, "Did you mean 'Subject'"),
    ({"shape": P("exponential", lam=1)}, "negbinomial"),
    ({"sd": P("normal", sigma=1)}, "cannot go on class 'sd'"),
    ({("b", "(Intercept)"): P("normal", sigma=1)}, "class 'Intercept'"),
    ([P("normal", sigma=1)], "class_ set"),
])
def test_prior_errors(sleep, priors, match):
    with pytest.raises(hl.HierlmError, match=match):
        hl.get_priors("Reaction ~ Days + (Days | Subject)", sleep, priors=priors)


def test_prior_object_errors():
    with pytest.raises(hl.HierlmError, match="needs sigma"):
        P("normal", mu=0)
    with pytest.raises(hl.HierlmError, match="no parameter 'sd'"):
        P("normal", sd=1)
    with pytest.raises(hl.HierlmError, match="positive"):
        P("half_normal", sigma=-1)
    with pytest.raises(hl.HierlmError, match="unknown prior distribution"):
        P("nromal", sigma=1)
    assert P("Laplace", mu=0, b=1).kernel_code is None


# -- argument checks --------------------------------------------------------------------------------
@pytest.mark.parametrize("kw, err, match", [
    (dict(draws=0), hl.SamplingError, "draws must be"),
    (dict(tune=-1), hl.SamplingError, "tune must be"),
    (dict(chains=1.5), hl.SamplingError, "chains must be"),
    (dict(seed=-3), hl.SamplingError, "seed must be"),
    (dict(sampler="stan"), hl.SamplingError, "unknown sampler"),
    (dict(family="gama"), hl.HierlmError, "unknown family"),
    (dict(method="integrated"), hl.SamplingError, "method must be"),
    (dict(target_accept=1.2), hl.SamplingError, "target_accept"),
    (dict(init="zero"), hl.SamplingError, "init must be"),
    (dict(draw=10), hl.HierlmError, "Did you mean 'draws'"),
    (dict(family="binomial"), hl.HierlmError, "binomial"),
])
def test_blmer_argument_errors(sleep, kw, err, match):
    with pytest.raises(err, match=match):
        hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, progressbar=False, **kw)


def test_marginal_needs_gaussian_one_block():
    with pytest.raises(hl.SamplingError, match="method='marginal' needs"):
        hl.blmer("incidence ~ period + (1 | herd)", hl.load_dataset("cbpp"), family="poisson", method="marginal")


def test_jax_samplers_explain_missing_jax(sleep, monkeypatch):
    from hierlm.engines.bayes import pymc_model

    monkeypatch.setattr(pymc_model, "_jax_available", lambda: False)
    with pytest.raises(hl.SamplingError, match="pip install jax numpyro"):
        hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, sampler="numpyro", draws=10, tune=10)


def test_no_random_effects_is_an_error(sleep):
    with pytest.raises(hl.HierlmError, match="no random-effects term"):
        hl.blmer("Reaction ~ Days", sleep)


def test_warmup_runs():
    out = subprocess.run([sys.executable, "-m", "hierlm.engines.bayes.warmup"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and "kernels ready" in out.stderr


def test_prior_list_form(sleep):
    """Priors given as a list of Prior objects carrying class_/group/term, as in the docs."""
    pri = hl.get_priors("Reaction ~ Days + (Days | Subject)", sleep, priors=[
        hl.Prior("normal", mu=0, sigma=5, class_="b", term="Days"),
        hl.Prior("exponential", lam=0.1, class_="sd", group="Subject", term="Days"),
        hl.Prior("lkj", eta=2, class_="cor", group="Subject")])
    user = pri[pri["source"] == "user"]
    assert list(zip(user["class"], user["term"])) == [("b", "Days"), ("sd", "Days"), ("cor", "")] or len(user) == 3
    with pytest.raises(hl.HierlmError, match="class 'b' takes a term but no group"):
        hl.get_priors("Reaction ~ Days + (Days | Subject)", sleep,
                      priors=[hl.Prior("normal", mu=0, sigma=5, class_="b", group="Subject")])
