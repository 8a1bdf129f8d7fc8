"""Data of the R references of course_reference.json and lm_extra_reference.json, rebuilt as R saw them.

Datasets named in the JSON's ``datasets`` entry either ship with hierlm (``loader: hl.load_dataset``) or
are CSV files under ``tests/reference/data`` whose factor columns get the level order listed there
(warpbreaks' ``tension`` is H, L, M: code-point order, as the R script read it).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

import hierlm as hl
from support import ROOT, reference_json

COURSE = reference_json("course_reference.json")
EXTRA = reference_json("lm_extra_reference.json")


@functools.cache
def course_data(name: str) -> pd.DataFrame:
    """The dataset ``name`` with the factor levels of course_reference.json."""
    info = COURSE["datasets"][name]
    if info.get("loader") == "hl.load_dataset":
        return hl.load_dataset(name)
    df = pd.read_csv(ROOT / info["file"])
    for col, levels in (info.get("factors") or {}).items():
        df[col] = pd.Categorical(df[col].astype(str), categories=levels)
    return df.rename(columns=info.get("renamed") or {})


def newdata_of(rows: list[dict], data: pd.DataFrame) -> pd.DataFrame:
    """R's newdata rows as a frame, factor columns with the training levels."""
    nd = pd.DataFrame(rows)
    for col in nd:
        if col in data and isinstance(data[col].dtype, pd.CategoricalDtype):
            nd[col] = nd[col].astype(str)
    return nd


def table(rows: dict) -> pd.DataFrame:
    """An R table of the JSON (rows keyed by row name) as a float DataFrame (null -> NaN)."""
    return pd.DataFrame(rows).T.astype(float)


def assert_table(ours: pd.DataFrame, ref: dict, rtol: float = 1e-6, atol: float = 0.0) -> None:
    """Same row names, same columns, same numbers (NaN where R has NA)."""
    want = table(ref)
    assert list(ours.index) == list(want.index)
    assert list(ours.columns) == list(want.columns)
    np.testing.assert_allclose(ours.to_numpy(float), want.to_numpy(float), rtol=rtol, atol=atol, equal_nan=True)
