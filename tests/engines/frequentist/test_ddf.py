"""Satterthwaite and Kenward-Roger numerics of the frequentist engine (hierlm.engines.frequentist.ddf).

* pbkrtest's ``vcovAdj`` and lmerTest's coefficient df for every model of the ``lmer_tests`` block of
  tests/reference/course_reference.json (1e-4 relative);
* the sparse Kenward-Roger algebra against a dense transcription of pbkrtest's ``vcovAdj_internal``
  (n × n Σ) on designs the reference does not cover: a vector-valued later block, a singular fit,
  prior weights (which pbkrtest 0.5 ignores, so R cannot check them);
* numDeriv's Richardson schemes, rank-deficient contrasts, errors, and the InstEval timing (slow).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.linalg as sla

import hierlm as hl
from hierlm.design import make_design
from hierlm.design.covariance import lambdas_of_theta, tril_colmajor
from hierlm.engines.frequentist import LmmProblem
from hierlm.engines.frequentist.ddf import (
    contest,
    f_test,
    kenward_roger,
    richardson_hessian,
    richardson_jacobian,
    satterthwaite,
    t_test,
)
from support import ROOT, reference_json

REF = reference_json("course_reference.json")
MODELS = REF["lmer_tests"]
KR_IGNORES_WEIGHTS = {"cbpp_weighted"}


def _data(entry: dict) -> pd.DataFrame:
    """The reference entry's data (factor levels from the JSON, derived columns, row subsets)."""
    info = REF["datasets"][entry["data"]]
    df = hl.load_dataset(entry["data"]) if info.get("loader") == "hl.load_dataset" else pd.read_csv(ROOT / info["file"])
    for col, levels in info["factors"].items():
        s = df[col]
        if not isinstance(s.dtype, pd.CategoricalDtype):
            s = s.map(lambda v: v if pd.isna(v) else format(v, "g") if isinstance(v, (int, float, np.number)) else str(v))
        df[col] = pd.Categorical(s.astype(object), categories=levels)
    if entry.get("derived"):
        lhs, rhs = entry["derived"].split("=", 1)
        df[lhs.strip()] = df.eval(rhs)
    if entry.get("subset") == "drop_every_7th":
        df = df[(np.arange(len(df)) + 1) % 7 != 0].reset_index(drop=True)
    return df


