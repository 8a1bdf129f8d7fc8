"""The mirror ``pymc.Model`` of a fit, and the samplers that run on it.

The mirror has the same density and the same ``value_vars`` layout as the compiled kernel, so the
kernel's draws *are* draws of this model: ``fit.model`` is a real ``pymc.Model`` for prior / posterior
predictive checks, ``pm.sample`` with another NUTS implementation (``sampler="pymc"``,
``"numpyro"``, ``"blackjax"``, ``"nutpie-pymc"``) and for priors the kernel cannot evaluate.
Names (brms-like): ``Intercept`` (centred predictors), ``b``, ``beta`` (lme4's fixed effects),
``sd_<g>``, ``chol_<g>``, ``cor_<g>``, ``z_<g>``, ``r_<g>`` (random effects), the family's own
parameters (``sigma``, ``nu``, ``shape``, ``phi``), for a cumulative model the ordered thresholds
``Intercept`` (centred predictors) and ``thresholds`` (``ordinal::clmm``'s α), and the observed ``y``;
coords carry lme4's names of terms, groups, levels and thresholds.
"""

from __future__ import annotations

import numpy as np

from ...errors import SamplingError

__all__ = ["build_model", "coords_of", "dims_of", "sample_prior", "sample_pymc"]

JAX_SAMPLERS = ("numpyro", "blackjax")


def coords_of(spec, rows=None) -> dict:
    """Coordinates: fixed-effect names, and per block its levels and terms (lme4's names)."""
    c = {"coef": list(spec.xnames)}
    bnames = [spec.xnames[j] for j in spec.order[int(spec.has_intercept):]]
    if bnames:
        c["b_coef"] = bnames
    for b in spec.blocks:
        c[b.label] = [str(v) for v in b.levels]
        c[f"{b.label}_term"] = list(b.terms)
        if b.q > 1:
            c[f"{b.label}_term2"] = list(b.terms)
    if spec.ncut:
        c["threshold"] = spec.threshold_names
    c["obs"] = [str(r) for r in (range(spec.n) if rows is None else rows)]
    return c


def dims_of(spec) -> dict:
    """Dimensions of every named variable of the mirror model."""
    d = {"b": ("b_coef",), "beta": ("coef",), "y": ("obs",)}
    for b in spec.blocks:
        lev, term = b.label, f"{b.label}_term"
        d[f"sd_{b.v}"] = (term,)
        d[f"z_{b.v}"] = (lev, term)
        d[f"r_{b.v}"] = (lev, term)
        if b.q > 1:
            d[f"cor_{b.v}"] = (term, f"{b.label}_term2")
            d[f"chol_{b.v}"] = (f"chol_{b.v}_dim_0",)
    if spec.ncut:
        d["Intercept"] = d["thresholds"] = ("threshold",)
    return d


def _f64(params: dict) -> dict:
    """Prior parameters as float64 numpy scalars: pytensor folds Python floats that float32 holds exactly
    (2.5, 0.1) into float32 constants, and log(2.5) in float32 is off by 3e-8."""
    return {k: np.float64(v) if isinstance(v, float) else v for k, v in params.items()}


def _vector(pm, pt, priors, name=None, **kw):
    """One vector variable (or ``.dist``) with a prior per element; mixed distributions are stacked
    in a ``CustomDist`` (PyMC derives its log density from the parts)."""
    if all(pr.dist == priors[0].dist for pr in priors):
        cls = priors[0].pymc_class()
        params = {k: np.array([pr.params[k] for pr in priors], dtype=float) for k in priors[0].params}
        return cls(name, **params, **kw) if name else cls.dist(**params, shape=len(priors))

    def stacked(*args, size=None):
        return pt.stack([pr.pymc_class().dist(**_f64(pr.params)) for pr in priors])

    if name:
        return pm.CustomDist(name, dist=stacked, signature="->(n)", ndim_supp=1, **kw)
    return pm.CustomDist.dist(dist=stacked, signature="->(n)", ndim_supp=1)


