"""Data frames ↔ netCDF variables + JSON, exactly: column types, categories and row labels come back as they were.

Numbers, booleans and strings are stored as netCDF columns.  Values that are not plain numbers —
categories, the values of object columns, row labels — are stored in the JSON as *tagged* values
(``["b", true]``, ``["i", 1]``, ``["f", 1.0]``, ``["s", "1"]``), so a category ``True`` comes back as
``True`` (not ``"True"``), ``1.0`` as a float and ``[1, "1"]`` as two distinct levels: the design then
names the levels exactly as it named them before saving.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import HierlmError

__all__ = ["frame_to_columns", "columns_to_frame", "tag", "untag"]


def tag(v) -> list:
    """A JSON-safe tagged scalar."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return ["n", None]
    if isinstance(v, (bool, np.bool_)):
        return ["b", bool(v)]
    if isinstance(v, (int, np.integer)):
        return ["i", int(v)]
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return ["f", f if math.isfinite(f) else repr(f)]
    if isinstance(v, str):
        return ["s", v]
    raise HierlmError(f"cannot save a value of type {type(v).__name__} ({v!r}); hierlm saves numbers, booleans "
                      "and strings (convert the column first)")


def untag(t):
    """The scalar a :func:`tag` stored (HierlmError for anything else: the file is not hierlm's)."""
    if not (isinstance(t, list) and len(t) == 2 and t[0] in ("n", "b", "i", "f", "s")):
        raise HierlmError(f"malformed tagged value {t!r}")
    kind, v = t
    if kind == "n":
        return None
    if kind == "b" and isinstance(v, bool):
        return v
    if kind == "i" and isinstance(v, int) and not isinstance(v, bool):
        return v
    if kind == "f" and isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if kind == "f" and v in ("inf", "-inf", "nan"):
        return float(v)
    if kind == "s" and isinstance(v, str):
        return v
    raise HierlmError(f"malformed tagged value {t!r}")


def _numeric_dtype(dtype) -> str:
    return str(dtype) if str(dtype) in ("float64", "float32", "int64", "int32", "int16", "int8", "uint8", "uint16",
                                        "uint32", "uint64") else "float64"


def frame_to_columns(df: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict]:
    """``(arrays, meta)``: one netCDF-ready array per column (``col0``, ``col1``, …) and the JSON that restores types."""
    arrays, types = {}, []
    for i, c in enumerate(df.columns):
        s = df[c]
        name = f"col{i}"
        if isinstance(s.dtype, pd.CategoricalDtype):
            types.append({"kind": "category", "levels": [tag(v) for v in s.cat.categories],
                          "ordered": bool(s.cat.ordered)})
            arrays[name] = s.cat.codes.to_numpy().astype(np.int64)
        elif pd.api.types.is_bool_dtype(s.dtype) and not s.isna().any():
            types.append({"kind": "bool", "dtype": str(s.dtype)})
            arrays[name] = s.to_numpy(dtype=np.int8)
        elif pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            types.append({"kind": "numeric", "dtype": str(s.dtype), "store": _numeric_dtype(s.dtype),
                          "na": bool(s.isna().any())})
            arrays[name] = s.to_numpy(dtype=float, na_value=np.nan) if s.isna().any() else s.to_numpy(
                dtype=_numeric_dtype(s.dtype))
        else:  # strings, object columns, Arrow strings, nullable booleans: distinct values tagged
            values = list(pd.unique(s.to_numpy(dtype=object)))
            codes = pd.Categorical(s.to_numpy(dtype=object), categories=[v for v in values if not _missing(v)]).codes
            types.append({"kind": "values", "dtype": str(s.dtype), "values": [tag(v) for v in values
                                                                             if not _missing(v)]})
            arrays[name] = codes.astype(np.int64)
    meta = {"columns": [tag(c) for c in df.columns], "types": types, "index": [tag(v) for v in df.index],
            "index_name": None if df.index.name is None else tag(df.index.name), "nrow": int(len(df))}
    return arrays, meta


def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def columns_to_frame(arrays: dict[str, np.ndarray], meta: dict) -> pd.DataFrame:
    """The frame :func:`frame_to_columns` stored (HierlmError when the arrays do not fit the JSON)."""
    try:
        columns = [untag(c) for c in meta["columns"]]
        types, nrow = meta["types"], int(meta["nrow"])
        index = [untag(v) for v in meta["index"]]
    except (KeyError, TypeError, ValueError) as err:
        raise HierlmError(f"the data description is incomplete or malformed ({err})") from err
    if len(types) != len(columns) or len(index) != nrow:
        raise HierlmError(f"the data description lists {len(columns)} columns, {len(types)} types, {len(index)} row "
                          f"labels for {nrow} rows")
    out = {}
    try:
        for i, (c, t) in enumerate(zip(columns, types)):
            out[c] = _column(arrays.get(f"col{i}"), c, t, nrow)
    except (TypeError, ValueError, KeyError) as err:
        raise HierlmError(f"the data description is malformed ({type(err).__name__}: {err})") from err
    frame = pd.DataFrame(out, index=pd.Index(index, dtype=object if _mixed(index) else None))
    frame.columns = pd.Index(columns, dtype=object) if _mixed(columns) else columns
    if meta.get("index_name") is not None:
        frame.index.name = untag(meta["index_name"])
    return frame


def _column(v, c, t, nrow: int):
    """One column restored from its stored array ``v`` and type description ``t``."""
    if v is None or v.shape != (nrow,):
        raise HierlmError(f"column {c!r} has shape {None if v is None else v.shape} in data.nc, expected ({nrow},)")
    kind = t.get("kind") if isinstance(t, dict) else None
    if kind == "category":
        levels = [untag(x) for x in t["levels"]]
        _check_codes(v, len(levels), c)
        return pd.Categorical.from_codes(v.astype(np.int64), categories=levels, ordered=bool(t["ordered"]))
    if kind == "bool":
        return pd.Series(v.astype(bool)).astype(t.get("dtype", "bool")).array
    if kind == "numeric":
        return pd.Series(v).astype(t.get("dtype", "float64")).array
    if kind == "values":
        values = [untag(x) for x in t["values"]]
        _check_codes(v, len(values), c)
        arr = np.empty(nrow, dtype=object)
        ok = v >= 0
        if values:
            arr[ok] = np.array(values + [None], dtype=object)[:-1][v[ok]]
        arr[~ok] = None
        dtype = t.get("dtype", "object")
        return arr if dtype == "object" else pd.Series(arr, dtype=object).astype(dtype).array
    raise HierlmError(f"column {c!r} has an unknown kind {kind!r}")


def _mixed(values: list) -> bool:
    return len({type(v) for v in values}) > 1


def _check_codes(v: np.ndarray, n: int, column) -> None:
    if v.dtype.kind not in "iu" and not np.all(np.isfinite(v)):
        raise HierlmError(f"column {column!r} holds non-finite codes")
    if v.size and (v.min() < -1 or v.max() >= n):
        raise HierlmError(f"column {column!r} has codes outside its {n} levels")