def _solve(formula: str, data: pd.DataFrame, reml: bool = True, weights=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prob = LmmProblem(make_design(formula, data, weights=weights), reml=reml)
    return prob, prob.solve()


@pytest.mark.parametrize("name", list(MODELS))
def test_reference_df_and_vcov_adj(name):
    e = MODELS[name]
    prob, sol = _solve(e["formula"], _data(e), e["REML"], e["weights"])
    assert list(prob.design.xnames) == e["fixef_names"]
    methods = [("coef_satterthwaite", satterthwaite(prob, sol))]
    if e["REML"] and name not in KR_IGNORES_WEIGHTS:
        kr = kenward_roger(prob, sol)
        methods.append(("coef_kenward_roger", kr))
        if "vcov_kr" in e:
            V = np.array(e["vcov_kr"]["matrix"])
            np.testing.assert_allclose(kr.vcov_adj, V, rtol=1e-4, atol=1e-4 * np.abs(V).max())
    elif not e["REML"]:
        with pytest.raises(hl.HierlmError, match="REML"):
            kenward_roger(prob, sol)
    for key, method in methods:
        for j, nm in enumerate(e["fixef_names"]):
            ref = e[key][nm]
            r = t_test(method, np.eye(len(sol.beta))[j])
            for col in ("Std. Error", "df", "t value"):
                assert r[col] == pytest.approx(ref[col], rel=1e-4), (key, nm, col)


# -- dense transcription of pbkrtest::vcovAdj_internal ------------------------------------------
def dense_vcov_adj(prob: LmmProblem, sol) -> np.ndarray:
    """pbkrtest's algorithm verbatim on the n × n Σ (residual G = W⁻¹ when there are prior weights)."""
    d = prob.design
    X, n = d.X, d.n
    G, gam = [], []
    for t, lam in zip(d.reterms, lambdas_of_theta(sol.theta, prob.tmap.sizes)):
        Z = t.z_matrix().toarray()
        S = sol.sigma**2 * lam @ lam.T
        for i, j in zip(*tril_colmajor(t.ncols)):
            E = np.zeros((t.ncols, t.ncols))
            E[i, j] = E[j, i] = 1.0
            G.append(Z @ np.kron(np.eye(t.nlevels), E) @ Z.T)
            gam.append(S[i, j])
    G.append(np.eye(n) if d.weights is None else np.diag(1 / d.weights))
    gam.append(sol.sigma**2)
    Sigma = sum(g * Gi for g, Gi in zip(gam, G))
    SigmaInv = sla.cho_solve(sla.cho_factor(Sigma), np.eye(n))
    Phi = np.linalg.inv(X.T @ SigmaInv @ X)
    m = len(G)
    TT = SigmaInv @ X
    HH = [Gi @ SigmaInv for Gi in G]
    OO = [H @ X for H in HH]
    PP = [-(O.T @ TT) for O in OO]
    QQ = [[OO[r].T @ SigmaInv @ OO[s] for s in range(m)] for r in range(m)]
    K = np.array([[np.sum(HH[r].T * HH[s]) for s in range(m)] for r in range(m)])
    IE = np.array([[K[i, j] - 2 * np.sum(Phi * QQ[i][j]) + np.sum((Phi @ PP[i]) * (PP[j] @ Phi))
                    for j in range(m)] for i in range(m)])
    W = 2 * np.linalg.inv(IE)
    U = sum(W[i, j] * (QQ[i][j] - PP[i] @ Phi @ PP[j]) for i in range(m) for j in range(m))
    return Phi + 2 * Phi @ U @ Phi


@pytest.mark.parametrize("formula, data, weights", [
    ("weight ~ Time + (1 | Diet) + (Time | Chick)", "chick_small", None),   # vector first block + scalar block
    ("weight ~ Time + (Time | Diet) + (1 | Chick)", "chick_small", None),   # vector later block
    ("weight ~ Time + (Time || Chick) + (1 | Diet)", "chick_small", "w"),   # || blocks and prior weights
    ("incidence / size ~ period + (1 | herd)", "cbpp", "size"),             # weights (pbkrtest ignores them)
    ("diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin", None),
    ("y ~ x + (1 | g) + (1 | h)", "singular", None),                        # a variance at the boundary
])
def test_sparse_kr_matches_dense_pbkrtest(formula, data, weights):
    if data == "chick_small":
        df = hl.load_dataset("ChickWeight")
        df = df[df.Chick.cat.codes % 3 == 0].assign(w=lambda x: 1.0 + (x.Time % 3))
        df["Chick"] = df.Chick.cat.remove_unused_categories()
    elif data == "singular":
        rng = np.random.default_rng(3)
        df = pd.DataFrame({"g": np.repeat(list("abcdefgh"), 6), "h": np.tile(list("uvw"), 16), "x": rng.normal(size=48)})
        df["y"] = 0.5 * df.x + np.repeat(rng.normal(size=8), 6) + rng.normal(size=48)
    else:
        df = hl.load_dataset(data)
    prob, sol = _solve(formula, df, weights=weights)
    if data == "singular":
        assert np.any(sol.theta == 0)
    kr = kenward_roger(prob, sol)
    np.testing.assert_allclose(kr.vcov_adj, dense_vcov_adj(prob, sol), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(kr.vcov_beta, sol.vcov_beta, rtol=1e-7)


def test_richardson_schemes():
    f = lambda v: np.exp(v[0]) * np.sin(v[1]) + v[0] * v[1] ** 3  # noqa: E731
    x = np.array([0.3, 1.2])
    H = richardson_hessian(f, x)
    exact = np.array([[np.exp(0.3) * np.sin(1.2), np.exp(0.3) * np.cos(1.2) + 3 * 1.2**2],
                      [np.exp(0.3) * np.cos(1.2) + 3 * 1.2**2, -np.exp(0.3) * np.sin(1.2) + 6 * 0.3 * 1.2]])
    np.testing.assert_allclose(H, exact, rtol=1e-8)
    J = richardson_jacobian(lambda v: np.array([f(v), v[0] * v[1]]), x)
    np.testing.assert_allclose(J[1], [1.2, 0.3], rtol=1e-10)


def test_contrast_tests():
    prob, sol = _solve("yield ~ nitro * Variety + (1 | Block/Variety)", hl.load_dataset("Oats"))
    kr, st = kenward_roger(prob, sol), satterthwaite(prob, sol)
    L = np.eye(6)[[2, 3]]
    for method in (kr, st):
        full = f_test(method, L)
        # a repeated row does not change the test (pbkrtest's force_full_rank; lmerTest's eigen step)
        rep = f_test(method, np.vstack([L, L[0]]))
        for col in ("F value", "DenDF", "Pr(>F)", "NumDF"):
            assert rep[col] == pytest.approx(full[col], rel=1e-8)
        rows = contest(method, L, joint=False)
        assert [r["Estimate"] for r in rows] == pytest.approx(sol.beta[[2, 3]])
        assert f_test(method, np.zeros((0, 6))) is None
    # Kenward-Roger's unscaled Wald statistic uses the adjusted covariance
    r = f_test(kr, L)
    b = L @ sol.beta
    wald = b @ np.linalg.solve(L @ kr.vcov_adj @ L.T, b) / 2
    assert r["Mean Sq"] == pytest.approx(wald * sol.sigma**2)


@pytest.mark.slow
def test_instevel_kenward_roger_takes_seconds():
    """InstEval (73k rows, 2972 + 1128 + 14 levels): the KR df of a coefficient in a few seconds."""
    prob, sol = _solve("y ~ service + (1 | s) + (1 | d) + (1 | dept)", hl.load_dataset("InstEval"))
    t0 = time.perf_counter()
    kr = kenward_roger(prob, sol)
    r = t_test(kr, np.array([0.0, 1.0]))
    seconds = time.perf_counter() - t0
    assert seconds < 15, seconds
    assert 1e4 < r["df"] < prob.n and np.isfinite(r["Pr(>|t|)"])
    assert 10 < t_test(kr, np.array([1.0, 0.0]))["df"] < 20  # about the number of departments
