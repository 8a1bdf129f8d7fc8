"""A fit's state for saving: what ``fit.save(path)`` hands to the saved-fit format (:mod:`hierlm.storage`).

The inverse, building a fit back from a saved folder, is :func:`hierlm.load` (:mod:`hierlm.io`),
at the top of the package.
"""

from __future__ import annotations

import json

import numpy as np

from .._version import __version__
from ..errors import HierlmError
from ..storage import jsonable, write_folder

__all__ = ["save_fit", "design_signature"]


def _optinfo(fit, arrays: dict) -> dict:
    """The optimiser's information as JSON; its arrays go to ``arrays`` as ``optinfo__<name>``."""
    info = dict(fit.optinfo)
    for k, v in list(info.items()):
        if isinstance(v, np.ndarray):
            arrays[f"optinfo__{k}"] = v
            info.pop(k)
    return jsonable(info)


def _frequentist_state(fit) -> tuple[dict, dict]:
    """Scalars (JSON) and arrays (netCDF) of a frequentist fit; each class lists its own in
    ``saved_arrays`` and ``saved_settings``."""
    arrays = {k: getattr(fit, k) for k in fit.saved_arrays}
    for i, bi in enumerate(fit.b):
        arrays[f"b{i}"] = bi
    for i, v in enumerate(fit.cond_var() if fit.kind.model == "glmm" else []):
        arrays[f"cond_var{i}"] = v
    scalars = {"sigma_": fit.sigma_, "objective": fit.objective, "family": fit.family.name,
               "link": fit.family.link.name, "optinfo": _optinfo(fit, arrays)}
    scalars.update({k: jsonable(getattr(fit, k)) for k in fit.saved_settings})
    return scalars, arrays


def _ordinal_state(fit) -> tuple[dict, dict]:
    """Scalars and arrays of a cumulative link mixed model (``ClmmFit``): thresholds, coefficients, θ, the
    covariance of all three, the modes and conditional variances per block, the gradient and Hessian at
    the optimum (the summary's max.grad and cond.H), and the ordered response categories with the link."""
    arrays = {"alpha": fit.alpha, "beta": fit.beta, "theta": fit.theta, "vcov_all": fit.vcov_all, "eta": fit.eta}
    for name in ("gradient", "hessian"):
        if getattr(fit, name) is not None:
            arrays[name] = getattr(fit, name)
    for i, (bi, cv) in enumerate(zip(fit.b, fit.cond_var())):
        arrays[f"b{i}"], arrays[f"cond_var{i}"] = bi, cv
    scalars = {"objective": fit.objective, "family": fit.family.name, "link": fit.family.link.name,
               "levels": [str(lv) for lv in fit.levels], "nAGQ": int(fit.nAGQ), "optinfo": _optinfo(fit, arrays)}
    return scalars, arrays


def _bayes_state(fit) -> dict:
    pri = [dict(r, prior=dict(dist=r["prior"].dist, params=r["prior"].params)) for r in fit.priors.rows]
    settings = {k: v for k, v in fit.settings.items() if isinstance(v, (str, int, float, bool, list, dict))
                or v is None}
    return {"family": fit.family.name, "link": fit.family.link.name, "priors": pri, "settings": json.loads(json.dumps(settings)),
            "centred": [b.centred for b in fit.spec.blocks], "hier_centre": fit.spec.hier_centre}


def design_signature(design) -> dict:
    """What a design looks like (rows, fixed-effect names, blocks with their levels), to check a reloaded one."""
    return {"n": int(design.n), "xnames": list(design.xnames),
            "blocks": [{"label": t.label, "group": t.group, "columns": list(t.columns), "levels": list(t.levels)}
                       for t in design.reterms]}


def save_fit(fit, path, overwrite: bool = False):
    """Write ``fit`` to the folder ``path`` (see :mod:`hierlm.storage`); returns the folder."""
    design = fit.design
    if design.data is None:
        raise HierlmError("this fit does not keep its data (keep_data=False), so it cannot be saved")
    meta = {
        "hierlm_version": __version__,
        "kind": type(fit).__name__,
        "formula": design.formula.text,
        "weights": None if design.weights is None else design.weights.tolist(),
        # weights given as a column are rebuilt from it (the column stays in the data, printed as R's call)
        "weights_column": design.weights_arg if isinstance(design.weights_arg, str) else None,
        "design": design_signature(design),
    }
    if fit.kind.bayesian:
        meta["bayes"] = _bayes_state(fit)
        return write_folder(path, meta, design.data, tree=fit.idata, overwrite=overwrite)
    scalars, arrays = _ordinal_state(fit) if fit.kind.model == "ordinal" else _frequentist_state(fit)
    meta["fit"] = scalars
    return write_folder(path, meta, design.data, arrays=arrays, overwrite=overwrite)
