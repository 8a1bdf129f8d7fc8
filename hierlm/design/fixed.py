"""R's ``model.matrix``: contrasts, interaction coding and column names exactly as R writes them.

A factor in a term is coded by contrasts when the term without it is contained in an earlier
term (R's ``TermCode`` rule; the empty margin counts as present), by indicators otherwise; without
an intercept the first factor of the first term holding one gets indicators.  Unordered factors
use treatment contrasts (``treatozone``), ordered ones polynomial contrasts (``o.L``, ``o.Q``).
Columns of an interaction vary the first variable fastest, as in R.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError, FormulaError
from ..formula import Node, TermList, deparse
from .evaluate import Evaluator
from .limits import check_cells
from .value import Value

__all__ = ["FixedSpec", "model_matrix", "contr_poly", "aliased_columns"]


def contr_poly(n: int) -> tuple[np.ndarray, list[str]]:
    """R's ``contr.poly(n)``: orthonormal polynomial contrasts and their names."""
    y = np.arange(1, n + 1) - (n + 1) / 2
    X = np.vander(y, n, increasing=True)
    Q, R = np.linalg.qr(X)
    Z = Q * np.diag(R)
    Z = Z / np.sqrt((Z**2).sum(axis=0))
    names = [f"^{i}" for i in range(n)]
    for i, nm in zip(range(1, min(4, n)), [".L", ".Q", ".C"]):
        names[i] = nm
    return Z[:, 1:], names[1:]


@dataclass
class FixedSpec:
    """What is needed to rebuild X on new data: the terms, their codings and the kept columns."""

    termlist: TermList
    codings: list[dict]  # per term: {variable: "contrasts" | "indicators"}
    columns: list[str]  # all column names before dropping aliased ones
    keep: list[int]  # indices of the columns kept


def _is_factor(v: Value) -> bool:
    return v.kind in {"cat", "lgl"}


def _factor_levels(v: Value) -> tuple[np.ndarray, list[str], bool]:
    """Codes, training levels and orderedness (codes beyond the levels are unseen levels)."""
    if v.kind == "lgl":
        return v.data.astype(np.int64), ["FALSE", "TRUE"], False
    return v.data, v.levels[: v.n_known], v.ordered


def term_codings(termlist: TermList, values: dict[Node, Value]) -> list[dict]:
    """R's coding (contrasts or indicators) of every factor in every term."""
    codings: list[dict] = []
    for j, term in enumerate(termlist.terms):
        coding = {}
        for v in termlist.ordered(term):
            if not _is_factor(values[v]):
                continue
            margin = term - {v}
            if not margin or any(margin <= t for t in termlist.terms[:j]):
                coding[v] = "contrasts"
            else:
                coding[v] = "indicators"
        codings.append(coding)
    if not termlist.intercept:
        done = False
        for j, term in enumerate(termlist.terms):
            for v in termlist.ordered(term):
                if _is_factor(values[v]) and len(_factor_levels(values[v])[1]) > 1:
                    codings[j][v] = "indicators"
                    done = True
                    break
            if done:
                break
    return codings


def _variable_columns(v: Node, val: Value, coding: str | None) -> tuple[np.ndarray, list[str]]:
    name = deparse(v)
    if val.kind == "num":
        return val.data[:, None], [name]
    if val.kind == "mat":
        return val.data, [name + c for c in val.colnames]
    codes, levels, ordered = _factor_levels(val)
    k = len(levels)
    check_cells(name, len(codes), k, "A factor with this many levels is better a grouping factor: (1 | "
                f"{name}).")
    if coding == "indicators":
        contrast, names = np.eye(k), list(levels)
    elif ordered:
        contrast, names = contr_poly(k)
    else:
        if k < 2:
            raise FormulaError(
                f"the factor '{name}' has only one level ({levels[0] if levels else 'none'}) in the data used; "
                "a factor needs two or more levels to be a predictor"
            )
        contrast, names = np.eye(k)[:, 1:], list(levels[1:])
    if (codes >= k).any():
        unseen = sorted({val.levels[c] for c in codes[codes >= k]})
        raise DataError(
            f"the factor '{name}' has level(s) {unseen} that the model was not fitted with; "
            f"known levels: {levels}"
        )
    cols = contrast[np.maximum(codes, 0)]
    cols[codes < 0] = np.nan  # a missing level (new data only) gives a missing row
    return cols, [name + s for s in names]


def model_matrix(termlist: TermList, ev: Evaluator, codings: list[dict] | None = None) -> tuple[np.ndarray, list[str], list[dict]]:
    """Build the fixed-effects model matrix.

    Parameters
    ----------
    termlist : TermList
    ev : Evaluator
        Evaluates the variables (training or new-data mode).
    codings : list of dict, optional
        Codings from the training data; computed when omitted.

    Returns
    -------
    X : ndarray (n, p)
    names : list of str
        R's column names (``(Intercept)``, ``treatozone``, ``Time:treatozone``).
    codings : list of dict
    """
    values = {v: ev(v) for t in termlist.terms for v in t}
    if codings is None:
        codings = term_codings(termlist, values)
    blocks = [np.ones((ev.n, 1))] if termlist.intercept else []
    names = ["(Intercept)"] if termlist.intercept else []
    total = len(names)
    for term, coding in zip(termlist.terms, codings):
        width = 1
        for v in termlist.ordered(term):
            val = values[v]
            width *= (val.data.shape[1] if val.kind == "mat" else 1 if val.kind == "num"
                      else max(len(_factor_levels(val)[1]) - (coding.get(v) != "indicators"), 1))
        total += width
        label = ":".join(deparse(v) for v in termlist.ordered(term))
        check_cells(label, ev.n, width)
        check_cells(f"the fixed part up to '{label}'", ev.n, total)
        cols, cnames = np.ones((ev.n, 1)), [""]
        for v in termlist.ordered(term):
            m, vn = _variable_columns(v, values[v], coding.get(v))
            # the earlier variable varies fastest
            cols = (cols[:, None, :] * m[:, :, None]).reshape(ev.n, -1)
            cnames = [f"{a}:{b}" if a else b for b2 in [vn] for b in b2 for a in cnames]
        blocks.append(cols)
        names += cnames
    X = np.hstack(blocks) if blocks else np.zeros((ev.n, 0))
    return X, names, codings


def aliased_columns(X: np.ndarray, tol: float = 1e-7) -> list[int]:
    """Columns that are linear combinations of earlier ones (R's ``qr(X, tol = 1e-7)`` rule).

    As LINPACK's ``dqrdc2`` (which lme4's rank check uses), a column is dropped when what is left
    of it after projecting out the kept columns has a norm below ``tol`` times its own norm.
    """
    n, p = X.shape
    Q = np.empty((n, min(n, p)), order="F")  # orthonormal basis of the kept columns
    k = 0
    dropped: list[int] = []
    for j in range(p):
        r = X[:, j].astype(float)
        norm0 = np.linalg.norm(r)
        for _ in range(2):  # classical Gram-Schmidt, re-orthogonalised once for stability
            r = r - Q[:, :k] @ (Q[:, :k].T @ r)
        nr = np.linalg.norm(r)
        if norm0 == 0 or nr < tol * norm0:
            dropped.append(j)
        else:
            Q[:, k] = r / nr
            k += 1
    return dropped
