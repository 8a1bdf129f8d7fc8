"""Nakagawa's variance components of a mixed model, as ``insight::get_variance`` (insight 0.19.0).

The decomposition behind :func:`hierlm.r2` (Nakagawa's R²) and :func:`hierlm.icc` with
``adjusted=True``, reproduced step by step from insight's ``.compute_variances``:

- ``var.fixed`` -- the sample variance (n − 1) of the fixed-effect predictions ``Xβ̂`` (offset left out);
- ``var.random`` -- for every grouping factor whose number of levels differs from the number of
  observations, the mean over the observations of ``zᵢᵀ Σ zᵢ`` (Johnson 2014), where ``zᵢ`` holds
  the *fixed-effects* columns named like the block's terms (an intercept added when ``X`` has none;
  terms absent from ``X``, e.g. the first level of a ``0 + f`` term, are left out).  As insight does,
  a grouping factor with several blocks (``(1 | g) + (0 + x | g)``, ``(x || g)``) counts only its
  first block; ``None`` when the fit is singular (a diagonal θ below ``tolerance``);
- ``var.distribution`` -- σ² (Gaussian); π²/3, 1, π²/6 for the logit, probit, cloglog links of the
  binomial; for counts with a log link ``log(1 + V(μ)/μ²)`` with ``μ = exp(β₀)`` of the *null model*
  (same random effects and offset, intercept only, refitted), ``V`` the family's variance
  (Poisson: μ; negative binomial: μ + μ²/θ with the model's θ); 0.25 for a square-root link;
- ``var.dispersion`` -- observation-level random effects of non-Gaussian models (a grouping factor
  with one level per observation), as ``var.random`` for those terms; 0 for Gaussian models;
- ``var.residual = var.distribution + var.dispersion``;
- ``var.intercept``, ``var.slope``, ``cor.slope_intercept`` -- per block, as insight names them.

:func:`nakagawa_draws` does the same per posterior draw of a ``BayesFit``.
"""

from __future__ import annotations

import re
import warnings
import weakref
from dataclasses import replace

import numpy as np

from ...engines.frequentist import GlmmProblem
from ...errors import HierlmError, HierlmWarning
from ...fits.protocol import is_fit
from ...formula import names_in

__all__ = ["get_variance", "nakagawa_draws", "distribution_variance", "random_variance", "fixed_variance"]


# -- building blocks (scalar or per draw) ------------------------------------------------------------
def _x_with_intercept(X: np.ndarray, xnames: list[str]) -> tuple[np.ndarray, list[str]]:
    """insight's ``vals$X``, with an ``(Intercept)`` column put in front when none starts so."""
    if not any(n.startswith("(Intercept)") for n in xnames):
        return np.column_stack([np.ones(X.shape[0]), X]), ["(Intercept)"] + list(xnames)
    return X, list(xnames)


def fixed_variance(X: np.ndarray, beta: np.ndarray) -> np.ndarray | float:
    """The variance of the fixed-effect predictions, ``var(Xβ)`` with denominator n − 1 (insight's ``var.fixed``).

    Parameters
    ----------
    X : ndarray (n, p)
        Fixed-effects matrix (no offset).
    beta : ndarray (p,) or (draws, p)

    Returns
    -------
    float or ndarray
        One value, or one per draw.

    Examples
    --------
    >>> fixed_variance(np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]]), np.array([5.0, 2.0]))
    4.0
    """
    if X.shape[0] < 2:
        return 0.0 if np.ndim(beta) == 1 else np.zeros(np.shape(beta)[0])
    C = np.cov(X, rowvar=False, ddof=1).reshape(X.shape[1], X.shape[1])
    b = np.asarray(beta, float)
    out = np.einsum("...p,pq,...q->...", b, C, b)
    return float(out) if out.ndim == 0 else out


def random_variance(X: np.ndarray, xnames: list[str], blocks) -> np.ndarray | float:
    """Σ over ``blocks`` of the mean over observations of ``zᵢᵀ Σ zᵢ`` (insight's ``.sigma_sum``).

    Parameters
    ----------
    X : ndarray (n, p)
        Fixed-effects matrix; ``zᵢ`` takes the columns named like the block's terms (an intercept
        column is added when no name starts with ``(Intercept)``; terms not in ``X`` are left out).
    xnames : list of str
        Column names of ``X``.
    blocks : iterable of (columns, Sigma)
        Term names of the block and its covariance, (q, q) or (draws, q, q).

    Returns
    -------
    float or ndarray
        One value, or one per draw.

    Examples
    --------
    >>> X = np.column_stack([np.ones(3), [0.0, 1.0, 2.0]])
    >>> random_variance(X, ["(Intercept)", "Days"], [(["(Intercept)", "Days"], np.diag([4.0, 1.0]))])
    5.666666666666667
    """
    X, xnames = _x_with_intercept(X, xnames)
    pos = {n: j for j, n in enumerate(xnames)}
    total = 0.0
    for columns, S in blocks:
        S = np.asarray(S, float)
        valid = [k for k, c in enumerate(columns) if c in pos]
        if not valid:
            continue
        Z = X[:, [pos[columns[k]] for k in valid]]
        M = Z.T @ Z / X.shape[0]
        total = total + np.einsum("...jk,jk->...", S[..., valid, :][..., :, valid], M)
    return float(total) if np.ndim(total) == 0 else total


