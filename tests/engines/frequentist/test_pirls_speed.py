"""Issue 20's fast paths give the numbers of the general code: the PIRLS system refreshed in place
(:class:`IrlsSystem`, with its single-block and observation-level shortcuts), the blocked solve without
L_R1, the Newton polish of the LMM optimum and the level coding of grouping columns."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import hierlm as hl
from hierlm.design import make_design
from hierlm.design.value import as_categorical
from hierlm.engines.frequentist import lmm, pirls
from hierlm.engines.frequentist.blocked import (
    CrossProducts,
    block_diagonal,
    lower_inverse,
)
from hierlm.engines.frequentist.gradient import derivatives
from hierlm.engines.frequentist.lmm import LmmProblem
from hierlm.engines.frequentist.pirls import IrlsSystem
from hierlm.formula.ast import format_number


def _cbpp_obs():
    d = hl.load_dataset("cbpp")
    return d.assign(obs=[f"o{i}" for i in range(len(d))])  # level order ≠ row order ("o10" < "o2")


DESIGNS = {
    "scalar": ("cbpp", "incidence ~ period + (1 | herd)"),
    "vector": ("sleepstudy", "Reaction ~ Days + (Days | Subject)"),
    "crossed": ("Penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)"),
    "vector_rest": ("Oats", "yield ~ nitro + (nitro | Variety) + (nitro | Block)"),
    "obs_level": ("cbpp_obs", "incidence ~ period + (1 | herd) + (1 | obs)"),
    "obs_only": ("cbpp_obs", "incidence ~ period + (1 | obs)"),
    "obs_two_more": ("grouseticks", "TICKS ~ YEAR + (1 | INDEX) + (1 | BROOD) + (1 | LOCATION)"),
}


def _design(key):
    data, formula = DESIGNS[key]
    df = _cbpp_obs() if data == "cbpp_obs" else hl.load_dataset(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hl.HierlmWarning)
        return make_design(formula, df)


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize("with_x", [True, False])
@pytest.mark.parametrize("key", list(DESIGNS))
def test_irls_system_matches_a_fresh_blocked_system(key, with_x, dense, monkeypatch):
    if not dense:  # the Schur update through the refreshed pair matrix instead of one dense product
        monkeypatch.setattr(pirls, "DENSE_SCHUR_FLOPS", 0)
    d = _design(key)
    rng = np.random.default_rng(7)
    terms = [(t.index, t.values) for t in d.reterms]
    nl = [t.nlevels for t in d.reterms]
    X = d.X if with_x else d.X[:, :0]
    system = IrlsSystem(terms, nl, X)
    assert system.obs_level == key.startswith("obs")
    for _ in range(2):  # refreshed in place: the second call must not see the first one's numbers
        w, z = rng.uniform(0.2, 3.0, d.n), rng.normal(size=d.n)
        lams = [np.tril(rng.uniform(0.2, 1.5, (t.ncols, t.ncols))) for t in d.reterms]
        ref = CrossProducts(terms, nl, X, z, np.sqrt(w))
        f = ref.factor(lams)
        beta, us = ref.modes(f)
        u, b, logdet = system.solve(lams, w, z)
        np.testing.assert_allclose(u, np.concatenate(us), atol=1e-10)
        np.testing.assert_allclose(b, beta, atol=1e-10)
        assert abs(logdet - f.logdet_re) < 1e-10 * max(1.0, abs(f.logdet_re))


@pytest.mark.parametrize("dense", [True, False])
def test_irls_general_path_refreshes_cross_products(dense, monkeypatch):
    if not dense:
        monkeypatch.setattr(pirls, "DENSE_SCHUR_FLOPS", 0)
    d = _design("crossed")
    terms = [(t.index, t.values) for t in d.reterms]
    nl = [t.nlevels for t in d.reterms]
    system = IrlsSystem(terms, nl, d.X)
    assert system.dense == dense
    w, z = np.linspace(0.5, 2.0, d.n), np.cos(np.arange(d.n))
    cp = system.update(w, z)
    ref = CrossProducts(terms, nl, d.X, z, np.sqrt(w))
    np.testing.assert_allclose(cp.A11, ref.A11, atol=1e-12)
    ar1 = cp.AR1 if dense else cp.AR1.toarray()
    np.testing.assert_allclose(ar1, ref.AR1.toarray(), atol=1e-12)
    np.testing.assert_allclose(cp.ARR, ref.ARR, atol=1e-10)
    W = np.random.default_rng(1).uniform(0.1, 1.0, (cp.first.nlevels, 1, 1))
    np.testing.assert_allclose(cp.schur_update(W), ref.schur_update(W), atol=1e-10)


@pytest.mark.parametrize("key", ["vector", "crossed", "vector_rest"])
def test_modes_and_lr1_products_match_the_sparse_solve(key):
    d = _design(key)
    prob = LmmProblem(d)
    f = prob.cp.factor(prob.tmap.lambdas(prob.tmap.start() * 0.7 + 0.1))
    beta, us, LR1 = prob.cp.solve(f)
    beta2, us2 = prob.cp.modes(f)
    np.testing.assert_allclose(beta2, beta, atol=1e-12)
    for a, b in zip(us2, us):
        np.testing.assert_allclose(a, b, atol=1e-12)
    Z = np.random.default_rng(3).normal(size=(LR1.shape[1], 2))
    k = prob.cp.q_rest - 1
    np.testing.assert_allclose(prob.cp.lr1_times(f, Z, k), (LR1[:k] @ Z), atol=1e-10)


def test_block_diagonal_and_lower_inverse():
    rng = np.random.default_rng(2)
    B = rng.normal(size=(4, 3, 3))
    np.testing.assert_allclose(block_diagonal(B).toarray(), sp.block_diag(list(B)).toarray())
    for p in (2, 3):
        L = np.tril(rng.uniform(0.5, 2.0, (5, p, p)))
        np.testing.assert_allclose(np.matmul(lower_inverse(L), L), np.broadcast_to(np.eye(p), L.shape), atol=1e-12)


@pytest.mark.parametrize("data,formula", [("Penicillin", "diameter ~ 1 + (1|plate) + (1|sample)"),
                                          ("Pastes", "strength ~ 1 + (1|batch/cask)"),
                                          ("Dyestuff", "Yield ~ 1 + (1|Batch)")])
def test_bobyqa_optimum_is_polished_to_a_stationary_point(data, formula):
    prob = LmmProblem(make_design(formula, hl.load_dataset(data)))
    assert not prob.use_newton
    x, _ = prob.optimize()
    f = prob.cp.factor(prob.tmap.lambdas(x), keep_ceff=True)
    g, H = derivatives(prob.cp, f, True, prob.tmap.entries())
    free = x > 1e-8
    assert np.abs(np.linalg.solve(H[np.ix_(free, free)], g[free])).max() < 1e-6  # Newton step ~ 0


def test_newton_replaces_bobyqa_from_three_covariance_parameters():
    prob = LmmProblem(_design("vector"))
    assert prob.use_newton and prob.tmap.ntheta >= lmm.NEWTON_MIN_THETA
    _, info = prob.optimize()
    assert info["optimizer"] == "newton" and info["converged"] and info["nevals"] < 20


@pytest.mark.parametrize("values", [
    pd.Series([3, 1, 2, 1, None, 10.0]), pd.Series(["b", "a", None, "c", "a"]), pd.Series([True, False, True]),
    pd.Series([1.5, 2.25, 1.5, 0.1 + 0.2]), pd.Series(["10", "9", "1"]), np.array([1, 1.0, 2]),
])
def test_grouping_levels_are_coded_as_r_codes_them(values):
    codes, levels, _ = as_categorical(values)
    strs = ["NA" if c < 0 else levels[c] for c in codes]
    s = pd.Series(values)
    expect = []
    for v in s:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            expect.append("NA")
        elif isinstance(v, (bool, np.bool_)):
            expect.append("TRUE" if v else "FALSE")
        elif isinstance(v, (float, np.floating)):
            expect.append(format_number(v))
        else:
            expect.append(str(v))
    assert strs == expect
    codes2, levels2, _ = as_categorical(values, levels=levels[:1])  # new data: unseen levels appended in order
    assert [levels2[c] if c >= 0 else "NA" for c in codes2] == expect


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize("key", ["crossed", "obs_level", "vector"])
def test_irls_update_gives_a_complete_system(key, dense, monkeypatch):
    """``update`` hands out a CrossProducts that ``solve`` and ``u_cond_var`` accept (the ordinal engine's use),
    also for an observation-level first block, whose own solve never builds it."""
    if not dense:
        monkeypatch.setattr(pirls, "DENSE_SCHUR_FLOPS", 0)
    d = _design(key)
    terms = [(t.index, t.values) for t in d.reterms]
    nl = [t.nlevels for t in d.reterms]
    w, z = np.linspace(0.5, 2.0, d.n), np.sin(np.arange(d.n))
    lams = [np.tril(np.full((t.ncols, t.ncols), 0.6)) for t in d.reterms]
    cp = IrlsSystem(terms, nl, d.X[:, :0]).update(w, z)
    ref = CrossProducts(terms, nl, d.X[:, :0], z, np.sqrt(w))
    f, f0 = cp.factor(lams), ref.factor(lams)
    _, us, LR1 = cp.solve(f)
    _, us0, LR10 = ref.solve(f0)
    np.testing.assert_allclose(np.concatenate(us), np.concatenate(us0), atol=1e-10)
    for a, b in zip(cp.u_cond_var(f, LR1), ref.u_cond_var(f0, LR10)):
        np.testing.assert_allclose(a, b, atol=1e-10)


def test_bobyqa_is_restarted_after_stopping_short():
    """A bootstrap refit (sleepstudy replicate 127 of the reference simulations) on which NLopt's ftol
    test stops BOBYQA 0.07 above the optimum: minimize_theta's default restart reaches it (lme4: 1716.7571)."""
    from support import REF_DIR

    from hierlm.engines.frequentist.optimize import minimize_theta

    y = np.loadtxt(REF_DIR / "bootstrap_sleep_sims.csv.gz", delimiter=",", skiprows=1)[:, 127]
    prob = LmmProblem(make_design("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy")), reml=False)
    prob.set_response(y)
    start, lb = np.array([1.4233325, 0.48721411, 0.41749925]), prob.tmap.lower_bounds()
    # (a single BOBYQA run stops at 1716.8268 with NLopt 2.11 on this start)
    assert minimize_theta(prob.objective, start, lb)["fun"] == pytest.approx(1716.7571087818, abs=1e-6)
    assert prob.optimize(start)[1]["fun"] == pytest.approx(1716.7571087818, abs=1e-6)  # Newton path
