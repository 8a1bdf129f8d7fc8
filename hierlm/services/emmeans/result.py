"""The object ``hl.emmeans``, ``hl.contrast``, ``hl.emtrends`` and ``hl.ref_grid`` return.

An :class:`EmmGrid` is a pandas DataFrame — the table emmeans' ``summary()`` prints, with emmeans'
column names — that also remembers where it came from (:class:`EmmInfo`: the fit, the linear
functions ``L`` of the coefficients, the grid's labels, the ``by`` variables, the scale), so
:func:`~hierlm.services.emmeans.contrast` can build on it.  Printing it shows emmeans' footer lines
("Results are averaged over the levels of: ...", "Degrees-of-freedom method: kenward-roger",
"P value adjustment: tukey method for comparing a family of 4 estimates").
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np
import pandas as pd

from ...errors import HierlmError
from .basis import Basis, Tran

__all__ = ["EmmGrid", "EmmInfo", "by_groups", "emm_info"]


@dataclass
class EmmInfo:
    """What an :class:`EmmGrid` is made of (emmeans' ``emmGrid`` slots, in Python).

    Attributes
    ----------
    basis : Basis
        The fit's coefficients, covariance / draws and df method.
    L : ndarray (rows, k)
        Linear functions of ``basis.bhat`` (emmeans' ``linfct``); NaN rows are non-estimable.
    offset : ndarray (rows,)
    labels : DataFrame
        The rows' labels (grid variables, or ``contrast`` and the ``by`` variables).
    pri_vars, by_vars : list of str
    est_name : str
        ``prediction``, ``emmean``, ``<var>.trend`` or ``estimate``.
    kind : str
        ``ref_grid``, ``emmeans``, ``emtrends`` or ``contrast``.
    est_type : str
        ``prediction``, ``contrast`` or ``pairs`` (pairwise comparisons: Tukey applies).
    fam_size : int
        Size of the family of means compared (Tukey's number of means).
    adjust : str
        The multiplicity adjustment asked for (before emmeans' rules).
    infer : (bool, bool)
        Confidence intervals, tests.
    level : float
    type : str
        ``link`` or ``response``.
    tran : Tran or None
        What ``type="response"`` undoes for these rows.
    inv_lbl : str
        The estimate's name on the response scale (``prob``, ``rate``, ``response``, ``odds.ratio``,
        ``ratio``).
    log_contrast : bool
        Contrasts of log / logit means (ratios on the response scale; labels ``A / B``).
    avgd_over : list of str
    notes : list of str
        emmeans' messages (notes printed before the footer).
    """

    basis: Basis
    L: np.ndarray
    offset: np.ndarray
    labels: pd.DataFrame
    pri_vars: list[str]
    by_vars: list[str]
    est_name: str
    kind: str
    est_type: str = "prediction"
    fam_size: int = 1
    adjust: str = "none"
    infer: tuple[bool, bool] = (True, False)
    level: float = 0.95
    type: str = "link"
    tran: Tran | None = None
    inv_lbl: str = "response"
    log_contrast: bool = False
    avgd_over: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    df_note: str | None = None

    def replace(self, **kw) -> EmmInfo:
        return replace(self, **kw)

    @property
    def fit(self):
        return self.basis.fit


def by_groups(labels: pd.DataFrame, by: list[str]) -> list[np.ndarray]:
    """Rows of each ``by`` group, groups in order of first appearance (emmeans' ``.find.by.rows``)."""
    if not by:
        return [np.arange(len(labels))]
    keys = [tuple(r) for r in labels[by].astype(str).itertuples(index=False)]
    groups: dict = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    return [np.array(v) for v in groups.values()]


class EmmGrid(pd.DataFrame):
    """emmeans' summary table, remembering the linear functions behind each row.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("effort ~ Type + (1 | Subject)", hl.load_dataset("ergoStool"))
    >>> from hierlm.services.emmeans import emmeans
    >>> emm = emmeans(m, "Type")
    >>> emm.linfct.shape, emm.notes[0]
    ((4, 4), 'Degrees-of-freedom method: kenward-roger')
    """

    _metadata: ClassVar[list[str]] = ["_emm", "_footer", "_adjust_applied"]

    @property
    def _constructor(self):
        return EmmGrid

    # -- what it remembers ------------------------------------------------------------------------
    @property
    def info(self) -> EmmInfo:
        """The :class:`EmmInfo` behind the table."""
        info = getattr(self, "_emm", None)
        if info is None:
            raise HierlmError("this table has lost the emmeans information it was built with (it was made by "
                              "hand or by an operation that copies only the numbers); use the object that "
                              "hl.emmeans / hl.contrast returned")
        return info

    @property
    def linfct(self) -> pd.DataFrame:
        """The linear functions of the fixed effects behind each row (emmeans' ``linfct``)."""
        info = self.info
        names = list(info.fit.design.xnames) if info.L.shape[1] == len(info.fit.design.xnames) else \
            [f"b{j}" for j in range(info.L.shape[1])]
        return pd.DataFrame(info.L, columns=names)

    @property
    def notes(self) -> list[str]:
        """emmeans' footer lines (and notes) for this table."""
        return list(getattr(self, "_footer", None) or [])

    @property
    def adjust_applied(self) -> str:
        """The multiplicity adjustment actually applied (after emmeans' rules)."""
        return getattr(self, "_adjust_applied", None) or "none"

    # -- printing -----------------------------------------------------------------------------------
    def _table(self) -> pd.DataFrame:
        return pd.DataFrame(self)

    def __repr__(self) -> str:
        body = self._table().to_string(index=False, float_format=lambda x: f"{x:.6g}")
        foot = self.notes
        return body + ("\n\n" + "\n".join(foot) if foot else "")

    def _repr_html_(self) -> str:
        body = self._table().to_html(index=False, float_format=lambda x: f"{x:.6g}")
        foot = "".join(f"<p style='margin:0'>{html.escape(n)}</p>" for n in self.notes)
        return body + foot


def make(frame: pd.DataFrame, info: EmmInfo, footer: list[str], adjust_applied: str) -> EmmGrid:
    out = EmmGrid(frame)
    object.__setattr__(out, "_emm", info)
    object.__setattr__(out, "_footer", footer)
    object.__setattr__(out, "_adjust_applied", adjust_applied)
    return out


def emm_info(obj) -> EmmInfo:
    """The :class:`EmmInfo` of ``obj`` (an :class:`EmmGrid`), or a clear error."""
    if isinstance(obj, EmmGrid):
        return obj.info
    raise HierlmError(f"expected the result of hl.emmeans, hl.emtrends, hl.ref_grid or hl.contrast, not "
                      f"{type(obj).__name__}")
