"""``hl.emmeans`` and ``hl.ref_grid``: predictions over the reference grid, averaged as emmeans does.

A marginal mean of a factor level is the average of the reference grid's predictions over the
levels of the other factors — with equal weights by default (each cell counts the same however
many observations it has), or ``weights="proportional"`` (by the observed frequencies of the
averaged-over combinations), ``"outer"``, ``"cells"`` (cell frequencies) or ``"flat"``.  The
averaging is done on the linear functions (emmeans' ``linfct``), so SEs, df and contrasts follow.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ...errors import HierlmError, suggest
from ...formula import names_in
from .basis import Basis, model_basis
from .grid import RefGrid, build_grid, combos
from .regrid import regrid as _regrid
from .result import EmmGrid, EmmInfo
from .summary import summarize

__all__ = ["WEIGHTS", "check_type", "emmeans", "marginalize", "parse_specs", "ref_grid"]

WEIGHTS = ("equal", "proportional", "outer", "cells", "flat")


def check_type(type) -> str:
    if type in ("link", "lp", "linear.predictor"):
        return "link"
    if type in ("response", "mu", "unlink"):
        return "response"
    raise HierlmError(f"type must be 'link' (the linear predictor's scale) or 'response' (back-transformed), "
                      f"not {type!r}")


def _split_vars(text: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"[+*:]", text)]
    out: list[str] = []
    for p in parts:
        if not p:
            raise HierlmError(f"cannot read the specs '{text}'; write e.g. '~ A', '~ A | B' or ['A', 'B']")
        if p not in out:
            out.append(p)
    return out


def parse_specs(specs, by=None) -> tuple[list[str], list[str]]:
    """``specs`` and ``by`` as lists of variable names: ``"~ A | B"``, ``"A"``, ``["A", "B"]``, ``"~ 1"``."""
    by_list = [by] if isinstance(by, str) else list(by or [])
    if isinstance(specs, str):
        text = specs.strip()
        if "~" in text:
            lhs, rhs = text.split("~", 1)
            if lhs.strip():
                raise HierlmError(f"specs '{specs}' has a left-hand side ('{lhs.strip()}'); hierlm keeps the means "
                                  f"and their contrasts apart: hl.contrast(hl.emmeans(fit, '~{rhs}'), "
                                  f"method='{lhs.strip()}')")
            text = rhs
        pieces = text.split("|")
        rhs_vars = _split_vars(pieces[0])
        for extra in pieces[1:]:
            by_list += [v for v in _split_vars(extra) if v not in by_list]
    elif isinstance(specs, (list, tuple)) and all(isinstance(s, str) for s in specs) and specs:
        rhs_vars = list(dict.fromkeys(specs))
    else:
        raise HierlmError(f"specs must name the grid variables to keep, e.g. '~ Type', 'Type', ['A', 'B'] or "
                          f"'~ A | B'; got {specs!r}")
    by_list = [b for b in dict.fromkeys(by_list) if b not in rhs_vars]
    return rhs_vars, by_list


def _check_names(grid: RefGrid, names: list[str], what: str) -> None:
    known = grid.names
    for nm in names:
        if nm == "1":
            continue
        if nm not in known:
            raise HierlmError(f"{what} names '{nm}', which is not a variable of the model's reference grid "
                              f"({', '.join(known) if known else 'the model has no predictors'}).{suggest(nm, known)}")


def _interaction_note(fit, facs: list[str]) -> list[str]:
    facs = [f for f in facs if f != "1"]
    if not facs:
        return []
    terms = fit.design.formula.fixed_terms()
    for term in terms.terms:
        names = {n for node in term for n in names_in(node)}
        if set(facs) <= names and len(names) > len(facs):
            return ["NOTE: Results may be misleading due to involvement in interactions"]
    return []


def _avg_weights(weights, wgt: np.ndarray, row_idx: np.ndarray, dims: list[int], use: list[int],
                 avgd: list[int]):
    """Weights of the averaged-over combinations (None: per-cell weights computed later)."""
    n_avg = int(np.prod([dims[i] for i in avgd])) if avgd else 1
    if isinstance(weights, str):
        if weights not in WEIGHTS:
            raise HierlmError(f"weights={weights!r} is not known; use one of {', '.join(map(repr, WEIGHTS))} or a "
                              f"vector of {n_avg} numbers.{suggest(weights, WEIGHTS)}")
        if not avgd or weights == "equal":
            return np.ones(n_avg)
        if weights in ("cells", "flat"):
            return None
        W = wgt[row_idx]  # array of dims
        ftbl = np.apply_over_axes(np.sum, W, [i for i in range(len(dims)) if i not in avgd]).reshape(
            [dims[i] for i in avgd], order="F") if len(dims) else W
        if weights == "proportional":
            return np.asarray(ftbl, float).ravel(order="F")
        N = ftbl.sum()
        w = np.array(N)
        for d in range(ftbl.ndim):
            marg = np.apply_over_axes(np.sum, ftbl, [k for k in range(ftbl.ndim) if k != d]).ravel() / N
            w = np.multiply.outer(w, marg)
        return np.asarray(w).transpose().ravel(order="C")
    w = np.asarray(weights, float).ravel()
    if w.size != n_avg:
        raise HierlmError(f"weights has {w.size} numbers but {n_avg} combinations are averaged over")
    return w


def marginalize(grid: RefGrid, L: np.ndarray, offset: np.ndarray, facs: list[str], weights="equal"):
    """Average the grid's rows over the variables not in ``facs`` (emmeans' ``emmeans()`` core).

    Returns the averaged linear functions, offsets, the labels of the result's rows (``facs`` in
    expand.grid order, first fastest) and the names of the variables averaged over.
    """
    names = list(grid.names)
    levels = [list(v.values) for v in grid.variables]
    labels_of = {v.name: v.labels for v in grid.variables}
    if "1" in facs:
        if "1" not in names:
            names.append("1")
            levels.append(["overall"])
        labels_of["1"] = ["overall"]
    dims = [len(lv) for lv in levels]
    n = int(np.prod(dims)) if dims else 1
    row_idx = np.arange(n).reshape(dims, order="F") if dims else np.arange(1)
    use = [names.index(f) for f in facs]
    avgd = [i for i in range(len(dims)) if dims[i] > 1 and i not in use]
    wgt = np.asarray(grid.wgt, float)
    if np.all(np.round(wgt, 7) == 0):
        wgt = wgt + 1
    w_avg = _avg_weights(weights, wgt, row_idx, dims, use, avgd)
    rows_out, offs, lab_rows = [], [], []
    for combo in combos([levels[i] for i in use]):
        index = [slice(None)] * len(dims)
        for u, c in zip(use, combo):
            index[u] = c
        idx = np.asarray(row_idx[tuple(index)]).ravel(order="F")
        if w_avg is None:
            w = wgt[idx] if weights == "cells" else (wgt[idx] > 0).astype(float)
        else:
            w = w_avg
        tot = w.sum()
        if tot <= 1e-8:
            rows_out.append(np.full(L.shape[1], np.nan))
            offs.append(np.nan)
        else:
            rows_out.append((w[:, None] * L[idx]).sum(axis=0) / tot)
            offs.append(float((w * offset[idx]).sum() / tot))
        lab_rows.append([labels_of[names[u]][c] for u, c in zip(use, combo)])
    labels = pd.DataFrame(lab_rows, columns=facs) if facs else pd.DataFrame(index=range(len(rows_out)))
    for f in facs:
        if f != "1" and grid.var(f).kind in ("covariate", "coerced"):
            labels[f] = labels[f].astype(float)
    return np.vstack(rows_out), np.asarray(offs), labels, [names[i] for i in avgd]


def _grid_rows(grid: RefGrid) -> np.ndarray:
    L = grid.X.copy()
    L[~grid.estimable] = np.nan
    return L


def ref_grid(fit, at: dict | None = None, cov_reduce=None, ddf: str | None = None, type: str = "link",
             level: float = 0.95) -> EmmGrid:
    """emmeans' reference grid of a fit: one prediction per combination of the grid's values.

    Parameters
    ----------
    fit : LmerFit, GlmerFit, LmFit, GlmFit or BayesFit
    at : dict, optional
        ``{variable: values}`` to use instead of the defaults (factors: all levels; covariates: mean).
    cov_reduce : str, callable or dict, optional
        How covariates are reduced: ``"mean"`` (default), ``"median"``, ``"range"``, ``"min"``, ``"max"``
        or a function.
    ddf : {None, "kenward-roger", "satterthwaite", "asymptotic"}
        Degrees of freedom of an lmer fit (None: Kenward–Roger, as emmeans).
    type : {"link", "response"}
    level : float

    Returns
    -------
    EmmGrid
        Columns: the grid variables, ``prediction``, ``SE``, ``df`` (BayesFit: ``prediction``,
        ``lower.HPD``, ``upper.HPD``).

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> ref_grid(m, at={"Days": [0, 9]}).round(3)
     Days  prediction     SE  df
        0     251.405  6.825  17
        9     345.611 14.629  17
    <BLANKLINE>
    Degrees-of-freedom method: kenward-roger
    """
    type = check_type(type)
    basis = model_basis(fit, ddf)
    grid = build_grid(fit, at, cov_reduce)
    info = EmmInfo(basis, _grid_rows(grid), grid.offset, grid.labels(), grid.names, [], "prediction", "ref_grid",
                   fam_size=len(grid.frame), infer=(False, False), level=level, type=type, tran=basis.tran,
                   inv_lbl=basis.inv_lbl, notes=list(basis.notes), df_note=basis.df_method)
    return summarize(info)


def emmeans(fit, specs, by=None, at: dict | None = None, type: str = "link", ddf: str | None = None,
            level: float = 0.95, weights="equal", cov_reduce=None, regrid: bool = False) -> EmmGrid:
    """Estimated marginal means, as R's ``emmeans::emmeans``.

    Parameters
    ----------
    fit : LmerFit, GlmerFit, LmFit, GlmFit or BayesFit
    specs : str or list of str
        The variables whose levels get a mean: ``"Type"``, ``"~ A * B"``, ``["A", "B"]``, ``"~ A | B"``
        (means of A within each level of B), ``"~ 1"`` (the grand mean).
    by : str or list of str, optional
        Conditioning variables (as ``"~ A | B"``).
    at : dict, optional
        Grid values of variables (covariates are held at their means otherwise).
    type : {"link", "response"}
        ``"response"`` back-transforms a GLMM's link (or a ``log(y)`` response) as emmeans'
        ``type = "response"``: estimates and interval limits back-transformed, SEs by the delta method.
    ddf : {None, "kenward-roger", "satterthwaite", "asymptotic"}
        Degrees of freedom of an lmer fit (default Kenward–Roger with its adjusted covariance).
    level : float
        Confidence (HPD) level.
    weights : {"equal", "proportional", "outer", "cells", "flat"} or array
        How the averaged-over cells are weighted.
    cov_reduce : str, callable or dict, optional
        How covariates not in ``at`` are reduced (default: mean).
    regrid : bool
        Re-grid to the response scale first (emmeans' ``regrid()``): estimates are back-transformed,
        SEs by the delta method, intervals symmetric on the response scale, contrasts are differences
        of back-transformed means.

    Returns
    -------
    EmmGrid
        A DataFrame with the specs and by columns and ``emmean``, ``SE``, ``df``, ``lower.CL``,
        ``upper.CL`` (``asymp.LCL``/``asymp.UCL`` when df are infinite; ``prob``/``rate``/``response``
        for ``type="response"``); for a BayesFit the posterior median and ``lower.HPD``/``upper.HPD``.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("effort ~ Type + (1 | Subject)", hl.load_dataset("ergoStool"))
    >>> emm = emmeans(m, "Type")
    >>> emm[["Type", "emmean", "SE", "df"]].round(4)  # doctest: +NORMALIZE_WHITESPACE
    Type  emmean    SE      df
      T1  8.5556 0.576 15.5298
      T2 12.4444 0.576 15.5298
      T3 10.7778 0.576 15.5298
      T4  9.2222 0.576 15.5298
    <BLANKLINE>
    Degrees-of-freedom method: kenward-roger
    Confidence level used: 0.95
    """
    type = check_type(type)
    if not 0 < level < 1:
        raise HierlmError(f"level must be between 0 and 1, not {level!r}")
    rhs, by_vars = parse_specs(specs, by)
    basis: Basis = model_basis(fit, ddf)
    grid = build_grid(fit, at, cov_reduce)
    _check_names(grid, rhs, "specs")
    _check_names(grid, by_vars, "by")
    facs = rhs + by_vars
    L, off, labels, avgd = marginalize(grid, _grid_rows(grid), grid.offset, facs, weights)
    info = EmmInfo(basis, L, off, labels, rhs, by_vars, "emmean", "emmeans", fam_size=L.shape[0],
                   infer=(True, False), level=level, type=type, tran=basis.tran, inv_lbl=basis.inv_lbl,
                   avgd_over=avgd, notes=list(basis.notes) + _interaction_note(fit, facs), df_note=basis.df_method)
    out = summarize(info)
    return _regrid(out) if regrid else out