def distribution_variance(family, sigma, mu=None) -> np.ndarray | float:
    """insight's distribution-specific variance (``.compute_variance_distribution``).

    Parameters
    ----------
    family : Family
    sigma : float or ndarray
        Residual SD (Gaussian) or the family's ``sigma`` (1 for binomial and Poisson fits).
    mu : float or ndarray, optional
        ``exp(β₀)`` of the null model, for count families with a log link.

    Returns
    -------
    float or ndarray
        π²/3, 1 or π²/6 (binomial: logit, probit, cloglog); σ² (Gaussian); ``log(1 + V(μ)/μ²)``
        (log-link counts; ``V`` Poisson μ or negative binomial μ + μ²/θ); 0.25 (square-root link).

    Raises
    ------
    HierlmError
        For other families and links.

    Examples
    --------
    >>> from hierlm.design import get_family
    >>> round(distribution_variance(get_family("bernoulli"), 1.0), 6)
    3.289868
    >>> round(distribution_variance(get_family("poisson"), 1.0, mu=4.0), 6)  # log(1 + 1/4)
    0.223144
    """
    name, link = family.name, family.link.name
    if name == "gaussian" and link == "identity":
        return np.asarray(sigma, float) ** 2 if np.ndim(sigma) else float(sigma) ** 2
    if name in ("binomial", "bernoulli"):
        table = {"logit": np.pi**2 / 3, "probit": 1.0, "cloglog": np.pi**2 / 6}
        if link not in table:
            raise HierlmError(f"Nakagawa's variances are defined for the logit, probit and cloglog links of the "
                              f"binomial family, not for link '{link}'")
        return table[link]
    if name in ("poisson", "negbinomial"):
        if link == "sqrt":
            return 0.25
        if link != "log":
            raise HierlmError(f"Nakagawa's variances are defined for the log and sqrt links of count families, "
                              f"not for link '{link}'")
        mu = np.asarray(mu, float)
        var = mu if name == "poisson" else mu * (1 + mu / family.theta)
        out = np.log1p(var / mu**2)
        return float(out) if out.ndim == 0 else out
    raise HierlmError(f"Nakagawa's variance components are not available for family '{name}' (link '{link}'); "
                      "use gaussian, binomial, bernoulli, poisson or negbinomial")


# -- insight's naming of the per-block parts -------------------------------------------------------
def _named(label: str, columns, values) -> dict[str, float]:
    """R's ``unlist(list(label = c(col = value, ...)))`` names: ``label.col``."""
    return {f"{label}.{c}": float(v) for c, v in zip(columns, values)}


def _slope_variances(labels, columns, covs) -> dict[str, float]:
    """insight's ``.random_slope_variance`` for merMod fits."""
    starts = [c[0].startswith("(Intercept)") for c in columns]
    out: dict[str, float] = {}
    for lab, c, S in zip(labels, columns, covs):
        out.update(_named(lab, c[1:], np.diag(S)[1:]))
    non = [k for k, s in enumerate(starts) if not s]
    if not non:
        return out
    if len(non) == len(labels):
        out = {}
        for lab, c, S in zip(labels, columns, covs):
            out.update(_named(lab, c, np.diag(S)))
        return out
    dn = [c for k in non for c in columns[k]]
    vals, bases = [], []
    for k in non:
        d = np.diag(covs[k])
        for j, v in enumerate(d):
            nm = labels[k] if len(d) == 1 else f"{labels[k]}{j + 1}"
            bases.append(re.sub(r"(.*)\.\d+$", r"\1", nm))
            vals.append(float(v))
    rnd = {f"{b}.{d}": v for b, d, v in zip(bases, dn, vals)}
    if not [k for k in out if k not in rnd]:
        return rnd
    drop = []
    for name, v in out.items():
        same = [j for j, r in enumerate(vals) if abs(v - r) < 1e-4]
        if same and dn[same[0]] in name:
            drop.append(name)
    out = {k: v for k, v in out.items() if k not in drop}
    out.update(rnd)
    return out


