"""Posterior predictions of a :class:`~hierlm.fits.BayesFit`: expected responses (brms's
``posterior_epred``) with new levels drawn from the fitted population, and replicated responses
(``posterior_predict``).  Functions of the fit, which its methods delegate to.

The expected response is g⁻¹(η) for most families, exp(η + σ²/2) for the lognormal, and the category
probabilities for a cumulative model (``type="prob"``, or ``"response"``); the densities, means and
draws of every family are :mod:`hierlm.engines.bayes.families`'.
"""

from __future__ import annotations

import numpy as np

from ..design import select_blocks
from ..engines.bayes import families as F
from ..engines.bayes.posterior import eta_chunks
from ..errors import HierlmError
from .bayes_families import aux_draws

__all__ = ["mu_draws", "new_level_draws", "posterior_predictive", "predict", "predict_interval", "residuals"]


def _response_scale(fit, eta: np.ndarray, sl, aux: dict) -> np.ndarray:
    """Expected responses of the draws ``sl`` from their η (R's clamped g⁻¹ for the canonical four)."""
    fam = fit.family
    if fam.name in ("lognormal", "cumulative"):
        return F.expected(fam.name, fam.link.name, eta, {k: v[sl] for k, v in aux.items()})
    return fam.link.linkinv(eta)


def mu_draws(fit, **kw) -> np.ndarray:
    """Expected responses per draw, (chains, draws, n) ((chains, draws, n, categories) for a cumulative
    model); ``kw`` as :func:`hierlm.design.linear_predictor`'s."""
    beta, b = fit.beta_draws(), fit.ranef_draws()
    C, D = beta.shape[:2]
    aux = aux_draws(fit)
    chunks = [_response_scale(fit, eta, sl, aux) for sl, eta in eta_chunks(fit.design, beta, b, **kw)]
    out = np.concatenate(chunks)
    return out.reshape((C, D) + out.shape[1:])


def eta_draws(fit, **kw) -> np.ndarray:
    """The linear predictor per draw, (chains, draws, n)."""
    beta, b = fit.beta_draws(), fit.ranef_draws()
    C, D = beta.shape[:2]
    return np.concatenate([eta for _, eta in eta_chunks(fit.design, beta, b, **kw)]).reshape(C, D, -1)


def predict(fit, newdata=None, re_form=None, allow_new_levels=False, kind="mean", type="response"):
    """Expected responses per draw or their posterior mean (see :meth:`BayesFit.predict`).

    Examples
    --------
    >>> import hierlm as hl
    >>> b = hl.blmer("Reaction ~ Days + (1 | Subject)", hl.load_dataset("sleepstudy"), draws=200, chains=2,
    ...              seed=1, progressbar=False)
    >>> predict(b, re_form="~0").shape
    (180,)
    """
    if kind not in ("mean", "draws"):
        raise HierlmError(f"kind must be 'mean' or 'draws', not {kind!r}")
    ordinal = fit.family.is_ordinal
    if type not in ("response", "link") + (("prob",) if ordinal else ()):
        raise HierlmError(f"type must be 'response' or 'link'{', or prob' if ordinal else ''}, not {type!r}"
                          + ("" if ordinal else " ('prob' is for family='cumulative')"))
    newb = new_level_draws(fit, newdata, re_form) if (allow_new_levels and newdata is not None) else None
    beta, b = fit.beta_draws(), fit.ranef_draws()
    C, D = beta.shape[:2]
    aux = aux_draws(fit) if type != "link" else {}
    chunks = [eta if type == "link" else _response_scale(fit, eta, sl, aux)
              for sl, eta in eta_chunks(fit.design, beta, b, newdata=newdata, re_form=re_form,
                                        allow_new_levels=allow_new_levels, new_level_effects=newb)]
    out = np.concatenate(chunks)
    out = out.reshape((C, D) + out.shape[1:])
    index = newdata.index if newdata is not None else fit.design.rows
    if kind == "mean":
        if out.ndim == 4:  # category probabilities: one column per category, as ClmmFit.predict(type="prob")
            import pandas as pd

            return pd.DataFrame(out.mean(axis=(0, 1)), index=index, columns=[str(v) for v in fit.spec.levels])
        return out.mean(axis=(0, 1))
    import xarray as xr

    coords = {"chain": np.arange(C), "draw": np.arange(D), "obs": [str(i) for i in index]}
    if out.ndim == 4:
        coords["category"] = [str(v) for v in fit.spec.levels]
    return xr.DataArray(out, dims=tuple(coords), coords=coords, name="prediction")



