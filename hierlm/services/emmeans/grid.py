"""emmeans' reference grid: every factor at all its levels, every covariate at its mean.

The variables are those of the model's fixed part, in the order they first appear (the grouping
factors of the random effects are not in the grid).  A variable is

* a **factor** when it is categorical (or logical) in the data: all its levels, in the fitted order;
* a **coerced factor** when the formula makes a number a factor (``factor(cyl)``): its sorted
  distinct values, kept as numbers (emmeans names the grid variable ``cyl``);
* a **covariate** otherwise: reduced by ``cov_reduce`` (default: the mean over the rows used in the
  fit), unless it has at most two distinct values, which are kept (emmeans' ``cov.keep = "2"``).
  A covariate entering through a function (``log(conc)``, ``poly(Time, 2)``) is held as the raw
  variable and the function is applied to the grid value.

``at={var: values}`` overrides any of these.  The grid's rows vary the first variable fastest (R's
``expand.grid``); their design rows come from the fitted design's :meth:`~hierlm.design.Design.new_data`,
so contrasts, ``poly()``/``scale()`` coefficients and factor levels are those of the fit.  Each row
also carries ``.wgt.``: how many observations (prior weights summed) have that combination of
factor levels, which ``weights="proportional"`` / ``"cells"`` use.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...design.evaluate import Evaluator
from ...design.fixed import model_matrix
from ...design.value import level_names
from ...errors import HierlmError, suggest
from ...formula import Call, names_in

__all__ = ["COV_REDUCE", "GridVar", "RefGrid", "build_grid", "grid_variables"]

COV_REDUCE = {
    "mean": lambda x: [float(np.mean(x))],
    "median": lambda x: [float(np.median(x))],
    "range": lambda x: [float(np.min(x)), float(np.max(x))],
    "min": lambda x: [float(np.min(x))],
    "max": lambda x: [float(np.max(x))],
}
_FACTOR_CALLS = {"factor", "as.factor", "relevel", "ordered", "as.ordered"}


@dataclass
class GridVar:
    """One variable of the reference grid.

    ``kind``: ``"factor"`` (levels as strings), ``"logical"``, ``"coerced"`` (a number made a factor
    in the formula) or ``"covariate"``; ``values`` are the grid values; ``labels`` how they are
    printed (strings for factors, numbers otherwise); ``all_levels`` the fitted levels of a factor.
    """

    name: str
    kind: str
    values: list
    all_levels: list = field(default_factory=list)
    kept: bool = False  # a covariate with <= 2 distinct values kept at all of them (counts in .wgt.)

    @property
    def labels(self) -> list:
        if self.kind == "logical":
            return level_names(self.values)
        return list(self.values)

    @property
    def is_factor(self) -> bool:
        return self.kind in ("factor", "logical", "coerced")


@dataclass
class RefGrid:
    """The reference grid: variables, rows (first variable fastest), design rows and cell counts."""

    fit: object
    variables: list[GridVar]
    frame: pd.DataFrame  # one column per variable, values as new_data reads them
    X: np.ndarray
    offset: np.ndarray
    wgt: np.ndarray
    estimable: np.ndarray

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variables]

    @property
    def dims(self) -> list[int]:
        return [len(v.values) for v in self.variables]

    def var(self, name: str) -> GridVar:
        return self.variables[self.names.index(name)]

    def labels(self) -> pd.DataFrame:
        """The grid's rows as printed: factor levels as strings, covariates as numbers."""
        cols = {}
        for v in self.variables:
            lab = np.array(v.labels, dtype=object)
            codes = _codes(self.dims, self.names.index(v.name))
            cols[v.name] = [lab[c] for c in codes] if v.kind in ("factor", "logical") else \
                [float(x) for x in np.asarray(v.values, float)[codes]]
        return pd.DataFrame(cols)

    def design_rows(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Fixed-effects rows and offsets of ``frame`` (built like :attr:`frame`) with the fit's design."""
        nd = self.fit.design.new_data(frame, re_terms=False)
        return np.asarray(nd.X, float), np.asarray(nd.offset, float)


def _codes(dims: list[int], j: int) -> np.ndarray:
    """Level index of variable ``j`` on each row of expand.grid(dims) (first variable fastest)."""
    n = int(np.prod(dims)) if dims else 1
    inner = int(np.prod(dims[:j])) if j else 1
    return (np.arange(n) // inner) % dims[j]


def _coerced(formula) -> set[str]:
    """Names that the formula turns into factors with ``factor()`` and friends."""
    out: set[str] = set()
    stack = [formula.fixed] if formula.fixed is not None else []
    while stack:
        n = stack.pop()
        if isinstance(n, Call):
            if n.func in _FACTOR_CALLS:
                out.update(names_in(n))
            stack.extend(list(n.args) + [v for _, v in n.kwargs])
        else:
            stack.extend(c for f in ("left", "right", "operand", "expr") if (c := getattr(n, f, None)) is not None)
    return out


def grid_variables(fit) -> list[str]:
    """The reference grid's variables: the data columns in the fixed part, in order of appearance."""
    design = fit.design
    fixed = design.formula.fixed
    names = names_in(fixed) if fixed is not None else []
    return [n for n in names if n in design.data.columns]


def _reduce(x: np.ndarray, name: str, cov_reduce) -> list[float]:
    fn = cov_reduce.get(name, "mean") if isinstance(cov_reduce, dict) else cov_reduce
    if fn is None:
        fn = "mean"
    if isinstance(fn, str):
        if fn not in COV_REDUCE:
            raise HierlmError(f"cov_reduce={fn!r} is not known; use one of {', '.join(map(repr, COV_REDUCE))} or a "
                              f"function of the covariate's values.{suggest(fn, COV_REDUCE)}")
        return COV_REDUCE[fn](x)
    out = np.atleast_1d(np.asarray(fn(x), dtype=float)).tolist()
    if not out or not np.all(np.isfinite(out)):
        raise HierlmError(f"cov_reduce gave {out!r} for covariate '{name}'; it must return finite numbers")
    return out


def _factor_levels(design, name: str) -> list[str]:
    state = design.state.get(("column", name))
    if state is not None:
        return list(state[0])
    s = design.data[name]
    if isinstance(s.dtype, pd.CategoricalDtype):
        return level_names(list(s.cat.remove_unused_categories().cat.categories))
    return sorted(level_names(pd.unique(s.dropna())))


def _variable(fit, name: str, coerced: set[str], at: dict, cov_reduce) -> GridVar:
    design = fit.design
    s = design.data[name]
    if pd.api.types.is_bool_dtype(s.dtype):
        values = sorted(pd.unique(s.dropna()).tolist())
        var = GridVar(name, "logical", values, values)
        if name in at:
            want = [bool(v) for v in np.atleast_1d(at[name])]
            var.values = want
        return var
    if not pd.api.types.is_numeric_dtype(s.dtype):
        levels = _factor_levels(design, name)
        var = GridVar(name, "factor", levels, levels)
        if name in at:
            want = [str(v) if not isinstance(v, (float, np.floating)) else level_names([v])[0]
                    for v in np.atleast_1d(np.asarray(at[name], dtype=object))]
            bad = [w for w in want if w not in levels]
            if bad:
                raise HierlmError(f"at={{'{name}': ...}} names level(s) {bad} that the factor '{name}' does not have; "
                                  f"its levels are {levels}")
            var.values = want
        return var
    x = s.to_numpy(dtype=float)
    uniq = sorted(np.unique(x).tolist())
    if name in coerced:
        var = GridVar(name, "coerced", uniq, uniq)
        if name in at:
            want = [round(float(v), 3) for v in np.atleast_1d(at[name])]
            var.values = [u for u in uniq if round(u, 3) in want]
            if not var.values:
                raise HierlmError(f"at={{'{name}': {list(np.atleast_1d(at[name]))}}} matches none of the values of "
                                  f"'{name}', which the formula makes a factor; its values are {uniq}")
        return var
    if name in at:
        vals = np.atleast_1d(np.asarray(at[name], dtype=float)).tolist()
        if not vals or not np.all(np.isfinite(vals)):
            raise HierlmError(f"at={{'{name}': ...}} must give finite numbers for the covariate '{name}'")
        return GridVar(name, "covariate", vals)
    if len(uniq) <= 2:
        return GridVar(name, "covariate", uniq, kept=True)
    return GridVar(name, "covariate", _reduce(x, name, cov_reduce))


def _frame(variables: list[GridVar], dims: list[int]) -> pd.DataFrame:
    cols = {}
    for j, v in enumerate(variables):
        codes = _codes(dims, j)
        if v.kind == "factor":
            cols[v.name] = pd.Series(np.array(v.values, dtype=object)[codes], dtype=object)
        elif v.kind == "logical":
            cols[v.name] = np.array(v.values, dtype=bool)[codes]
        else:
            cols[v.name] = np.asarray(v.values, dtype=float)[codes]
    n = int(np.prod(dims)) if dims else 1
    return pd.DataFrame(cols, index=pd.RangeIndex(n)) if cols else pd.DataFrame(index=pd.RangeIndex(n))


def _weights(fit, variables: list[GridVar], frame: pd.DataFrame) -> np.ndarray:
    """emmeans' ``.wgt.``: observations (prior weights summed) with each row's factor combination."""
    design = fit.design
    keys = [v for v in variables if v.is_factor or v.kept]
    w = np.ones(design.n) if design.weights is None else np.asarray(design.weights, float)
    if not keys:
        return np.ones(len(frame))
    data = design.data
    def key_of(values_by_var):
        return list(zip(*values_by_var))
    dcols, gcols = [], []
    for v in keys:
        if v.kind == "factor":
            dcols.append(level_names(data[v.name].astype(object).tolist()))
            gcols.append(frame[v.name].astype(object).tolist())
        elif v.kind == "logical":
            dcols.append(data[v.name].astype(bool).tolist())
            gcols.append(frame[v.name].astype(bool).tolist())
        else:
            dcols.append(np.asarray(data[v.name], float).tolist())
            gcols.append(np.asarray(frame[v.name], float).tolist())
    totals: dict = {}
    for k, wt in zip(key_of(dcols), w):
        totals[k] = totals.get(k, 0.0) + wt
    return np.array([totals.get(k, 0.0) for k in key_of(gcols)])


def _estimable(fit, frame: pd.DataFrame) -> np.ndarray:
    """Which rows are estimable when aliased columns were dropped (emmeans' ``nonest.basis`` check)."""
    design = fit.design
    if not design.dropped:
        return np.ones(len(frame), dtype=bool)
    terms = design.formula.fixed_terms()
    Xfull, _, _ = model_matrix(terms, Evaluator(design.data, state=design.state), design.codings)
    Gfull, _, _ = model_matrix(terms, Evaluator(frame, state=design.state), design.codings)
    _, s, vt = np.linalg.svd(Xfull, full_matrices=True)
    rank = int((s > s[0] * 1e-7).sum()) if s.size else 0
    N = vt[rank:].T
    proj = np.abs(Gfull @ N).max(axis=1) if N.size else np.zeros(len(frame))
    scale = np.maximum(np.abs(Gfull).max(axis=1), 1.0)
    return proj <= 1e-6 * scale


def build_grid(fit, at: dict | None = None, cov_reduce=None) -> RefGrid:
    """Build the reference grid of ``fit`` (see the module docstring).

    Parameters
    ----------
    fit : a fitted model
    at : dict, optional
        ``{variable: values}``: the grid values of these variables.
    cov_reduce : str, callable or dict, optional
        How a covariate not in ``at`` is reduced: ``"mean"`` (default), ``"median"``, ``"range"``
        (its minimum and maximum), ``"min"``, ``"max"``, a function of its values returning one or
        more numbers, or a dict of these per covariate.

    Returns
    -------
    RefGrid
    """
    at = dict(at or {})
    names = grid_variables(fit)
    unknown = [k for k in at if k not in names]
    if unknown:
        raise HierlmError(f"at= names {unknown}, which {'is' if len(unknown) == 1 else 'are'} not a variable of the "
                          f"model's fixed part; the reference grid has {names or 'no variables'}."
                          f"{suggest(unknown[0], names)}")
    if isinstance(cov_reduce, dict):
        bad = [k for k in cov_reduce if k not in names]
        if bad:
            raise HierlmError(f"cov_reduce names {bad}, which are not variables of the model; it has {names}")
    coerced = _coerced(fit.design.formula)
    variables = [_variable(fit, n, coerced, at, cov_reduce) for n in names]
    if not variables:  # an intercept-only model: emmeans' grid has one variable "1" holding 1
        variables = [GridVar("1", "covariate", [1.0])]
    for v in variables:
        if not v.values:
            raise HierlmError(f"the reference grid has no value of '{v.name}' (check at=)")
    dims = [len(v.values) for v in variables]
    if int(np.prod(dims)) > 1_000_000:
        raise HierlmError(f"the reference grid would have {int(np.prod(dims))} rows ({' x '.join(map(str, dims))}); "
                          "give fewer covariate values in at=")
    frame = _frame(variables, dims)
    fitted_frame = frame
    X, offset = RefGrid(fit, variables, frame, np.zeros((0, 0)), np.zeros(0), np.zeros(0),
                        np.zeros(0, bool)).design_rows(fitted_frame)
    return RefGrid(fit, variables, frame, X, offset, _weights(fit, variables, frame), _estimable(fit, fitted_frame))


def combos(levels: list[list]) -> list[tuple]:
    """expand.grid order of the level lists (first fastest), as tuples of indices."""
    return [tuple(reversed(c)) for c in itertools.product(*[range(len(lv)) for lv in reversed(levels)])]
