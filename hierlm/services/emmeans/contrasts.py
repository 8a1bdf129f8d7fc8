"""``hl.contrast``: comparisons of estimated marginal means, as emmeans' ``contrast()``.

Methods (emmeans' ``.emmc`` functions, with their default adjustments):

===================  ================================================  ============
method               contrasts                                          adjust
===================  ================================================  ============
``"pairwise"``       every ``A - B`` (A before B)                       ``tukey``
``"revpairwise"``    every ``B - A``                                    ``tukey``
``"trt.vs.ctrl"``    each level minus a control (``ref``, default 1st)  ``dunnettx``
``"trt.vs.ctrlk"``   each level minus the last                          ``dunnettx``
``"consec"``         each level minus the one before                    ``mvt``
``"poly"``           orthogonal polynomials (integer coefficients)      ``none``
``"eff"``            each level minus the average of all                ``fdr``
``{label: w, ...}``  custom weights, one per row of each by group       ``none``
===================  ================================================  ============

Labels are emmeans': levels that look like numbers get the variable's name in front
(``nitro_f0 - nitro_f0.2``, ``Days3 - Days0``), levels holding ``-``, ``+``, ``/`` or ``*`` are put
in parentheses, several factors are joined by a space (``L A - M A``).  Contrasts of log- or
logit-scale means shown with ``type="response"`` are ratios / odds ratios (``A / B``), tested on the
link scale.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ...design.transforms import poly_fit
from ...design.value import level_names
from ...errors import HierlmError, suggest
from .adjust import check_adjust
from .basis import ODDS_RATIO, RATIO_TRANS
from .means import check_type
from .result import EmmGrid, by_groups, emm_info
from .summary import summarize

__all__ = ["METHODS", "contrast", "contrast_matrix"]

_UNSET = object()
_PARENS = re.compile(r"-|\+|/|\*")


def _pairwise(levs, reverse=False, **_):
    k = len(levs)
    cols, names = [], []
    pairs = [(i, j) for i in range(1, k) for j in range(i)] if reverse else \
        [(i, j) for i in range(k - 1) for j in range(i + 1, k)]
    for i, j in pairs:
        con = np.zeros(k)
        con[i], con[j] = 1, -1
        cols.append(con)
        names.append(f"{levs[i]} - {levs[j]}")
    return cols, names, {"adjust": "tukey", "type": "pairs", "famSize": k}


def _ref_index(levs, ref) -> int:
    if isinstance(ref, str):
        if ref not in levs:
            raise HierlmError(f"ref={ref!r} is not one of the levels compared ({list(levs)})")
        return list(levs).index(ref)
    try:
        r = int(ref)
    except (TypeError, ValueError):
        raise HierlmError(f"ref must be a level name or its 1-based position (as in emmeans), not {ref!r}") from None
    if not 1 <= r <= len(levs):
        raise HierlmError(f"ref={ref} is out of range: there are {len(levs)} levels ({list(levs)}); ref counts "
                          "from 1, as in emmeans")
    return r - 1


def _trt_vs_ctrl(levs, ref=1, reverse=False, **_):
    k = len(levs)
    r = _ref_index(levs, ref)
    cols, names = [], []
    for i in range(k):
        if i == r:
            continue
        con = np.zeros(k)
        con[r], con[i] = -1, 1
        if reverse:
            con = -con
        cols.append(con)
        names.append(f"{levs[r]} - {levs[i]}" if reverse else f"{levs[i]} - {levs[r]}")
    return cols, names, {"adjust": "dunnettx"}


def _trt_vs_ctrlk(levs, ref=None, **kw):
    return _trt_vs_ctrl(levs, ref=len(levs) if ref is None else ref, **kw)


def _consec(levs, reverse=False, **_):
    k = len(levs)
    cols, names = [], []
    sgn = -1 if reverse else 1
    for i in range(k - 1):
        con = np.zeros(k)
        con[i], con[i + 1] = -sgn, sgn
        cols.append(con)
        names.append(f"{levs[i]} - {levs[i + 1]}" if reverse else f"{levs[i + 1]} - {levs[i]}")
    return cols, names, {"adjust": "mvt"}


def poly_contrasts(k: int, degree: int) -> np.ndarray:
    """emmeans' ``poly.emmc`` coefficients: R's ``poly(1:k, degree)`` scaled to integers."""
    Z, _ = poly_fit(np.arange(1, k + 1, dtype=float), degree)
    out = np.empty_like(Z)
    for j in range(Z.shape[1]):
        con = Z[:, j].copy()
        con = con / con[con > 0.01].min()
        z = np.max(np.abs(con - np.round(con)))
        while z > 0.05:
            con = con / z
            z = np.max(np.abs(con - np.round(con)))
        out[:, j] = np.round(con)
    return out


def _poly(levs, max_degree=None, **_):
    k = len(levs)
    if k < 2:
        raise HierlmError("polynomial contrasts need at least 2 levels")
    deg = min(6, k - 1) if max_degree is None else min(int(max_degree), k - 1)
    M = poly_contrasts(k, deg)
    nm = ["linear", "quadratic", "cubic", "quartic"] + [f"degree {d}" for d in range(5, 21)]
    return [M[:, j] for j in range(M.shape[1])], nm[: M.shape[1]], {"adjust": "none"}


def _eff(levs, **_):
    k = len(levs)
    cols = [np.eye(k)[i] - 1.0 / k for i in range(k)]
    return cols, [f"{lv} effect" for lv in levs], {"adjust": "fdr"}


METHODS = {"pairwise": _pairwise, "revpairwise": lambda levs, **kw: _pairwise(levs, reverse=True),
           "trt.vs.ctrl": _trt_vs_ctrl, "trt.vs.ctrl1": lambda levs, **kw: _trt_vs_ctrl(levs, ref=1),
           "trt.vs.ctrlk": _trt_vs_ctrlk, "dunnett": _trt_vs_ctrl, "consec": _consec, "poly": _poly, "eff": _eff}


def _custom(levs, weights: dict):
    cols, names = [], []
    for label, w in weights.items():
        w = np.asarray(w, dtype=float).ravel()
        if w.size != len(levs):
            raise HierlmError(f"custom contrast '{label}' has {w.size} weights but there are {len(levs)} means to "
                              f"combine in each group ({', '.join(map(str, levs))}); give one weight per mean, in "
                              "that order")
        if not np.all(np.isfinite(w)):
            raise HierlmError(f"custom contrast '{label}' has missing or infinite weights")
        cols.append(w)
        names.append(str(label))
    if not cols:
        raise HierlmError("the dict of custom contrasts is empty; give {label: [weights, ...]}")
    return cols, names, {"adjust": "none"}


def contrast_matrix(method, levs: list[str], **kwargs) -> tuple[np.ndarray, list[str], dict]:
    """Coefficients (levels × contrasts), contrast names and emmeans' attributes of ``method``."""
    if isinstance(method, dict):
        cols, names, attrs = _custom(levs, method)
    elif isinstance(method, str):
        if method not in METHODS:
            raise HierlmError(f"method={method!r} is not a contrast method; use one of "
                              f"{', '.join(repr(m) for m in METHODS)} or a dict of weights.{suggest(method, METHODS)}")
        cols, names, attrs = METHODS[method](list(levs), **kwargs)
    else:
        raise HierlmError(f"method must be a method name such as 'pairwise' or a dict {{label: weights}}, not "
                          f"{type(method).__name__}")
    if not cols:
        raise HierlmError(f"method {method!r} gives no contrasts for the levels {list(levs)}")
    return np.column_stack(cols), names, attrs