def _slope_intercept_correlations(labels, columns, covs) -> dict[str, float]:
    """insight's ``.random_slope_intercept_corr``: correlations of the slopes with the intercept."""
    out: dict[str, float] = {}
    for lab, c, S in zip(labels, columns, covs):
        if c[0] != "(Intercept)" or len(c) < 2:
            continue
        sd = np.sqrt(np.diag(S))
        with np.errstate(invalid="ignore", divide="ignore"):
            r = S[1:, 0] / (sd[1:] * sd[0])
        out.update({lab: float(r[0])} if len(r) == 1 else _named(lab, c[1:], r))
    return out


def _blocks_used(design, n: int) -> tuple[list[int], list[int]]:
    """Blocks counted in var.random and in var.dispersion (observation-level grouping factors).

    insight takes the grouping factors from ``ranef`` (one per factor) and looks their blocks up
    by that name in ``VarCorr``: only the block labelled exactly so (the factor's first) counts.
    """
    first: dict[str, int] = {}
    for k, t in enumerate(design.reterms):
        if t.label == t.group:
            first.setdefault(t.group, k)
    nlev = {t.group: t.nlevels for t in design.reterms}
    groups = list(dict.fromkeys(t.group for t in design.reterms))
    rnd = [first[g] for g in groups if g in first and nlev[g] != n]
    obs = [first[g] for g in groups if g in first and nlev[g] == n]
    return rnd, obs


def _slopes_in_fixed(design) -> bool:
    """insight's ``.random_slopes_in_fixed``: every variable of a bar's terms is a fixed-effects predictor."""
    f = design.formula
    fixed = set(names_in(f.fixed)) if f.fixed is not None else set()
    slopes = {v for b in f.bars for v in names_in(b.lhs)}
    return slopes <= fixed


def _warn(msg: str) -> None:
    warnings.warn(msg, HierlmWarning, stacklevel=4)


_NULL_MU: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # fit -> null-model mean (fits are immutable)


def _null_model_mu(fit) -> float:
    """``exp(β₀)`` of the null model (same random effects, offset, weights and family; intercept only).

    As insight's ``null_model``: the model refitted (``nAGQ`` as fitted) with ``Xβ`` replaced by an
    intercept; the negative binomial keeps the model's θ fixed (insight refits with
    ``MASS::negative.binomial(theta)``).
    """
    cached = _NULL_MU.get(fit)
    if cached is not None:
        return cached
    d = fit.design
    d0 = replace(d, X=np.ones((d.n, 1)), xnames=["(Intercept)"], all_xnames=["(Intercept)"], keep=[0],
                 dropped=[])
    fam = fit.family
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sol = GlmmProblem(d0, fam, fit.response).solve(nAGQ=fit.nAGQ, nb=False)
    _NULL_MU[fit] = mu = float(np.exp(sol.beta[0]))
    return mu


def get_variance(fit, tolerance: float = 1e-5, verbose: bool = True, mu: float | None = None) -> dict:
    """Variance components of a frequentist mixed model, as ``insight::get_variance`` (0.19.0).

    Parameters
    ----------
    fit : LmerFit or GlmerFit
        Gaussian, binomial / Bernoulli (logit, probit, cloglog), Poisson or negative binomial.
    tolerance : float, default 1e-5
        A diagonal element of a relative covariance factor (θ) below this makes the fit singular:
        ``var.random`` is then None, as in insight.
    verbose : bool, default True
        Warn (``HierlmWarning``) as insight does: singular fit, random slopes missing from the
        fixed effects, a null-model mean μ below 6 for count families.
    mu : float, optional
        For log-link count families: the null model's mean ``exp(β₀)``, if already known (else the
        null model is refitted).

    Returns
    -------
    dict
        insight's names: ``var.fixed``, ``var.random`` (None if singular), ``var.residual``,
        ``var.distribution``, ``var.dispersion`` (floats), ``var.intercept``, ``var.slope``,
        ``cor.slope_intercept`` (dicts keyed as insight keys them; empty when absent), and ``mu``
        (the null model's mean for log-link count families, else None).

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> v = get_variance(m)
    >>> round(v["var.fixed"], 2), round(v["var.random"], 2), round(v["var.residual"], 2)
    (908.95, 1698.07, 654.94)
    >>> {k: round(x, 3) for k, x in v["var.slope"].items()}
    {'Subject.Days': 35.072}
    """
    if not is_fit(fit, engine="frequentist", model=("lmm", "glmm")):
        raise HierlmError(f"get_variance() needs a frequentist mixed model (hl.lmer / hl.glmer), not "
                          f"{type(fit).__name__}")
    d = fit.design
    n = d.n
    fam = fit.family
    linear = fam.name == "gaussian" and fam.link.name == "identity"
    covs = fit.covariances()
    labels = [t.label for t in d.reterms]
    columns = [list(t.columns) for t in d.reterms]
    rnd, obs = _blocks_used(d, n)
    singular = _is_singular(fit, tolerance)
    if singular and verbose:
        _warn("can't compute the random-effect variances: some variance components are (nearly) zero, the fit is "
              f"singular (a diagonal theta below {tolerance:g}; see fit.is_singular()); marginal R² only, no ICC. "
              "Simplify the random-effects structure, or lower `tolerance` to force the computation")
    if verbose and not _slopes_in_fixed(d):
        _warn("random slopes not present as fixed effects: this artificially inflates the conditional R² / ICC; "
              "add the slope variables to the fixed part")
    var_fixed = fixed_variance(d.X, fit.beta)
    var_random = None if singular else random_variance(d.X, d.xnames, [(columns[k], covs[k]) for k in rnd])
    if fam.name in ("poisson", "negbinomial") and fam.link.name == "log":
        mu = _null_model_mu(fit) if mu is None else float(mu)
        if mu < 6 and verbose:
            _warn(f"mu of {mu:.1f} is too close to zero, estimate of random effect variances may be unreliable "
                  "(the log-normal approximation of the count family's variance needs a mean of 6 or more)")
    var_dist = distribution_variance(fam, float(fit.sigma_), mu)
    var_disp = 0.0 if linear or not obs else random_variance(d.X, d.xnames, [(columns[k], covs[k]) for k in obs])
    intercepts = {lab: float(S[0, 0]) for lab, c, S in zip(labels, columns, covs) if c[0].startswith("(Intercept)")}
    return {
        "var.fixed": var_fixed,
        "var.random": var_random,
        "var.residual": var_dist + var_disp,
        "var.distribution": var_dist,
        "var.dispersion": var_disp,
        "var.intercept": intercepts,
        "var.slope": _slope_variances(labels, columns, covs),
        "cor.slope_intercept": _slope_intercept_correlations(labels, columns, covs),
        "mu": mu,
    }


