"""Hypothesis matrices of single-model F tables (type I, II and III), as lmerTest 3.1 builds them.

Each model term gets a contrast matrix ``L`` over the fixed effects (the columns of ``design.X``);
``L β = 0`` is the hypothesis its F test examines.

* **Type I** (sequential): rows of the transposed unit-lower factor of the Doolittle decomposition
  of ``XᵀX`` (lmerTest's ``get_contrasts_type1``).
* **Type II**: terms contained in no other term get their own coefficients (marginal tests); a term
  contained in others is tested after everything unrelated to it, with the columns reordered as
  ``[unrelated, term, containing terms]`` before the Doolittle step (``get_contrasts_type2_unfolded``).
* **Type III**: SAS-like hypotheses that do not depend on the contrast coding
  (``get_contrasts_type3``): the model's parameters are expressed through the full, rank-deficient
  indicator coding of every term, the contrasts of a term are orthogonalised against those of the
  terms that contain it (higher-order terms first) and mapped back to the coding in use.

*Containment* follows SAS ("The Four Types of Estimable Functions") as lmerTest's ``term_contain``
does: F1 is contained in F2 when F2 involves every variable of F1 and more, and both involve the same
numeric covariates.  As in lmerTest, the variables of a term are those R's ``terms`` codes with 1 in
its ``factors`` attribute (a variable coded 2, by indicators because its margin is absent, does not count).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np

from ..errors import HierlmError, HierlmWarning
from ..formula import TermList, deparse
from .build import Design
from .evaluate import Evaluator
from .fixed import aliased_columns, model_matrix

__all__ = ["TermInfo", "term_info", "containment", "doolittle", "zapsmall", "hypothesis_matrices"]


@dataclass
class TermInfo:
    """The fixed-effect term structure of a design, as R's ``terms`` object describes it.

    Attributes
    ----------
    labels : list of str
        R's term labels (``nitro``, ``nitro:Variety``).
    intercept : bool
    variables : list of list of str
        Per term, the variables R codes with 1 in the ``factors`` attribute (see module docstring).
    numeric : list of set of str
        Per term, its numeric covariates (R's ``dataClasses == "numeric"``) among ``variables``.
    degree : list of int
        Number of variables in each term (R's ``order`` attribute).
    assign : ndarray of int
        For every column of ``design.X``: 0 for the intercept, j for the j-th term (R's ``assign``).
    """

    labels: list[str]
    intercept: bool
    variables: list[list[str]]
    numeric: list[set[str]]
    degree: list[int]
    assign: np.ndarray

    def columns(self, label: str) -> np.ndarray:
        """Indices of the columns of ``design.X`` that belong to a term (lmerTest's ``term2colX``)."""
        return np.flatnonzero(self.assign == self.labels.index(label) + 1)


class _TreatmentEvaluator:
    """An evaluator whose ordered factors are plain factors (treatment contrasts), for type III."""

    def __init__(self, ev: Evaluator):
        self.ev, self.n = ev, ev.n

    def __call__(self, node):
        v = self.ev(node)
        return replace(v, ordered=False) if v.ordered else v


def _evaluator(design: Design) -> Evaluator:
    if design.data is None:
        raise HierlmError("the design keeps no data (keep_data=False); F tables need the model frame")
    return Evaluator(design.data, state=design.state)


def _r_codes(termlist: TermList) -> list[dict]:
    """R's ``factors`` attribute: 1 when the term without the variable is empty or inside an earlier
    term, else 2 (``TermCode`` in R's model.c; applied to every variable, numeric or not)."""
    out = []
    for j, term in enumerate(termlist.terms):
        codes = {}
        for v in termlist.ordered(term):
            margin = term - {v}
            codes[v] = 1 if not margin or any(margin <= t for t in termlist.terms[:j]) else 2
        out.append(codes)
    return out


def term_info(design: Design) -> TermInfo:
    """The term structure of ``design``'s fixed part (labels, variables, numeric covariates, ``assign``).

    Parameters
    ----------
    design : Design

    Returns
    -------
    TermInfo

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.design import make_design
    >>> d = make_design("yield ~ nitro * Variety + (1 | Block/Variety)", hl.load_dataset("Oats"))
    >>> info = term_info(d)
    >>> info.labels, info.assign.tolist()
    (['nitro', 'Variety', 'nitro:Variety'], [0, 1, 2, 2, 3, 3])
    """
    termlist = design.formula.fixed_terms()
    ev = _evaluator(design)
    assign = [0] if termlist.intercept else []
    variables, numeric = [], []
    for j, (term, coding, codes) in enumerate(zip(termlist.terms, design.codings, _r_codes(termlist)), start=1):
        one = TermList([term], False, [], termlist.variables)
        Xt, _, _ = model_matrix(one, ev, [coding])
        assign += [j] * Xt.shape[1]
        names = [v for v in termlist.ordered(term) if codes[v] == 1]
        variables.append([deparse(v) for v in names])
        numeric.append({deparse(v) for v in names if ev(v).kind == "num"})
    assign = np.asarray(assign, dtype=int)
    if len(assign) != len(design.all_xnames):
        raise HierlmError("internal: the fixed-effect columns could not be matched to the model terms")
    return TermInfo(
        labels=termlist.labels(),
        intercept=termlist.intercept,
        variables=variables,
        numeric=numeric,
        degree=[len(t) for t in termlist.terms],
        assign=assign[design.keep],
    )


def containment(info: TermInfo) -> dict[str, list[str]]:
    """For every term, the terms that contain it (lmerTest's ``containment``).

    Parameters
    ----------
    info : TermInfo

    Returns
    -------
    dict
        Term label → labels of the terms containing it, in model order.

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.design import make_design
    >>> d = make_design("yield ~ nitro * Variety + (1 | Block)", hl.load_dataset("Oats"))
    >>> containment(term_info(d))
    {'nitro': ['nitro:Variety'], 'Variety': [], 'nitro:Variety': []}
    """
    out = {}
    for a, va, na in zip(info.labels, info.variables, info.numeric):
        out[a] = [b for b, vb, nb in zip(info.labels, info.variables, info.numeric)
                  if set(va) <= set(vb) and set(vb) - set(va) and na == nb]
    return out


def doolittle(x: np.ndarray, eps: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """lmerTest's Doolittle decomposition ``x = L U`` (L unit lower-triangular), with its zeroing rules.

    Multipliers under a pivot smaller than ``eps`` are 0, and entries of L and U below ``eps`` in
    absolute value are set to 0, as in lmerTest.

    Parameters
    ----------
    x : ndarray (n, n)
    eps : float

    Returns
    -------
    L, U : ndarray

    Examples
    --------
    >>> L, U = doolittle(np.array([[4.0, 2.0], [2.0, 3.0]]))
    >>> L.tolist(), U.tolist()
    ([[1.0, 0.0], [0.5, 1.0]], [[4.0, 2.0], [0.0, 2.0]])
    """
    n = x.shape[0]
    L, U = np.eye(n), np.zeros((n, n))
    for i in range(n):
        U[i, :] = x[i, :] - L[i, :i] @ U[:i, :]
        if i + 1 < n:
            col = x[i + 1 :, i] - L[i + 1 :, :i] @ U[:i, i]
            L[i + 1 :, i] = 0.0 if abs(U[i, i]) < eps else col / U[i, i]
    L[np.abs(L) < eps] = 0.0
    U[np.abs(U) < eps] = 0.0
    return L, U


def zapsmall(x: np.ndarray, digits: int = 7) -> np.ndarray:
    """R's ``zapsmall``: round to ``digits`` significant digits of the largest absolute entry.

    Examples
    --------
    >>> zapsmall(np.array([1.0, 1e-12, 0.123456789])).tolist()
    [1.0, 0.0, 0.1234568]
    """
    x = np.asarray(x, float)
    if x.size == 0:
        return x
    mx = float(np.max(np.abs(x)))
    d = max(0, digits - int(np.ceil(np.log10(mx)))) if mx > 0 else digits
    return np.round(x, d)


def _sequential(X: np.ndarray) -> np.ndarray:
    """Transposed unit-lower Doolittle factor of XᵀX: row i tests column i after the earlier ones."""
    p = X.shape[1]
    return np.ones((1, 1)) if p == 1 else doolittle(X.T @ X)[0].T


def _type1(info: TermInfo, X: np.ndarray) -> dict[str, np.ndarray]:
    L = _sequential(X)
    return {t: L[info.columns(t)] for t in info.labels}


def _type2(info: TermInfo, X: np.ndarray) -> dict[str, np.ndarray]:
    cont = containment(info)
    out = {}
    for t in info.labels:
        if not cont[t]:
            out[t] = np.eye(X.shape[1])[info.columns(t)]
            continue
        own = info.columns(t)
        related = np.concatenate([own] + [info.columns(c) for c in cont[t]])
        order = np.concatenate([np.setdiff1d(np.arange(X.shape[1]), related), related])
        Lc = _sequential(X[:, order])
        rows = np.isin(order, own)
        L = np.zeros((int(rows.sum()), X.shape[1]))
        L[:, order] = Lc[rows]
        out[t] = L
    return out


def _residual(x: np.ndarray, y: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    """Residuals of the least-squares fit of y on x (``resid(lm.fit(x, y))``)."""
    if x.shape[1] == 0:
        return y
    U, s, _ = np.linalg.svd(x, full_matrices=False)
    U = U[:, s > tol * s[0]] if s.size and s[0] > 0 else U[:, :0]
    return y - U @ (U.T @ y)


def _full_indicator_matrix(design: Design, ev) -> tuple[np.ndarray, list[str]]:
    """lmerTest's ``get_rdX``: per term ``model.matrix(~ 0 + term)``, every factor by indicators."""
    termlist = design.formula.fixed_terms()
    blocks = [np.ones((ev.n, 1))] if termlist.intercept else []
    names = ["(Intercept)"] if termlist.intercept else []
    for term in termlist.terms:
        one = TermList([term], False, [], termlist.variables)
        coding = {v: "indicators" for v in term if ev(v).kind in {"cat", "lgl"}}
        Xt, nt, _ = model_matrix(one, ev, [coding])
        blocks.append(Xt)
        names += nt
    return (np.hstack(blocks) if blocks else np.zeros((ev.n, 0))), names


def _type3(info: TermInfo, design: Design) -> dict[str, np.ndarray]:
    ev = _evaluator(design)
    termlist = design.formula.fixed_terms()
    values = [ev(v) for t in termlist.terms for v in t]
    treatment_only = any(v.kind in {"cat", "lgl"} for v in values) and not any(v.ordered for v in values)
    if treatment_only:
        X, xnames, assign = design.X, design.xnames, info.assign
    else:  # remake X with treatment contrasts and map the hypotheses back to the coding in use
        Xt, names, _ = model_matrix(termlist, _TreatmentEvaluator(ev), design.codings)
        keep = [j for j in range(Xt.shape[1]) if j not in aliased_columns(Xt)]
        X, xnames = Xt[:, keep], [names[j] for j in keep]
        assign = _assign_of(design, names)[keep]
    tinfo = replace(info, assign=assign)
    rdX, rdnames = _full_indicator_matrix(design, ev)
    empty = [nm for nm, col in zip(rdnames, rdX.T) if not np.any(col)]
    if empty:
        warnings.warn(f"Missing cells for: {', '.join(empty)}. Interpret type III hypotheses with care.",
                      HierlmWarning, stacklevel=4)
    L = zapsmall((np.linalg.pinv(X, rcond=np.sqrt(np.finfo(float).eps)) @ rdX).T)  # rdX parameters × X columns
    cont = containment(info)
    order = sorted(range(len(info.labels)), key=lambda j: -info.degree[j])  # stable: higher order first
    for j in order:
        t = info.labels[j]
        if cont[t]:
            own = tinfo.columns(t)
            other = np.concatenate([tinfo.columns(c) for c in cont[t]])
            L[:, own] = zapsmall(_residual(L[:, other], L[:, own]))
    missing = [nm for nm in xnames if nm not in rdnames]
    if missing:
        raise HierlmError(f"internal: type III hypotheses could not place the coefficients {missing}")
    L = L[[rdnames.index(nm) for nm in xnames]]
    out = {}
    for t in info.labels:
        Lt = L[:, tinfo.columns(t)].T
        out[t] = Lt[np.abs(Lt).sum(axis=1) > 1e-8]
    if not treatment_only:
        M = zapsmall(np.linalg.pinv(X, rcond=np.sqrt(np.finfo(float).eps)) @ design.X)
        out = {t: Lt @ M for t, Lt in out.items()}
    return out


def _assign_of(design: Design, names: list[str]) -> np.ndarray:
    """``assign`` of all columns of a model matrix built from the design's terms (before dropping)."""
    termlist = design.formula.fixed_terms()
    ev = _TreatmentEvaluator(_evaluator(design))
    assign = [0] if termlist.intercept else []
    for j, (term, coding) in enumerate(zip(termlist.terms, design.codings), start=1):
        Xt, _, _ = model_matrix(TermList([term], False, [], termlist.variables), ev, [coding])
        assign += [j] * Xt.shape[1]
    if len(assign) != len(names):
        raise HierlmError("internal: the treatment-coded columns could not be matched to the model terms")
    return np.asarray(assign, dtype=int)


def hypothesis_matrices(design: Design, type: int = 3) -> dict[str, np.ndarray]:
    """Contrast matrices of a type I, II or III F table, one per fixed-effect term (lmerTest's).

    Parameters
    ----------
    design : Design
    type : {1, 2, 3}
        1: sequential; 2: each term after all terms not containing it; 3: SAS-like, independent
        of the contrast coding.  ``"I"``, ``"II"``, ``"III"`` are accepted too.

    Returns
    -------
    dict
        Term label → L (rows: hypotheses, columns: ``design.xnames``).  Empty for a model
        without terms; a term whose columns were all dropped as aliased gets a 0-row L.

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.design import make_design
    >>> d = make_design("yield ~ nitro * Variety + (1 | Block/Variety)", hl.load_dataset("Oats"))
    >>> L = hypothesis_matrices(d, type=3)
    >>> L["nitro"].round(3) + 0.0
    array([[0.   , 1.   , 0.   , 0.   , 0.333, 0.333]])
    >>> hypothesis_matrices(d, type=1)["Variety"].shape
    (2, 6)
    """
    kind = {1: 1, 2: 2, 3: 3, "1": 1, "2": 2, "3": 3, "I": 1, "II": 2, "III": 3}.get(type) if not isinstance(type, bool) else None
    if kind is None:
        raise HierlmError(f"type must be 1, 2 or 3 (or 'I', 'II', 'III'), not {type!r}")
    info = term_info(design)
    if not info.labels:
        return {}
    X = design.X
    if X.shape[1] <= 1 or len(info.labels) <= 1 or kind == 1:
        return _type1(info, X)
    return _type2(info, X) if kind == 2 else _type3(info, design)
