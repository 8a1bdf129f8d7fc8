"""Draws from the model ``hl.blmer`` defines: parameters from its priors, responses given them.

Used by :mod:`hierlm.services.validation.sbc` (simulation-based calibration) and :mod:`hierlm.services.validation.recovery`.  The priors are
the very :class:`~hierlm.engines.bayes.priors.Prior` objects of a :class:`~hierlm.engines.bayes.priors.PriorSet`, drawn in PyMC's
parametrisations (rates, not scales); the ``Intercept`` prior is on the intercept of the model with
*centred* predictors, as in ``blmer`` and brms, so the lme4 intercept is ``Intercept − Σ_j mean(x_j) b_j``.

Examples
--------
>>> C = lkj_corr(2, 1.0, np.random.default_rng(0))
>>> C.shape, float(C[0, 0])
((2, 2), 1.0)
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ...design import get_family
from ...engines.bayes.families import aux_names, replicate
from ...errors import HierlmError

__all__ = ["draw_prior", "simulate_response", "lkj_corr"]


def _draw(prior, rng: np.random.Generator, size=None):
    """Draws of one :class:`~hierlm.engines.bayes.priors.Prior` (PyMC's parametrisations: rates, not scales)."""
    p, d = prior.params, prior.dist
    if d == "normal":
        return rng.normal(p["mu"], p["sigma"], size)
    if d == "student_t":
        return p["mu"] + p["sigma"] * rng.standard_t(p["nu"], size)
    if d == "half_normal":
        return np.abs(rng.normal(0.0, p["sigma"], size))
    if d == "half_student_t":
        return np.abs(p["sigma"] * rng.standard_t(p["nu"], size))
    if d == "half_cauchy":
        return np.abs(p["beta"] * rng.standard_cauchy(size))
    if d == "exponential":
        return rng.exponential(1.0 / p["lam"], size)
    if d == "gamma":
        return rng.gamma(p["alpha"], 1.0 / p["beta"], size)
    import pymc as pm  # any other PyMC distribution

    dist = prior.pymc_class().dist(**p)
    return pm.draw(dist, draws=size, random_seed=rng) if size else pm.draw(dist, random_seed=rng)


def lkj_corr(q: int, eta: float, rng: np.random.Generator) -> np.ndarray:
    """One q × q correlation matrix from LKJ(η), by the onion method (Lewandowski et al. 2009).

    Parameters
    ----------
    q : int
        Dimension.
    eta : float
        LKJ shape (1: uniform over correlation matrices; larger: closer to the identity).
    rng : numpy.random.Generator

    Returns
    -------
    ndarray (q, q)

    Examples
    --------
    >>> C = lkj_corr(3, 2.0, np.random.default_rng(0))
    >>> bool(np.allclose(np.diag(C), 1) and np.all(np.linalg.eigvalsh(C) > 0))
    True
    """
    if q == 1:
        return np.ones((1, 1))
    beta = eta + (q - 2) / 2
    r = 2 * rng.beta(beta, beta) - 1
    C = np.array([[1.0, r], [r, 1.0]])
    for k in range(2, q):
        beta -= 0.5
        y = rng.beta(k / 2, beta)
        u = rng.standard_normal(k)
        w = np.sqrt(y) * u / np.linalg.norm(u)
        z = np.linalg.cholesky(C) @ w
        C = np.block([[C, z[:, None]], [z[None, :], np.ones((1, 1))]])
    return C


def draw_prior(priors, design, family: str, rng: np.random.Generator) -> dict:
    """One parameter set from the priors ``blmer`` uses, in lme4's terms.

    Parameters
    ----------
    priors : hierlm.engines.bayes.priors.PriorSet
        From :func:`hierlm.engines.bayes.priors.resolve_priors`.
    design : hierlm.design.Design
    family : str or Family
    rng : numpy.random.Generator

    Returns
    -------
    dict
        ``beta`` (lme4's fixed effects, lme4 order), ``Intercept`` (centred-predictor intercept),
        ``sd``, ``cor``, ``r`` (one entry per random-effects block: (q,), (q, q), (J, q)), the
        family's own parameters (``sigma``, ``nu``, ``shape``, ``phi``) and, for a cumulative model
        (whose design has no intercept column), ``Intercept`` (the ordered thresholds at centred
        predictors) and ``thresholds`` (at the uncentred ones: ``Intercept + Σ mean(x_j) b_j``).

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.fits.bayes_setup import prepare
    >>> from hierlm.engines.bayes.priors import resolve_priors
    >>> d = hl.load_dataset("sleepstudy")
    >>> design, fam, resp = prepare("Reaction ~ Days + (Days | Subject)", d)
    >>> truth = draw_prior(resolve_priors(design, "gaussian"), design, "gaussian", np.random.default_rng(1))
    >>> truth["r"][0].shape, truth["cor"][0].shape
    ((18, 2), (2, 2))
    """
    names = list(design.xnames)
    out: dict = {"sd": [], "cor": [], "r": []}
    beta = np.zeros(len(names))
    others = [j for j, nm in enumerate(names) if nm != "(Intercept)"]
    for j in others:
        beta[j] = _draw(priors.get("b", None, names[j]), rng)
    if "(Intercept)" in names:
        out["Intercept"] = float(_draw(priors.get("Intercept"), rng))
        xmean = design.X[:, others].mean(axis=0)  # the prior is on the intercept at centred predictors
        beta[names.index("(Intercept)")] = out["Intercept"] - xmean @ beta[others]
    out["beta"] = beta
    for t in design.reterms:
        sd = np.array([_draw(priors.get("sd", t.label, c), rng) for c in t.columns], float)
        C = lkj_corr(t.ncols, priors.get("cor", t.label).params["eta"], rng) if t.ncols > 1 else np.ones((1, 1))
        L = np.linalg.cholesky(C) * sd[:, None]
        out["sd"].append(sd)
        out["cor"].append(C)
        out["r"].append(rng.standard_normal((t.nlevels, t.ncols)) @ L.T)
    fam = get_family(family)
    if fam.is_ordinal:
        levels = list(design.response_value.levels)
        out["Intercept"] = _ordered_draw([priors.get("Intercept", None, f"{levels[j]}|{levels[j + 1]}")
                                          for j in range(len(levels) - 1)], rng)
        out["thresholds"] = out["Intercept"] + (design.X.mean(axis=0) @ beta if design.p else 0.0)
    for nm in aux_names(fam.name):
        out[nm] = float(_draw(priors.get(nm), rng))
    return out


def _ordered_draw(priors, rng: np.random.Generator, tries: int = 10_000) -> np.ndarray:
    """Thresholds from independent priors restricted to c₁ < … < c_K (the mirror model's ``ordered``
    variable): sorted draws when the priors are equal, else draws until they come out ordered."""
    if all(pr == priors[0] for pr in priors):
        return np.sort(np.array([_draw(pr, rng) for pr in priors], float))
    for _ in range(tries):
        c = np.array([_draw(pr, rng) for pr in priors], float)
        if np.all(np.diff(c) > 0):
            return c
    raise HierlmError("the threshold priors almost never give ordered thresholds; give them equal priors or ones "
                      "centred in increasing order")


def simulate_response(design, family: str, truth: dict, rng: np.random.Generator) -> np.ndarray:
    """A response drawn from the model at ``truth`` (as returned by :func:`draw_prior`).

    Gaussian: η + σ/√w ε; Poisson: Poisson(exp η); negative binomial: mean exp η, shape as in
    PyMC's ``NegativeBinomial(mu, alpha=shape)``; Bernoulli: Bernoulli(logit⁻¹ η); the other families
    and links as :func:`hierlm.engines.bayes.families.replicate` draws them.

    Parameters
    ----------
    design : hierlm.design.Design
    family : str or Family
        Any family ``blmer`` fits (with its link); a cumulative model gives category codes 0 … K−1.
    truth : dict
        ``beta`` (lme4 order), ``r`` (per block, levels × terms), ``sigma`` / ``shape``.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray (n,)

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.design import make_design
    >>> design = make_design("Reaction ~ Days + (1 | Subject)", hl.load_dataset("sleepstudy"))
    >>> truth = {"beta": np.array([250.0, 10.0]), "r": [np.zeros((18, 1))], "sigma": 1e-9}
    >>> bool(np.allclose(simulate_response(design, "gaussian", truth, np.random.default_rng(0)),
    ...                  250 + 10 * design.X[:, 1]))
    True
    """
    eta = design.offset + design.X @ np.asarray(truth["beta"], float)
    for t, r in zip(design.reterms, truth["r"]):
        eta = eta + np.sum(t.values * r[t.index], axis=1)
    fam = get_family(family)
    family = fam.name
    if family not in ("gaussian", "bernoulli", "poisson", "negbinomial") or not fam.canonical:
        return _simulate_other(fam, eta, truth, rng)
    if family == "gaussian":
        w = np.ones(design.n) if design.weights is None else design.weights
        return eta + truth["sigma"] / np.sqrt(w) * rng.standard_normal(design.n)
    if family == "bernoulli":
        return rng.binomial(1, expit(eta)).astype(float)
    mu = np.exp(eta)
    if not np.all(np.isfinite(mu)) or mu.max() > 1e9:
        raise HierlmError(f"the prior drew a linear predictor up to {eta.max():.3g} (mean count {mu.max():.3g}); "
                          "use tighter priors for the intercept, slopes and sds")
    if family == "poisson":
        return rng.poisson(mu).astype(float)
    a = truth["shape"]
    return rng.negative_binomial(a, a / (a + mu)).astype(float)


def _simulate_other(fam, eta: np.ndarray, truth: dict, rng: np.random.Generator) -> np.ndarray:
    """The families and links of :mod:`hierlm.engines.bayes.families` (category codes for a cumulative model)."""
    aux = {nm: np.array([truth[nm]]) for nm in aux_names(fam.name)}
    if fam.is_ordinal:
        aux["thresholds"] = np.asarray(truth["thresholds"], float)[None, :]
    ones = np.ones(len(eta))
    with np.errstate(all="ignore"):
        y = np.asarray(replicate(fam.name, fam.link.name, eta[None, :], aux, ones, ones, rng)[0], float)
    if not np.all(np.isfinite(y)):
        raise HierlmError(f"the prior drew parameters that give non-finite responses (linear predictor up to "
                          f"{np.max(np.abs(eta)):.3g}); use tighter priors")
    if fam.name == "beta":  # a draw that rounds to 0 or 1 is not a proportion inside (0, 1)
        y = np.clip(y, 1e-12, 1 - 1e-12)
    elif fam.spec.response == "positive":
        y = np.maximum(y, 1e-300)
    return y