def new_level_draws(fit, newdata, re_form) -> dict[int, np.ndarray]:
    """Effects of levels unseen in fitting, one N(0, Σ) draw per posterior draw: {block index: (C·D, new, q)}.

    Examples
    --------
    >>> import hierlm as hl, pandas as pd
    >>> b = hl.blmer("Reaction ~ Days + (1 | Subject)", hl.load_dataset("sleepstudy"), draws=200, chains=2,
    ...              seed=1, progressbar=False)
    >>> new_level_draws(b, pd.DataFrame({"Days": [1], "Subject": ["new"]}), None)[0].shape
    (400, 1, 1)
    """
    keep = select_blocks(fit.design, re_form)
    nd = fit.design.new_data(newdata, re_terms=bool(keep))
    rng = np.random.default_rng([int(fit.settings.get("seed", 0)), 2])
    out = {}
    for i in keep:
        t, train = nd.reterms[i], fit.design.reterms[i]
        nnew = len(t.levels) - train.nlevels
        if nnew <= 0:
            continue
        S = fit.covariance_draws()[i]
        C, D, q, _ = S.shape
        L = np.linalg.cholesky(S + 1e-12 * np.eye(q))
        e = rng.standard_normal((C, D, nnew, q))
        out[i] = np.einsum("cdjt,cdst->cdjs", e, L).reshape(C * D, nnew, q)
    return out


def posterior_predictive(fit):
    """Replicated responses for every draw, also stored in ``fit.idata["posterior_predictive"]``.

    Examples
    --------
    >>> import hierlm as hl
    >>> b = hl.blmer("Reaction ~ Days + (1 | Subject)", hl.load_dataset("sleepstudy"), draws=200, chains=2,
    ...              seed=1, progressbar=False)
    >>> posterior_predictive(b)["y"].shape
    (2, 200, 180)
    """
    import xarray as xr

    r = fit.response
    y = _replicate(fit, eta_draws(fit), r.trials, r.prior_weights,
                   np.random.default_rng([int(fit.settings.get("seed", 0)), 1]))
    post = fit.idata["posterior"]
    ds = xr.Dataset({"y": (("chain", "draw", "obs"), y)},
                    coords={"chain": post["chain"].values, "draw": post["draw"].values,
                            "obs": fit.idata["observed_data"]["obs"].values})
    fit.idata["posterior_predictive"] = xr.DataTree(ds)
    return ds


def _replicate(fit, eta: np.ndarray, trials, weights, rng: np.random.Generator) -> np.ndarray:
    """One replicated response per draw of η (chains, draws, n), from the family with each draw's parameters
    (category codes 0 … K−1 for a cumulative model)."""
    C, D, n = eta.shape
    aux = aux_draws(fit)
    y = F.replicate(fit.family.name, fit.family.link.name, eta.reshape(C * D, n), aux, trials, weights, rng)
    return y.reshape(C, D, n)