def build_model(spec, rows=None):
    """Build the mirror ``pymc.Model`` of ``spec``."""
    import pymc as pm
    import pytensor.tensor as pt

    dims = dims_of(spec)
    with pm.Model(coords=coords_of(spec, rows)) as model:
        eta = pt.as_tensor(spec.offset)
        parts = []
        if spec.has_intercept:
            pr = spec.beta_priors[0]
            parts.append(pr.pymc_class()("Intercept", **_f64(pr.params)).reshape((1,)))
        rest = spec.beta_priors[int(spec.has_intercept):]
        b = None
        if rest:
            b = _vector(pm, pt, rest, "b", dims="b_coef")
            parts.append(b)
        if parts:
            beta_k = pt.concatenate(parts)
            eta = eta + pt.as_tensor(spec.X) @ beta_k
            if spec.has_intercept and b is not None:
                beta_k = pt.concatenate([beta_k[:1] - pt.dot(spec.xmean[1:], b), b])
            pm.Deterministic("beta", beta_k[np.argsort(spec.order)], dims="coef")
        for blk in spec.blocks:
            v, lev_term = blk.v, dims[f"r_{blk.v}"]
            if blk.q == 1:
                sd = _vector(pm, pt, blk.sd_priors, f"sd_{v}", dims=dims[f"sd_{v}"])
                L = sd.reshape((1, 1))
            else:
                L, corr, stds = pm.LKJCholeskyCov(f"chol_{v}", n=blk.q, eta=blk.eta,
                                                  sd_dist=_vector(pm, pt, blk.sd_priors), compute_corr=True,
                                                  store_in_trace=False)
                pm.Deterministic(f"sd_{v}", stds, dims=dims[f"sd_{v}"])
                pm.Deterministic(f"cor_{v}", corr, dims=dims[f"cor_{v}"])
            if blk.centred:
                if blk.q == 1:
                    r = pm.Normal(f"r_{v}", 0.0, L[0, 0], dims=lev_term)
                else:
                    r = pm.MvNormal(f"r_{v}", mu=np.zeros(blk.q), chol=L, dims=lev_term)
            else:
                z = pm.Normal(f"z_{v}", 0.0, 1.0, dims=lev_term)
                r = pm.Deterministic(f"r_{v}", z @ L.T, dims=lev_term)
            eta = eta + (pt.as_tensor(blk.Z) * r[blk.g]).sum(axis=-1)
        cut = None
        if spec.ncut:
            from pymc.distributions.transforms import ordered

            start = np.linspace(-1.5, 1.5, spec.ncut) if spec.ncut > 1 else np.zeros(1)
            raw = _vector(pm, pt, spec.thres_priors, "Intercept", dims="threshold", transform=ordered,
                          initval=start)
            # the identity on the sampler's (ordered) values; forward draws from the prior (independent draws
            # of each threshold) come out sorted, which for equal priors is the prior restricted to the order
            cut = pt.sort(raw)
            shift = pt.dot(spec.xmean, b) if b is not None else 0.0
            pm.Deterministic("thresholds", cut + shift, dims="threshold")
        aux = {nm: pr.pymc_class()(nm, **_f64(pr.params)) for nm, pr in zip(spec.aux_names, spec.aux_priors)}
        if spec.family in ("gaussian", "negbinomial", "poisson") or (spec.family in ("binomial", "bernoulli")
                                                                      and spec.link in ("logit", "")):
            _likelihood(pm, pt, spec, eta, aux.get(spec.disp_name))
        else:
            _likelihood_extra(pm, pt, spec, eta, aux, cut)
    return model


def _ndtr(pt, x):
    """Φ(x) with a float64 constant (``pm.math.invprobit`` folds √2 in float32: 3e-8 relative error)."""
    return 0.5 * pt.erfc(-x * pt.constant(np.asarray(0.5**0.5, dtype="float64")))


def _linkinv(pm, pt, link: str, eta):
    """μ = g⁻¹(η) in pytensor."""
    if link == "identity":
        return eta
    if link == "log":
        return pt.exp(eta)
    if link == "inverse":
        return 1.0 / eta
    if link == "1/mu^2":
        return 1.0 / pt.sqrt(eta)
    if link == "logit":
        return pm.math.invlogit(eta)
    if link == "probit":
        return _ndtr(pt, eta)
    return -pt.expm1(-pt.exp(eta))  # cloglog


