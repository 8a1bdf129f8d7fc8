"""Random-effects terms: one per bar, holding level indices and term columns, never a dense Z.

lme4's ``mkReTrms``: each bar ``(x | g)`` gives the model matrix of ``~ x`` and the grouping
factor ``g``; terms are ordered by decreasing number of levels (stable), and duplicated group names
become ``Subject``, ``Subject.1`` in ``VarCorr``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import DataError
from ..formula import Bar
from .evaluate import Evaluator
from .fixed import model_matrix

__all__ = ["ReTerm", "build_reterms"]


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
        Level of every observation (``-1``/``-2``: unseen level, only on new data).
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

    @property
    def nlevels(self) -> int:
        return len(self.levels)

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
    """lme4's order (decreasing number of levels, stable) and unique labels (``g``, ``g.1``)."""
    terms = sorted(terms, key=lambda t: -t.nlevels)
    seen: dict[str, int] = {}
    for t in terms:
        k = seen.get(t.group, 0)
        t.label = t.group if k == 0 else f"{t.group}.{k}"
        seen[t.group] = k + 1
    return terms
