"""The linear predictor Xβ + offset + Σ Zᵢbᵢ of a design, on its own data or on new data.

Shared by every engine and fit: ``predict``, fitted values, posterior draws of η, simulation.
``re_form`` chooses the random-effects blocks to keep, as lme4's ``predict.merMod`` does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError, FormulaError
from ..formula import parse_formula

__all__ = ["linear_predictor", "select_blocks"]


def select_blocks(design, re_form: str | None) -> list[int]:
    """Indices of the random-effects blocks that ``re_form`` keeps.

    ``None`` keeps all, ``"~0"``/``"NA"``/``"~ 0"`` none; otherwise a formula such as
    ``"~ (1 | Subject)"`` keeps the blocks whose grouping factor (and terms) it names.
    """
    if re_form is None:
        return list(range(len(design.reterms)))
    if not isinstance(re_form, str):
        raise FormulaError(f"re_form must be None, '~0' or a formula such as '~ (1 | g)', not {re_form!r}")
    text = re_form.strip()
    if text in {"NA", "~0", "~ 0", "~-1", "~ -1", "0"}:
        return []
    wanted = parse_formula("y_ " + (text if text.startswith("~") else "~ " + text)).bars
    if not wanted:
        return []
    keep = []
    groups = {b.group_name for b in wanted}
    for i, t in enumerate(design.reterms):
        if t.group in groups:
            keep.append(i)
    unknown = groups - {t.group for t in design.reterms}
    if unknown:
        raise FormulaError(
            f"re_form names grouping factor(s) {sorted(unknown)} that are not in the model "
            f"({sorted({t.group for t in design.reterms})})"
        )
    return keep


def linear_predictor(
    design,
    beta: np.ndarray,
    b: list[np.ndarray],
    newdata: pd.DataFrame | None = None,
    re_form: str | None = None,
    allow_new_levels: bool = False,
    new_level_effects: dict[int, np.ndarray] | None = None,
) -> np.ndarray:
    """Xβ + offset + Σ Zᵢbᵢ for the kept blocks; new levels contribute 0 when allowed.

    Parameters
    ----------
    beta : ndarray (p,) or (draws, p)
    b : list of ndarray (levels, q) or (draws, levels, q)
    new_level_effects : dict, optional
        Block index → effects of that block's new levels, ``(new levels, q)`` or
        ``(draws, new levels, q)`` in the order of their codes (``code − fitted levels``); used
        instead of 0 for new levels when ``allow_new_levels`` (Bayesian draws from N(0, Σ)).
    """
    keep = select_blocks(design, re_form)
    if newdata is None:
        X, offset, terms = design.X, design.offset, design.reterms
    else:
        nd = design.new_data(newdata, re_terms=bool(keep))
        X, offset = nd.X, nd.offset
        terms = nd.reterms if keep else design.reterms
    eta = np.asarray(beta) @ X.T + offset if np.ndim(beta) > 1 else X @ beta + offset
    for i in keep:
        t = terms[i]
        train = design.reterms[i]
        idx = t.index
        if (idx < 0).any():
            first = int(np.flatnonzero(idx < 0)[0])
            raise DataError(
                f"newdata has {int((idx < 0).sum())} row(s) with a missing value of the grouping factor "
                f"'{t.group}' (first at position {first}); as lme4, hierlm does not guess a level: fill it in, or "
                f"predict at the population level with re_form='~0'")
        new = idx >= train.nlevels
        if new.any() and not allow_new_levels:
            unseen = sorted({t.levels[k] for k in idx[new]})
            raise DataError(
                f"new level(s) {unseen[:5]}{' ...' if len(unseen) > 5 else ''} of '{t.group}' not in the fitted data; "
                "pass allow_new_levels=True to predict them at the population level"
            )
        safe = np.where(new | (idx < 0), 0, idx)
        bi = np.asarray(b[i])
        contrib = (bi[..., safe, :] * t.values).sum(axis=-1)
        eta = eta + np.where(new | (idx < 0), 0.0, contrib)
        if new_level_effects is not None and i in new_level_effects and new.any():
            bn = np.asarray(new_level_effects[i])
            code = np.where(new, idx - train.nlevels, 0)
            eta = eta + np.where(new, (bn[..., code, :] * t.values).sum(axis=-1), 0.0)
    return eta
