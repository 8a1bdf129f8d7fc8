"""The Laplace-approximated marginal of binomial / Poisson GLMMs on one grouping factor (method="laplace").

The kernel's density is checked against an independent computation of the same approximation (the joint
kernel's density at the mode, which must be a stationary point of it, plus ½ log det of the level Hessians
computed here with numpy), its gradient against finite differences, the approximation itself against adaptive
quadrature of the exact one-dimensional level integrals, and the fit against lme4's glmer (Laplace) estimates.
"""

import warnings

import numpy as np
import pytest
from scipy import integrate

import hierlm as hl
from hierlm.engines.bayes import kernels, spec as S
from hierlm.engines.bayes import kernels_laplace as kl
from hierlm.engines.bayes import kernels_marginal as km
from hierlm.engines.bayes.priors import resolve_priors
from hierlm.engines.bayes.route import choose_route
from hierlm.errors import SamplingError
from hierlm.fits.bayes_setup import prepare

CASES = {
    "cbpp_binomial": ("cbind(incidence, size - incidence) ~ period + (1 | herd)", "cbpp", "binomial", None),
    "cbpp_poisson": ("incidence ~ period + offset(log(size)) + (1 | herd)", "cbpp", "poisson", None),
    "grouse_slopes": ("TICKS ~ YEAR + (cHEIGHT | LOCATION)", "grouseticks", "poisson", None),
    "verbagg_two_bars": ("r2 ~ Anger + (1 | id) + (0 + Anger | id)", "VerbAgg", "bernoulli", 480),
}
ARGS = ("ints", "y", "X", "Z", "off", "tr", "ptr")


