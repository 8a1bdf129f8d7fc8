"""``blmer`` beyond the canonical four families: the response, start values, and the draws of a fit's
family parameters (σ, ν, shape, φ, the thresholds of a cumulative model) in the shapes the numpy
densities of :mod:`hierlm.engines.bayes.families` take.

* :func:`prepare_response` — the design and the response in the form the Bayesian engine samples:
  for ``family="cumulative"`` the design loses its intercept column (the thresholds take its place,
  as in ``ordinal::clmm`` and brms) and the response becomes category codes 0 … K−1;
* :func:`start_values_extra` — the frequentist engine's fit the chains start near: ``glmer``'s
  nAGQ = 0 fit for binary probit / cloglog models, ``lmer`` on g(y) for Student-t, lognormal (log y),
  beta, Gamma and inverse-Gaussian models (the last two with the Pearson estimate of the shape), ``clmm``'s Laplace fit for cumulative ones;
* :func:`aux_draws` — the family's parameters per posterior draw.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy.special import ndtri

from ..design import GlmResponse, covariance, response_of
from ..engines.bayes import spec as S
from ..engines.bayes.families import EXTRA, info_weights, mean_link
from ..engines.frequentist import GlmmProblem, LmmProblem
from ..engines.frequentist.ordinal import ClmmProblem
from ..errors import DataError, HierlmError, HierlmWarning
from ..formula.ast import Name
from .ordinal import ordinal_response

__all__ = ["aux_draws", "family_sigma", "is_extra", "prepare_response", "start_values_extra"]


def is_extra(fam) -> bool:
    """Whether the family (with its link) is one of those this module prepares (not the canonical four)."""
    return fam.name in EXTRA or (fam.name in ("binomial", "bernoulli") and fam.link.name != "logit")


def prepare_response(design, fam, data=None):
    """The design (without its intercept for a cumulative model) and the canonical response.

    Parameters
    ----------
    design : Design
    fam : Family
    data : DataFrame, optional
        The data the design was made from: a cumulative model keeps every category of an ordered
        Categorical response, observed or not (the design drops unused levels, as R's model frame and
        ``ordinal::clmm`` do; the model has a threshold between every pair of neighbouring categories, and
        simulation-based calibration needs them whatever the simulated sample holds).

    Returns
    -------
    (Design, GlmResponse)

    Examples
    --------
    >>> import hierlm as hl, pandas as pd
    >>> from hierlm.design import make_design
    >>> va = hl.load_dataset("VerbAgg")
    >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
    >>> design, resp = prepare_response(make_design("resp ~ btype + (1 | id)", va), hl.family("cumulative"))
    >>> design.xnames, sorted(set(resp.y.tolist()))
    (['btypescold', 'btypeshout'], [0.0, 1.0, 2.0])
    """
    if fam.is_ordinal:
        design = _all_categories(design, data)
        if "(Intercept)" not in design.xnames:
            raise HierlmError(f"'{design.formula.text}': a cumulative model has thresholds in place of an intercept, "
                              "so the formula needs one (remove '0 +' or '- 1')")
        if design.weights is not None:
            raise DataError("weights= is not available for family='cumulative' in blmer")
        codes = _ordinal_codes(design)
        keep = [j for j, x in enumerate(design.xnames) if x != "(Intercept)"]
        design = replace(design, X=design.X[:, keep], xnames=[design.xnames[j] for j in keep],
                         keep=[design.keep[j] for j in keep])
        ones = np.ones(design.n)
        return design, GlmResponse(codes.astype(float), ones, ones.copy())
    if design.weights is not None and fam.name in EXTRA:
        raise DataError(f"weights= is not available for family='{fam.name}' in blmer (it takes weights for the "
                        "gaussian family, and the number of trials of a binomial proportion)")
    return design, response_of(design, fam)[1]


def _all_categories(design, data):
    """The design with the response's unused categories restored (an ordered Categorical column of ``data``)."""
    v = design.response_value
    lhs = design.formula.response
    col = data.get(lhs.id) if data is not None and isinstance(lhs, Name) else None
    if v.kind != "cat" or col is None or not isinstance(col.dtype, pd.CategoricalDtype) or not col.cat.ordered:
        return design
    full = [str(c) for c in col.cat.categories]
    if full == list(v.levels) or not set(v.levels) <= set(full):
        return design
    pos = np.array([full.index(lv) for lv in v.levels] + [-1])
    codes = pos[np.where(np.asarray(v.data) >= 0, np.asarray(v.data), -1)]
    return replace(design, response_value=replace(v, data=codes, levels=full))


