"""Evaluated variables and factor levels, as R makes them.

:class:`Value` is what evaluating a formula expression gives; :func:`as_categorical` and
:func:`level_names` turn a column into R's ``factor()`` codes and level names (``TRUE``/``FALSE``,
whole numbers without ``.0``), which the design, the datasets and saved fits all share.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DataError, FormulaError, suggest
from ..formula.ast import format_number

__all__ = ["CONSTANTS", "Value", "as_categorical", "level_names", "sort_levels", "unknown_column"]

#: R's named constants a formula may use (when the data have no column of that name)
CONSTANTS = {"pi": float(np.pi), "Inf": float("inf"), "NaN": float("nan")}


@dataclass
class Value:
    """An evaluated variable.

    ``kind`` is ``"num"`` (float vector), ``"mat"`` (float matrix with column suffixes, e.g. poly),
    ``"cat"`` (integer codes with ``levels``; -1 is missing) or ``"lgl"`` (boolean vector).
    """

    kind: str
    data: np.ndarray
    levels: list[str] = field(default_factory=list)
    ordered: bool = False
    colnames: list[str] = field(default_factory=list)
    known: int = -1  # on new data: how many of ``levels`` were seen in training (-1: all)

    @property
    def n_known(self) -> int:
        return len(self.levels) if self.known < 0 else self.known

    def numeric(self, what: str) -> np.ndarray:
        if self.kind == "num":
            return self.data
        if self.kind == "lgl":
            return self.data.astype(float)
        raise FormulaError(f"'{what}' is a factor; arithmetic needs numbers (use as.numeric() if you mean codes)")


def level_names(values) -> list[str]:
    """Format level values as R's ``as.character`` does.

    Whole numbers lose their ``.0``, other floats get 15 significant digits (``0.1 + 0.2`` gives
    ``0.3``, ``1e5`` as a double gives ``1e+05``), booleans become ``TRUE``/``FALSE``.
    """
    out = []
    for v in values:
        if isinstance(v, (bool, np.bool_)):
            out.append("TRUE" if v else "FALSE")
        elif isinstance(v, (float, np.floating)):
            out.append(format_number(float(v)))
        elif isinstance(v, (int, np.integer)):
            out.append(str(int(v)))
        else:
            out.append(str(v))
    return out


def unknown_column(name: str, columns) -> DataError:
    """The error for a formula name that is not a column: the closest column and the columns."""
    return DataError(
        f"the formula uses '{name}', which is not a column of the data.{suggest(name, columns)}"
        f" Columns: {', '.join(map(str, list(columns)[:20]))}"
    )


def sort_levels(uniq: list) -> list:
    try:
        return sorted(uniq, key=float)
    except (TypeError, ValueError):
        return sorted(uniq, key=str)


def _sorted_names(values: list, names: list[str]) -> list[str]:
    """``level_names(sort_levels(values))`` from the names already formatted (in the order of ``values``)."""
    order = range(len(values))
    try:
        order = sorted(order, key=lambda i: float(values[i]))
    except (TypeError, ValueError):
        order = sorted(order, key=lambda i: str(values[i]))
    return [names[i] for i in order]


def as_categorical(series: pd.Series | np.ndarray, levels: list[str] | None = None) -> tuple[np.ndarray, list[str], bool]:
    """Codes and level names of a column, as R's ``factor()`` makes them.

    Categoricals keep their order (unused levels are dropped earlier); numbers sort numerically,
    strings alphabetically (numerically when they all look like numbers).  With ``levels`` given
    (new data), values are matched against them; values not among them are appended as extra
    levels, so a code ``>= len(levels)`` marks a level unseen in training.  Missing values get -1.
    """
    s = pd.Series(series) if not isinstance(series, pd.Series) else series
    ordered = False
    if isinstance(s.dtype, pd.CategoricalDtype):
        ordered = bool(s.dtype.ordered)
        cats = level_names(list(s.cat.categories))
        codes = s.cat.codes.to_numpy().astype(np.int64)
        if len(set(cats)) < len(cats) and not ordered:  # categories that print alike (1 and "1") are one level
            # as in R (an ordered response with such categories is refused where it is read)
            merged = list(dict.fromkeys(cats))
            remap = np.array([merged.index(c) for c in cats], dtype=np.int64)
            codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
            cats = merged
        if levels is None:
            return codes, cats, ordered
        names = np.array(cats, dtype=object)
        strs = np.where(codes >= 0, names[np.maximum(codes, 0)], None)
    else:
        missing = s.isna().to_numpy()
        vals = s.to_numpy()
        present = vals[~missing] if missing.any() else vals
        # each distinct value is formatted and looked up once (in order of appearance: unseen levels are
        # appended in that order)
        inv, distinct = pd.factorize(present, sort=False, use_na_sentinel=False)
        names = level_names(distinct)
        if levels is None:  # values that print alike (1 and "1") are one level, as R's as.character makes them
            levels = list(dict.fromkeys(_sorted_names(list(distinct), names)))
        lookup = {lv: i for i, lv in enumerate(levels)}
        extra: list[str] = []
        dcodes = np.empty(len(names), dtype=np.int64)
        for i, nm in enumerate(names):
            j = lookup.get(nm)
            if j is None:
                j = lookup[nm] = len(levels) + len(extra)
                extra.append(nm)
            dcodes[i] = j
        codes = np.full(len(vals), -1, dtype=np.int64)
        codes[~missing] = dcodes[inv]
        return codes, list(levels) + extra, ordered
    lookup = {lv: i for i, lv in enumerate(levels)}
    extra = []

    def code(v) -> int:
        if v is None:
            return -1
        i = lookup.get(v)
        if i is None:
            i = lookup[v] = len(levels) + len(extra)
            extra.append(v)
        return i

    codes = np.fromiter(map(code, strs), dtype=np.int64, count=len(strs))
    return codes, list(levels) + extra, ordered
