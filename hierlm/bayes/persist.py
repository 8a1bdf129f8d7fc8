"""Saving a :class:`~hierlm.bayes.fit.BayesFit`: the posterior as netCDF, priors and settings as JSON
(never pickle); :func:`hierlm.load` rebuilds the spec from the stored formula and data."""

from __future__ import annotations

import json

__all__ = ["load_state", "save_state"]


def save_state(fit, path) -> dict:
    """Write the posterior next to the metadata; returns the Bayesian part of ``hierlm.json``."""
    import pathlib

    fit.idata.to_netcdf(pathlib.Path(path) / "posterior.nc", engine="h5netcdf")
    pri = [dict(r, prior=dict(dist=r["prior"].dist, params=r["prior"].params)) for r in fit.priors.rows]
    settings = {k: v for k, v in fit.settings.items() if isinstance(v, (str, int, float, bool, list, dict))
                or v is None}
    return {"bayes": {"family": fit.family.name, "priors": pri, "settings": json.loads(json.dumps(settings)),
                      "centred": [b.centred for b in fit.spec.blocks], "hier_centre": fit.spec.hier_centre}}


def load_state(cls, path, meta, design):
    """Rebuild a :class:`BayesFit` (class ``cls``) from a folder written by :func:`save_state`."""
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