def _ordinal_codes(design) -> np.ndarray:
    """Category codes of an ordered response; as :func:`~.ordinal.ordinal_response`, except that a category
    without observations is allowed (its thresholds are then informed by their prior), with a warning."""
    v = design.response_value
    if v.kind != "cat" or not v.ordered or len(v.levels) < 2:
        return ordinal_response(design)[0]  # its messages say what would work
    codes = np.asarray(v.data, dtype=np.int64)
    counts = np.bincount(codes[codes >= 0], minlength=len(v.levels))
    empty = [lv for lv, c in zip(v.levels, counts) if c == 0]
    if empty:
        warnings.warn(f"the response has categories without observations: {empty}; their thresholds are informed "
                      "by their prior only (glmer(family='cumulative') refuses such data)", HierlmWarning, stacklevel=4)
    return codes


def _unit_link(link: str, y: np.ndarray) -> np.ndarray:
    y = np.clip(y, 1e-4, 1 - 1e-4)
    if link == "logit":
        return np.log(y / (1 - y))
    if link == "probit":
        return ndtri(y)
    return np.log(-np.log1p(-y))


def _lmm_start(design, y_link: np.ndarray):
    sizes = [t.ncols for t in design.reterms]
    sol = LmmProblem(design, reml=True, y=y_link).solve()
    covs = covariance.covariances_of_theta(sol.theta, sizes, sol.sigma)
    eta = np.asarray(y_link - _resid(design, sol, y_link))
    return sol, covs, eta


def _resid(design, sol, y) -> np.ndarray:
    eta = design.offset + design.X @ sol.beta
    for t, b in zip(design.reterms, sol.b):
        eta = eta + np.sum(t.values * np.asarray(b)[t.index], axis=1)
    return y - eta


def start_values_extra(design, fam, resp) -> S.StartValues | None:
    """Start values of the families beyond the canonical four (see the module docstring), or None.

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.fits.bayes_setup import prepare
    >>> d = hl.load_dataset("sleepstudy")
    >>> design, fam, resp = prepare("Reaction ~ Days + (1 | Subject)", d, hl.family("gamma", link="log"))
    >>> sv = start_values_extra(design, fam, resp)
    >>> sorted(sv.aux), bool(sv.aux["shape"] > 10)
    (['shape'], True)
    """
    name, link = fam.name, fam.link.name
    sizes = [t.ncols for t in design.reterms]
    y = np.asarray(resp.y, float)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if name in ("binomial", "bernoulli"):
                sol = GlmmProblem(design, fam, resp).solve(nAGQ=0)
                covs = covariance.covariances_of_theta(sol.theta, sizes, 1.0)
                w = info_weights(name, link, sol.eta, {}, resp.trials)
                return S.StartValues(sol.beta, sol.vcov_beta, covs, sol.b, mu=np.asarray(sol.mu, float), aux={},
                                     weights=w)
            if name in ("gamma", "inverse_gaussian"):
                return _positive_start(design, fam, y, sizes)
            if name == "cumulative":
                return _clmm_start(design, fam, resp, sizes)
            if name == "lognormal":
                sol, covs, eta = _lmm_start(design, np.log(y))
                aux = {"sigma": sol.sigma}
            elif name == "student":
                g = fam.link.linkfun(y) if link != "identity" else y
                sol, covs, eta = _lmm_start(design, np.asarray(g, float))
                mu = mean_link(link, eta)
                aux = {"sigma": max(float(np.std(y - mu)) * 0.8, 1e-6), "nu": 10.0}
            else:  # beta
                sol, covs, eta = _lmm_start(design, _unit_link(link, y))
                mu = np.clip(mean_link(link, eta), 1e-4, 1 - 1e-4)
                v = float(np.mean((y - mu) ** 2))
                aux = {"phi": float(np.clip(np.mean(mu * (1 - mu)) / max(v, 1e-12) - 1.0, 1.0, 1e4))}
            return S.StartValues(sol.beta, sol.vcov_beta, covs, sol.b, sigma=1.0, aux=aux,
                                 weights=info_weights(name, link, eta, aux))
    except (HierlmError, ArithmeticError, np.linalg.LinAlgError, RuntimeError, ValueError):
        return None


