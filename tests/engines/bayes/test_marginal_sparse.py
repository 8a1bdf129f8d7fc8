"""The random effects integrated out of every Gaussian model (crossed, nested, several bars): the sparse
marginal kernel against the joint kernel through the exact conditional identity, its gradient against
finite differences, the exact draws of b against the analytic conditional, and the route choice."""

import json
import warnings

import numpy as np
import pytest
from support import ROOT
from test_bayes_core import make_spec

import hierlm as hl
from hierlm.engines.bayes import kernels
from hierlm.engines.bayes import kernels_sparse as ks
from hierlm.engines.bayes import spec as S
from hierlm.engines.bayes.kernels_marginal import marginal_keep
from hierlm.engines.bayes.priors import resolve_priors
from hierlm.engines.bayes.route import COSTS, choose_route, partial_gradient_seconds
from hierlm.fits.bayes_setup import prepare


def _spec(formula, data, weights=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design, fam, resp = prepare(formula, data, "gaussian", weights)
    return S.build_spec(design, fam, resp, resolve_priors(design, fam.name, None, resp))


def _sim(seed=0, n_g=12, n_h=7, reps=3):
    """Crossed g x h with a slope, unbalanced (some cells dropped)."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_g), n_h * reps)
    h = np.tile(np.repeat(np.arange(n_h), reps), n_g)
    keep = rng.random(len(g)) > 0.25
    g, h = g[keep], h[keep]
    x = rng.normal(size=len(g))
    y = 1 + 0.5 * x + rng.normal(size=n_g)[g] + 0.4 * rng.normal(size=n_g)[g] * x + rng.normal(size=n_h)[h] \
        + rng.normal(size=len(g))
    import pandas as pd

    return pd.DataFrame({"y": y, "x": x, "g": pd.Categorical([f"g{i}" for i in g]),
                         "h": pd.Categorical([f"h{i}" for i in h]), "w": rng.uniform(0.5, 2.0, len(g))})


# name -> spec factory: crossed, nested, several bars (correlated slopes on two factors), weights, one factor
CASES = {
    "crossed_priors": lambda: make_spec("crossed_priors"),  # Penicillin, non-default priors
    "pastes_nested": lambda: make_spec("pastes_nested"),
    "machines_q3": lambda: make_spec("machines_q3_nc"),  # (Machine | Worker) + (1 | Worker:Machine): q = 3 and 1
    "sleep_split": lambda: make_spec("sleep_split"),  # two blocks on one factor (q = 1 and 2)
    "slopes_crossed": lambda: _spec("y ~ x + (x | g) + (1 | h)", _sim()),
    "slopes_both": lambda: _spec("y ~ x + (x | g) + (x | h)", _sim(1)),
    "weights_crossed": lambda: _spec("y ~ x + (1 | g) + (1 | h)", _sim(2), weights="w"),
}


def _dense(sp, xm):
    """Λ, A = Z̃ᵀZ̃, P = σ²I + ΛᵀAΛ, u = ΛᵀZ̃ᵀ(ỹ − X̃β) and σ² in the original block-major order."""
    Q = sum(b.J * b.q for b in sp.blocks)
    sw = np.sqrt(sp.weights)
    Lam, Zs, xo, qo = np.zeros((Q, Q)), [], sp.p, 0
    for b in sp.blocks:
        Lb = np.zeros((b.q, b.q))
        Lb[np.tril_indices(b.q)] = xm[xo:xo + b.m]
        Lb[np.diag_indices(b.q)] = np.exp(np.diag(Lb))
        Zk = np.zeros((sp.n, b.J * b.q))
        for t in range(b.q):
            Zk[np.arange(sp.n), b.g * b.q + t] = b.Z[:, t]
        Zs.append(Zk)
        Lam[qo:qo + b.J * b.q, qo:qo + b.J * b.q] = np.kron(np.eye(b.J), Lb)
        xo, qo = xo + b.m, qo + b.J * b.q
    Z = np.hstack(Zs) * sw[:, None]
    s2 = np.exp(2 * xm[-1])
    P = s2 * np.eye(Q) + Lam.T @ Z.T @ Z @ Lam
    u = Lam.T @ Z.T @ ((sp.y - sp.offset) * sw - (sp.X * sw[:, None]) @ xm[:sp.p])
    return P, u, s2


def _points(sp, k=2):
    rng = np.random.default_rng(5)
    jd, jdim = kernels.pack(sp)
    for i in range(k):
        yield S.init_point(sp, i) + rng.normal(0, 0.2, jdim)


@pytest.mark.parametrize("name", sorted(CASES))
def test_sparse_marginal_equals_joint(name):
    """log p_marginal(θ) = log p_joint(θ, z) − log p(z | θ, y) for any z (exact for a Gaussian)."""
    sp = CASES[name]()
    for b in sp.blocks:
        b.centred = False
    d, mdim = ks.pack_sparse(sp)
    jd, jdim = kernels.pack(sp)
    keep = marginal_keep(sp)
    zpos = np.setdiff1d(np.arange(jdim), keep)
    rng = np.random.default_rng(3)
    for x in _points(sp):
        xm = np.ascontiguousarray(x[keep])
        lpm = ks.sparse_logp_grad(xm, np.zeros(mdim), *ks.sparse_args(d))
        P, u, s2 = _dense(sp, xm)
        mean = np.linalg.solve(P, u)
        z = mean + rng.normal(0, 0.5, len(mean))
        cov = s2 * np.linalg.inv(P)
        dz = z - mean
        lcond = -0.5 * dz @ np.linalg.solve(cov, dz) - 0.5 * np.linalg.slogdet(2 * np.pi * cov)[1]
        xj = x.copy()
        xj[zpos] = z  # the layout's z coordinates are block-major, as the dense system
        lpj = kernels.logp_grad(xj, np.zeros(jdim), *kernels.kernel_args(jd))
        assert abs(lpm - (lpj - lcond)) <= 1e-9 * max(1.0, abs(lpm)), (lpm, lpj - lcond)


@pytest.mark.parametrize("name", sorted(CASES))
def test_sparse_marginal_gradient(name):
    """The analytic gradient against 4-point central differences, to 1e-6 relative."""
    sp = CASES[name]()
    d, mdim = ks.pack_sparse(sp)
    keep = marginal_keep(sp)
    args = ks.sparse_args(d)

    def f(v):
        return ks.sparse_logp_grad(np.ascontiguousarray(v), np.zeros(mdim), *args)

    for x in _points(sp):
        xm = np.ascontiguousarray(x[keep])
        g = np.zeros(mdim)
        f0 = ks.sparse_logp_grad(xm, g, *args)
        for k in range(mdim):
            h = 1e-3 * max(1.0, abs(xm[k]))
            e = np.zeros(mdim)
            e[k] = h
            fd = (8 * (f(xm + e) - f(xm - e)) - (f(xm + 2 * e) - f(xm - 2 * e))) / (12 * h)
            tol = 1e-6 * max(1.0, abs(g[k])) + 1e-13 * abs(f0) / h
            assert abs(fd - g[k]) <= tol, (k, fd, g[k])


@pytest.mark.parametrize("name", ["slopes_both", "machines_q3", "weights_crossed", "pastes_nested"])
def test_sparse_draws_are_the_exact_conditional(name):
    """z = w + σ L⁻ᵀ e is affine in e: its mean (e = 0) is P⁻¹u and its covariance σ² P⁻¹, exactly."""
    sp = CASES[name]()
    d, mdim = ks.pack_sparse(sp)
    keep = marginal_keep(sp)
    xm = np.ascontiguousarray(next(_points(sp))[keep])
    P, u, s2 = _dense(sp, xm)
    Q = len(u)
    base = (d["ints"], d["fl"], d["sym"], d["Avals"], d["ZX"], d["Zy"])
    E = np.vstack([np.zeros((1, Q)), np.eye(Q)])
    out = ks.draw_z(np.repeat(xm[None], Q + 1, axis=0), E, *base)
    mean, M = out[0], (out[1:] - out[0]).T  # columns: the response to each unit normal
    np.testing.assert_allclose(mean, np.linalg.solve(P, u), rtol=1e-9, atol=1e-10 * np.abs(mean).max())
    np.testing.assert_allclose(M @ M.T, s2 * np.linalg.inv(P), rtol=1e-8, atol=1e-12 * s2)


def test_route_choice():
    nested = _spec("strength ~ 1 + (1 | batch/cask)", hl.load_dataset("Pastes"))
    r = choose_route(nested, "auto", True)
    assert (r.method, r.kernel) == ("marginal", "sparse") and r.figures["fill"] == 1.0
    rec = r.record()  # a small nested model: the marginal route is kept within the slack of the fastest
    assert rec["est_marginal_s"] < min(rec["est_joint_s"], rec["est_partial_s"]) + 2.0
    one = _spec("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    assert choose_route(one, "auto", True).kernel == "one_factor"
    assert choose_route(nested, "joint", True).method == "joint"
    assert choose_route(nested, "auto", False).kernel == "pymc"
    # crossed students x lecturers: the factor fills in (far too slow); students integrated out, the rest sampled
    inst = _spec("y ~ service + (1 | s) + (1 | d) + (1 | dept)", hl.load_dataset("InstEval"))
    r = choose_route(inst, "auto", True, 4000, 4000)
    assert (r.method, r.kernel, r.collapsed) == ("partial", "collapsed", 0) and r.figures["factor"] == "over budget"
    assert "'s' integrated out" in r.describe() and "joint" in r.describe()
    # nested with correlated slopes: the joint route mixes badly there, the marginal one is chosen
    eg = _spec("y ~ x + (x | g) + (x | h)", _sim(1))
    assert choose_route(eg, "auto", True).method == "marginal"
    # the partial route's gradient costs follow the block integrated out (an intercept: one pass more over
    # the rows, cheap; slopes: the general small-matrix code), not the blocks left to the sampler
    cr = _spec("y ~ x + (x | g) + (1 | h)", _sim(2))
    ones, slopes = partial_gradient_seconds(cr, 1), partial_gradient_seconds(cr, 0)
    assert ones < slopes and ones / slopes == pytest.approx(COSTS["partial_ones"] / COSTS["partial_slopes"], rel=0.05)
    # the partial route integrates out the only block with correlated slopes (its funnel goes with it), not
    # the larger block of intercepts (lexdec: 25 subjects with slopes x 600 items)
    big = _spec("y ~ x + (x | g) + (1 | h)", _sim(4, n_g=6, n_h=40, reps=2))
    assert [b.J for b in big.blocks] == [40, 6]
    r = choose_route(big, "partial", True)
    assert big.blocks[r.collapsed].q == 2 and r.figures["collapsed"] == big.blocks[r.collapsed].label


def test_blmer_marginal_crossed_route_and_store_ranef():
    pen = hl.load_dataset("Penicillin")
    kw = dict(draws=150, tune=150, chains=2, seed=4, progressbar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = hl.blmer("diameter ~ 1 + (1 | plate) + (1 | sample)", pen, method="marginal", **kw)
        b = hl.blmer("diameter ~ 1 + (1 | plate) + (1 | sample)", pen, method="marginal", store_ranef=False, **kw)
    assert a.settings["route"]["kernel"] == "sparse" and "sparse Cholesky" in a.settings["sampler_label"]
    assert "Route: marginal" in str(a.summary())
    # the same draws; the summary keeps the posterior mean and SD of every effect
    np.testing.assert_array_equal(a.beta_draws(), b.beta_draws())
    for (m, s), x in zip(b.ranef_summary(), a.ranef_draws()):
        flat = x.reshape((-1,) + x.shape[2:])
        np.testing.assert_allclose(m, flat.mean(0), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(s, flat.std(0, ddof=1), rtol=1e-10)
    assert b.ranef()["plate"].equals(a.ranef()["plate"]) or np.allclose(b.ranef()["plate"], a.ranef()["plate"])
    assert "log_likelihood" not in b.idata.children and "ranef_summary" in b.idata.children
    assert not b.has_ranef_draws
    with pytest.raises(hl.HierlmError, match="store_ranef=False"):
        b.ranef_draws()
    tab = b.ranef(intervals=True)
    assert np.allclose(tab["Q97.5"] - tab["Estimate"], 1.959963984540054 * tab["Est.Error"])


def test_store_ranef_false_joint_route():
    pen = hl.load_dataset("Penicillin")
    kw = dict(draws=100, tune=100, chains=2, seed=2, progressbar=False, method="joint")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = hl.blmer("diameter ~ 1 + (1 | plate) + (1 | sample)", pen, **kw)
        b = hl.blmer("diameter ~ 1 + (1 | plate) + (1 | sample)", pen, store_ranef=False, **kw)
    np.testing.assert_array_equal(a.beta_draws(), b.beta_draws())
    for (m, s), x in zip(b.ranef_summary(), a.ranef_draws()):
        flat = x.reshape((-1,) + x.shape[2:])
        np.testing.assert_allclose(m, flat.mean(0), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(s, flat.std(0, ddof=1), rtol=1e-8)
    assert [v for v in b.posterior.data_vars if v.startswith(("z_", "r_"))] == []


def test_store_ranef_must_be_bool(sleep):
    with pytest.raises(hl.SamplingError, match="store_ranef must be True"):
        hl.blmer("Reaction ~ Days + (1 | Subject)", sleep, store_ranef="no")


# -- the partial route: one factor integrated out, the others sampled ------------------------------------
def _collapsed(name, centred):
    from hierlm.engines.bayes import kernels_collapsed as kcm
    from hierlm.engines.bayes import shear

    sp = CASES[name]()
    kc = kcm.collapsed_block(sp)
    for k, b in enumerate(sp.blocks):
        b.centred = centred and k != kc
    arrays = None
    if centred:
        shear.auto_shear(sp, exclude=(kc,))
        arrays = shear.shear_arrays(sp, kcm.collapsed_layout(sp, kc)) if sp.hier_centre else None
    d, ndim = kcm.pack_collapsed(sp, kc, arrays)
    args = kcm.collapsed_args(d)
    return sp, kc, d, ndim, args, arrays


def _dense_collapsed(sp, kc, x):
    """P_c, u_c, σ² of block kc's conditional given the others (model coordinates x, joint layout)."""
    jd, _ = kernels.pack(sp)
    lay = sp.layout()[0]
    b = sp.blocks[kc]
    # η without block kc: the joint kernel's η with kc's effects set to 0 is read from its gradient-free parts
    beta = x[:sp.p]
    eta = sp.offset + sp.X @ beta
    for name, sl, shape, kind, k in lay:
        if kind not in ("z", "r") or k == kc:
            continue
        bk = sp.blocks[k]
        v = x[sl].reshape(shape)
        if kind == "z":
            fsl = next(s for _, s, _, kd, kk in lay if kk == k and kd in ("sd", "chol"))
            L = np.zeros((bk.q, bk.q))
            L[np.tril_indices(bk.q)] = x[fsl]
            L[np.diag_indices(bk.q)] = np.exp(np.diag(L))
            v = v @ L.T
        eta = eta + (v[bk.g] * bk.Z).sum(1)
    fsl = next(s for _, s, _, kd, kk in lay if kk == kc and kd in ("sd", "chol"))
    Lc = np.zeros((b.q, b.q))
    Lc[np.tril_indices(b.q)] = x[fsl]
    Lc[np.diag_indices(b.q)] = np.exp(np.diag(Lc))
    Zc = np.zeros((sp.n, b.J * b.q))
    for t in range(b.q):
        Zc[np.arange(sp.n), b.g * b.q + t] = b.Z[:, t]
    sw = np.sqrt(sp.weights)
    Zc = Zc * sw[:, None] @ np.kron(np.eye(b.J), Lc)
    s2 = np.exp(2 * x[-1])
    return s2 * np.eye(b.J * b.q) + Zc.T @ Zc, Zc.T @ ((sp.y - eta) * sw), s2


@pytest.mark.parametrize("name", ["crossed_priors", "pastes_nested", "slopes_both", "weights_crossed", "machines_q3"])
@pytest.mark.parametrize("centred", [False, True])
def test_collapsed_equals_joint_and_gradient(name, centred):
    """log p_partial(θ, z_rest) = log p_joint(θ, z_rest, z_c) − log p(z_c | ·), the gradient against finite
    differences (1e-6 relative), and the exact draws of z_c against the analytic conditional."""
    from hierlm.engines.bayes import kernels_collapsed as kcm
    from hierlm.engines.bayes.shear import to_internal

    sp, kc, d, ndim, args, arrays = _collapsed(name, centred)
    jd, jdim = kernels.pack(sp)
    keep = kcm.collapsed_keep(sp, kc)
    zpos = np.setdiff1d(np.arange(jdim), keep)
    rng = np.random.default_rng(7)
    for x in _points(sp):
        xc = np.ascontiguousarray(x[keep])
        g = np.zeros(ndim)
        lpc = kcm.coll_logp_grad(xc, g, *args)
        P, u, s2 = _dense_collapsed(sp, kc, x)
        mean = np.linalg.solve(P, u)
        cov = s2 * np.linalg.inv(P)
        z = mean + rng.normal(0, 0.5, len(mean))
        dz = z - mean
        lcond = -0.5 * dz @ np.linalg.solve(cov, dz) - 0.5 * np.linalg.slogdet(2 * np.pi * cov)[1]
        xj = x.copy()
        xj[zpos] = z
        lpj = kernels.logp_grad(xj, np.zeros(jdim), *kernels.kernel_args(jd))
        assert abs(lpc - (lpj - lcond)) <= 1e-9 * max(1.0, abs(lpc))
        b = sp.blocks[kc]
        Q = b.J * b.q
        E = np.vstack([np.zeros((1, Q)), np.eye(Q)]).reshape(Q + 1, b.J, b.q)
        out = kcm.draw_collapsed(np.repeat(xc[None], Q + 1, axis=0), E, *args).reshape(Q + 1, Q)
        M = (out[1:] - out[0]).T
        np.testing.assert_allclose(out[0], mean, rtol=1e-9, atol=1e-10 * np.abs(mean).max())
        np.testing.assert_allclose(M @ M.T, cov, rtol=1e-8, atol=1e-12 * s2)

        def f(v):
            return kcm.coll_logp_grad(np.ascontiguousarray(v), np.zeros(ndim), *args)

        for k in range(ndim):
            h = 1e-3 * max(1.0, abs(xc[k]))
            e = np.zeros(ndim)
            e[k] = h
            fd = (8 * (f(xc + e) - f(xc - e)) - (f(xc + 2 * e) - f(xc - 2 * e))) / (12 * h)
            assert abs(fd - g[k]) <= 1e-6 * max(1.0, abs(g[k])) + 1e-13 * abs(lpc) / h, (k, fd, g[k])
        if arrays is not None:  # the sheared entry point: same density at the mapped point
            from test_bayes_core import call_cfunc

            rc, lp_sh, _ = call_cfunc(kcm.c_logp.address, to_internal(xc, arrays), d["meta"])
            assert rc == 0 and abs(lp_sh - lpc) <= 1e-9 * max(1.0, abs(lpc))


def test_blmer_partial_route():
    pen = hl.load_dataset("Penicillin")
    kw = dict(draws=150, tune=150, chains=2, seed=4, progressbar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = hl.blmer("diameter ~ 1 + (1 | plate) + (1 | sample)", pen, method="partial", **kw)
        b = hl.blmer("diameter ~ 1 + (1 | plate) + (1 | sample)", pen, method="partial", store_ranef=False, **kw)
    assert a.settings["method"] == "partial" and a.settings["route"]["collapsed"] == "plate"
    assert "'plate' integrated out" in a.settings["sampler_label"]
    np.testing.assert_array_equal(a.beta_draws(), b.beta_draws())
    for (m, s), x in zip(b.ranef_summary(), a.ranef_draws()):
        flat = x.reshape((-1,) + x.shape[2:])
        np.testing.assert_allclose(m, flat.mean(0), rtol=1e-10, atol=1e-12)
    assert abs(a.fixef().loc["(Intercept)", "Estimate"] - 22.97) < 1.5  # lme4: 22.972


BENCH = ROOT / "bench" / "results"
REAL = ("Chem97", "egsingle", "ScotsSec", "star", "lexdec", "lexdec_slopes", "ames", "Vocab", "GSSvocab", "CPS1988",
        "LaborSupply", "txhousing")  # the larger real data sets of issue 19's acceptance


def _converged(r):
    return r["max_rhat"] < 1.01 and r["divergent_pct"] < 1.0 and r["min_ess_bulk"] >= 400


@pytest.mark.slow
def test_bench_bayes_scale_results():
    """The recorded bench (bench/results/bayes_scale.json, ``python -m bench.bayes_scale``): what it meets."""
    res = json.loads((BENCH / "bayes_scale.json").read_text())
    assert res["settings"] == {"draws": 1000, "tune": 1000, "chains": 4}
    models = res["models"]
    # at the defaults the default route converges (R-hat < 1.01, divergences < 1%, min bulk ESS >= 400) on
    # at least 5 of the 6 larger real data sets (crossed, nested, two correlated-slope blocks)
    ok = [n for n in REAL if n in models and _converged(models[n]["auto"])]
    assert len(ok) >= len(REAL) - 1, ok
    # issue 19: at least 6 real data sets converge at the defaults in at most 0.25x the joint route's time
    fast = [n for n in ok if models[n]["checks"]["time_ratio"] <= 0.25]
    assert len(fast) >= 6, fast
    # InstEval at the defaults in at most 0.4x the time of the route before the marginal routes
    assert res["insteval"]["time_ratio"] <= 0.4
    assert all(_converged(models[n]["auto"]) for n in models if n not in REAL)  # and on every small one
    for name, rec in models.items():
        a, j = rec["auto"], rec["joint"]
        # the route decision is sound: never much worse per effective draw than the joint route
        assert a["ess_per_s"] >= 0.5 * j["ess_per_s"], name
    # where the random effects are integrated out on the larger sets, at most half the joint route's time
    for name in ("Chem97", "egsingle", "star"):
        assert models[name]["auto"]["route"]["kernel"] == "sparse"
        assert models[name]["checks"]["time_ratio"] <= 0.5, name


@pytest.mark.slow
def test_bench_bayes_scale_sbc_and_memory():
    """SBC of the crossed model on the default route: ranks uniform at 1% after Holm's correction
    (bench/results/bayes_scale_sbc.json); the 1,000,000-row fit with store_ranef=False under 8 GiB
    (bench/results/bayes_scale_memory.json)."""
    sb = json.loads((BENCH / "bayes_scale_sbc.json").read_text())
    assert sb["n_reps"] == 200 and sb["model"]["n_failed"] == 0 and sb["route"] == "sparse"
    assert sb["passed_uniformity"] and sb["model"]["min_p_holm"] > 0.01
    mem = json.loads((BENCH / "bayes_scale_memory.json").read_text())
    assert mem["rows"] >= 1_000_000 and mem["store_ranef"] is False
    assert mem["maxrss_mib"] < 8 * 1024


@pytest.mark.parametrize("name", ["crossed_priors", "pastes_nested", "weights_crossed", "slopes_both"])
def test_pair_list_kernel_equals_marker_kernel(name):
    """Scalar and 2 × 2 nodes: the pair-list factorisation and selected inverse (sparse_pairs, sparse_q2.q2_core)
    give the marker-array code's log density and gradient."""
    from hierlm.engines.bayes.sparse_pairs import no_pairs

    sp = CASES[name]()
    d, mdim = ks.pack_sparse(sp)
    assert d["info"]["pairs"] > 0
    args = ks.sparse_args(d)
    for x in _points(sp):
        xm = np.ascontiguousarray(x[marginal_keep(sp)])
        g1, g2 = np.zeros(mdim), np.zeros(mdim)
        v1 = ks.sparse_logp_grad(xm, g1, *args)
        v2 = ks.sparse_logp_grad(xm, g2, *args[:-1], no_pairs())
        assert v1 == pytest.approx(v2, rel=1e-12)
        np.testing.assert_allclose(g1, g2, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", ["crossed_priors", "pastes_nested"])
def test_collapsed_row_passes_equal_general(name):
    """The intercept-only row passes of :mod:`.collapsed_rows` (Xβ in cross-products, β₀-centred response) give
    the general passes' log density and gradient, also far from β₀."""
    from hierlm.engines.bayes import kernels_collapsed as kcm

    sp, kc, d, ndim, args, arrays = _collapsed(name, False)
    assert args[9].shape[0] == sp.n  # the row passes apply
    general = args[:9] + (np.zeros((0, 1), np.int32), np.zeros(0))
    for x in _points(sp):
        for shift in (0.0, 3.0):
            xc = np.ascontiguousarray(x[kcm.collapsed_keep(sp, kc)])
            xc[:sp.p] += shift
            g1, g2 = np.zeros(ndim), np.zeros(ndim)
            lp1 = kcm.coll_logp_grad(xc, g1, *args)
            lp2 = kcm.coll_logp_grad(xc, g2, *general)
            assert abs(lp1 - lp2) <= 1e-9 * max(1.0, abs(lp2))
            np.testing.assert_allclose(g1, g2, rtol=1e-8, atol=1e-9 * max(1.0, np.abs(g2).max()))


def test_route_keeps_marginal_for_small_crossed_slopes_on_one_core():
    """y ~ x + (x | g) + (1 | h) with 15 x 8 levels: the marginal route also on one core per fit (iters = 4 chains
    x 2,000), where it costs a few times the partial route's estimate; with g only integrated out, 41 of 200 SBC
    fits had R-hat > 1.01."""
    from bench import sbc

    f, data, fam, pri, kw = sbc.templates()["gaussian_crossed"]
    design, fam_, resp = prepare(f, data.assign(y=np.random.default_rng(1).normal(size=len(data))), "gaussian")
    sp = S.build_spec(design, fam_, resp, resolve_priors(design, fam_.name, pri, resp))
    for iters in (2000, 8000):
        assert choose_route(sp, "auto", True, iters=iters).method == "marginal", iters
