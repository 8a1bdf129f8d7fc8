"""The fast REML path: Schur pair structure, analytic gradient, average-information Newton, InstEval."""

import time
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import hierlm as hl
from support import REFS
from hierlm.design import make_design
from hierlm.engines.frequentist import lmm
from hierlm.engines.frequentist.blocked import CrossProducts
from hierlm.engines.frequentist.gradient import derivatives, deviance_gradient
from hierlm.engines.frequentist.lmm import LmmProblem

CASES = [
    ("sleepstudy", "Reaction ~ Days + (Days | Subject)"),  # vector first block, no rest blocks
    ("Penicillin", "diameter ~ 1 + (1|plate) + (1|sample)"),  # scalar crossed
    ("Machines", "score ~ Machine + (Machine | Worker) + (1|Machine)"),  # 3×3 first block + scalar rest
    ("Oats", "yield ~ nitro + (nitro|Variety) + (nitro|Block)"),  # vector rest block
    ("Sitka", "size ~ treat*(Time + I(Time^2)) + (1 + Time | tree)"),  # raw scales (internal transform)
]


def _problem(data, formula, reml=True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hl.HierlmWarning)
        return LmmProblem(make_design(formula, hl.load_dataset(data)), reml=reml)


def _fd_gradient(prob, th, h=1e-6):
    return np.array([(prob.objective(th + h * e) - prob.objective(th - h * e)) / (2 * h) for e in np.eye(len(th))])


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("data,formula", CASES)
def test_gradient_matches_finite_differences(data, formula, reml):
    prob = _problem(data, formula, reml)
    rng = np.random.default_rng(7)
    lb = prob.tmap.lower_bounds()
    th = np.where(np.isinf(lb), rng.uniform(-0.8, 0.8, len(lb)), rng.uniform(0.3, 1.5, len(lb)))
    f = prob.cp.factor(prob.tmap.lambdas(th), keep_ceff=True)
    g = prob.tmap.theta_of(deviance_gradient(prob.cp, f, reml))
    np.testing.assert_allclose(g, _fd_gradient(prob, th), rtol=1e-5, atol=1e-5 * (1 + np.abs(g).max()))


def test_gradient_on_the_boundary():
    """No λ is inverted: a variance exactly 0 gives the (zero) one-sided derivative of an even function."""
    prob = _problem("Penicillin", "diameter ~ 1 + (1|plate) + (1|sample)")
    th = np.array([1.2, 0.0])
    f = prob.cp.factor(prob.tmap.lambdas(th), keep_ceff=True)
    g = prob.tmap.theta_of(deviance_gradient(prob.cp, f, True))
    assert g[1] == pytest.approx(0.0, abs=1e-9)
    h = 1e-6
    assert g[0] == pytest.approx((prob.objective(th + [h, 0]) - prob.objective(th - [h, 0])) / (2 * h), rel=1e-5)


def test_average_information_near_hessian_at_optimum():
    prob = _problem("sleepstudy", "Reaction ~ Days + (Days | Subject)")
    x, _ = prob.optimize()
    ent = prob.tmap.entries()

    def grad(th):
        return derivatives(prob.cp, prob.cp.factor(prob.tmap.lambdas(th), keep_ceff=True), True, ent)[0]

    H = derivatives(prob.cp, prob.cp.factor(prob.tmap.lambdas(x), keep_ceff=True), True, ent)[1]
    h = 1e-5
    Hfd = np.array([(grad(x + h * e) - grad(x - h * e)) / (2 * h) for e in np.eye(len(x))])
    np.testing.assert_allclose(H, Hfd, rtol=1e-3, atol=1e-3 * np.abs(Hfd).max())


@pytest.mark.parametrize("data,formula", CASES + [("Machines", "score ~ Machine + (0 + Machine | Worker)"),
                                                  ("sleepstudy", "Reaction ~ 0 + Days + (Days | Subject)")])
def test_newton_reaches_the_bobyqa_optimum(data, formula, monkeypatch):
    prob = _problem(data, formula)
    monkeypatch.setattr(lmm, "NEWTON_MIN_REST", 10**9)
    monkeypatch.setattr(lmm, "NEWTON_MIN_THETA", 10**9)
    xb, rb = prob.optimize()  # BOBYQA and the Newton polish
    assert "optimizer" not in rb
    monkeypatch.setattr(lmm, "NEWTON_MIN_REST", 0)
    xn, rn = prob.optimize()
    assert rn["optimizer"] == "newton" and rn["converged"]
    assert rn["fun"] <= rb["fun"] + 1e-7


def test_schur_pairs_match_dense_update():
    """Vector-valued first block: P @ vec(W) against AR1 blockdiag(W) AR1ᵀ formed directly."""
    prob = _problem("Machines", "score ~ Machine + (Machine | Worker) + (1|Machine)")
    cp: CrossProducts = prob.cp
    rng = np.random.default_rng(1)
    W = rng.normal(size=(cp.first.nlevels, cp.first.p, cp.first.p))
    W = W @ np.swapaxes(W, 1, 2)
    dense = (cp.AR1 @ sp.block_diag([sp.csr_matrix(w) for w in W]) @ cp.AR1.T).toarray()
    np.testing.assert_allclose(cp.schur_update(W), dense, atol=1e-10)


def test_factor_upper_triangle_is_finite():
    """Only the lower triangle is the factor, but callers run solve_triangular (check_finite) on it."""
    prob = _problem("Penicillin", "diameter ~ 1 + (1|plate) + (1|sample)")
    for _ in range(20):
        f = prob.cp.factor(prob.tmap.lambdas(np.array([1.5, 3.5])))
        assert np.isfinite(f.Lrr).all()


@pytest.mark.xdist_group("heavy")
def test_insteval_fast_and_matches_lme4():
    """lme4 needs ~23 s (lme4_extra.json: instEval.seconds); a tight lme4 refit (rhoend = 1e-12)
    gives θ = (0.2764959, 0.4373650, 0.0706063), REML criterion 237733.834127519."""
    r = REFS["instEval"]
    data = hl.load_dataset("InstEval")
    t0 = time.perf_counter()
    m = hl.lmer(r["formula"], data)
    seconds = time.perf_counter() - t0
    print(f"InstEval REML fit: {seconds:.2f} s ({m.optinfo['optimizer']}, {m.optinfo['nevals']} evaluations)")
    assert m.optinfo["optimizer"] == "newton"
    assert seconds < 0.5 * min(r["seconds"])  # generous: ~0.7 s on an idle machine
    np.testing.assert_allclose(m.sigma(), r["sigma"], rtol=1e-5)
    np.testing.assert_allclose(m.fixef()["Estimate"], list(r["fixef"].values()), rtol=1e-5)
    vc = m.varcorr()["vcov"].to_numpy()
    ref = np.array([v["vcov"] for v in r["varcorr"]])
    np.testing.assert_allclose(vc[[0, 1, 3]], ref[[0, 1, 3]], rtol=1e-4)
    np.testing.assert_allclose(vc[2], 0.00691204959372, rtol=1e-4)  # dept: lme4's default stops short
    assert m.reml_criterion() <= r["REMLcrit"] + 1e-7
    np.testing.assert_allclose(m.theta, [0.2764959132861, 0.4373650315482, 0.0706062958139], rtol=1e-4)
