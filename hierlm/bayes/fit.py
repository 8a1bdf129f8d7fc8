""":class:`BayesFit`: a sampled model with lme4's extractors, computed from the posterior draws.

Point values are posterior means; every table carries the posterior SD (``Est.Error``) and the 95%
interval (``Q2.5``, ``Q97.5``).  ``fit.idata`` is the ArviZ ``DataTree``; ``fit.model`` the mirror
``pymc.Model`` (built on first access).
"""

from __future__ import annotations

import json
from functools import cached_property

import numpy as np
import pandas as pd

from .. import extract
from ..errors import HierlmError
from . import diagnostics as dg
from .posterior import effects, eta_chunks

__all__ = ["BayesFit"]


class BayesFit:
    """A Bayesian mixed model fitted by :func:`hierlm.blmer`.

    Attributes
    ----------
    design : hierlm.design.Design
    family : hierlm.families.Family
    response : hierlm.families.GlmResponse
    spec : hierlm.bayes.spec.Spec
        Arrays, priors and the parameter layout.
    idata : xarray.DataTree
        posterior, sample_stats, observed_data, log_likelihood (+ prior, posterior_predictive, ...).
    settings : dict
        draws, tune, chains, seed, sampler, method, target_accept, init, centring, shear, notes.
    timings : dict
        Seconds spent setting up, sampling and building the posterior.
    """

    def __init__(self, design, family, response, spec, idata, priors, settings: dict, timings: dict | None = None):
        self.design, self.family, self.response, self.spec = design, family, response, spec
        self.idata, self.priors, self.settings = idata, priors, settings
        self.timings = timings or {}
        self._model = None

    # -- structure ----------------------------------------------------------------------------
    @property
    def formula(self) -> str:
        return self.design.formula.text

    @property
    def posterior(self):
        return self.idata["posterior"].to_dataset()

    def nobs(self) -> int:
        """Number of observations used."""
        return self.design.n

    def ngrps(self) -> dict[str, int]:
        """Number of levels per grouping factor."""
        return extract.ngrps(self.design)

    @property
    def model(self):
        """The mirror ``pymc.Model`` (same density and layout as the sampler's), built on first use."""
        if self._model is None:
            from .pymc_model import build_model

            self._model = build_model(self.spec, self.design.rows)
        return self._model

    def prior_summary(self) -> pd.DataFrame:
        """The priors of this fit: class, group, term, prior, source."""
        return self.priors.table()

    # -- draws --------------------------------------------------------------------------------
    @cached_property
    def _effects(self):
        return effects(self.spec, self.posterior)

    def _sd_cor(self, k: int) -> tuple[np.ndarray, np.ndarray | None]:
        b = self.spec.blocks[k]
        post = self.posterior
        sd = post[f"sd_{b.v}"].values
        cor = post[f"cor_{b.v}"].values if b.q > 1 else None
        return sd, cor

    def covariance_draws(self) -> list[np.ndarray]:
        """Σ of every block per draw, (chains, draws, q, q)."""
        out = []
        for k, b in enumerate(self.spec.blocks):
            sd, cor = self._sd_cor(k)
            C = cor if cor is not None else np.ones(sd.shape + (1,))
            out.append(sd[..., :, None] * C * sd[..., None, :])
        return out

    def _disp(self) -> np.ndarray | None:
        nm = self.spec.disp_name
        return self.posterior[nm].values if nm else None

    # -- extractors ---------------------------------------------------------------------------
    def fixef(self) -> pd.DataFrame:
        """Fixed effects: ``Estimate`` (posterior mean), ``Est.Error``, ``Q2.5``, ``Q97.5``, ``R-hat``, ``ESS bulk``."""
        beta, _ = self._effects
        s = dg.summarise(beta)
        cols = ["Estimate", "Est.Error", "Q2.5", "Q97.5", "R-hat", "ESS bulk"]
        return pd.DataFrame({c: s[c] for c in cols}, index=pd.Index(self.design.xnames))

    def ranef(self, intervals: bool = False):
        """Posterior means of the random effects per grouping factor (levels × terms).

        ``intervals=True``: long form with ``grpvar``, ``term``, ``grp``, ``Estimate``, ``Est.Error``,
        ``Q2.5``, ``Q97.5``.
        """
        _, b = self._effects
        if not intervals:
            return extract.ranef_frames(self.design, [x.mean(axis=(0, 1)) for x in b])
        rows = []
        for t, x in zip(self.design.reterms, b):
            flat = x.reshape((-1,) + x.shape[2:])
            q = np.quantile(flat, [0.025, 0.975], axis=0)
            for j, term in enumerate(t.columns):
                rows.append(pd.DataFrame({
                    "grpvar": t.group, "term": term, "grp": t.levels, "Estimate": flat[:, :, j].mean(0),
                    "Est.Error": flat[:, :, j].std(0, ddof=1), "Q2.5": q[0, :, j], "Q97.5": q[1, :, j]}))
        return pd.concat(rows, ignore_index=True)

    def coef(self) -> dict[str, pd.DataFrame]:
        """Fixed plus random effects per level (lme4's ``coef``), posterior means of the per-draw sums."""
        return extract.coef_frames(self.fixef()["Estimate"], self.ranef())

    def varcorr(self) -> pd.DataFrame:
        """lme4's ``as.data.frame(VarCorr(m))`` with posterior means, plus ``Est.Error``, ``Q2.5`` and
        ``Q97.5`` of ``sdcor``."""
        covs = [c.reshape((-1,) + c.shape[2:]) for c in self.covariance_draws()]
        sig = self._disp().reshape(-1) if self.family.name == "gaussian" else None
        S = covs[0].shape[0]
        per_draw = [extract.varcorr_rows(self.design, [c[s] for c in covs], None if sig is None else sig[s])
                    for s in range(S)]
        vcov = np.array([[r["vcov"] for r in rows] for rows in per_draw])
        sdcor = np.array([[r["sdcor"] for r in rows] for rows in per_draw])
        frame = extract.varcorr_frame(self.design, [c.mean(0) for c in covs], None if sig is None else sig.mean())
        frame["vcov"] = vcov.mean(0)
        frame["sdcor"] = sdcor.mean(0)
        frame["Est.Error"] = sdcor.std(0, ddof=1)
        q = np.quantile(sdcor, [0.025, 0.975], axis=0)
        frame["Q2.5"], frame["Q97.5"] = q[0], q[1]
        return frame

    def sigma(self) -> float:
        """Posterior mean of the residual SD (1 for families without one)."""
        return float(self._disp().mean()) if self.family.name == "gaussian" else 1.0

    def _mu_draws(self, **kw) -> np.ndarray:
        beta, b = self._effects
        C, D = beta.shape[:2]
        chunks = [self.family.link.linkinv(eta) for _, eta in eta_chunks(self.design, beta, b, **kw)]
        return np.concatenate(chunks).reshape(C, D, -1)

    def fitted(self) -> np.ndarray:
        """Posterior mean of the expected response per observation (proportions for binomial models)."""
        return self._mu_draws().mean(axis=(0, 1))

    def residuals(self) -> np.ndarray:
        """Response residuals y − fitted (observed proportions for binomial models)."""
        return self.response.y - self.fitted()

    def predict(self, newdata: pd.DataFrame | None = None, re_form: str | None = None, allow_new_levels: bool = False,
                kind: str = "mean", type: str = "response"):
        """Posterior predictions of the expected response.

        Parameters
        ----------
        newdata : DataFrame, optional
        re_form : str, optional
            ``None``: all random effects; ``"~0"``: none; or a formula naming the bars to keep.
        allow_new_levels : bool
            Levels not seen in fitting get effects drawn from the fitted population N(0, Σ), one
            draw per posterior draw, shared by the rows of the same new level.
        kind : {"mean", "draws"}
            Posterior mean (numpy array) or all draws (xarray DataArray: chain, draw, obs).
        type : {"response", "link"}
        """
        if kind not in ("mean", "draws"):
            raise HierlmError(f"kind must be 'mean' or 'draws', not {kind!r}")
        if type not in ("response", "link"):
            raise HierlmError(f"type must be 'response' or 'link', not {type!r}")
        newb = self._new_level_draws(newdata, re_form) if (allow_new_levels and newdata is not None) else None
        beta, b = self._effects
        C, D = beta.shape[:2]
        chunks = [eta for _, eta in eta_chunks(self.design, beta, b, newdata=newdata, re_form=re_form,
                                               allow_new_levels=allow_new_levels, new_level_effects=newb)]
        eta = np.concatenate(chunks).reshape(C, D, -1)
        out = self.family.link.linkinv(eta) if type == "response" else eta
        if kind == "mean":
            return out.mean(axis=(0, 1))
        import xarray as xr

        obs = [str(i) for i in (newdata.index if newdata is not None else self.design.rows)]
        return xr.DataArray(out, dims=("chain", "draw", "obs"),
                            coords={"chain": np.arange(C), "draw": np.arange(D), "obs": obs}, name="prediction")

    def _new_level_draws(self, newdata, re_form) -> dict[int, np.ndarray]:
        keep = extract.select_blocks(self.design, re_form)
        nd = self.design.new_data(newdata, re_terms=bool(keep))
        rng = np.random.default_rng([int(self.settings.get("seed", 0)), 2])
        out = {}
        for i in keep:
            t, train = nd.reterms[i], self.design.reterms[i]
            nnew = len(t.levels) - train.nlevels
            if nnew <= 0:
                continue
            S = self.covariance_draws()[i]
            C, D, q, _ = S.shape
            L = np.linalg.cholesky(S + 1e-12 * np.eye(q))
            e = rng.standard_normal((C, D, nnew, q))
            out[i] = np.einsum("cdjt,cdst->cdjs", e, L).reshape(C * D, nnew, q)
        return out

    def posterior_predictive(self):
        """Draw replicated responses (``y``) for every posterior draw; adds ``posterior_predictive`` to ``idata``."""
        import xarray as xr

        mu = self._mu_draws()
        rng = np.random.default_rng([int(self.settings.get("seed", 0)), 1])
        fam, r = self.family.name, self.response
        if fam == "gaussian":
            sd = self._disp()[..., None] / np.sqrt(r.prior_weights)
            y = rng.normal(mu, sd)
        elif fam in ("binomial", "bernoulli"):
            y = rng.binomial(np.round(r.trials).astype(np.int64), mu)
        elif fam == "poisson":
            y = rng.poisson(mu)
        else:
            phi = self._disp()[..., None]
            y = rng.negative_binomial(phi, phi / (phi + mu))
        post = self.idata["posterior"]
        ds = xr.Dataset({"y": (("chain", "draw", "obs"), y)},
                        coords={"chain": post["chain"].values, "draw": post["draw"].values,
                                "obs": self.idata["observed_data"]["obs"].values})
        self.idata["posterior_predictive"] = xr.DataTree(ds)
        return ds

    # -- diagnostics and summary ----------------------------------------------------------------
    def _main_draws(self) -> tuple[np.ndarray, list[str]]:
        """Draws of the summary parameters: fixed effects, sds, correlations, sigma / shape."""
        beta, _ = self._effects
        cols, labels = [beta], [f"b_{n}" for n in self.design.xnames]
        for k, b in enumerate(self.spec.blocks):
            sd, cor = self._sd_cor(k)
            cols.append(sd)
            labels += [f"sd({b.label}: {t})" for t in b.terms]
            if cor is not None:
                i, j = np.triu_indices(b.q, 1)
                cols.append(cor[..., i, j])
                labels += [f"cor({b.label}: {b.terms[a]},{b.terms[c]})" for a, c in zip(i, j)]
        d = self._disp()
        if d is not None:
            cols.append(d[..., None])
            labels.append(self.spec.disp_name)
        return np.concatenate(cols, axis=-1), labels

    @cached_property
    def _diag(self) -> pd.DataFrame:
        draws, labels = self._main_draws()
        return pd.DataFrame(dg.summarise(draws), index=labels)

    def _diagnostic_table(self) -> pd.DataFrame:
        return self._diag

    def singular_terms(self) -> list[str]:
        """Plain-language list of SDs whose posterior piles up at 0 and correlations piling up at ±1."""
        out = []
        for k, b in enumerate(self.spec.blocks):
            sd, cor = self._sd_cor(k)
            for j, term in enumerate(b.terms):
                if dg.piled_up(sd=sd[..., j].ravel())[0]:
                    out.append(f"sd({term}) of '{b.label}' at 0")
            if cor is not None:
                i, j = np.triu_indices(b.q, 1)
                for a, c in zip(i, j):
                    if dg.piled_up(cor=cor[..., a, c].ravel())[1]:
                        out.append(f"cor({b.terms[a]},{b.terms[c]}) of '{b.label}' at ±1")
        return out

    def is_singular(self) -> bool:
        """True when some SD's posterior piles up at 0 or some correlation's at ±1 (see ``singular_terms()``)."""
        return bool(self.singular_terms())

    def summary(self):
        """brms-style summary; ``str()`` gives the text, notebooks show HTML."""
        from .summary import bayes_summary

        return bayes_summary(self)

    def __repr__(self) -> str:
        return str(self.summary())

    # -- saving ---------------------------------------------------------------------------------
    def save(self, path):
        """Save the fit to the folder ``path`` (JSON + netCDF, never pickle); read it back with ``hl.load``."""
        from ..io import save

        return save(self, path)

    def _save_state(self, path) -> dict:
        import pathlib

        self.idata.to_netcdf(pathlib.Path(path) / "posterior.nc", engine="h5netcdf")
        pri = [dict(r, prior=dict(dist=r["prior"].dist, params=r["prior"].params)) for r in self.priors.rows]
        settings = {k: v for k, v in self.settings.items() if isinstance(v, (str, int, float, bool, list, dict))
                    or v is None}
        return {"bayes": {"family": self.family.name, "priors": pri, "settings": json.loads(json.dumps(settings)),
                          "centred": [b.centred for b in self.spec.blocks], "hier_centre": self.spec.hier_centre}}

    @classmethod
    def _load_state(cls, path, meta, design):
        import pathlib

        import xarray as xr

        from ..priors import Prior, PriorSet
        from .spec import build_spec, prepare_response_of

        info = meta["bayes"]
        fam, resp = prepare_response_of(design, info["family"])
        rows = [dict(r, prior=Prior(r["prior"]["dist"], **r["prior"]["params"])) for r in info["priors"]]
        priors = PriorSet(rows)
        spec = build_spec(design, fam, resp, priors)
        for b, c in zip(spec.blocks, info["centred"]):
            b.centred = bool(c)
        spec.hier_centre = info["hier_centre"]
        tree = xr.open_datatree(pathlib.Path(path) / "posterior.nc", engine="h5netcdf").load()
        return cls(design, fam, resp, spec, tree, priors, info["settings"])