def _positive_start(design, fam, y, sizes) -> S.StartValues:
    """Gamma / inverse Gaussian: ``lmer`` on g(y), the shape from the Pearson residuals at its fitted means.

    Not ``glmer``'s nAGQ = 0 fit: lme4's Gamma GLMM approximates the dispersion, and its variance
    components can be far off (ChickWeight, ``weight ~ Time + Diet + (Time | Chick)``, log link: SDs
    0.58 and 0.098 against glmmTMB's 0 and 0.019 and the posterior's 0.06 and 0.021); the centring rule
    then judged the block well informed and centred it, which left the chains stuck (R-hat 1.32).
    """
    name, link = fam.name, fam.link.name
    sol, covs, eta = _lmm_start(design, np.asarray(fam.link.linkfun(y), float))
    mu = np.maximum(mean_link(link, eta), 1e-12 * np.max(y))
    pearson = (y - mu) ** 2 / (mu**2 if name == "gamma" else mu**3)
    aux = {"shape": float(np.clip(1.0 / max(float(np.mean(pearson)), 1e-300), 1e-3, 1e8))}
    return S.StartValues(sol.beta, sol.vcov_beta, covs, sol.b, mu=mu, aux=aux,
                         weights=info_weights(name, link, eta, aux))


def _clmm_start(design, fam, resp, sizes) -> S.StartValues | None:
    ncat = len(design.response_value.levels)
    if np.bincount(resp.y.astype(np.int64), minlength=ncat).min() == 0:
        return None  # clmm cannot fit empty categories: the chains start from the default points
    prob = ClmmProblem(design.X, resp.y.astype(np.int64), ncat, design.reterms, fam.link.name,
                       weights=None, offset=design.offset)
    sol = prob.solve(nAGQ=1)
    k, p = ncat - 1, design.p
    V = np.asarray(sol.vcov, float)[k:k + p, k:k + p]
    if not np.all(np.isfinite(V)):
        V = np.eye(p) * 0.01
    covs = covariance.covariances_of_theta(sol.theta, sizes, 1.0)
    return S.StartValues(sol.beta, V, covs, sol.b, thresholds=np.asarray(sol.alpha, float),
                         weights=np.full(design.n, 0.2))


def aux_draws(fit, flat: bool = True) -> dict:
    """The family's parameters per draw: ``{name: (S,)}`` and ``thresholds`` (S, K − 1) (``flat=False``:
    chains and draws kept apart)."""
    post = fit.idata["posterior"]
    out = {}
    for nm in list(fit.spec.aux_names) + (["thresholds"] if fit.spec.ncut else []):
        v = np.asarray(post[nm].values, float)
        out[nm] = v.reshape((-1,) + v.shape[2:]) if flat else v
    return out


def family_sigma(fit) -> float:
    """``fit.sigma()``: the posterior mean of σ (Gaussian residual SD, the scale of the Student-t and
    lognormal), of lme4's σ = √dispersion = 1/√shape (Gamma, inverse Gaussian), else 1."""
    if fit.spec.disp_name == "sigma":
        return float(fit.dispersion_draws().mean())
    if fit.family.name in ("gamma", "inverse_gaussian"):
        return float(np.mean(fit.dispersion_draws() ** -0.5))
    return 1.0