def make_spec(name):
    formula, data, family, rows = CASES[name]
    df = hl.load_dataset(data)
    if rows:
        df = df.iloc[:rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design, fam, resp = prepare(formula, df, family, None)
    sp = S.build_spec(design, fam, resp, resolve_priors(design, fam.name, None, resp))
    for b in sp.blocks:
        b.centred = False
    return sp


def _factor(sp, xm):
    q = sum(b.q for b in sp.blocks)
    L, xo, qo = np.zeros((q, q)), sp.p, 0
    for b in sp.blocks:
        Lb = np.zeros((b.q, b.q))
        Lb[np.tril_indices(b.q)] = xm[xo:xo + b.m]
        Lb[np.diag_indices(b.q)] = np.exp(np.diag(Lb))
        L[qo:qo + b.q, qo:qo + b.q] = Lb
        xo, qo = xo + b.m, qo + b.q
    return L


def _mean_weights(sp, eta):
    if sp.family == "poisson":
        mu = np.exp(eta)
        return mu, mu
    mu = 1 / (1 + np.exp(-eta))
    return sp.trials * mu, sp.trials * mu * (1 - mu)


@pytest.mark.parametrize("name", sorted(CASES))
def test_laplace_density_gradient_and_mode(name):
    sp = make_spec(name)
    assert kl.laplace_applies(sp)
    d, ndim = kl.pack_laplace(sp)
    jd, jdim = kernels.pack(sp)
    keep = km.marginal_keep(sp)
    J, q = sp.blocks[0].J, sum(b.q for b in sp.blocks)
    lay, _ = sp.layout()
    zsl = [sl for _, sl, _, kind, _ in lay if kind == "z"]
    rng = np.random.default_rng(3)
    for i in range(2):
        x = S.init_point(sp, i) + rng.normal(0, 0.2, jdim)
        xm = np.ascontiguousarray(x[keep])
        g = np.zeros(ndim)
        lp = kl.laplace_logp_grad(xm, g, *kl.laplace_args(d))
        uhat = kl.draw_z(xm[None], np.zeros((1, J, q)), *(d[k] for k in ARGS))[0]  # E = 0: the modes
        qo = 0
        for sl, b in zip(zsl, sp.blocks):
            x[sl] = uhat[:, qo:qo + b.q].ravel()
            qo += b.q
        gj = np.zeros(jdim)
        lpj = kernels.logp_grad(x, gj, *kernels.kernel_args(jd))
        assert np.abs(np.concatenate([gj[sl] for sl in zsl])).max() < 1e-6  # û is the joint density's mode in z
        L = _factor(sp, xm)
        Z = np.hstack([b.Z for b in sp.blocks])
        grp = sp.blocks[0].g
        eta = sp.offset + sp.X @ xm[:sp.p] + np.einsum("nq,nq->n", Z, (uhat @ L.T)[grp])
        w = _mean_weights(sp, eta)[1]
        ZL = Z @ L
        logdet = sum(np.linalg.slogdet(np.eye(q) + (ZL[grp == j] * w[grp == j, None]).T @ ZL[grp == j])[1]
                     for j in range(J))
        ref = lpj + J * q / 2 * np.log(2 * np.pi) - 0.5 * logdet
        assert lp == pytest.approx(ref, rel=1e-11, abs=1e-9)
        h = 1e-4
        fd = np.array([(kl.laplace_logp_grad(xm + e, np.zeros(ndim), *kl.laplace_args(d))
                        - kl.laplace_logp_grad(xm - e, np.zeros(ndim), *kl.laplace_args(d))) / (2 * h)
                       for e in np.eye(ndim) * h])
        np.testing.assert_allclose(g, fd, rtol=2e-6, atol=2e-5)


def test_laplace_close_to_quadrature():
    """Per herd, the Laplace value against the exact integral ∫ exp f(u) du (adaptive quadrature): the
    approximation's error on cbpp at the glmer estimates is small (lme4's nAGQ = 1 vs 25 differ by 0.03 in
    the deviance)."""
    sp = make_spec("cbpp_binomial")
    d, ndim = kl.pack_laplace(sp)
    # glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial): β and θ (lme4 1.1)
    beta = np.array([-1.3983, -0.9919, -1.1282, -1.5797])
    xbeta = np.array([beta[0] + sp.xmean[1:] @ beta[1:], *beta[1:]])  # the spec centres the columns
    xm = np.array([*xbeta, np.log(0.6421)])
    lap = kl.laplace_logp_grad(xm, np.zeros(ndim), *kl.laplace_args(d))
    sp_prior = lap - sum(_level_laplace(sp, xm, j) for j in range(sp.blocks[0].J))  # priors and constants
    exact = sp_prior + sum(_level_exact(sp, xm, j) for j in range(sp.blocks[0].J))
    assert abs(lap - exact) < 0.05
    assert abs(lap - exact) > 1e-6  # an approximation, not the integral


def _level_f(sp, xm, j):
    m = sp.blocks[0].g == j
    s = np.exp(xm[sp.p])

    def f(u):
        eta = sp.offset[m] + sp.X[m] @ xm[:sp.p] + s * u
        return float(np.sum(sp.y[m] * eta - sp.trials[m] * np.logaddexp(0, eta)) - 0.5 * u * u
                     - 0.5 * np.log(2 * np.pi))
    return f


def _level_laplace(sp, xm, j):
    f = _level_f(sp, xm, j)
    from scipy.optimize import minimize_scalar

    u = minimize_scalar(lambda v: -f(v), bracket=(-3, 3), tol=1e-12).x
    h = 1e-4
    d2 = (f(u + h) - 2 * f(u) + f(u - h)) / h**2
    return f(u) + 0.5 * np.log(2 * np.pi) - 0.5 * np.log(-d2)


def _level_exact(sp, xm, j):
    f = _level_f(sp, xm, j)
    top = _level_laplace(sp, xm, j)
    val, _ = integrate.quad(lambda u: np.exp(f(u) - top), -12, 12, epsabs=1e-13, limit=200)
    return top + np.log(val)


def test_laplace_route_refused_where_it_does_not_apply():
    sp = make_spec("cbpp_binomial")
    assert choose_route(sp, "laplace", True).kernel == "laplace"
    sleep = hl.load_dataset("sleepstudy")
    with pytest.raises(SamplingError, match="method='laplace'.*binomial.*Poisson"):
        hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, method="laplace", draws=10, tune=10)
    gt = hl.load_dataset("grouseticks")
    with pytest.raises(SamplingError, match="grouping factors \\['BROOD', 'LOCATION'\\]"):
        hl.blmer("TICKS ~ YEAR + (1 | BROOD) + (1 | LOCATION)", gt, family="poisson", method="laplace",
                 draws=10, tune=10)
    cb = hl.load_dataset("cbpp")
    with pytest.raises(SamplingError, match="method='laplace' needs .*hierlm's own sampler"):
        hl.blmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cb, family="binomial",
                 method="laplace", sampler="pymc", draws=10, tune=10)
    with pytest.raises(SamplingError, match="link 'probit'"):
        hl.blmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cb,
                 family=hl.family("binomial", link="probit"), method="laplace", draws=10, tune=10)


def test_blmer_laplace_matches_glmer_and_is_reproducible():
    cb = hl.load_dataset("cbpp")
    f = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
    fit = hl.blmer(f, cb, family="binomial", method="laplace", draws=500, tune=500, seed=11, progressbar=False)
    assert fit.settings["route"]["kernel"] == "laplace"
    assert "Laplace" in str(fit.summary())
    # glmer (Laplace, ML): fixed effects; the posterior means sit within a fraction of their posterior SD
    glmer = {"(Intercept)": -1.3983, "period2": -0.9919, "period3": -1.1282, "period4": -1.5797}
    fe = fit.fixef()
    diag = fit.diagnostics()
    for k, v in glmer.items():
        assert abs(fe.loc[k, "Estimate"] - v) < 0.25 * fe.loc[k, "Est.Error"]
    assert diag["R-hat"].max() < 1.01
    assert 0.55 < diag.loc["sd(herd: (Intercept))", "Estimate"] < 0.95  # glmer 0.642 (ML, the mode)
    re = fit.ranef()["herd"]
    assert re.shape == (15, 1) and np.isfinite(re.to_numpy()).all()
    again = hl.blmer(f, cb, family="binomial", method="laplace", draws=500, tune=500, seed=11, progressbar=False)
    np.testing.assert_array_equal(fit.idata["posterior"]["z_herd"].values, again.idata["posterior"]["z_herd"].values)