def predict_interval(fit, newdata=None, interval="confidence", level=0.95, re_form=None, allow_new_levels=False,
                     type="response"):
    """Posterior mean with an equal-tailed interval: of the expected response (``"confidence"``, brms's
    ``fitted``) or of a new observation (``"prediction"``, brms's ``predict``), as R's ``fit``/``lwr``/``upr``.

    New levels get effects drawn from the fitted population (``allow_new_levels=True``); prediction
    intervals add the family's noise draw by draw (binomial models on the proportion scale).

    Examples
    --------
    >>> import hierlm as hl, pandas as pd
    >>> b = hl.blmer("Reaction ~ Days + (1 | Subject)", hl.load_dataset("sleepstudy"), draws=200, chains=2,
    ...              seed=1, progressbar=False)
    >>> out = predict_interval(b, pd.DataFrame({"Days": [5], "Subject": ["new"]}), "prediction", allow_new_levels=True)
    >>> out.columns.tolist(), bool(out["lwr"].iloc[0] < out["fit"].iloc[0] < out["upr"].iloc[0])
    (['fit', 'lwr', 'upr'], True)
    """
    import pandas as pd

    if interval not in ("confidence", "prediction"):
        raise HierlmError(f"interval must be 'confidence' or 'prediction', not {interval!r}")
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise HierlmError(f"level must be a number between 0 and 1 (e.g. 0.95), not {level!r}")
    if fit.family.is_ordinal:
        raise HierlmError("intervals of an ordinal response are not defined; use predict(type='prob', kind='draws') "
                          "for the posterior of every category's probability")
    if interval == "prediction":
        if type != "response":
            raise HierlmError("prediction intervals are on the response scale; use type='response'")
        draws = predict(fit, newdata, re_form, allow_new_levels, "draws", "link").values
        n = draws.shape[-1]
        rng = np.random.default_rng([int(fit.settings.get("seed", 0)), 3])
        draws = _replicate(fit, draws, np.ones(n), np.ones(n), rng).astype(float)
    else:
        draws = predict(fit, newdata, re_form, allow_new_levels, "draws", type).values
    flat = draws.reshape(-1, draws.shape[-1])
    a = (1 - level) / 2
    lo, hi = np.quantile(flat, [a, 1 - a], axis=0)
    index = newdata.index if newdata is not None else pd.RangeIndex(fit.nobs())
    return pd.DataFrame({"fit": flat.mean(0), "lwr": lo, "upr": hi}, index=index)


def residuals(fit, type: str = "response") -> np.ndarray:
    """Residuals at the posterior mean of μ: response y − μ̂, Pearson (y − μ̂)√w / √V(μ̂) (Gaussian: / σ̂),
    deviance sign(y − μ̂)√d(y, μ̂).

    Examples
    --------
    >>> import hierlm as hl
    >>> b = hl.blmer("Reaction ~ Days + (1 | Subject)", hl.load_dataset("sleepstudy"), draws=200, chains=2,
    ...              seed=1, progressbar=False)
    >>> residuals(b, "pearson").shape
    (180,)
    """
    r, fam = fit.response, fit.family
    if fam.is_ordinal:
        raise HierlmError("a cumulative (ordinal) model has no residuals; use predict(type='prob') and the observed "
                          "categories")
    if type not in ("response", "pearson", "deviance"):
        raise HierlmError(f"type must be 'response', 'pearson' or 'deviance', not {type!r}")
    mu = mu_draws(fit).mean(axis=(0, 1))
    if type == "response":
        return r.y - mu
    if not fam.spec.glm:  # student, lognormal, beta: Pearson residuals from the family's variance
        if type == "deviance":
            raise HierlmError(f"deviance residuals are defined for GLM families; family '{fam.name}' has none. Use "
                              "type='response' or 'pearson'")
        aux = {k: float(np.mean(v)) for k, v in aux_draws(fit).items()}
        return (r.y - mu) / np.sqrt(F.variance(fam.name, mu, aux))
    if type == "pearson":
        out = fam.pearson_residuals(r.y, mu, r.weights)
        return out / fit.sigma() if fam.has_dispersion else out
    if type == "deviance":
        out = fam.deviance_residuals(r.y, mu, r.weights)
        return out / fit.sigma() if fam.has_dispersion else out
    raise HierlmError(f"type must be 'response', 'pearson' or 'deviance', not {type!r}")
