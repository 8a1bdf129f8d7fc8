"""lme4's extractors, as functions of a fitted model's plain numbers.

Every function takes the pieces it needs (design, β, b, Σ) rather than a model object, so the
frequentist and Bayesian fits share them: ``fixef``, ``ranef``, ``coef``, ``VarCorr``,
``predict`` and the group bookkeeping are written once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .design import Design
from .errors import DataError, FormulaError
from .formula import parse_formula

__all__ = [
    "GroupDict",
    "ranef_frames",
    "coef_frames",
    "varcorr_frame",
    "linear_predictor",
    "select_blocks",
    "ngrps",
]


class GroupDict(dict):
    """A dict keyed by grouping factor that also accepts a nesting written the other way round.

    lme4 names the inner factor of ``(1 | batch/cask)`` ``cask:batch``; ``d["batch:cask"]`` finds it too.
    """

    def __missing__(self, key):
        if isinstance(key, str) and ":" in key:
            want = sorted(key.split(":"))
            for k in self:
                if sorted(k.split(":")) == want:
                    return self[k]
        raise KeyError(f"no grouping factor '{key}'; the model has {list(self)}")


def ngrps(design: Design) -> dict[str, int]:
    """Number of levels of each grouping factor (lme4's ``ngrps``)."""
    return GroupDict({g: len(levels) for g, levels in design.groups().items()})


def ranef_frames(design: Design, b: list[np.ndarray]) -> GroupDict:
    """Conditional modes (or posterior means) per grouping factor: levels × terms.

    Blocks on the same factor (``(1|g) + (0+x|g)``) are merged into one frame, as lme4 does.
    """
    out = GroupDict()
    for t, bi in zip(design.reterms, b):
        frame = pd.DataFrame(bi, index=pd.Index(t.levels, name=t.group), columns=t.columns)
        if t.group in out:
            prev = out[t.group]
            new_cols = [c for c in frame.columns if c not in prev.columns]
            out[t.group] = pd.concat([prev, frame[new_cols]], axis=1)
        else:
            out[t.group] = frame
    return out


def coef_frames(fixef: pd.Series, ranef: dict[str, pd.DataFrame]) -> GroupDict:
    """lme4's ``coef()``: fixed effects plus the group's random effects, per level.

    Random-effect terms that are not fixed effects come first (with fixed part 0), as lme4 shows them.
    """
    out = GroupDict()
    for g, re in ranef.items():
        extra = [c for c in re.columns if c not in fixef.index]
        cols = extra + list(fixef.index)
        frame = pd.DataFrame(0.0, index=re.index, columns=cols)
        for c in fixef.index:
            frame[c] = fixef[c]
        for c in re.columns:
            frame[c] = frame[c] + re[c]
        out[g] = frame
    return out


def varcorr_rows(design: Design, covs: list[np.ndarray], sigma: float | None) -> list[dict]:
    """Rows of lme4's ``as.data.frame(VarCorr(m))``: per block the variances, then the
    covariances (pairs in order), then ``Residual`` (when ``sigma`` is given)."""
    rows = []
    for t, S in zip(design.reterms, covs):
        sd = np.sqrt(np.maximum(np.diag(S), 0))
        for j, name in enumerate(t.columns):
            rows.append({"grp": t.label, "var1": name, "var2": None, "vcov": S[j, j], "sdcor": sd[j]})
        for j in range(t.ncols):
            for k in range(j + 1, t.ncols):
                corr = S[j, k] / (sd[j] * sd[k]) if sd[j] > 0 and sd[k] > 0 else np.nan
                rows.append({"grp": t.label, "var1": t.columns[j], "var2": t.columns[k], "vcov": S[j, k], "sdcor": corr})
    if sigma is not None:
        rows.append({"grp": "Residual", "var1": None, "var2": None, "vcov": sigma**2, "sdcor": sigma})
    return rows


def varcorr_frame(design: Design, covs: list[np.ndarray], sigma: float | None) -> pd.DataFrame:
    """lme4's ``as.data.frame(VarCorr(m))`` as a DataFrame (``None`` where lme4 has NA)."""
    rows = varcorr_rows(design, covs, sigma)
    cols = {c: pd.Series([r[c] for r in rows], dtype=object) for c in ("grp", "var1", "var2")}
    cols.update({c: pd.Series([r[c] for r in rows], dtype=float) for c in ("vcov", "sdcor")})
    return pd.DataFrame(cols)


def select_blocks(design: Design, re_form: str | None) -> list[int]:
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
    design: Design,
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
