"""The saved-fit format: a folder of JSON and netCDF, never pickle.

``fit.save(path)`` writes::

    path/
      hierlm.json     kind, formula, family, settings, scalar results, column types
      data.nc         the rows the model used (factor levels kept in hierlm.json)
      arrays.nc       the fitted arrays (θ, β, b, vcov, ...)
      posterior.nc    Bayesian fits: the ArviZ DataTree

This layer knows the format only (data frames, arrays, metadata); it sits below the fits, which
hand it their state (:mod:`hierlm.fits.storage`), and :func:`hierlm.load` at the top reads it back.
Nothing executable is ever read, and nothing is read before its size and digest are checked, so a
saved fit from a stranger is safe to open, in code and in memory.  Writing is atomic and never
touches files hierlm did not write (:mod:`.folder`); column types, categories and row labels come
back exactly (:mod:`.frames`).
"""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd

from ..errors import HierlmError
from .folder import check_file, read_manifest, write_save
from .frames import columns_to_frame, frame_to_columns

__all__ = ["FORMAT_VERSION", "write_folder", "read_meta", "read_frame", "read_arrays", "read_tree", "jsonable"]

FORMAT_VERSION = 2
_ENGINE = "h5netcdf"
#: declared array bytes allowed per byte of file (hierlm writes uncompressed netCDF)
_MAX_EXPANSION = 4


def jsonable(x):
    """``x`` with numpy scalars and arrays turned into JSON values (other objects dropped)."""
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


def _variables(arrays: dict[str, np.ndarray]):
    import xarray as xr

    return xr.Dataset({k: xr.Variable([f"{k}_dim{j}" for j in range(np.ndim(v))], np.asarray(v))
                       for k, v in arrays.items()})


def write_folder(path, meta: dict, data: pd.DataFrame, arrays: dict | None = None, tree=None,
                 overwrite: bool = False) -> pathlib.Path:
    """Write a saved fit: ``data.nc``, then ``arrays.nc`` or ``posterior.nc`` (a DataTree), then ``hierlm.json``."""
    columns, data_meta = frame_to_columns(data)
    writers = {"data.nc": lambda f: _variables(columns).to_netcdf(f, engine=_ENGINE)}
    if arrays is not None:
        arr = {k: np.asarray(v, dtype=float) for k, v in arrays.items()}
        writers["arrays.nc"] = lambda f: _variables(arr).to_netcdf(f, engine=_ENGINE)
    if tree is not None:
        writers["posterior.nc"] = lambda f: tree.to_netcdf(f, engine=_ENGINE)
    meta = dict(meta, format_version=FORMAT_VERSION, data=data_meta)
    return write_save(path, writers, meta, overwrite=overwrite)


def read_meta(path) -> tuple[pathlib.Path, dict]:
    """``(folder, metadata)`` of a saved fit, checked (HierlmError when it is not an intact hierlm save)."""
    folder, meta = read_manifest(path)
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise HierlmError(f"'{folder}/hierlm.json' has format_version {version!r}; expected a whole number")
    if version > FORMAT_VERSION:
        raise HierlmError(f"'{folder}' was written by a newer hierlm ({meta.get('hierlm_version')}); upgrade to read it")
    if version < FORMAT_VERSION:
        raise HierlmError(f"'{folder}' was written in an older format ({version}) that this hierlm cannot check; "
                          "refit the model and save it again")
    for key, kind in (("kind", str), ("formula", str), ("data", dict)):
        if not isinstance(meta.get(key), kind):
            raise HierlmError(f"'{folder}/hierlm.json' has no valid '{key}'")
    return folder, meta


def _open_checked(folder: pathlib.Path, meta: dict, name: str, tree: bool = False):
    """Open a netCDF file of the save lazily, after its digest, and check its declared size before loading."""
    import xarray as xr

    path = check_file(folder, meta, name)
    try:
        obj = xr.open_datatree(path, engine=_ENGINE) if tree else xr.open_dataset(path, engine=_ENGINE)
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise HierlmError(f"'{path}' cannot be read as netCDF ({type(err).__name__}: {err}); the save is damaged") from err
    nodes = obj.subtree if tree else [obj]
    declared = sum(v.size * v.dtype.itemsize for node in nodes for v in (node.variables.values() if tree
                                                                       else node.variables.values()))
    if declared > _MAX_EXPANSION * path.stat().st_size + 2**20:
        obj.close()
        raise HierlmError(f"'{path}' declares {declared:,} bytes of arrays in a {path.stat().st_size:,}-byte file; "
                          "hierlm writes uncompressed files, so this is not one of its saves. Refusing to load it")
    return obj


def read_frame(folder: pathlib.Path, meta: dict) -> pd.DataFrame:
    """The data the model used."""
    with _open_checked(folder, meta, "data.nc") as ds:
        columns = {k: ds[k].values for k in ds.data_vars}
    return columns_to_frame(columns, meta["data"])


def read_arrays(folder: pathlib.Path, meta: dict) -> dict[str, np.ndarray]:
    """The fitted arrays of a frequentist save."""
    with _open_checked(folder, meta, "arrays.nc") as ds:
        return {k: np.asarray(ds[k].values, dtype=float) for k in ds.data_vars}


def read_tree(folder: pathlib.Path, meta: dict):
    """The posterior DataTree of a Bayesian save."""
    tree = _open_checked(folder, meta, "posterior.nc", tree=True)
    try:
        return tree.load()
    finally:
        tree.close()
