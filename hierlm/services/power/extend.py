"""More or fewer subjects, items or observations: simr's ``extend`` and ``powerCurve`` on the fit's data.

``along`` names a data column and ``sizes`` the number of its levels (a grouping factor) or values
(a numeric predictor such as ``Days``) at each point of the power curve.  As simr's ``extend`` does,
the data are cut into "slices", one per level or value, and the extended data are built from
``max(sizes)`` slices, copying slices cyclically when more are needed:

* a grouping factor (``along="Subject"``): slice j is a copy of the rows of level ``j mod L`` under a
  new level name (``"308_1"`` for the first copy of ``"308"``), so a new subject has the same
  within-subject design as an existing one; its random effects are drawn anew from the fitted Σ in
  every simulation.  The levels are taken in the fit's order, dealt round-robin over the cells of
  fixed factors that are constant within a level (a between-subject treatment), so every size keeps
  the design balanced;
* a numeric predictor (``along="Days"``): the observed values in increasing order, continued past
  the largest one with the last spacing (0, 1, …, 9, then 10, 11, …: simr's
  ``extend(along=, values=)`` with these values); slice j copies the rows of value ``j mod m``.

Every simulation draws one response for the largest extended data set, and size k refits the first
k slices (simr's ``powerCurve``: the same simulations at every size, so the curve is smooth).  Sizes
below the current number are the first levels or values; when dropping them removes a fixed-effect
column (a factor level) or leaves a grouping factor too small the size is a :class:`~hierlm.HierlmError`.
A factor of the fixed part cannot be extended (as in simr).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...design import check_groups, make_design
from ...errors import HierlmError, suggest
from ...formula import deparse, names_in

__all__ = ["Extension", "extend_data"]


@dataclass
class Extension:
    """The data a power curve simulates on.

    Attributes
    ----------
    data : DataFrame
        The largest extended data set (the fit's data when ``along`` is None).
    weights : ndarray or None
        Prior weights of its rows.
    sizes : list of int
        Number of levels or values per point of the curve (``[n]`` without ``along``).
    rows : list of ndarray
        Positions (into ``data``) of the rows of each size.
    along : str or None
    kind : {None, "group", "values"}
    largest : list or None
        The largest value of ``along`` at each size (numeric ``along``).
    """

    data: pd.DataFrame
    weights: np.ndarray | None
    sizes: list[int]
    rows: list[np.ndarray]
    along: str | None
    kind: str | None
    largest: list | None = None

    def designs(self, formula: str, fit_xnames: list[str], gaussian: bool) -> list:
        """The design of ``formula`` at every size, checked (same fixed-effect columns as the fit)."""
        out = []
        for k, rows in zip(self.sizes, self.rows):
            data = self.data.iloc[rows]
            w = None if self.weights is None else self.weights[rows]
            what = f"{self.along} = {k}" if self.along else "the data"
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    d = make_design(formula, data, weights=w)
                check_groups(d, gaussian=gaussian)
            except HierlmError as err:
                raise HierlmError(f"sizes: at {what} the model cannot be fitted: {err}") from None
            if d.n != len(rows):
                raise HierlmError(f"sizes: at {what} {len(rows) - d.n} rows have missing values")
            if fit_xnames is not None and list(d.xnames) != list(fit_xnames):
                raise HierlmError(f"sizes: at {what} the fixed effects would be {list(d.xnames)} instead of "
                                  f"{list(fit_xnames)}: those {self.kind == 'group' and 'levels' or 'values'} cannot "
                                  "be dropped (a factor level would go); use larger sizes")
            out.append(d)
        return out


def _sizes(sizes, along) -> list[int]:
    if sizes is None:
        raise HierlmError(f"along={along!r} needs sizes=, the number of levels (or values) of '{along}' at each "
                          "point of the power curve, e.g. sizes=[10, 20, 40]")
    vals = [sizes] if np.isscalar(sizes) else list(sizes)
    if not vals:
        raise HierlmError("sizes must name at least one size, e.g. sizes=[10, 20, 40]")
    out = []
    for s in vals:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)) or s < 1:
            raise HierlmError(f"sizes must be whole numbers >= 1 (numbers of levels or values), got {s!r}")
        out.append(int(s))
    return out


def _new_names(level: str, copies: int, taken: set) -> list[str]:
    out = []
    for c in range(1, copies + 1):
        name = f"{level}_{c}"
        while name in taken:
            name += "_"
        taken.add(name)
        out.append(name)
    return out


def extend_data(fit, along: str | None, sizes) -> Extension:
    """The extended data of a power curve (see the module docstring).

    Parameters
    ----------
    fit : fitted model with its data (``fit.design.data``)
    along : str or None
        A grouping factor or a numeric predictor (a data column).
    sizes : list of int
        Numbers of levels or values.

    Returns
    -------
    Extension

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> ext = extend_data(m, "Subject", [10, 30])
    >>> len(ext.data), [len(r) for r in ext.rows], ext.data["Subject"].iloc[-1]
    (300, [100, 300], '350_1')
    >>> ext = extend_data(m, "Days", [5, 15])
    >>> ext.largest, sorted(ext.data["Days"].unique().tolist())[-2:]
    ([4.0, 14.0], [13, 14])
    """
    d = fit.design
    data = d.data
    if data is None:
        raise HierlmError("power_sim simulates on the fit's data, but this fit keeps none (keep_data=False); "
                          "fit again with the data")
    data = data.reset_index(drop=True)
    w = None if d.weights is None else np.asarray(d.weights, float)
    if along is None:
        if sizes is not None:
            raise HierlmError("sizes= needs along=, the grouping factor or predictor whose levels the sizes count "
                              "(e.g. along='Subject', sizes=[10, 20, 40])")
        return Extension(data, w, [d.n], [np.arange(d.n)], None, None)
    if not isinstance(along, str) or along not in data.columns:
        cols = list(data.columns)
        raise HierlmError(f"along={along!r} is not a column of the fit's data ({cols}).{suggest(str(along), cols)}")
    sizes = _sizes(sizes, along)
    fixed_vars = {deparse(v) for v in d.formula.fixed_terms().variables}
    groups = {v for b in d.formula.bars for v in _group_vars(b)}
    col = data[along]
    numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
    if along in groups and along not in fixed_vars:
        kind = "group"
        levels = list(pd.unique(col.astype(str)))
        order = _level_order(d, along, levels)
    elif numeric and along in fixed_vars | {v for b in d.formula.bars for v in _lhs_vars(b)}:
        kind = "values"
        order = sorted(pd.unique(col))
    elif along in fixed_vars:
        raise HierlmError(f"cannot extend along the fixed factor '{along}' (its levels are fixed effects; as in "
                          "simr): extend along a grouping factor (e.g. subjects) or a numeric predictor")
    else:
        raise HierlmError(f"along={along!r} is not used by the model '{d.formula.text}': name a grouping factor or a "
                          "numeric predictor of it")
    m = len(order)
    M = max(sizes)
    key = col.astype(str) if kind == "group" else col
    slices = {v: np.flatnonzero((key == v).to_numpy()) for v in order}
    parts, weights, largest_vals = [], [], []
    taken = set(levels) if kind == "group" else set()
    copies = {v: iter(_new_names(v, (M - 1 - i) // m, taken)) for i, v in enumerate(order)} if kind == "group" else {}
    step = (order[-1] - order[-2]) if kind == "values" and m >= 2 else 1
    for j in range(M):
        src = order[j % m]
        part = data.iloc[slices[src]].copy()
        if kind == "group":
            part[along] = src if j < m else next(copies[src])
        else:
            val = order[j] if j < m else order[-1] + step * (j - m + 1)
            part[along] = val
            largest_vals.append(val)
        parts.append(part)
        if w is not None:
            weights.append(w[slices[src]])
    ext = pd.concat(parts, ignore_index=True)
    if kind == "group":
        ext[along] = ext[along].astype(str)
    ends = np.cumsum([len(p) for p in parts])
    rows = [np.arange(ends[k - 1]) for k in sizes]
    largest = [float(largest_vals[k - 1]) for k in sizes] if kind == "values" else None
    return Extension(ext, None if w is None else np.concatenate(weights), sizes, rows, along, kind, largest)


def _group_vars(bar) -> list[str]:
    return [p.strip() for p in bar.group_name.split(":")]


def _lhs_vars(bar) -> list[str]:
    return names_in(bar.lhs)


def _level_order(design, along: str, levels: list[str]) -> list[str]:
    """Levels of ``along`` in the order sizes take them: the fit's order (lme4's sorted levels), dealt
    round-robin over the between-level cells of the fixed factors (a treatment given to whole subjects),
    so that the first k levels — and the copies — keep every cell (5 treated and 5 control of 10)."""
    order = levels
    for t in design.reterms:
        if t.group == along and set(map(str, t.levels)) == set(levels):
            order = [str(x) for x in t.levels]
            break
    data = design.data.reset_index(drop=True)
    key = data[along].astype(str)
    factors = [v for v in {deparse(x) for x in design.formula.fixed_terms().variables}
               if v in data.columns and v != along and not pd.api.types.is_numeric_dtype(data[v])]
    between = [v for v in sorted(factors) if (data.groupby(key, sort=False)[v].nunique(dropna=False) <= 1).all()]
    if not between:
        return order
    cell = data.groupby(key, sort=False)[between].first().apply(tuple, axis=1).to_dict()
    cells: dict = {}
    for lv in order:
        cells.setdefault(cell[lv], []).append(lv)
    queues = list(cells.values())
    out = []
    while any(queues):
        for q in queues:
            if q:
                out.append(q.pop(0))
    return out