def _is_singular(fit, tolerance: float) -> bool:
    """insight's ``.is_singular`` for merMod: a diagonal element of θ below ``tolerance``."""
    return any(np.any(np.abs(np.diag(lam)) < tolerance) for lam in fit.lambdas())


def nakagawa_draws(fit) -> dict[str, np.ndarray]:
    """Nakagawa's variance components per posterior draw of a ``BayesFit``.

    As :func:`get_variance`, evaluated at every draw of (β, Σ, σ).  For count families with a log
    link, insight refits a null model; here the null model's intercept is replaced by the mean over
    the observations of the draw's fixed-effect linear predictor (offset left out), so
    ``μ = exp(mean(Xβ))`` per draw.  No singularity rule is applied.

    Parameters
    ----------
    fit : BayesFit

    Returns
    -------
    dict
        ``var.fixed``, ``var.random``, ``var.distribution``, ``var.dispersion``, ``var.residual``:
        arrays with one value per draw (chains × draws flattened).

    Examples
    --------
    >>> import hierlm as hl
    >>> b = hl.blmer("Reaction ~ Days + (1 | Subject)", hl.load_dataset("sleepstudy"), draws=200, chains=2,
    ...              seed=1, progressbar=False)
    >>> v = nakagawa_draws(b)
    >>> v["var.fixed"].shape
    (400,)
    """
    d = fit.design
    fam = fit.family
    beta = fit.beta_draws()
    S = beta.shape[0] * beta.shape[1]
    beta = beta.reshape(S, -1)
    covs = [c.reshape((S,) + c.shape[2:]) for c in fit.covariance_draws()]
    columns = [list(t.columns) for t in d.reterms]
    rnd, obs = _blocks_used(d, d.n)
    linear = fam.name == "gaussian" and fam.link.name == "identity"
    disp = fit.dispersion_draws()
    sigma = disp.reshape(S) if (linear and disp is not None) else 1.0
    mu = None
    if fam.name in ("poisson", "negbinomial") and fam.link.name == "log":
        mu = np.exp((beta @ d.X.T).mean(axis=1))
    if fam.name == "negbinomial":
        fam_d = replace(fam, theta=disp.reshape(S))
        var_dist = distribution_variance(fam_d, 1.0, mu)
    else:
        var_dist = distribution_variance(fam, sigma, mu) * np.ones(S)
    var_disp = (np.zeros(S) if linear or not obs
                else random_variance(d.X, d.xnames, [(columns[k], covs[k]) for k in obs]) * np.ones(S))
    var_random = random_variance(d.X, d.xnames, [(columns[k], covs[k]) for k in rnd]) * np.ones(S)
    return {
        "var.fixed": fixed_variance(d.X, beta),
        "var.random": var_random,
        "var.distribution": var_dist,
        "var.dispersion": var_disp,
        "var.residual": var_dist + var_disp,
    }
