"""Posterior predictions of a :class:`~hierlm.bayes.fit.BayesFit`: expected responses (brms's
``posterior_epred``) with new levels drawn from the fitted population, and replicated responses
(``posterior_predict``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import extract
from ..errors import HierlmError
from .posterior import eta_chunks

__all__ = ["PredictionMixin", "new_level_draws", "posterior_predictive", "predict"]


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
    if type not in ("response", "link"):
        raise HierlmError(f"type must be 'response' or 'link', not {type!r}")
    newb = new_level_draws(fit, newdata, re_form) if (allow_new_levels and newdata is not None) else None
    beta, b = fit._effects
    C, D = beta.shape[:2]
    chunks = [eta for _, eta in eta_chunks(fit.design, beta, b, newdata=newdata, re_form=re_form,
                                           allow_new_levels=allow_new_levels, new_level_effects=newb)]
    eta = np.concatenate(chunks).reshape(C, D, -1)
    out = fit.family.link.linkinv(eta) if type == "response" else eta
    if kind == "mean":
        return out.mean(axis=(0, 1))
    import xarray as xr

    obs = [str(i) for i in (newdata.index if newdata is not None else fit.design.rows)]
    return xr.DataArray(out, dims=("chain", "draw", "obs"),
                        coords={"chain": np.arange(C), "draw": np.arange(D), "obs": obs}, name="prediction")



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
    keep = extract.select_blocks(fit.design, re_form)
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

    mu = fit._mu_draws()
    rng = np.random.default_rng([int(fit.settings.get("seed", 0)), 1])
    fam, r = fit.family.name, fit.response
    if fam == "gaussian":
        sd = fit._disp()[..., None] / np.sqrt(r.prior_weights)
        y = rng.normal(mu, sd)
    elif fam in ("binomial", "bernoulli"):
        y = rng.binomial(np.round(r.trials).astype(np.int64), mu)
    elif fam == "poisson":
        y = rng.poisson(mu)
    else:
        phi = fit._disp()[..., None]
        y = rng.negative_binomial(phi, phi / (phi + mu))
    post = fit.idata["posterior"]
    ds = xr.Dataset({"y": (("chain", "draw", "obs"), y)},
                    coords={"chain": post["chain"].values, "draw": post["draw"].values,
                            "obs": fit.idata["observed_data"]["obs"].values})
    fit.idata["posterior_predictive"] = xr.DataTree(ds)
    return ds


class PredictionMixin:
    """The prediction methods of :class:`~hierlm.bayes.fit.BayesFit` (fitted values, residuals,
    predictions for new data, replicated responses)."""

    def _mu_draws(self, **kw) -> np.ndarray:
        beta, b = self._effects
        C, D = beta.shape[:2]
        chunks = [self.family.link.linkinv(eta) for _, eta in eta_chunks(self.design, beta, b, **kw)]
        return np.concatenate(chunks).reshape(C, D, -1)

    def fitted(self) -> np.ndarray:
        """Posterior mean of the expected response per observation (proportions for binomial models).

        Returns
        -------
        ndarray
            One value per observation used (brms's ``fitted``).

        Examples
        --------
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
        ...              progressbar=False)
        >>> b.fitted()[:3].round(1)  # doctest: +SKIP
        array([253.4, 273.1, 292.7])
        >>> b.fitted().shape
        (180,)
        """
        return self._mu_draws().mean(axis=(0, 1))

    def residuals(self) -> np.ndarray:
        """Response residuals y − fitted (observed proportions for binomial models).

        Returns
        -------
        ndarray
            One residual per observation used.

        Examples
        --------
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
        ...              progressbar=False)
        >>> b.residuals()[:3].round(1)  # doctest: +SKIP
        array([ -3.9, -14.4, -41.9])
        >>> b.residuals().shape
        (180,)
        """
        return self.response.y - self.fitted()

    def predict(self, newdata: pd.DataFrame | None = None, re_form: str | None = None, allow_new_levels: bool = False,
                kind: str = "mean", type: str = "response"):
        """Posterior predictions of the expected response (brms's ``fitted`` / ``posterior_epred``).

        Parameters
        ----------
        newdata : DataFrame, optional
            Defaults to the data used for fitting.
        re_form : str, optional
            ``None``: all random effects; ``"~0"``: none; or a formula naming the bars to keep.
        allow_new_levels : bool
            Levels not seen in fitting get effects drawn from the fitted population N(0, Σ), one
            draw per posterior draw, shared by the rows of the same new level.
        kind : {"mean", "draws"}
            Posterior mean (numpy array) or all draws (xarray DataArray: chain, draw, obs).
        type : {"response", "link"}
            Scale of the predictions (they differ for GLMMs only).

        Returns
        -------
        ndarray or xarray.DataArray
            ``kind="mean"``: one value per row; ``kind="draws"``: (chain, draw, obs).

        Examples
        --------
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
        ...              progressbar=False)
        >>> import pandas as pd
        >>> new = pd.DataFrame({"Days": [0, 5, 10], "Subject": ["308", "308", "new"]})
        >>> b.predict(new, allow_new_levels=True).round(1)  # doctest: +SKIP
        array([253.4, 351.7, 357.6])
        >>> draws = b.predict(new, allow_new_levels=True, kind="draws")
        >>> draws.dims, draws.shape
        (('chain', 'draw', 'obs'), (2, 500, 3))
        >>> b.predict(new, re_form="~0").shape  # population level
        (3,)
        """
        return predict(self, newdata, re_form, allow_new_levels, kind, type)

    def posterior_predictive(self):
        """Draw replicated responses for every posterior draw (brms's ``posterior_predict``).

        The draws are also stored as the ``posterior_predictive`` group of ``fit.idata`` (for
        :func:`hierlm.plot_ppc` and ArviZ).

        Returns
        -------
        xarray.Dataset
            Variable ``y`` with dimensions (chain, draw, obs).

        Examples
        --------
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
        ...              progressbar=False)
        >>> pp = b.posterior_predictive()
        >>> pp["y"].dims, pp["y"].shape
        (('chain', 'draw', 'obs'), (2, 500, 180))
        >>> "posterior_predictive" in b.idata.children
        True
        """
        return posterior_predictive(self)
