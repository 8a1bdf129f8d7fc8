"""Hat values, Cook's distances and residual types of lmer / glmer fits (hierlm.fits.influence).

References: the ``mixed_influence`` block of course_reference.json (lme4 1.1-31's ``hatvalues.merMod`` and
``cooks.distance.merMod`` = (r_P / (1 − h))² h / (σ² rank(X)), at lme4's best fit) and ``glmm_hat_tight`` of
lm_extra_reference.json (the same for GLMMs refitted with a fully converged PIRLS, with θ and β).

LMMs agree to ~1e-6 (hat) and ~1e-5 (Cook's; it magnifies the 1e-7 differences of the two optima through
the residuals), so both are checked at 1e-4.  For a GLMM lme4 evaluates the hat matrix with the working
weights of its last PIRLS step, which its default ``tolPwrss`` leaves ~1e-4 away from the weights of its
reported modes (and hierlm's optimum differs from lme4's by ~1e-4 in θ): against the default fits the hat
values are checked at 1e-3 and Cook's distances at 1e-3 times their sensitivity to h, 1 + 2h/|1 − h|
(binomial "hat values" above 1 make 1 − h small).  The algorithm itself is checked exactly at lme4's own
θ and β (``glmm_hat_tight``), and against a dense computation of lme4's formula.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
import scipy.linalg as sla

import hierlm as hl
from hierlm.engines.frequentist import GlmmProblem
from hierlm.engines.frequentist.hat import mixed_hat_diagonal
from hierlm.fits.influence import cooks_distance, dispersion_of, hatvalues, residuals_of, rstandard
from lm_reference import COURSE, EXTRA, course_data

INF = COURSE["mixed_influence"]


@functools.cache
def mixed(name: str):
    r = INF[name]
    data = course_data(r["data"])
    weights = "size" if "weighted" in name else None
    if r["family"] == "gaussian":
        return hl.lmer(r["formula"], data, reml=r["REML"], weights=weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hl.HierlmWarning)
        return hl.glmer(r["formula"], data, family=r["family"])


def quiet(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hl.HierlmWarning)
        return fn(*args)


@pytest.mark.parametrize("name", sorted(k for k, v in INF.items() if v["family"] == "gaussian"))
def test_lmm_hat_and_cooks(name):
    r, m = INF[name], mixed(name)
    h, ref_h = hatvalues(m), np.array(r["hatvalues"])
    np.testing.assert_allclose(h, ref_h, rtol=1e-4)
    ref_c = np.array(r["cooks_distance"])
    np.testing.assert_allclose(cooks_distance(m), ref_c, rtol=1e-4, atol=1e-4 * ref_c.max())
    assert h.shape == (m.nobs(),) and np.all((h > 0) & (h < 1))


@pytest.mark.parametrize("name", sorted(k for k, v in INF.items() if v["family"] != "gaussian"))
def test_glmm_hat_and_cooks_against_lme4_defaults(name):
    r, m = INF[name], mixed(name)
    with pytest.warns(hl.HierlmWarning, match="may not make sense for GLMMs"):
        h = hatvalues(m)
    ref_h = np.array(r["hatvalues"])
    np.testing.assert_allclose(h, ref_h, rtol=1e-3)
    c, ref_c = quiet(cooks_distance, m), np.array(r["cooks_distance"])
    np.testing.assert_allclose(c, ref_c, rtol=0, atol=1e-2 * ref_c.max())
    assert list(np.argsort(-c)[:5]) == list(np.argsort(-ref_c)[:5])  # the same most influential observations


def _glmm_at(m, theta, beta):
    """PIRLS at lme4's θ and β (β fixed), and the hat values of lme4's formula there."""
    prob = GlmmProblem(m.design, m.family, m.response)
    lams = prob.tmap.lambdas(prob.tmap.to_internal(np.asarray(theta)))
    r = prob.pirls(lams, np.linalg.solve(prob.TX, np.asarray(beta)), None, update_beta=False, tol=1e-13)
    cp = prob.irls_system(r.eta, r.mu, prob.X)
    h = mixed_hat_diagonal(cp, cp.factor(lams), prob.terms_internal, prob.X, np.sqrt(m.response.weights))
    return h, r.mu


@pytest.mark.parametrize("name", sorted(EXTRA["glmm_hat_tight"]))
def test_glmm_hat_at_lme4_estimates(name):
    """The same algorithm as lme4: at lme4's (fully converged) θ and β the numbers agree to rounding."""
    r = EXTRA["glmm_hat_tight"][name]
    m = mixed(name)
    h, mu = _glmm_at(m, r["theta"], r["beta"])
    np.testing.assert_allclose(h, r["hatvalues"], rtol=1e-6)
    pearson = m.family.pearson_residuals(m.response.y, mu, m.response.weights)
    np.testing.assert_allclose(pearson, r["pearson"], rtol=1e-6, atol=1e-9)
    cooks = (pearson / (1 - h)) ** 2 * h / m.design.p
    np.testing.assert_allclose(cooks, r["cooks_distance"], rtol=1e-5)