def _is_num(values) -> bool:
    for v in values:
        try:
            float(v)
        except (TypeError, ValueError):
            return False
    return True


def _level_strings(labels: pd.DataFrame, by: list[str]) -> list[str]:
    parts = []
    for c in labels.columns:
        if c in by:
            continue
        col = labels[c].tolist()
        txt = [level_names([v])[0] if isinstance(v, (float, np.floating, int, np.integer)) else str(v) for v in col]
        if _is_num(txt):
            txt = [f"{c}{t}" for t in txt]
        parts.append(txt)
    levs = [" ".join(p) for p in zip(*parts)] if parts else ["."] * len(labels)
    return [f"({s})" if _PARENS.search(s) else s for s in levs]


def contrast(emm: EmmGrid, method="pairwise", adjust: str | None = None, by=_UNSET, ref=1, type: str | None = None,
             conf_int: bool = False, level: float | None = None, ratios: bool = True) -> EmmGrid:
    """Contrasts of estimated marginal means (or trends), as emmeans' ``contrast()``.

    Parameters
    ----------
    emm : EmmGrid
        A result of :func:`emmeans`, :func:`emtrends` or :func:`ref_grid`.
    method : str or dict
        ``"pairwise"``, ``"revpairwise"``, ``"trt.vs.ctrl"``, ``"trt.vs.ctrlk"``, ``"consec"``, ``"poly"``,
        ``"eff"``, or ``{label: weights}`` with one weight per mean of each ``by`` group.
    adjust : str, optional
        ``"tukey"``, ``"holm"``, ``"bonferroni"``, ``"sidak"``, ``"scheffe"``, ``"dunnettx"``, ``"mvt"``,
        ``"hochberg"``, ``"hommel"``, ``"fdr"``, ``"BY"`` or ``"none"``; default: the method's (see the module
        docstring).  As in emmeans, ``"tukey"`` becomes ``"sidak"`` for anything but one set of
        pairwise comparisons, and a family of one contrast is not adjusted.
    by : str, list of str or None
        Compare within the levels of these variables (default: the ``by`` of ``emm``); ``None``
        compares all rows with each other.
    ref : int or str
        The control of ``"trt.vs.ctrl"``: a level name or its 1-based position (emmeans' convention).
    type : {None, "link", "response"}
        Scale of the summary (default: that of ``emm``).  On the response scale, contrasts of log /
        logit means are ratios / odds ratios.
    conf_int : bool
        Add (multiplicity-adjusted) confidence intervals.
    level : float, optional
        Confidence level (default: that of ``emm``).
    ratios : bool
        Back-transform contrasts of log / logit means to ratios (emmeans' ``ratios``).

    Returns
    -------
    EmmGrid
        Frequentist fits: ``contrast``, the by columns, ``estimate`` (``odds.ratio``/``ratio``), ``SE``,
        ``df``, [``lower.CL``, ``upper.CL``], [``null``], ``t.ratio`` (``z.ratio`` when df are infinite),
        ``p.value``.  BayesFit: posterior median, ``lower.HPD``, ``upper.HPD`` and the posterior
        probabilities ``P(>0)``, ``P(<0)`` of each sign.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("effort ~ Type + (1 | Subject)", hl.load_dataset("ergoStool"))
    >>> from hierlm.services.emmeans import emmeans
    >>> pw = contrast(emmeans(m, "Type"), "pairwise")
    >>> pw[["contrast", "estimate", "p.value"]].round(4)  # doctest: +NORMALIZE_WHITESPACE
    contrast  estimate  p.value
     T1 - T2   -3.8889        0
     T1 - T3   -2.2222   0.0014
     T1 - T4   -0.6667   0.5808
     T2 - T3    1.6667   0.0182
     T2 - T4    3.2222        0
     T3 - T4    1.5556   0.0296
    <BLANKLINE>
    Degrees-of-freedom method: kenward-roger
    P value adjustment: tukey method for comparing a family of 4 estimates
    """
    info = emm_info(emm)
    by_vars = list(info.by_vars) if by is _UNSET else ([by] if isinstance(by, str) else list(by or []))
    for b in by_vars:
        if b not in info.labels.columns:
            raise HierlmError(f"by='{b}' is not a column of the means ({', '.join(info.labels.columns)})."
                              f"{suggest(b, list(info.labels.columns))}")
    adjust = None if adjust is None else check_adjust(adjust)
    type = info.type if type is None else check_type(type)
    groups = by_groups(info.labels, by_vars)
    sizes = {len(g) for g in groups}
    if len(sizes) > 1:
        raise HierlmError(f"the by groups ({', '.join(by_vars)}) have different numbers of rows; contrasts need "
                          "groups of the same size")
    all_levs = _level_strings(info.labels, by_vars)
    levs = [all_levs[i] for i in groups[0]]
    kw = {"ref": ref} if isinstance(method, str) and method.startswith(("trt.vs.ctrl", "dunnett")) and ref != 1 else {}
    cmat, names, attrs = contrast_matrix(method, levs, **kw)
    L0 = np.nan_to_num(info.L)
    na = ~np.all(np.isfinite(info.L), axis=1)
    Ls, offs, con_names, by_cols = [], [], [], {b: [] for b in by_vars}
    for g in groups:
        glevs = [all_levs[i] for i in g]
        gnames = names if glevs == levs else contrast_matrix(method, glevs, **kw)[1]
        block = cmat.T @ L0[g]
        bad = (np.abs(cmat.T) @ na[g].astype(float)) > 0
        block[bad] = np.nan
        Ls.append(block)
        offs.append(cmat.T @ info.offset[g])
        con_names += gnames
        for b in by_vars:
            by_cols[b] += [info.labels[b].iloc[g[0]]] * cmat.shape[1]
    labels = pd.DataFrame({"contrast": con_names, **by_cols})
    sums = cmat.sum(axis=0)
    est_type = attrs.get("type") or ("contrast" if np.all(np.abs(sums) < 0.001) else "prediction")
    true_con = bool(np.all(np.abs(sums / (1e-6 + np.abs(cmat).max(axis=0))) < 1e-6))
    tran, inv_lbl, log_con, notes = info.tran, info.inv_lbl, False, []
    if tran is not None:
        if ratios and true_con and (tran.name in RATIO_TRANS or tran.name == ODDS_RATIO.name):
            log_con = True
            if tran.name in ("logit", ODDS_RATIO.name):
                tran, inv_lbl = ODDS_RATIO, "odds.ratio"
            else:
                inv_lbl = "ratio"
        else:
            notes.append(f"Note: contrasts are still on the {tran.name} scale")
            tran = None
    out = info.replace(L=np.vstack(Ls), offset=np.concatenate(offs), labels=labels, pri_vars=["contrast"],
                       by_vars=by_vars, est_name="estimate", kind="contrast", est_type=est_type,
                       fam_size=int(attrs.get("famSize", len(groups[0]))),
                       adjust=adjust or attrs.get("adjust", "none"), infer=(conf_int, True),
                       level=info.level if level is None else level, type=type, tran=tran, inv_lbl=inv_lbl,
                       log_contrast=log_con, notes=notes)
    return summarize(out)
