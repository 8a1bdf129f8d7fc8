"""The saved-fit format: a folder of JSON and netCDF, never pickle.

``fit.save(path)`` writes::

    path/
      hierlm.json     kind, formula, family, settings, scalar results, column types
      data.nc         the rows the model used (factor levels kept in hierlm.json)
      arrays.nc       the fitted arrays (θ, β, b, vcov, ...)
      posterior.nc    Bayesian fits: the ArviZ DataTree

This layer knows the format only (data frames, arrays, metadata); it sits below the fits, which
hand it their state (:mod:`hierlm.fits.storage`), and :func:`hierlm.load` at the top reads it back.
Nothing executable is ever read, so a saved fit from a stranger is safe to open.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pandas as pd

from ..errors import HierlmError

__all__ = ["FORMAT_VERSION", "write_folder", "read_meta", "read_frame", "read_arrays", "read_tree",
           "frame_to_dataset", "dataset_to_frame", "arrays_to_dataset", "jsonable"]

FORMAT_VERSION = 1
_ENGINE = "h5netcdf"


# -- data frames ------------------------------------------------------------------------------
def frame_to_dataset(df: pd.DataFrame) -> tuple[xr.Dataset, dict]:
    import xarray as xr

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


def dataset_to_frame(ds: xr.Dataset, meta: dict) -> pd.DataFrame:
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
def arrays_to_dataset(arrays: dict[str, np.ndarray]) -> xr.Dataset:
    import xarray as xr

    data = {}
    for k, v in arrays.items():
        a = np.asarray(v, dtype=float)
        data[k] = xr.Variable([f"{k}_dim{j}" for j in range(a.ndim)], a)
    return xr.Dataset(data)


def jsonable(x):
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items() if jsonable(v) is not _SKIP}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist() if x.dtype.kind in "fiub" else _SKIP
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        return x.item()
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x
    return _SKIP


_SKIP = object()




# -- folders ----------------------------------------------------------------------------------------
META = "hierlm.json"


def write_folder(path, meta: dict, data: pd.DataFrame, arrays: dict | None = None, tree=None) -> pathlib.Path:
    """Write a saved fit: ``hierlm.json``, ``data.nc`` and ``arrays.nc`` or ``posterior.nc`` (a DataTree)."""
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    data_ds, data_meta = frame_to_dataset(data)
    meta = dict(meta, data=data_meta)
    data_ds.to_netcdf(path / "data.nc", engine=_ENGINE)
    if arrays is not None:
        arrays_to_dataset(arrays).to_netcdf(path / "arrays.nc", engine=_ENGINE)
    if tree is not None:
        tree.to_netcdf(path / "posterior.nc", engine=_ENGINE)
    (path / META).write_text(json.dumps(meta, indent=1))
    return path


def read_meta(path) -> dict:
    """The metadata of a saved fit (HierlmError when ``path`` is not one, or from a newer hierlm)."""
    path = pathlib.Path(path)
    meta_file = path / META
    if not meta_file.is_file():
        raise HierlmError(f"'{path}' is not a saved hierlm fit (no hierlm.json inside)")
    meta = json.loads(meta_file.read_text())
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise HierlmError(f"'{path}' was written by a newer hierlm ({meta.get('hierlm_version')}); upgrade to read it")
    return meta


def read_frame(path, meta: dict) -> pd.DataFrame:
    import xarray as xr

    with xr.open_dataset(pathlib.Path(path) / "data.nc", engine=_ENGINE) as ds:
        return dataset_to_frame(ds.load(), meta["data"])


def read_arrays(path) -> dict[str, np.ndarray]:
    import xarray as xr

    with xr.open_dataset(pathlib.Path(path) / "arrays.nc", engine=_ENGINE) as ds:
        return {k: ds[k].values for k in ds.data_vars}


def read_tree(path):
    import xarray as xr

    return xr.open_datatree(pathlib.Path(path) / "posterior.nc", engine=_ENGINE).load()
