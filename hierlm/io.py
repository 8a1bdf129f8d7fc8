"""Saving and loading fits without pickle: JSON for settings, netCDF for arrays and data.

``fit.save(path)`` writes a folder::

    path/
      hierlm.json     kind, formula, family, settings, scalar results, column types
      data.nc         the rows the model used (factor levels kept in hierlm.json)
      arrays.nc       the fitted arrays (θ, β, b, vcov, ...)
      posterior.nc    Bayesian fits: the ArviZ DataTree

``hl.load(path)`` rebuilds the design from the stored formula and data (formulas are interpreted
by hierlm's own evaluator, never ``eval``), then the fit from the stored numbers: nothing is
refitted, and every extractor gives the same numbers.  Nothing executable is ever read, so a
saved fit from a stranger is safe to open.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pandas as pd
import xarray as xr

from .errors import HierlmError

__all__ = ["save", "load", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_ENGINE = "h5netcdf"


# -- data frames ------------------------------------------------------------------------------
def _frame_to_dataset(df: pd.DataFrame) -> tuple[xr.Dataset, dict]:
    types, cols = {}, {}
    for c in df.columns:
        s = df[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            types[c] = {"kind": "category", "levels": [str(v) for v in s.cat.categories], "ordered": bool(s.cat.ordered)}
            cols[c] = ("row", s.cat.codes.to_numpy().astype(np.int32))
        elif pd.api.types.is_bool_dtype(s.dtype):
            types[c] = {"kind": "bool"}
            cols[c] = ("row", s.to_numpy(dtype=np.int8))
        elif pd.api.types.is_numeric_dtype(s.dtype):
            types[c] = {"kind": "numeric", "dtype": str(s.dtype)}
            cols[c] = ("row", s.to_numpy(dtype=float))
        else:
            types[c] = {"kind": "string"}
            cols[c] = ("row", s.astype(str).to_numpy(dtype=str))
    ds = xr.Dataset({f"col{i}": v for i, v in enumerate(cols.values())})
    return ds, {"columns": list(df.columns), "types": types, "index": [str(v) for v in df.index]}


def _dataset_to_frame(ds: xr.Dataset, meta: dict) -> pd.DataFrame:
    out = {}
    for i, c in enumerate(meta["columns"]):
        t = meta["types"][c]
        v = ds[f"col{i}"].values
        if t["kind"] == "category":
            out[c] = pd.Categorical.from_codes(v.astype(int), categories=t["levels"], ordered=t["ordered"])
        elif t["kind"] == "bool":
            out[c] = v.astype(bool)
        elif t["kind"] == "numeric":
            out[c] = v.astype(t["dtype"]) if t["dtype"].startswith(("int", "float")) else v
        else:
            out[c] = v.astype(str).astype(object)
    return pd.DataFrame(out, index=meta.get("index"))


# -- arrays -----------------------------------------------------------------------------------
def _arrays_to_dataset(arrays: dict[str, np.ndarray]) -> xr.Dataset:
    data = {}
    for k, v in arrays.items():
        a = np.asarray(v, dtype=float)
        data[k] = xr.Variable([f"{k}_dim{j}" for j in range(a.ndim)], a)
    return xr.Dataset(data)


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items() if _jsonable(v) is not _SKIP}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist() if x.dtype.kind in "fiub" else _SKIP
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        return x.item()
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x
    return _SKIP


_SKIP = object()


# -- frequentist fits ---------------------------------------------------------------------------
_ARRAY_FIELDS = ("theta", "beta", "vcov_beta", "eta", "mu")


def _frequentist_state(fit) -> tuple[dict, dict]:
    arrays = {k: getattr(fit, k) for k in _ARRAY_FIELDS if getattr(fit, k, None) is not None}
    for i, bi in enumerate(fit.b):
        arrays[f"b{i}"] = bi
    for i, v in enumerate(getattr(fit, "cond_var_", None) or []):
        arrays[f"cond_var{i}"] = v
    info = {k: v for k, v in fit.optinfo.items()}
    for k, v in list(info.items()):
        if isinstance(v, np.ndarray):
            arrays[f"optinfo__{k}"] = v
            info.pop(k)
    scalars = {"sigma_": fit.sigma_, "objective": fit.objective, "family": fit.family,
               "optinfo": _jsonable(info)}
    for name in ("reml", "nAGQ", "nb_theta"):
        if hasattr(fit, name):
            scalars[name] = _jsonable(getattr(fit, name))
    return scalars, arrays


def _frequentist_from_state(kind: str, design, scalars: dict, arrays: dict):
    from .fits import GlmerFit, LmerFit

    nb = sum(1 for k in arrays if k.startswith("b") and k[1:].isdigit())
    optinfo = dict(scalars.get("optinfo", {}))
    optinfo.update({k.split("__", 1)[1]: v for k, v in arrays.items() if k.startswith("optinfo__")})
    common = dict(
        design=design,
        theta=arrays["theta"],
        beta=arrays["beta"],
        b=[arrays[f"b{i}"] for i in range(nb)],
        sigma_=scalars["sigma_"],
        vcov_beta=arrays["vcov_beta"],
        objective=scalars["objective"],
        family=scalars["family"],
        optinfo=optinfo,
    )
    if kind == "LmerFit":
        return LmerFit(**common, reml=scalars["reml"])
    from dataclasses import replace

    from .families import get_family, prepare_response
    from .formula import deparse

    fam = get_family(scalars["family"])
    if scalars.get("nb_theta") is not None:
        fam = replace(fam, theta=scalars["nb_theta"])
    resp = prepare_response(fam, design.response_value, design.weights, rows=design.rows,
                            name=deparse(design.formula.response))
    ncv = sum(1 for k in arrays if k.startswith("cond_var"))
    return GlmerFit(
        **common,
        family_spec=fam,
        response=resp,
        nAGQ=scalars.get("nAGQ", 1),
        nb_theta=scalars.get("nb_theta"),
        eta=arrays.get("eta"),
        mu=arrays.get("mu"),
        cond_var_=[arrays[f"cond_var{i}"] for i in range(ncv)] or None,
    )


# -- public ---------------------------------------------------------------------------------------
def save(fit, path) -> pathlib.Path:
    """Write ``fit`` to the folder ``path`` (created if needed); see the module docstring.

    Examples
    --------
    >>> import hierlm as hl, tempfile, os
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> folder = m.save(os.path.join(tempfile.mkdtemp(), "sleep_fit"))
    >>> hl.load(folder).fixef().equals(m.fixef())
    True
    """
    from . import __version__

    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    design = fit.design
    if design.data is None:
        raise HierlmError("this fit does not keep its data (keep_data=False), so it cannot be saved")
    data_ds, data_meta = _frame_to_dataset(design.data)
    kind = type(fit).__name__
    meta = {
        "format_version": FORMAT_VERSION,
        "hierlm_version": __version__,
        "kind": kind,
        "formula": design.formula.text,
        "data": data_meta,
        "weights": None if design.weights is None else design.weights.tolist(),
    }
    data_ds.to_netcdf(path / "data.nc", engine=_ENGINE)
    if hasattr(fit, "_save_state"):  # Bayesian fits write their own parts
        meta.update(fit._save_state(path))
    else:
        scalars, arrays = _frequentist_state(fit)
        meta["fit"] = scalars
        _arrays_to_dataset(arrays).to_netcdf(path / "arrays.nc", engine=_ENGINE)
    (path / "hierlm.json").write_text(json.dumps(meta, indent=1))
    return path


def load(path):
    """Read a fit written by ``fit.save(path)``.

    Parameters
    ----------
    path : str or Path
        The folder ``fit.save`` wrote.

    Returns
    -------
    LmerFit, GlmerFit or BayesFit

    Examples
    --------
    >>> import hierlm as hl, tempfile, os
    >>> m = hl.lmer("Yield ~ 1 + (1 | Batch)", hl.load_dataset("Dyestuff"))
    >>> back = hl.load(m.save(os.path.join(tempfile.mkdtemp(), "dyestuff")))
    >>> back.sigma() == m.sigma()
    True
    """
    from .design import make_design

    path = pathlib.Path(path)
    meta_file = path / "hierlm.json"
    if not meta_file.is_file():
        raise HierlmError(f"'{path}' is not a saved hierlm fit (no hierlm.json inside)")
    meta = json.loads(meta_file.read_text())
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise HierlmError(f"'{path}' was written by a newer hierlm ({meta.get('hierlm_version')}); upgrade to read it")
    with xr.open_dataset(path / "data.nc", engine=_ENGINE) as ds:
        data = _dataset_to_frame(ds.load(), meta["data"])
    weights = None if meta["weights"] is None else np.asarray(meta["weights"])
    design = make_design(meta["formula"], data, weights=weights)
    kind = meta["kind"]
    if kind in {"LmerFit", "GlmerFit"}:
        with xr.open_dataset(path / "arrays.nc", engine=_ENGINE) as ds:
            arrays = {k: ds[k].values for k in ds.data_vars}
        return _frequentist_from_state(kind, design, meta["fit"], arrays)
    if kind == "BayesFit":
        from .bayes.fit import BayesFit

        return BayesFit._load_state(path, meta, design)
    raise HierlmError(f"'{path}' holds an unknown kind of fit: {kind!r}")