def _likelihood_extra(pm, pt, spec, eta, aux, cut) -> None:
    """The observed ``y`` of the families and links beyond the canonical four (PyMC's distributions)."""
    fam, y, link = spec.family, spec.y, spec.link
    if fam == "cumulative":  # P(y <= k) = F(c_k - η); category probabilities as differences
        F = pm.math.invlogit if link == "logit" else (lambda v: _ndtr(pt, v))
        cum = F(cut[None, :] - eta[:, None])
        n = np.ones((len(y), 1))
        p = pt.concatenate([cum[:, :1], cum[:, 1:] - cum[:, :-1], n - cum[:, -1:]], axis=1)
        pm.Categorical("y", p=p, observed=y.astype(np.int64), dims="obs")
        return
    mu = _linkinv(pm, pt, link, eta)
    if fam == "bernoulli":
        pm.Bernoulli("y", p=mu, observed=y.astype(np.int64), dims="obs")
    elif fam == "binomial":
        pm.Binomial("y", n=np.round(spec.trials).astype(np.int64), p=mu, observed=y.astype(np.int64), dims="obs")
    elif fam == "student":
        pm.StudentT("y", nu=aux["nu"], mu=mu, sigma=aux["sigma"], observed=y, dims="obs")
    elif fam == "lognormal":
        pm.LogNormal("y", mu=eta, sigma=aux["sigma"], observed=y, dims="obs")
    elif fam == "gamma":
        pm.Gamma("y", alpha=aux["shape"], beta=aux["shape"] / mu, observed=y, dims="obs")
    elif fam == "inverse_gaussian":
        pm.Wald("y", mu=mu, lam=aux["shape"], observed=y, dims="obs")
    elif fam == "beta":
        pm.Beta("y", alpha=mu * aux["phi"], beta=(1.0 - mu) * aux["phi"], observed=y, dims="obs")
    else:
        raise SamplingError(f"the mirror model has no likelihood for family '{fam}'")


def _likelihood(pm, pt, spec, eta, disp) -> None:
    fam, y = spec.family, spec.y
    if fam == "gaussian":
        pm.Normal("y", mu=eta, sigma=disp / np.sqrt(spec.weights), observed=y, dims="obs")
    elif fam == "bernoulli":
        pm.Bernoulli("y", logit_p=eta, observed=y.astype(np.int64), dims="obs")
    elif fam == "binomial":
        pm.Binomial("y", n=np.round(spec.trials).astype(np.int64), logit_p=eta, observed=y.astype(np.int64),
                    dims="obs")
    elif fam == "poisson":
        pm.Poisson("y", mu=pt.exp(eta), observed=y.astype(np.int64), dims="obs")
    else:
        pm.NegativeBinomial("y", mu=pt.exp(eta), alpha=disp, observed=y.astype(np.int64), dims="obs")


def _jax_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("jax") is not None


def sample_pymc(model, sampler: str, *, draws, tune, chains, cores, seed, target_accept, progressbar):
    """Run NUTS on the mirror model with PyMC's sampler, numpyro, blackjax or nutpie (compiled by PyMC).

    Returns
    -------
    posterior, sample_stats : xarray.Dataset
    """
    import warnings

    import pymc as pm

    if sampler in JAX_SAMPLERS and not _jax_available():
        raise SamplingError(f"sampler='{sampler}' needs JAX: pip install jax numpyro"
                            + (" blackjax" if sampler == "blackjax" else "")
                            + "; or use the default sampler (sampler=None)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        if sampler == "nutpie-pymc":
            import nutpie

            compiled = nutpie.compile_pymc_model(model)
            tree = nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, cores=cores, seed=seed,
                                 target_accept=target_accept, progress_bar=progressbar)
        else:
            tree = pm.sample(draws=draws, tune=tune, chains=chains, cores=cores, random_seed=seed, model=model,
                             nuts_sampler=sampler, target_accept=target_accept, progressbar=progressbar,
                             compute_convergence_checks=False)
    return tree["posterior"].to_dataset(), tree["sample_stats"].to_dataset()


def sample_prior(model, draws: int, seed: int):
    """Prior and prior-predictive draws of the mirror model: (prior, prior_predictive) Datasets."""
    import pymc as pm

    tree = pm.sample_prior_predictive(draws=draws, model=model, random_seed=seed)
    return tree["prior"].to_dataset(), tree["prior_predictive"].to_dataset()
