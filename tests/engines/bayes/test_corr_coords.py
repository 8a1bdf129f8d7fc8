"""The scale × direction coordinates the integrated-out routes sample a covariance factor in
(:func:`hierlm.engines.bayes.kernel_parts.corr_from_sampler`): exact round trips, the log Jacobian
against a numerical determinant, the gradient against finite differences, and for q = 2 the
correlation as tanh of the direction coordinate (Stan's parametrisation)."""

import numpy as np
import pytest

from hierlm.engines.bayes import kernel_parts as kp

QS = [1, 3, 2, 4]
P = 2
NDIM = P + sum(q * (q + 1) // 2 for q in QS) + 1


def _model(xs, cb):
    x = np.empty(len(xs))
    jac = kp.corr_from_sampler(xs, x, cb)
    return x, jac


def test_table_lists_blocks_with_correlations():
    cb = kp.corr_table(P, QS)
    assert cb.tolist() == [3, P + 1, 3, P + 1 + 6, 2, P + 1 + 6 + 3, 4]
    assert kp.corr_table(1, [1, 1]).tolist() == [0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_round_trip_and_log_jacobian(seed):
    rng = np.random.default_rng(seed)
    cb = kp.corr_table(P, QS)
    xs = rng.normal(size=NDIM) * 1.5
    x, jac = _model(xs, cb)
    np.testing.assert_allclose(kp.corr_to_sampler(x, cb), xs, atol=1e-12)
    J = np.array([(_model(xs + 1e-6 * e, cb)[0] - _model(xs - 1e-6 * e, cb)[0]) / 2e-6 for e in np.eye(NDIM)])
    assert np.linalg.slogdet(J)[1] == pytest.approx(jac, abs=1e-6)
    # the draws' batch version agrees with the single one
    np.testing.assert_array_equal(kp.corr_draws_from_sampler(np.stack([xs, xs]), cb)[1], x)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    cb = kp.corr_table(P, QS)
    W = rng.normal(size=(NDIM, NDIM))
    W = W @ W.T / NDIM

    def f(xs):
        x, jac = _model(xs, cb)
        g = -W @ x + np.cos(x)
        kp.corr_grad_to_sampler(xs, x, g, cb)
        return -0.5 * x @ W @ x + np.sin(x).sum() + jac, g

    xs = rng.normal(size=NDIM)
    num = np.array([(f(xs + 1e-6 * e)[0] - f(xs - 1e-6 * e)[0]) / 2e-6 for e in np.eye(NDIM)])
    np.testing.assert_allclose(f(xs)[1], num, atol=1e-6)


def test_two_by_two_is_sd_and_tanh_correlation():
    cb = kp.corr_table(0, [2])
    s0, y, s1 = 0.3, -0.7, -1.2
    x, _ = _model(np.array([s0, y, s1]), cb)
    L = np.array([[np.exp(x[0]), 0.0], [x[1], np.exp(x[2])]])
    S = L @ L.T
    sd = np.sqrt(np.diag(S))
    np.testing.assert_allclose(sd, np.exp([s0, s1]))
    assert S[0, 1] / (sd[0] * sd[1]) == pytest.approx(np.tanh(y))