def _dense_hat(design, lambdas_full, X, w_system, w_rows):
    """lme4's eqs. 63-65 with dense matrices: diag(A (AᵀWA + blockdiag(I, 0))⁻¹ Aᵀ) with A = [ZΛ X]."""
    Z = np.hstack([_z(t) for t in design.reterms])
    A = np.hstack([Z @ lambdas_full, X])
    q = Z.shape[1]
    M = A.T @ (A * w_system[:, None])
    M[:q, :q] += np.eye(q)
    B = A * np.sqrt(w_rows)[:, None]
    return np.einsum("ij,ji->i", B, sla.solve(M, B.T, assume_a="pos"))


def _z(t):
    Z = np.zeros((len(t.index), t.nlevels * t.ncols))
    for j in range(t.ncols):
        Z[np.arange(len(t.index)), t.index * t.ncols + j] = t.values[:, j]
    return Z


def _big_lambda(m):
    blocks = [np.kron(np.eye(t.nlevels), lam) for t, lam in zip(m.design.reterms, m.lambdas())]
    return sla.block_diag(*blocks)


@pytest.mark.parametrize("formula, data, weights", [
    ("weight ~ Time + (Time | Chick) + (Time | Diet)", "ChickWeight", None),  # vector-valued later block
    ("diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin", None),  # crossed scalar blocks
    ("strength ~ 1 + (1 | batch/cask)", "Pastes", None),  # nested
    ("incidence/size ~ period + (1 | herd)", "cbpp", "size"),  # prior weights
])
def test_lmm_hat_equals_dense_formula(formula, data, weights):
    m = quiet(hl.lmer, formula, course_data(data), True, weights)
    w = np.ones(m.nobs()) if m.design.weights is None else m.design.weights
    dense = _dense_hat(m.design, _big_lambda(m), m.design.X, w, w)
    np.testing.assert_allclose(hatvalues(m), dense, rtol=1e-8, atol=1e-12)
    assert abs(hatvalues(m).sum() - dense.sum()) < 1e-8 * dense.sum()


def test_glmm_hat_equals_dense_formula():
    m = mixed("grouseticks_glmer")
    me = m.family.link.mu_eta(m.eta)
    w_work = m.response.weights * me**2 / m.family.variance(m.mu)
    dense = _dense_hat(m.design, _big_lambda(m), m.design.X, w_work, m.response.weights)
    np.testing.assert_allclose(quiet(hatvalues, m), dense, rtol=1e-8)


def test_hat_values_chunked():
    """Chunks of the rest's solve give the same numbers as one block."""
    m = mixed("orthodont")
    prob = m._problem()
    f = prob.cp.factor(prob.tmap.lambdas(m.optinfo["theta_internal"]))
    one = mixed_hat_diagonal(prob.cp, f, prob.terms_internal, prob.X_internal, prob.sqrtw)
    small = mixed_hat_diagonal(prob.cp, f, prob.terms_internal, prob.X_internal, prob.sqrtw, chunk_elems=7)
    np.testing.assert_allclose(small, one, rtol=1e-12)


def test_residual_types_of_mixed_fits():
    m = mixed("cbpp_weighted_lmm")  # lme4: pearson = deviance = √w (y − μ), working = response = y − μ
    y = m.design.y
    r = y - m.fitted()
    np.testing.assert_allclose(residuals_of(m), r)
    np.testing.assert_allclose(residuals_of(m, "working"), r)
    np.testing.assert_allclose(residuals_of(m, "pearson"), np.sqrt(m.design.weights) * r)
    np.testing.assert_allclose(residuals_of(m, "deviance"), residuals_of(m, "pearson"))
    assert dispersion_of(m) == pytest.approx(m.sigma() ** 2)
    g = mixed("cbpp_glmer")
    for kind in ("response", "pearson", "deviance", "working"):
        np.testing.assert_allclose(residuals_of(g, kind), g.residuals(kind))
    np.testing.assert_allclose(residuals_of(g), g.residuals("deviance"))
    assert dispersion_of(g) == 1.0


def test_bad_input():
    m = mixed("sleep")
    with pytest.raises(hl.HierlmError, match="residual type"):
        residuals_of(m, "partial")
    with pytest.raises(hl.HierlmError, match="lm and glm"):
        rstandard(m)
    with pytest.raises(AttributeError):
        hatvalues("not a fit")
