"""Random-effects terms: one per bar, holding level indices and term columns, never a dense Z.

lme4's ``mkReTrms``: each bar ``(x | g)`` gives the model matrix of ``~ x`` and the grouping
factor ``g``; terms are ordered as lme4 orders them (by decreasing number of levels), and duplicated
group names become ``Subject``, ``Subject.1`` in ``VarCorr``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import DataError
from ..formula import Bar
from .evaluate import Evaluator
from .fixed import model_matrix
from .limits import check_cells

__all__ = ["ReTerm", "build_reterms", "order_and_label", "make_names"]


@dataclass
class ReTerm:
    """One random-effects block.

    Attributes
    ----------
    group : str
        Grouping factor as lme4 writes it (``Subject``, ``cask:batch``).
    label : str
        Unique name of the block in ``VarCorr`` (``Subject``, ``Subject.1``).
    levels : list of str
        Level names, in lme4's order.
    index : ndarray of int
        Level of every observation.  On new data, ``-1`` marks a missing group and codes from
        ``known`` on mark levels unseen in training (their names extend ``levels``).
    columns : list of str
        Names of the term columns (``(Intercept)``, ``Days``).
    values : ndarray (n, p)
        Term columns per observation.
    correlated : bool
        Whether the block has a full covariance (False for blocks split off by ``||``).
    bar : Bar
        The bar this block comes from.
    column_subset : int or None
        For ``||`` blocks of factor terms: which column of the bar's model matrix this block keeps.
    known : int
        How many of ``levels`` were seen in training (-1: all of them).
    """

    group: str
    label: str
    levels: list[str]
    index: np.ndarray
    columns: list[str]
    values: np.ndarray
    correlated: bool
    bar: Bar
    codings: list
    column_subset: int | None = None
    known: int = -1

    @property
    def nlevels(self) -> int:
        return len(self.levels)

    def unseen(self) -> np.ndarray:
        """Mask of the observations whose level was not seen in training (new data only)."""
        return self.index >= (self.nlevels if self.known < 0 else self.known)

    @property
    def ncols(self) -> int:
        return len(self.columns)

    def z_matrix(self) -> sp.csr_matrix:
        """Sparse Z block (n × levels·p), columns level-major as in lme4."""
        n, p = self.values.shape
        rows = np.repeat(np.arange(n), p)
        cols = (self.index[:, None] * p + np.arange(p)[None, :]).ravel()
        ok = np.repeat(self.index >= 0, p)
        return sp.csr_matrix(
            (self.values.ravel()[ok], (rows[ok], cols[ok])), shape=(n, self.nlevels * p)
        )


def _bar_columns(bar: Bar, ev: Evaluator, codings=None):
    termlist = bar.terms()
    Z, names, codings = model_matrix(termlist, ev, codings)
    return Z, names, codings


def build_reterms(bars: tuple[Bar, ...], ev: Evaluator) -> list[ReTerm]:
    """Build the random-effects terms of ``bars`` on the evaluator's data, in lme4's order."""
    terms: list[ReTerm] = []
    for bar in bars:
        group = ev.factor_of(bar.group)
        values, names, codings = _bar_columns(bar, ev)
        if len(names) == 0:
            raise DataError(f"the random-effect term {bar.source} has no columns")
        if bar.correlated:  # per level a q × q covariance block: levels · q × q numbers
            check_cells(bar.source, len(group.levels) * len(names), len(names),
                        "Use (x || g) for independent terms, or fewer terms in the bar.")
        blocks = [(values, names, None)]
        if not bar.correlated:
            # (x || g): one independent block per model-matrix column (factor columns too)
            blocks = [(values[:, [j]], [names[j]], j) for j in range(len(names))]
        for vals, cols, subset in blocks:
            terms.append(
                ReTerm(
                    group=bar.group_name,
                    label=bar.group_name,
                    levels=list(group.levels),
                    index=group.data.copy(),
                    columns=cols,
                    values=vals,
                    correlated=bar.correlated,
                    bar=bar,
                    codings=codings,
                    column_subset=subset,
                )
            )
    return terms


def order_and_label(terms: list[ReTerm]) -> list[ReTerm]:
    """lme4's order of the terms and their names in ``VarCorr``.

    ``mkReTrms`` reorders only when some term has more levels than the one before it, and then by
    ``rev(order(nl))``: decreasing number of levels, tied terms in reverse order.  ``VarCorr``
    names are the group names, passed through ``make.names(unique = TRUE)`` when a group repeats
    (``Subject``, ``Subject.1``; ``Worker:Machine`` becomes ``Worker.Machine`` then).
    """
    nl = [t.nlevels for t in terms]
    if any(b > a for a, b in zip(nl, nl[1:])):
        increasing = sorted(range(len(terms)), key=nl.__getitem__)  # stable, as R's order()
        terms = [terms[i] for i in reversed(increasing)]
    groups = [t.group for t in terms]
    labels = make_names(groups) if len(set(groups)) < len(groups) else groups
    for t, label in zip(terms, labels):
        t.label = label
    return terms


_R_RESERVED = {
    "if", "else", "repeat", "while", "function", "for", "next", "break", "TRUE", "FALSE", "NULL",
    "Inf", "NaN", "NA", "NA_integer_", "NA_real_", "NA_character_", "NA_complex_", "in",
}


def make_names(names: list[str]) -> list[str]:
    """R's ``make.names(names, unique = TRUE)``.

    Examples
    --------
    >>> make_names(["Worker:Machine", "Worker", "Worker"])
    ['Worker.Machine', 'Worker', 'Worker.1']
    """
    valid = []
    for nm in names:
        nm = re.sub(r"[^A-Za-z0-9._]", ".", nm)
        if not re.match(r"[A-Za-z]|\.(?![0-9])", nm):
            nm = "X" + nm
        valid.append(nm + "." if nm in _R_RESERVED else nm)
    # make.unique: the k-th repeat of a name gets the first free suffix ".k", ".k+1", ...
    taken, next_suffix, out = set(valid), {}, []
    for nm in valid:
        if nm not in next_suffix:
            next_suffix[nm] = 1
            out.append(nm)
            continue
        k = next_suffix[nm]
        while f"{nm}.{k}" in taken:
            k += 1
        taken.add(f"{nm}.{k}")
        next_suffix[nm] = k + 1
        out.append(f"{nm}.{k}")
    return out
